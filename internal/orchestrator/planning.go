package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/plan"
	"github.com/brain-dev/brain/internal/state"
)

// ErrNoGoal reports an empty goal.
var ErrNoGoal = errors.New("the goal is empty")

// PlanRequest is the request that asks model for a plan for goal.
func PlanRequest(goal, model string) llm.Request {
	return llm.Request{Model: model, Prompt: PlanPrompt(trimGoal(goal))}
}

// PlanResult is a plan written by Plan.
type PlanResult struct {
	PlanID int64
	SHA256 string // of the tasks.yaml bytes
	Path   string // where tasks.yaml was written
	Plan   *plan.Plan
}

// Plan asks the plan model for a plan for goal (surrounding white space
// trimmed) and writes it to out, inside an orchestrator.plan_generation
// span. The model's call is recorded (llm.call); a reply that is not a valid
// plan is an error wrapping ErrInvalidPlan and nothing is written. A valid
// plan is recorded (plan.created) and committed to the state store, and only
// then does tasks.yaml appear at out, whole.
//
// An existing out is an *OutputExistsError unless replace is set. The check
// and the write are one: before the model is asked, out is created
// exclusively (O_EXCL, empty) to reserve the name, and the plan replaces
// that empty file in one rename. Of several Plans racing for one out, one
// gets it and the others fail at once; a run that makes no plan removes its
// reservation.
func (o *Orchestrator) Plan(ctx context.Context, goal, out string, replace bool) (res *PlanResult, err error) {
	goal = trimGoal(goal)
	if goal == "" {
		return nil, ErrNoGoal
	}
	if !replace {
		release, rerr := reserve(out)
		if rerr != nil {
			return nil, rerr
		}
		defer func() { release(err == nil) }()
	}
	goalSHA := audit.SHA256(goal)
	ctx, span := o.Tracer.Start(ctx, PlanSpan, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String(names.AttrBrainPlanGoalSHA256, goalSHA)))
	defer span.End()

	// failed ends a plan that did not come to be: the span says why, and so
	// does a plan.failed record, unless the audit write itself failed.
	failed := func(typ string, err error) (*PlanResult, error) {
		if typ != names.ClassAuditWriteFailed {
			if _, rerr := o.write(ctx, audit.PlanFailed{GoalSHA256: goalSHA, Reason: typ}); rerr != nil {
				return nil, failSpan(span, names.ClassOf(rerr), rerr)
			}
		}
		return nil, failSpan(span, typ, err)
	}
	resp, err := o.chat(ctx, PlanRequest(goal, o.planModel()), audit.LLMCall{Purpose: "plan"})
	if err != nil {
		return failed(names.ClassOf(err), err)
	}
	p, data, err := ParsePlanReply(resp.Text, o.Limits)
	if err != nil {
		return failed(names.ClassOf(err), err)
	}
	p.Dir = filepath.Dir(out)
	if data, p, err = pinModules(p, data); err != nil {
		return failed(names.ClassOf(err), err)
	}
	if max := o.Limits.or().MaxPlanBytes; int64(len(data)) > max {
		err := invalidPlan(&LimitError{Limit: LimitPlanBytes, What: "the plan with its module pins", Got: int64(len(data)), Max: max, Model: true})
		return failed(names.ClassOf(err), err)
	}
	res = &PlanResult{SHA256: sha256Hex(data), Path: out, Plan: p}
	abs, err := filepath.Abs(out)
	if err != nil {
		return failed(names.ClassError, err)
	}
	// The file is written aside first, so that it can appear at out in one
	// rename once the plan is committed, and never before.
	tmp, err := fsutil.WriteTemp(out, data, 0o600)
	if err != nil {
		return failed(names.ClassError, fmt.Errorf("writing %s: %w", out, err))
	}
	err = o.Store.Transition(ctx, func(tx *state.Tx) error {
		id, err := tx.AddPlan(state.Plan{SHA256: res.SHA256, Path: abs, GoalSHA256: goalSHA})
		if err != nil {
			return err
		}
		res.PlanID = id
		return tx.AddTasks(id, newTasks(p))
	}, o.record(func() audit.Event {
		return audit.PlanCreated{PlanID: res.PlanID, PlanSHA256: res.SHA256, GoalSHA256: goalSHA, Tasks: p.IDs()}
	}))
	if err != nil {
		os.Remove(tmp)
		return failed(names.ClassOf(err), err)
	}
	span.SetAttributes(attribute.String(names.AttrBrainPlanSHA256, res.SHA256), attribute.Int(names.AttrBrainPlanTaskCount, len(p.Tasks)),
		attribute.Int64(names.AttrBrainPlanID, res.PlanID))
	if err := fsutil.CommitTemp(tmp, out); err != nil {
		return nil, failSpan(span, names.ClassError, fmt.Errorf("plan %d is recorded but %s could not be written: %w", res.PlanID, out, err))
	}
	return res, nil
}

// reserve creates out, empty, if no file is there, and returns the function
// that ends the reservation: kept when the plan was written over it, else
// removed, if out is still the empty file reserve created.
func reserve(out string) (release func(kept bool), err error) {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, &OutputExistsError{Path: out}
	} else if err != nil {
		return nil, fmt.Errorf("creating %s: %w", out, err)
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		os.Remove(out)
		return nil, fmt.Errorf("creating %s: %w", out, err)
	}
	return func(kept bool) {
		if cur, err := os.Lstat(out); !kept && err == nil && os.SameFile(fi, cur) && cur.Size() == 0 {
			os.Remove(out)
		}
	}, nil
}
