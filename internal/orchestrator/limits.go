package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/plan"

	"github.com/brain-dev/brain/internal/fsutil"
)

// Limits bound the work of a plan: the size of tasks.yaml and its number of
// tasks, checked before anything is recorded or stored, so the work that
// follows (parsing, the state store's transaction, the audit records) is
// bounded by them. Zero fields take DefaultLimits. The model's answer is
// bounded before that, by the provider (llm.Config.MaxResponseBytes).
type Limits struct {
	// MaxPlanBytes is the largest tasks.yaml: the YAML document of the plan
	// model's reply, and the file execute reads.
	MaxPlanBytes int64
	// MaxTasks is the most tasks a plan may have.
	MaxTasks int
}

// DefaultLimits are the limits of an Orchestrator that sets none: a
// tasks.yaml of at most 1 MiB and 1,000 tasks.
var DefaultLimits = Limits{MaxPlanBytes: 1 << 20, MaxTasks: 1000}

// or returns l with each zero field taken from DefaultLimits.
func (l Limits) or() Limits {
	if l.MaxPlanBytes <= 0 {
		l.MaxPlanBytes = DefaultLimits.MaxPlanBytes
	}
	if l.MaxTasks <= 0 {
		l.MaxTasks = DefaultLimits.MaxTasks
	}
	return l
}

// checkTasks returns a *LimitError when p, named what, has more tasks than
// l allows, and when its plan record, which lists every task id, would not
// fit in a record of the audit chain.
func (l Limits) checkTasks(p *plan.Plan, what string) error {
	if len(p.Tasks) > l.MaxTasks {
		return &LimitError{Limit: LimitTasks, What: what, Got: int64(len(p.Tasks)), Max: int64(l.MaxTasks)}
	}
	// The longest of the records that list the tasks, with the largest ids.
	err := checkRecord(audit.PlanEditAccepted{PlanID: math.MaxInt64, PlanSHA256: sha256Hex(nil), PreviousPlanID: math.MaxInt64,
		PreviousPlanSHA256: sha256Hex(nil), Tasks: p.IDs()})
	var le *LimitError
	if errors.As(err, &le) {
		le.What = fmt.Sprintf("the audit record of %s, which lists its %d task ids,", what, len(p.Tasks))
	}
	return err
}

// The limits a LimitError names.
const (
	LimitPlanBytes = "plan_bytes" // Limits.MaxPlanBytes
	LimitTasks     = "tasks"      // Limits.MaxTasks
	LimitRecord    = "record"     // chain.MaxRecordSize, a record of the audit chain
)

// LimitError reports an input over one of the limits that bound the work.
// Nothing of it was recorded or stored. Limit is LimitPlanBytes, LimitTasks
// or LimitRecord; What names the input.
type LimitError struct {
	Limit    string
	What     string
	Got, Max int64
	// Model is set when the limit was met by the model's plan, not by a
	// tasks.yaml file or another record.
	Model bool
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case LimitTasks:
		return fmt.Sprintf("%s has %d tasks, over the limit of %d", e.What, e.Got, e.Max)
	case LimitRecord:
		return fmt.Sprintf("%s would be %d bytes, over the audit chain's limit of %d bytes per record", e.What, e.Got, e.Max)
	}
	if e.Got < 0 {
		return fmt.Sprintf("%s is over the limit of %d bytes", e.What, e.Max)
	}
	return fmt.Sprintf("%s is %d bytes, over the limit of %d", e.What, e.Got, e.Max)
}

// ErrorClass is the error's class: plan_too_large for the model's plan
// (over a limit, or its record over the chain's), tasks_too_large for a
// tasks.yaml file, record_too_large for any other record.
func (e *LimitError) ErrorClass() string {
	switch {
	case e.Model:
		return names.ClassPlanTooLarge
	case e.Limit == LimitRecord:
		return names.ClassRecordTooLarge
	}
	return names.ClassTasksTooLarge
}

// recordEnvelope bounds what a record adds to its data: seq, ts, type,
// a session of up to 128 bytes, trace and span ids, prev and hash.
const recordEnvelope = 512

// checkRecord returns a *LimitError when ev's record would be over the
// audit chain's record limit. The audit logger would refuse it as a failed
// write, which it is not: nothing is wrong with the chain or the disk.
func checkRecord(ev audit.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding the %s record: %w", ev.EventType(), err)
	}
	if n := int64(len(data)) + recordEnvelope; n > chain.MaxRecordSize {
		return &LimitError{Limit: LimitRecord, What: "the " + ev.EventType() + " record", Got: n, Max: chain.MaxRecordSize}
	}
	return nil
}

// write records ev, once checkRecord has passed it.
func (o *Orchestrator) write(ctx context.Context, ev audit.Event) (chain.Head, error) {
	if err := checkRecord(ev); err != nil {
		return chain.Head{}, err
	}
	return o.Audit.Record(ctx, ev)
}

// readPlanFile reads the tasks.yaml at path, reading no more than max
// bytes of it (and one to tell that it is longer). It must be a regular
// file: it is opened with O_NONBLOCK, so a FIFO is refused, not waited on.
func readPlanFile(path string, max int64) ([]byte, error) {
	f, err := fsutil.Open(path) // a regular file, never blocking on a pipe
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &LimitError{Limit: LimitPlanBytes, What: path, Got: -1, Max: max}
	}
	return data, nil
}
