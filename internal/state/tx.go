package state

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ncruces/go-sqlite3"
)

// TaskState is the state of a task: pending, running, passed, failed or
// error.
//
// A task starts pending. It may go to running from any state but passed
// (running again after a crash or a failed attempt), and from running to
// passed, failed or error. Passed is final.
type TaskState string

// The task states.
const (
	StatePending TaskState = "pending"
	StateRunning TaskState = "running"
	StatePassed  TaskState = "passed"
	StateFailed  TaskState = "failed"
	StateError   TaskState = "error"
)

// canMove reports whether the task state machine allows from → to.
func canMove(from, to TaskState) bool {
	switch to {
	case StateRunning:
		return from != StatePassed
	case StatePassed, StateFailed, StateError:
		return from == StateRunning
	}
	return false
}

// Plan is a plan: one tasks.yaml, recorded when it was written.
type Plan struct {
	ID         int64     // assigned by the store
	SHA256     string    // hex SHA-256 of the tasks.yaml bytes
	Path       string    // where tasks.yaml was written
	GoalSHA256 string    // hex SHA-256 of the goal text
	CreatedAt  time.Time // set by the store
}

// Task is one task of a plan.
type Task struct {
	PlanID         int64
	ID             string // the task id in tasks.yaml
	Title          string
	State          TaskState
	Attempts       int    // times the task went to running
	ArtifactSHA256 string // hex SHA-256 of the last artifact, or empty
	UpdatedAt      time.Time
}

// Transition is one recorded task state change and the audit record that
// describes it.
type Transition struct {
	ID        int64
	PlanID    int64
	TaskID    string
	From, To  TaskState
	At        time.Time
	AuditSeq  uint64 // seq of the audit record
	AuditHash string // hash of the audit record
}

// RecordFunc appends the audit record of a transition durably and returns
// its sequence number and hash.
type RecordFunc func(ctx context.Context) (seq uint64, hash string, err error)

// Tx is the transaction of one Transition. It is valid only while the
// function given to Transition runs.
type Tx struct {
	conn  *sqlite3.Conn
	now   time.Time
	done  bool
	first int64 // id of the first transition inserted, or 0
}

// Transition makes one audited change to the state:
//
//  1. fn makes the change in a transaction (changes are not yet visible to
//     other connections);
//  2. record appends the audit record describing it, durably;
//  3. the transaction is committed, its transitions stamped with the
//     record's sequence number and hash.
//
// If fn fails, record is not called and fn's error is returned; if fn or
// record panics, the change is rolled back before the panic goes on. If record
// fails, the change is rolled back and an *AuditError is returned. If the
// commit fails after record succeeded, the change is rolled back and a
// *CommitError is returned: the audit chain then holds a record of a change
// the store does not have. In every failure the store is left as it was.
//
// ctx interrupts fn's statements and is passed to record; once record has
// succeeded, the commit runs even if ctx is done.
func (s *Store) Transition(ctx context.Context, fn func(tx *Tx) error, record RecordFunc) error {
	return s.do(ctx, func(conn *sqlite3.Conn) error {
		if err := conn.Exec("BEGIN IMMEDIATE"); err != nil {
			return fmt.Errorf("state: starting a transition in %q: %w", s.path, err)
		}
		tx := &Tx{conn: conn, now: s.now()}
		defer func() {
			if p := recover(); p != nil { // fn or record panicked
				tx.done = true
				rollback(conn, nil)
				panic(p)
			}
		}()
		err := fn(tx)
		tx.done = true
		if err != nil {
			return rollback(conn, err)
		}
		seq, hash, err := record(ctx)
		if err == nil && (seq == 0 || seq > math.MaxInt64 || hash == "") {
			err = fmt.Errorf("record returned an invalid seq %d or an empty hash", seq)
		}
		if err != nil {
			return rollback(conn, &AuditError{Err: err})
		}
		// The record is durable: finish the commit whatever ctx says.
		conn.SetInterrupt(context.Background())
		if tx.first != 0 {
			err = run(conn, "UPDATE transitions SET audit_seq = ?, audit_hash = ? WHERE id >= ?",
				int64(seq), hash, tx.first)
		}
		if err == nil {
			err = conn.Exec("COMMIT")
		}
		if err != nil {
			return rollback(conn, &CommitError{Seq: seq, Hash: hash, Err: explainIOError(err, s.path)})
		}
		return nil
	})
}

// AddPlan records a new plan and returns its id. p.ID and p.CreatedAt are
// ignored: the store assigns them.
func (tx *Tx) AddPlan(p Plan) (int64, error) {
	if tx.done {
		return 0, ErrTxDone
	}
	if err := checkSHA256("plan sha256", p.SHA256, false); err != nil {
		return 0, err
	}
	if err := checkSHA256("goal sha256", p.GoalSHA256, false); err != nil {
		return 0, err
	}
	err := run(tx.conn, "INSERT INTO plans (sha256, path, goal_sha256, created_at) VALUES (?, ?, ?, ?)",
		p.SHA256, p.Path, p.GoalSHA256, formatTime(tx.now))
	if err != nil {
		return 0, fmt.Errorf("state: adding a plan: %w", err)
	}
	return tx.conn.LastInsertRowID(), nil
}

// NewTask is a task to add to a plan: its id in tasks.yaml and its title.
type NewTask struct{ ID, Title string }

// AddTask adds a pending task to the plan planID, after the tasks it has.
// Adding a task id twice to one plan is an error.
func (tx *Tx) AddTask(planID int64, taskID, title string) error {
	return tx.AddTasks(planID, []NewTask{{ID: taskID, Title: title}})
}

// AddTasks adds pending tasks to the plan planID, after the tasks it has
// and in the order given. Adding a task id twice to one plan is an error.
// Its cost is linear in the number of tasks: the plan's next position is
// read once and one prepared statement inserts every task.
func (tx *Tx) AddTasks(planID int64, tasks []NewTask) error {
	if tx.done {
		return ErrTxDone
	}
	var next int64
	err := query(tx.conn, "SELECT coalesce(max(position) + 1, 0) FROM tasks WHERE plan_id = ?", []any{planID},
		func(st *sqlite3.Stmt) error {
			next = st.ColumnInt64(0)
			return nil
		})
	if err != nil {
		return fmt.Errorf("state: adding tasks to plan %d: %w", planID, err)
	}
	st, _, err := tx.conn.Prepare(`INSERT INTO tasks (plan_id, task_id, position, title, state, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("state: adding tasks to plan %d: %w", planID, err)
	}
	defer st.Close()
	at := formatTime(tx.now)
	for i, t := range tasks {
		if t.ID == "" {
			return fmt.Errorf("state: adding a task to plan %d: empty task id", planID)
		}
		err := bind(st, planID, t.ID, next+int64(i), t.Title, string(StatePending), at)
		if err == nil {
			err = st.Exec()
		}
		if err != nil {
			return fmt.Errorf("state: adding task %q to plan %d: %w", t.ID, planID, err)
		}
	}
	return nil
}

// SetTaskState moves a task to state to and records the transition. Going to
// running counts an attempt. A non-empty artifactSHA256 replaces the task's
// artifact hash. It returns ErrNotFound for an unknown task and a
// *TransitionError for a move the task state machine does not allow.
func (tx *Tx) SetTaskState(planID int64, taskID string, to TaskState, artifactSHA256 string) error {
	if tx.done {
		return ErrTxDone
	}
	if err := checkSHA256("artifact sha256", artifactSHA256, true); err != nil {
		return err
	}
	var from TaskState
	err := query(tx.conn, "SELECT state FROM tasks WHERE plan_id = ? AND task_id = ?",
		[]any{planID, taskID}, func(st *sqlite3.Stmt) error {
			from = TaskState(st.ColumnText(0))
			return nil
		})
	switch {
	case err != nil:
		return fmt.Errorf("state: reading task %q of plan %d: %w", taskID, planID, err)
	case from == "":
		return fmt.Errorf("%w: task %q of plan %d", ErrNotFound, taskID, planID)
	case !canMove(from, to):
		return &TransitionError{PlanID: planID, TaskID: taskID, From: from, To: to}
	}
	at := formatTime(tx.now)
	err = run(tx.conn, `UPDATE tasks SET state = ?1, updated_at = ?2,
			attempts = attempts + (?1 = 'running'),
			artifact_sha256 = iif(?3 = '', artifact_sha256, ?3)
		WHERE plan_id = ?4 AND task_id = ?5`,
		string(to), at, artifactSHA256, planID, taskID)
	if err == nil {
		err = run(tx.conn, `INSERT INTO transitions (plan_id, task_id, from_state, to_state, at, audit_seq, audit_hash)
			VALUES (?, ?, ?, ?, ?, 0, '')`, planID, taskID, string(from), string(to), at)
	}
	if err == nil && tx.first == 0 {
		tx.first = tx.conn.LastInsertRowID()
	}
	if err != nil {
		return fmt.Errorf("state: moving task %q of plan %d to %s: %w", taskID, planID, to, err)
	}
	return nil
}

// checkSHA256 checks that s is a lowercase hex SHA-256, or empty when
// optional.
func checkSHA256(what, s string, optional bool) error {
	if s == "" && optional {
		return nil
	}
	if len(s) != 64 {
		return fmt.Errorf("state: %s %q is not 64 hex digits", what, s)
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("state: %s %q is not lowercase hex", what, s)
		}
	}
	return nil
}
