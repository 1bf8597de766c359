package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestTransitionAuditRule(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := newStore(t, path, Options{})
	other := newStore(t, path, Options{})
	r := &recorder{}
	planID := addPlan(t, s, r, "goal", "t1")

	// The audit write fails: nothing of fn's changes remains.
	auditErr := errors.New("disk on fire")
	err := s.Transition(ctx, func(tx *Tx) error {
		if _, err := tx.AddPlan(Plan{SHA256: hash("p2"), GoalSHA256: hash("g2")}); err != nil {
			return err
		}
		return tx.SetTaskState(planID, "t1", StateRunning, "")
	}, func(context.Context) (uint64, string, error) { return 0, "", auditErr })
	var ae *AuditError
	if !errors.As(err, &ae) || !errors.Is(err, auditErr) {
		t.Fatalf("failed record: got %v, want an *AuditError wrapping the record's error", err)
	}
	for _, st := range []*Store{s, other} {
		if got := states(t, st, planID); got != "t1=pending/0" {
			t.Errorf("after a failed record: tasks %s, want t1=pending/0", got)
		}
		if p, err := st.LatestPlan(ctx); err != nil || p.ID != planID {
			t.Errorf("after a failed record: latest plan %d (%v), want %d", p.ID, err, planID)
		}
		if ts, err := st.Transitions(ctx, planID); err != nil || len(ts) != 0 {
			t.Errorf("after a failed record: %d transitions (%v), want none", len(ts), err)
		}
	}

	// fn fails: record is not called.
	fnErr := errors.New("fn refused")
	err = s.Transition(ctx, func(tx *Tx) error {
		tx.SetTaskState(planID, "t1", StateRunning, "")
		return fnErr
	}, func(context.Context) (uint64, string, error) {
		t.Error("record called after fn failed")
		return 1, "h", nil
	})
	if !errors.Is(err, fnErr) {
		t.Errorf("failed fn: got %v, want its error", err)
	}

	// fn panics: the transaction is rolled back and the store still works.
	func() {
		defer func() { recover() }()
		s.Transition(ctx, func(tx *Tx) error {
			tx.SetTaskState(planID, "t1", StateRunning, "")
			panic("boom")
		}, r.record)
	}()

	// record panics: the same, and the store still works.
	func() {
		defer func() { recover() }()
		s.Transition(ctx, func(tx *Tx) error {
			return tx.SetTaskState(planID, "t1", StateRunning, "")
		}, func(context.Context) (uint64, string, error) { panic("boom") })
	}()

	// The record succeeds: the change is visible, but only after the commit.
	err = s.Transition(ctx, func(tx *Tx) error {
		return tx.SetTaskState(planID, "t1", StateRunning, "")
	}, func(ctx context.Context) (uint64, string, error) {
		if got := states(t, other, planID); got != "t1=pending/0" {
			t.Errorf("during record, another store sees %s, want the old t1=pending/0", got)
		}
		return r.record(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*Store{s, other} {
		if got := states(t, st, planID); got != "t1=running/1" {
			t.Errorf("after a recorded transition: tasks %s, want t1=running/1", got)
		}
	}
	ts, err := other.Transitions(ctx, planID)
	if err != nil || len(ts) != 1 || ts[0].AuditSeq != r.seq || ts[0].AuditHash != hash(fmt.Sprint(r.seq)) {
		t.Errorf("transitions %+v (%v), want one stamped with audit seq %d", ts, err, r.seq)
	}

	// A cancelled context stops the transition before it starts.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := move(cancelled, s, r, planID, "t1", StatePassed, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v, want context.Canceled", err)
	}
}

func TestConcurrentStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	a := newStore(t, path, Options{})
	b := newStore(t, path, Options{})
	r := &recorder{}
	const n = 10
	var ids []string
	for i := range 2 * n {
		ids = append(ids, fmt.Sprintf("t%02d", i))
	}
	planID := addPlan(t, a, r, "goal", ids...)

	// Two Stores in this process and a second process move disjoint tasks
	// at the same time.
	child := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	child.Env = append(os.Environ(), "STATE_TEST_HELPER="+path, fmt.Sprintf("STATE_TEST_PLAN=%d", planID), KeyEnv+"="+testKey)
	var out strings.Builder
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w, s := range []*Store{a, b} {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				if err := move(ctx, s, r, planID, ids[i], StateRunning, ""); err != nil {
					t.Error(err)
				}
				if err := move(ctx, s, r, planID, ids[i], StatePassed, hash(ids[i])); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := child.Wait(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, out.String())
	}

	tasks, err := b.Tasks(ctx, planID)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if task.State != StatePassed || task.Attempts != 1 {
			t.Errorf("task %s: %s after %d attempts, want passed after 1", task.ID, task.State, task.Attempts)
		}
	}
	ts, err := a.Transitions(ctx, planID)
	if err != nil || len(ts) != 4*n {
		t.Errorf("%d transitions (%v), want %d", len(ts), err, 4*n)
	}
}

// TestHelperProcess is the second process of TestConcurrentStores: it moves
// tasks n..2n-1 of the plan through running to passed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("STATE_TEST_HELPER")
	if path == "" {
		t.Skip("runs only as the helper process of TestConcurrentStores")
	}
	ctx := context.Background()
	key, err := LoadKey(os.Getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var planID int64
	fmt.Sscan(os.Getenv("STATE_TEST_PLAN"), &planID)
	r := &recorder{seq: 1000}
	tasks, err := s.Tasks(ctx, planID)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks[len(tasks)/2:] {
		if err := move(ctx, s, r, planID, task.ID, StateRunning, ""); err != nil {
			t.Fatal(err)
		}
		if err := move(ctx, s, r, planID, task.ID, StatePassed, hash(task.ID)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNoPlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s := newStore(t, path, Options{})
	r := &recorder{}
	// Distinctive strings in every text column that holds caller data.
	markers := []string{"ZEBRA-PLAN-PATH-7f3a", "QUOKKA-TASK-ID-91c2", "NARWHAL-TITLE-5d0e"}
	var planID int64
	err := s.Transition(ctx, func(tx *Tx) error {
		var err error
		planID, err = tx.AddPlan(Plan{SHA256: hash("y"), Path: markers[0], GoalSHA256: hash("g")})
		for i := 0; i < 50 && err == nil; i++ {
			err = tx.AddTask(planID, fmt.Sprintf("%s-%d", markers[1], i), fmt.Sprintf("%s-%d %s", markers[2], i, strings.Repeat("x", 200)))
		}
		return err
	}, r.record)
	if err != nil {
		t.Fatal(err)
	}
	if err := move(ctx, s, r, planID, markers[1]+"-0", StateRunning, ""); err != nil {
		t.Fatal(err)
	}
	tasks, err := s.Tasks(ctx, planID)
	if err != nil || len(tasks) != 50 || !strings.HasPrefix(tasks[7].Title, markers[2]) {
		t.Fatalf("the markers did not reach the store: %v", err)
	}

	// Scan the database and its -wal and -shm files while the store is open,
	// and again after it is closed.
	scan := func(when string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		scanned := 0
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			scanned += len(b)
			for _, m := range append(markers, "CREATE TABLE", "SQLite format 3") {
				if strings.Contains(string(b), m) || strings.Contains(string(b), m[:8]) {
					t.Errorf("%s: %s holds plaintext %q", when, e.Name(), m)
				}
			}
		}
		if scanned < 3*blockSize {
			t.Errorf("%s: scanned only %d bytes", when, scanned)
		}
		t.Logf("%s: scanned %d bytes in %d files", when, scanned, len(entries))
	}
	scan("open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	scan("closed")
}
