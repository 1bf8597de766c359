package orchestrator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/plan"
	"github.com/brain-dev/brain/internal/state"
	"github.com/brain-dev/brain/internal/verifier"
)

// The models asked when neither the command line nor the task names one.
const (
	DefaultPlanModel = "gemini-2.5-pro"
	DefaultTaskModel = "gemini-2.5-flash"
)

// The spans the orchestrator starts (golden/spans.yaml).
const (
	PlanSpan    = names.SpanOrchestratorPlanGeneration
	TaskSpan    = names.SpanOrchestratorTaskExecution
	ContextSpan = names.SpanSketchGenerateContext
	ChecksSpan  = names.SpanVerifierRunChecks
)

// ArtifactName is the file of a task's artifact directory that holds the
// model's reply; the checks look at it.
const ArtifactName = "artifact.txt"

// The artifacts are in the workspace's workspace.ArtifactsDir, at
// plan-ID/TASK/artifact.txt; Execute locks workspace.ExecuteLock, so that
// two executions never run the same tasks at once.

// Recorder is where the orchestrator's audit records go: *audit.Logger in
// the product. Record returns only once the record is durable.
type Recorder interface {
	Record(ctx context.Context, ev audit.Event) (chain.Head, error)
	// Unsafe keeps raw prompts and replies when the user asked for it
	// (--dev-log-unsafe-io), and does nothing otherwise.
	Unsafe(ctx context.Context, name string, values map[string]any) error
}

// Orchestrator plans with a model and executes plans: every model call,
// artifact, check run and state change is traced and has an audit record
// written before it takes effect.
type Orchestrator struct {
	Tracer   trace.Tracer
	Audit    Recorder
	Store    *state.Store
	Provider llm.Provider
	// Connect, when Provider is nil, makes the provider. Execute calls it
	// once, when the first task that needs the model comes, so that a run
	// with nothing to do needs no key, and a plan or state problem is
	// reported before a missing key.
	Connect func() (llm.Provider, error)
	// Verifier runs the acceptance checks; Execute needs it, Plan does not.
	Verifier *verifier.Verifier
	// Workspace is the workspace directory: artifacts go under it, Execute
	// locks a file in it, and no part of it is ever given to a model.
	Workspace string
	// PlanModel and TaskModel are the models asked for plans and for tasks
	// that name none; empty means DefaultPlanModel and DefaultTaskModel.
	PlanModel, TaskModel string
	// Context bounds each task's context; zero means DefaultContextLimits.
	Context ContextLimits
	// Limits bound the plans; zero fields mean DefaultLimits.
	Limits Limits
	// Warn, when set, receives warnings that do not stop the work (the
	// unsafe-I/O log could not be written).
	Warn func(msg string)
}

func (o *Orchestrator) planModel() string { return cmpOr(o.PlanModel, DefaultPlanModel) }

// TaskModel returns the model that task t asks: its own, else def, else
// DefaultTaskModel.
func TaskModel(taskModel, def string) string { return cmpOr(taskModel, def, DefaultTaskModel) }

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func (o *Orchestrator) contextLimits() ContextLimits {
	if o.Context == (ContextLimits{}) {
		return DefaultContextLimits
	}
	return o.Context
}

// record adapts the audit recorder to state.Transition: ev (built when the
// record is written, so it can name what the transaction assigned) is
// recorded and its seq and hash returned.
func (o *Orchestrator) record(ev func() audit.Event) state.RecordFunc {
	return func(ctx context.Context) (uint64, string, error) {
		h, err := o.write(ctx, ev())
		return h.Seq, h.Hash.String(), err
	}
}

// chat asks the provider, with the call's audit record (ev, completed here)
// written inside the llm_provider.chat span. It returns the provider's error
// as it is (an *llm.Error), or the audit write's error.
func (o *Orchestrator) chat(ctx context.Context, req llm.Request, ev audit.LLMCall) (llm.Response, error) {
	ev.Provider, ev.Model = o.Provider.Name(), req.Model
	ev.RequestSHA256, ev.PromptSHA256, ev.SystemSHA256 = llm.RequestHash(req), audit.SHA256(req.Prompt), audit.SHA256(req.System)
	return llm.ChatThen(ctx, o.Tracer, o.Provider, req, func(ctx context.Context, resp llm.Response, err error, latency time.Duration) error {
		ev.LatencyMS = latency.Milliseconds()
		raw := map[string]any{"model": req.Model, "system": req.System, "prompt": req.Prompt}
		if err != nil {
			ev.Outcome, ev.ErrorType = "error", llm.ErrorType(err)
			var le *llm.Error
			if errors.As(err, &le) {
				ev.HTTPStatus = le.Status
			}
			raw["error"] = err.Error()
		} else {
			ev.Outcome = "ok"
			ev.ResponseModel, ev.InputTokens, ev.OutputTokens = resp.Model, resp.InputTokens, resp.OutputTokens
			ev.ResponseSHA256 = audit.SHA256(resp.Text)
			raw["response"] = resp.Text
		}
		if uerr := o.Audit.Unsafe(ctx, "llm."+ev.Purpose, raw); uerr != nil && o.Warn != nil {
			o.Warn("unsafe I/O log: " + uerr.Error())
		}
		_, werr := o.write(ctx, ev)
		return werr
	})
}

// failSpan marks span as failed with error.type typ and returns err.
func failSpan(span trace.Span, typ string, err error) error {
	span.SetAttributes(attribute.String(names.AttrErrorType, typ))
	span.SetStatus(codes.Error, err.Error())
	return err
}

// ErrorClass is the class of an edited plan: edited_plan, whether the file
// or one of its modules is not the pin.
func (e *EditedPlanError) ErrorClass() string { return names.ClassEditedPlan }

// ErrorClass is the class of a check module that cannot be pinned.
func (e *ModuleError) ErrorClass() string { return names.ClassCheckModule }

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// EditedPlanError reports a tasks.yaml that is not the plan recorded in the
// state store: edited since brain-run plan wrote it, or never planned.
// Execute refuses it unless told to accept it.
type EditedPlanError struct {
	Path     string
	Found    string      // SHA-256 of the file
	Recorded *state.Plan // the recorded plan; nil when none is recorded
	// Module, when set, is the check module that is not the one tasks.yaml
	// pins (missing, a link, not a regular file, changed, not pinned); the
	// file itself may be the recorded plan.
	Module *ModuleError
}

func (e *EditedPlanError) Unwrap() error {
	if e.Module != nil {
		return e.Module
	}
	return nil
}

func (e *EditedPlanError) Error() string {
	if e.Module != nil {
		return fmt.Sprintf("%s: %v", e.Path, e.Module)
	}
	if e.Recorded == nil {
		return fmt.Sprintf("%s (sha256 %s) is not a plan recorded by brain-run plan: no plan is recorded in this workspace", e.Path, e.Found)
	}
	return fmt.Sprintf("%s (sha256 %s) differs from plan %d recorded by brain-run plan (sha256 %s)", e.Path, e.Found, e.Recorded.ID, e.Recorded.SHA256)
}

// OutputExistsError reports that Plan would replace an existing tasks.yaml
// without being told to.
type OutputExistsError struct{ Path string }

func (e *OutputExistsError) Error() string { return e.Path + " already exists" }

// TaskError reports the task an execution stopped at: its model call, its
// context, its artifact or its checks could not be completed. The task is
// in state error; a rerun tries it again.
type TaskError struct {
	TaskID string
	Reason string // the error.type recorded
	Err    error
}

func (e *TaskError) Error() string { return fmt.Sprintf("task %q: %v", e.TaskID, e.Err) }
func (e *TaskError) Unwrap() error { return e.Err }

// ErrBusy reports that another execution holds the workspace's lock.
var ErrBusy = errors.New("another brain-run execute is running in this workspace")

func trimGoal(goal string) string { return strings.TrimSpace(goal) }

// newTasks returns the tasks of p as the state store adds them.
func newTasks(p *plan.Plan) []state.NewTask {
	out := make([]state.NewTask, len(p.Tasks))
	for i, t := range p.Tasks {
		out[i] = state.NewTask{ID: t.ID, Title: t.Title}
	}
	return out
}
