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
