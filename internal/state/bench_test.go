package state

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkTransition measures one Transition that moves a task, with an
// audit record that costs nothing: the cost of the encrypted, synced commit.
func BenchmarkTransition(b *testing.B) {
	ctx := context.Background()
	s := newStore(b, filepath.Join(b.TempDir(), "state.db"), Options{})
	r := &recorder{}
	planID := addPlan(b, s, r, "goal", "t1")
	noop := func(context.Context) (uint64, string, error) { return 1, "h", nil }
	b.ResetTimer()
	for b.Loop() {
		err := s.Transition(ctx, func(tx *Tx) error {
			return tx.SetTaskState(planID, "t1", StateRunning, "")
		}, noop)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen measures opening an existing database: mostly the Argon2id
// stretching of the text key (64 MiB, 3 passes).
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "state.db")
	if err := newStore(b, path, Options{}).Close(); err != nil {
		b.Fatal(err)
	}
	key := mustKey(b, testKey)
	b.ResetTimer()
	for b.Loop() {
		s, err := Open(ctx, path, key, Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkAddPlan measures recording one plan of N tasks in one
// transition, as brain-run plan does: the per-task cost must not grow with
// N. ns/task is the time per task; compare it across the sizes of one run.
func BenchmarkAddPlan(b *testing.B) {
	for _, n := range []int{1000, 10000, 80000} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("task-%06d", i)
			}
			s := newStore(b, filepath.Join(b.TempDir(), "state.db"), Options{})
			r := &recorder{}
			b.ResetTimer()
			for b.Loop() {
				addPlan(b, s, r, "goal", ids...)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/task")
		})
	}
}
