package orchestrator

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/plan"
	"github.com/brain-dev/brain/internal/state"
)

// ChainState is the orchestrator's state rebuilt from the audit chain alone:
// the plans and task states its plan.created, plan.edit_accepted and
// task.state records describe. The chain is the source of truth; the state
// store must agree with it.
type ChainState struct {
	Records int // records read
	Plans   map[int64]*ChainPlan
	// Orphans are task.state records for a plan or task that no record
	// created (a forged or misplaced record); Compare reports them.
	Orphans []Difference
	// Unusable are the records the rebuild left out: a plan.created,
	// plan.edit_accepted or task.state record with a field BRAIN never
	// writes (missing, of the wrong type, out of range, unknown, twice).
	Unusable []RecordFinding
}

// RecordFinding is a record of the chain that the rebuild could not use.
// Problem says why, quoting at most a short, escaped excerpt of the value.
type RecordFinding struct {
	File    string
	Line    int64
	Seq     uint64
	Type    string
	Problem string
}

func (f RecordFinding) String() string {
	return fmt.Sprintf("%s:%d: seq %d (%s): %s; the record is left out of the rebuild", f.File, f.Line, f.Seq, f.Type, f.Problem)
}

// ChainPlan is a plan as the chain describes it.
type ChainPlan struct {
	ID     int64
	SHA256 string
	Tasks  map[string]*ChainTask
	Order  []string // task ids in plan order
}

// ChainTask is a task's state as the chain describes it.
type ChainTask struct {
	State          state.TaskState
	Attempts       int
	ArtifactSHA256 string
}

// RebuildFromChain reads the chain files (oldest first, as verification
// lists them: verify the chain before trusting what it says) and rebuilds
// the plans and task states from their records. A plan recorded again under
// the same id (a plan whose commit failed, then a new plan that got its id)
// replaces the earlier one. A task.state record moves the task to its "to"
// state and sets its attempts to the record's attempt, the same rule the
// store follows; a task.state record for a plan or task the chain never
// created is kept in Orphans.
//
// A record whose fields are not what BRAIN writes (a hostile or damaged
// record that still verifies, as one added with brain-audit append can) is
// never an error: it is left out and kept in Unusable. RebuildFromChain
// fails only when a file cannot be read.
func RebuildFromChain(ctx context.Context, files []string) (*ChainState, error) {
	cs := &ChainState{Plans: map[int64]*ChainPlan{}}
	for _, name := range files {
		if err := cs.readFile(ctx, name); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

func (cs *ChainState) readFile(ctx context.Context, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := chain.NewScanner(f)
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sc.LineErr(); err != nil {
			return fmt.Errorf("%s:%d: %v", name, sc.LineNumber(), err)
		}
		cs.Records++
		rec := sc.Record()
		if problem := cs.apply(rec); problem != "" {
			cs.Unusable = append(cs.Unusable, RecordFinding{File: name, Line: sc.LineNumber(), Seq: rec.Seq, Type: rec.Type, Problem: problem})
		}
	}
	return sc.Err()
}

// The bounds of the numbers the rebuild reads: plan ids are SQLite row ids,
// attempts are counted in an int of the store.
const (
	maxPlanID  = math.MaxInt64
	maxAttempt = math.MaxInt32
)

// apply folds one record into the state, or returns what is wrong with it
// (and changes nothing).
func (cs *ChainState) apply(rec chain.Record) string {
	switch rec.Type {
	case audit.PlanCreated{}.EventType(), audit.PlanEditAccepted{}.EventType():
		f, problem := readFields(rec.Data)
		if problem != "" {
			return problem
		}
		id := f.int("plan_id", 1, maxPlanID, true)
		sum := f.str("plan_sha256", isHex64, "a SHA-256 in lowercase hex", true)
		tasks := f.taskIDs("tasks")
		if rec.Type == (audit.PlanCreated{}).EventType() {
			f.str("goal_sha256", isHex64, "a SHA-256 in lowercase hex", true)
		} else {
			f.int("previous_plan_id", 1, maxPlanID, false)
			f.str("previous_plan_sha256", isHex64, "a SHA-256 in lowercase hex", false)
		}
		if problem := f.done(); problem != "" {
			return problem
		}
		cs.addPlan(id, sum, tasks)
	case audit.TaskState{}.EventType():
		f, problem := readFields(rec.Data)
		if problem != "" {
			return problem
		}
		planID := f.int("plan_id", 1, maxPlanID, true)
		taskID := f.str("task_id", plan.ValidID, "a task id", true)
		f.str("from", isState, "a task state ("+stateNames+")", true)
		to := f.str("to", isState, "a task state ("+stateNames+")", true)
		attempt := f.int("attempt", 1, maxAttempt, true)
		artifact := f.str("artifact_sha256", isHex64, "a SHA-256 in lowercase hex", false)
		f.str("reason", isClass, "an error class (a-z and _, at most 64)", false)
		if problem := f.done(); problem != "" {
			return problem
		}
		var t *ChainTask
		if p := cs.Plans[planID]; p != nil {
			t = p.Tasks[taskID]
		}
		if t == nil {
			cs.Orphans = append(cs.Orphans, Difference{PlanID: planID, TaskID: taskID, Field: "task",
				Chain: fmt.Sprintf("a task.state record (seq %d) for a task no plan record created", rec.Seq)})
			return ""
		}
		t.State, t.Attempts = state.TaskState(to), int(attempt)
		if artifact != "" {
			t.ArtifactSHA256 = artifact
		}
	}
	return ""
}

func (cs *ChainState) addPlan(id int64, sum string, tasks []string) {
	p := &ChainPlan{ID: id, SHA256: sum, Tasks: map[string]*ChainTask{}, Order: tasks}
	for _, t := range tasks {
		p.Tasks[t] = &ChainTask{State: state.StatePending}
	}
	cs.Plans[id] = p
}

// Difference is one way the state store departs from the chain.
type Difference struct {
	PlanID int64
	TaskID string // "" for a difference in the plan itself
	Field  string // plan, sha256, task, state, attempts, artifact_sha256
	Store  string // the store's value ("" when the store lacks it)
	Chain  string // the chain's value ("" when the chain lacks it)
}

func (d Difference) String() string {
	what := fmt.Sprintf("plan %d", d.PlanID)
	if d.TaskID != "" {
		what += fmt.Sprintf(" task %s", d.TaskID)
	}
	show := func(v string) string {
		if v == "" {
			return "nothing"
		}
		return v
	}
	return fmt.Sprintf("%s: %s: the state store has %s, the audit chain %s", what, d.Field, show(d.Store), show(d.Chain))
}

// Compare lists every difference between the state store and the state
// rebuilt from the chain, by plan id and task id.
func Compare(ctx context.Context, store *state.Store, cs *ChainState) ([]Difference, error) {
	plans, err := store.Plans(ctx)
	if err != nil {
		return nil, err
	}
	var out []Difference
	seen := map[int64]bool{}
	for _, p := range plans {
		seen[p.ID] = true
		cp := cs.Plans[p.ID]
		if cp == nil {
			out = append(out, Difference{PlanID: p.ID, Field: "plan", Store: "recorded", Chain: ""})
			continue
		}
		if cp.SHA256 != p.SHA256 {
			out = append(out, Difference{PlanID: p.ID, Field: "sha256", Store: p.SHA256, Chain: cp.SHA256})
		}
		tasks, err := store.Tasks(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		inStore := map[string]bool{}
		for _, t := range tasks {
			inStore[t.ID] = true
			ct := cp.Tasks[t.ID]
			if ct == nil {
				out = append(out, Difference{PlanID: p.ID, TaskID: t.ID, Field: "task", Store: "recorded"})
				continue
			}
			add := func(field, s, c string) {
				if s != c {
					out = append(out, Difference{PlanID: p.ID, TaskID: t.ID, Field: field, Store: s, Chain: c})
				}
			}
			add("state", string(t.State), string(ct.State))
			add("attempts", fmt.Sprint(t.Attempts), fmt.Sprint(ct.Attempts))
			add("artifact_sha256", t.ArtifactSHA256, ct.ArtifactSHA256)
		}
		for _, id := range cp.Order {
			if !inStore[id] {
				out = append(out, Difference{PlanID: p.ID, TaskID: id, Field: "task", Chain: "recorded"})
			}
		}
	}
	for id := range cs.Plans {
		if !seen[id] {
			out = append(out, Difference{PlanID: id, Field: "plan", Chain: "recorded"})
		}
	}
	out = append(out, cs.Orphans...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].PlanID < out[j].PlanID })
	return out, nil
}
