package audit

// The typed events brain-run writes. Each is described in
// golden/audit.schema.json; TestEventsMatchSchema checks every one of them.
// User content (arguments, prompts, responses) is never stored raw: only its
// SHA-256 (see HashArgs), and raw values go to the unsafe-I/O log when the
// user asks for it.

// Event is one typed audit event.
type Event interface {
	// EventType is the record's type field.
	EventType() string
}

// CommandStart is written before a brain-run command takes effect.
type CommandStart struct {
	Command string `json:"command"`                // brain-run subcommand: exec, flush, ...
	Version string `json:"version"`                // brain-run version
	PID     int    `json:"pid"`                    // brain-run's process id
	Cwd     string `json:"cwd_sha256"`             // SHA-256 of the working directory
	Parent  string `json:"parent_trace,omitempty"` // trace id inherited from TRACEPARENT
}

func (CommandStart) EventType() string { return "command.start" }

// CommandEnd is written when a brain-run command finishes.
type CommandEnd struct {
	Command    string `json:"command"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"` // error class, never user content
}

func (CommandEnd) EventType() string { return "command.end" }

// CommandCrashed is written when a command panics.
type CommandCrashed struct {
	Command     string `json:"command"`
	PanicSHA256 string `json:"panic_sha256"` // the panic value can hold user content
	Where       string `json:"where"`        // the function that panicked
}

func (CommandCrashed) EventType() string { return "command.crashed" }

// ExecStart is written before brain-run exec starts a program.
type ExecStart struct {
	Argv0      string   `json:"argv0"`
	ArgsSHA256 []string `json:"args_sha256"` // one per argument after argv[0]
	ArgCount   int      `json:"arg_count"`
}

func (ExecStart) EventType() string { return "exec.start" }

// ExecEnd is written when the program exits (or could not start).
type ExecEnd struct {
	Argv0      string `json:"argv0"`
	Started    bool   `json:"started"`
	ExitCode   int    `json:"exit_code"`
	Signal     string `json:"signal,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	PID        int    `json:"pid,omitempty"`
	Error      string `json:"error,omitempty"` // why it could not start: not_found, permission, other
}

func (ExecEnd) EventType() string { return "exec.end" }

// TelemetryFlushed is written by brain-run flush.
type TelemetryFlushed struct {
	Endpoint string `json:"endpoint"`
	Sent     int    `json:"spans_sent"`
	Skipped  int    `json:"spans_already_sent"`
}

func (TelemetryFlushed) EventType() string { return "telemetry.flushed" }

// The orchestrator's events: plans, tasks, model calls, artifacts and
// checks. Plan and task ids are identifiers (they are span attributes too);
// goals, prompts, responses, check arguments and check output are recorded
// only as SHA-256.

// PlanCreated is written by brain-run plan when it records a new plan: before
// the plan is committed to the state store and before tasks.yaml is put in
// place.
type PlanCreated struct {
	PlanID     int64    `json:"plan_id"`     // the state store's plan id
	PlanSHA256 string   `json:"plan_sha256"` // SHA-256 of the tasks.yaml bytes
	GoalSHA256 string   `json:"goal_sha256"`
	Tasks      []string `json:"tasks"` // task ids, in plan order
}

func (PlanCreated) EventType() string { return "plan.created" }

// PlanFailed is written by brain-run plan when no plan came of the plan
// model's call: the provider failed, the reply was not a valid plan, or
// tasks.yaml could not be written aside. Nothing was committed.
type PlanFailed struct {
	GoalSHA256 string `json:"goal_sha256"`
	Reason     string `json:"reason"` // an error.type: auth, rate_limit, invalid_plan, ...
}

func (PlanFailed) EventType() string { return "plan.failed" }

// PlanEditAccepted is written by brain-run execute --accept-edited-plan when
// it records a tasks.yaml that is not the recorded plan as a new plan.
type PlanEditAccepted struct {
	PlanID             int64    `json:"plan_id"`
	PlanSHA256         string   `json:"plan_sha256"`
	PreviousPlanID     int64    `json:"previous_plan_id,omitempty"`     // 0 when no plan was recorded
	PreviousPlanSHA256 string   `json:"previous_plan_sha256,omitempty"` // the plan it replaces
	Tasks              []string `json:"tasks"`
}

func (PlanEditAccepted) EventType() string { return "plan.edit_accepted" }

// PlanEditRefused is written when brain-run execute refuses a tasks.yaml
// whose SHA-256 differs from the recorded plan's, or one of whose check
// module files is not the one it pins.
type PlanEditRefused struct {
	PlanID      int64  `json:"plan_id,omitempty"`     // the recorded plan; 0 when none
	PlanSHA256  string `json:"plan_sha256,omitempty"` // its SHA-256
	FoundSHA256 string `json:"found_sha256"`          // SHA-256 of the tasks.yaml given
	// For a check module refused: the module as tasks.yaml names it, its
	// pin (empty when it has none), the SHA-256 of the file found (when it
	// is a readable regular file), and why (module_changed, module_symlink,
	// module_not_regular, module_missing, module_too_large,
	// module_unpinned, module_unreadable).
	Module            string `json:"module,omitempty"`
	ModuleSHA256      string `json:"module_sha256,omitempty"`
	FoundModuleSHA256 string `json:"found_module_sha256,omitempty"`
	Reason            string `json:"reason,omitempty"`
}

func (PlanEditRefused) EventType() string { return "plan.edit_refused" }

// TaskState is written for every task state transition, before it is
// committed to the state store.
type TaskState struct {
	PlanID         int64  `json:"plan_id"`
	TaskID         string `json:"task_id"`
	From           string `json:"from"`
	To             string `json:"to"`
	Attempt        int    `json:"attempt"`                   // the attempt the transition belongs to, from 1
	ArtifactSHA256 string `json:"artifact_sha256,omitempty"` // the artifact the checks judged
	Reason         string `json:"reason,omitempty"`          // why a task ended in error: an error.type
}

func (TaskState) EventType() string { return "task.state" }

// LLMCall is written for every model call, answered or not, inside its
// llm_provider.chat span.
type LLMCall struct {
	Purpose        string        `json:"purpose"` // plan or task
	PlanID         int64         `json:"plan_id,omitempty"`
	TaskID         string        `json:"task_id,omitempty"`
	Provider       string        `json:"provider"` // gen_ai.provider.name
	Model          string        `json:"model"`    // the requested model
	ResponseModel  string        `json:"response_model,omitempty"`
	InputTokens    int           `json:"input_tokens"`
	OutputTokens   int           `json:"output_tokens"`
	LatencyMS      int64         `json:"latency_ms"`
	RequestSHA256  string        `json:"request_sha256"` // llm.RequestHash: the cassette key
	PromptSHA256   string        `json:"prompt_sha256"`
	SystemSHA256   string        `json:"system_sha256"`
	ResponseSHA256 string        `json:"response_sha256,omitempty"` // when answered
	Context        []ContextFile `json:"context,omitempty"`         // the workspace files in the prompt
	Outcome        string        `json:"outcome"`                   // ok or error
	ErrorType      string        `json:"error_type,omitempty"`      // error.type when the outcome is error
	HTTPStatus     int           `json:"http_status,omitempty"`
}

func (LLMCall) EventType() string { return "llm.call" }

// ContextFile is a workspace file given to a model: its path relative to
// the plan's directory and the SHA-256 of the bytes sent.
type ContextFile struct {
	Path      string `json:"path"`
	SHA256    string `json:"sha256"`
	Bytes     int64  `json:"bytes"`
	Truncated bool   `json:"truncated,omitempty"`
}

// TaskArtifact is written before a task's artifact is written to the
// workspace.
type TaskArtifact struct {
	PlanID int64  `json:"plan_id"`
	TaskID string `json:"task_id"`
	Path   string `json:"path"` // relative to the workspace directory
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

func (TaskArtifact) EventType() string { return "task.artifact" }

// ChecksRun is written when a task's acceptance checks have run, inside the
// verifier.run_checks span, before the task's state changes; and by
// brain-run check before it reports its verdicts, with no plan_id (checks
// run outside a plan) and a task_id only when --task named one.
type ChecksRun struct {
	PlanID int64          `json:"plan_id,omitempty"` // plans are numbered from 1
	TaskID string         `json:"task_id,omitempty"`
	Passed int            `json:"passed"`
	Failed int            `json:"failed"` // verdict fail or error
	Checks []CheckVerdict `json:"checks"`
}

func (ChecksRun) EventType() string { return "checks.run" }

// CheckVerdict is one check's verdict (docs/verifier.md).
type CheckVerdict struct {
	Check        string   `json:"check"` // stock:NAME or the module's path in tasks.yaml
	ArgsSHA256   []string `json:"args_sha256"`
	ModuleSHA256 string   `json:"module_sha256,omitempty"` // empty when the module could not be read
	Verdict      string   `json:"verdict"`                 // pass, fail or error
	Class        string   `json:"class,omitempty"`
	ExitCode     *uint32  `json:"exit_code,omitempty"`
	StdoutSHA256 string   `json:"stdout_sha256"`
	StderrSHA256 string   `json:"stderr_sha256"`
	DurationMS   int64    `json:"duration_ms"`
}

// The events of brain-drill run (docs/brain-drill.md): a drill run's
// milestones, written in the workspace brain-drill runs in (never in the
// drill's scratch workspace), each naming the run's drill.run span. A drill
// is named by its id, and its file by the SHA-256 of its bytes; verdicts
// carry reason codes, never the drill's output.

// DrillStarted is written before anything of a drill run happens
// (its requirements are checked after it: a not-run drill has one too).
type DrillStarted struct {
	DrillID         string   `json:"drill_id"`
	Run             int      `json:"run"` // 1-based, of --replay N
	FileSHA256      string   `json:"file_sha256"`
	Severity        string   `json:"severity"`
	DetectWithinMS  int64    `json:"detect_within_ms"`
	RecoverWithinMS int64    `json:"recover_within_ms"`
	Requires        []string `json:"requires"`
}

func (DrillStarted) EventType() string { return "drill.started" }

// DrillInjected is written once the inject steps have run (T0).
type DrillInjected struct {
	DrillID  string `json:"drill_id"`
	Run      int    `json:"run"`
	InjectMS int64  `json:"inject_ms"` // how long the inject steps took
}

func (DrillInjected) EventType() string { return "drill.injected" }

// DrillDetected is written when every detect probe passed.
type DrillDetected struct {
	DrillID        string `json:"drill_id"`
	Run            int    `json:"run"`
	TTDMS          int64  `json:"ttd_ms"`
	DetectWithinMS int64  `json:"detect_within_ms"`
	Rounds         int    `json:"rounds"` // polling rounds it took
}

func (DrillDetected) EventType() string { return "drill.detected" }

// DrillRecovered is written when the steady-state probes pass again after
// recover.
type DrillRecovered struct {
	DrillID         string `json:"drill_id"`
	Run             int    `json:"run"`
	TTRMS           int64  `json:"ttr_ms"`
	RecoverWithinMS int64  `json:"recover_within_ms"`
	Rounds          int    `json:"rounds"`
}

func (DrillRecovered) EventType() string { return "drill.recovered" }

// DrillEnded is written last for every drill run, with its verdict.
type DrillEnded struct {
	DrillID      string   `json:"drill_id"`
	Run          int      `json:"run"`
	Verdict      string   `json:"verdict"` // passed, deviated, aborted, interrupted, not-run
	Reasons      []string `json:"reasons"` // reason codes; empty for passed
	TTDMS        *int64   `json:"ttd_ms,omitempty"`
	TTRMS        *int64   `json:"ttr_ms,omitempty"`
	DurationMS   int64    `json:"duration_ms"`
	SteadyBefore *bool    `json:"steady_before,omitempty"`
	SteadyAfter  *bool    `json:"steady_after,omitempty"`
	Rollback     string   `json:"rollback"` // not_needed, passed, failed
}

func (DrillEnded) EventType() string { return "drill.ended" }

// DrillReport is written after the journal and the JUnit report are
// written, with their SHA-256, so that the chain vouches for them.
type DrillReport struct {
	Runs          int    `json:"runs"`
	Passed        int    `json:"passed"`
	Deviated      int    `json:"deviated"`
	Aborted       int    `json:"aborted"`
	Interrupted   int    `json:"interrupted"`
	NotRun        int    `json:"not_run"`
	JournalSHA256 string `json:"journal_sha256,omitempty"`
	JUnitSHA256   string `json:"junit_sha256,omitempty"`
}

func (DrillReport) EventType() string { return "drill.report" }
