package state

import (
	"context"
	"fmt"

	"github.com/ncruces/go-sqlite3"
)

const planColumns = "id, sha256, path, goal_sha256, created_at"

// scanPlan reads a row of planColumns.
func scanPlan(st *sqlite3.Stmt) (Plan, error) {
	at, err := parseTime(st.ColumnText(4))
	return Plan{
		ID:         st.ColumnInt64(0),
		SHA256:     st.ColumnText(1),
		Path:       st.ColumnText(2),
		GoalSHA256: st.ColumnText(3),
		CreatedAt:  at,
	}, err
}

// Plan returns the plan with the given id, or ErrNotFound.
func (s *Store) Plan(ctx context.Context, id int64) (Plan, error) {
	return s.onePlan(ctx, "SELECT "+planColumns+" FROM plans WHERE id = ?", id)
}

// LatestPlan returns the plan recorded last, or ErrNotFound when there is
// none.
func (s *Store) LatestPlan(ctx context.Context) (Plan, error) {
	return s.onePlan(ctx, "SELECT "+planColumns+" FROM plans ORDER BY id DESC LIMIT 1")
}

// Plans returns every plan, oldest first.
func (s *Store) Plans(ctx context.Context) ([]Plan, error) {
	var plans []Plan
	err := s.do(ctx, func(conn *sqlite3.Conn) error {
		return query(conn, "SELECT "+planColumns+" FROM plans ORDER BY id", nil, func(st *sqlite3.Stmt) error {
			p, err := scanPlan(st)
			plans = append(plans, p)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state: reading plans: %w", err)
	}
	return plans, nil
}

// onePlan runs a query for at most one plan.
func (s *Store) onePlan(ctx context.Context, sql string, args ...any) (Plan, error) {
	var p Plan
	found := false
	err := s.do(ctx, func(conn *sqlite3.Conn) error {
		return query(conn, sql, args, func(st *sqlite3.Stmt) (err error) {
			p, err = scanPlan(st)
			found = true
			return err
		})
	})
	switch {
	case err != nil:
		return Plan{}, fmt.Errorf("state: reading plans: %w", err)
	case !found:
		return Plan{}, ErrNotFound
	}
	return p, nil
}

// Tasks returns the tasks of the plan planID in the order they were added.
// A plan without tasks, or an unknown plan, has none.
func (s *Store) Tasks(ctx context.Context, planID int64) ([]Task, error) {
	var tasks []Task
	err := s.do(ctx, func(conn *sqlite3.Conn) error {
		return query(conn, `SELECT task_id, title, state, attempts, artifact_sha256, updated_at
			FROM tasks WHERE plan_id = ? ORDER BY position`, []any{planID},
			func(st *sqlite3.Stmt) error {
				at, err := parseTime(st.ColumnText(5))
				tasks = append(tasks, Task{
					PlanID:         planID,
					ID:             st.ColumnText(0),
					Title:          st.ColumnText(1),
					State:          TaskState(st.ColumnText(2)),
					Attempts:       st.ColumnInt(3),
					ArtifactSHA256: st.ColumnText(4),
					UpdatedAt:      at,
				})
				return err
			})
	})
	if err != nil {
		return nil, fmt.Errorf("state: reading the tasks of plan %d: %w", planID, err)
	}
	return tasks, nil
}

// Transitions returns the transitions of the tasks of plan planID in the
// order they were committed.
func (s *Store) Transitions(ctx context.Context, planID int64) ([]Transition, error) {
	var ts []Transition
	err := s.do(ctx, func(conn *sqlite3.Conn) error {
		return query(conn, `SELECT id, task_id, from_state, to_state, at, audit_seq, audit_hash
			FROM transitions WHERE plan_id = ? ORDER BY id`, []any{planID},
			func(st *sqlite3.Stmt) error {
				at, err := parseTime(st.ColumnText(4))
				ts = append(ts, Transition{
					ID:        st.ColumnInt64(0),
					PlanID:    planID,
					TaskID:    st.ColumnText(1),
					From:      TaskState(st.ColumnText(2)),
					To:        TaskState(st.ColumnText(3)),
					At:        at,
					AuditSeq:  uint64(st.ColumnInt64(5)),
					AuditHash: st.ColumnText(6),
				})
				return err
			})
	})
	if err != nil {
		return nil, fmt.Errorf("state: reading the transitions of plan %d: %w", planID, err)
	}
	return ts, nil
}
