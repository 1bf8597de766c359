//go:build linux

package state

import (
	"github.com/brain-dev/brain/internal/testutil"

	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fullFS mounts a small tmpfs for the test and returns its path.
func fullFS(t *testing.T, size string) string { return testutil.Tmpfs(t, size) }

// fill fills the file system of dir and returns a function that frees the
// space again.
func fill(t *testing.T, dir string) (free func()) { return testutil.Fill(t, dir) }

func TestFullFileSystem(t *testing.T) {
	ctx := context.Background()
	dir := fullFS(t, "1m")
	path := filepath.Join(dir, "state.db")
	s := newStore(t, path, Options{})
	r := &recorder{}
	planID := addPlan(t, s, r, "goal", "t1", "t2")
	if err := move(ctx, s, r, planID, "t1", StateRunning, ""); err != nil {
		t.Fatal(err)
	}
	const want = "t1=running/1 t2=pending/0"
	free := fill(t, dir)

	// The audit record is written to the full file system: the transition
	// is rolled back.
	auditLog := filepath.Join(dir, "audit.jsonl")
	err := s.Transition(ctx, func(tx *Tx) error {
		return tx.SetTaskState(planID, "t1", StatePassed, hash("artifact"))
	}, func(ctx context.Context) (uint64, string, error) {
		f, err := os.OpenFile(auditLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			_, err = f.Write([]byte(strings.Repeat("{\"seq\":1}\n", 1000)))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		return 1, "h", err
	})
	var ae *AuditError
	if !errors.As(err, &ae) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("audit write on a full disk: got %v, want an *AuditError wrapping ENOSPC", err)
	}
	t.Logf("audit write failed: %v", err)

	// The audit record is written, but the commit cannot write the
	// database's log: the transition is rolled back.
	err = s.Transition(ctx, func(tx *Tx) error {
		for i := range 100 {
			if err := tx.AddTask(planID, fmt.Sprintf("big%d", i), strings.Repeat("x", 2000)); err != nil {
				return err
			}
		}
		return tx.SetTaskState(planID, "t2", StateRunning, "")
	}, r.record)
	if err == nil {
		t.Fatal("a transition committed on a full file system")
	}
	var ce *CommitError
	if !errors.As(err, &ce) || ce.Seq != r.seq || !strings.Contains(err.Error(), "bytes free") {
		t.Errorf("commit on a full disk: got %v, want a *CommitError naming audit seq %d and the free space", err, r.seq)
	}
	t.Logf("commit failed: %v", err)
	if got := states(t, s, planID); got != want {
		t.Errorf("after the failures, the store shows %s, want %s", got, want)
	}

	// Space again: the previous state is intact, on disk and in a new Store,
	// and transitions work.
	free()
	s2 := reopen(t, s, path)
	if got := states(t, s2, planID); got != want {
		t.Errorf("reopened: %s, want %s", got, want)
	}
	if err := move(ctx, s2, r, planID, "t1", StatePassed, ""); err != nil {
		t.Errorf("a transition after space came back: %v", err)
	}
}
