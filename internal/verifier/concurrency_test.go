package verifier

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestConcurrencyBounded runs six checks that each spin until their timeout
// with Concurrency 2: never more than two run at once, and all six finish.
// Without the bound all six would overlap (each spins 150 ms).
func TestConcurrencyBounded(t *testing.T) {
	loop, err := os.ReadFile(filepath.Join("..", "..", "testdata", "hostile", "loop.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(Options{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close(context.Background())
	var mu sync.Mutex
	cur, peak := 0, 0
	v.inFlight = func(d int) {
		mu.Lock()
		defer mu.Unlock()
		cur += d
		peak = max(peak, cur)
	}
	var checks []Check
	for range 6 {
		checks = append(checks, Check{Name: "loop", Wasm: loop, Limits: Limits{Timeout: 150 * time.Millisecond}})
	}
	results, err := v.Run(context.Background(), t.TempDir(), checks)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Class != ClassTimeout {
			t.Errorf("result %+v, want a timeout", r)
		}
	}
	if peak > 2 || peak == 0 {
		t.Fatalf("at most %d checks ran at once, want 1 or 2 (the bound)", peak)
	}
}
