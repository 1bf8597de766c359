package evidence

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/fsutil"
)

// MaxSample bounds --sample: the proofs are made in one pass over the
// chain (checkpoint.ProveAll), and each is kept in memory until written.
const MaxSample = 256

// SampleMethod names how the records are drawn, so that an auditor can draw
// them again: with the recorded seed, a PCG generator (math/rand/v2,
// rand.NewPCG(seed, seed)) draws k of the n records of the population
// by Robert Floyd's algorithm (for j from n-k to n-1: t = IntN(j+1); take
// t, or j when t is already taken), each drawn index the position of a
// record in the population, in seq order.
const SampleMethod = "floyd-pcg/1"

// Sample is chains/N/sample.json: which records were drawn and how.
type Sample struct {
	Method string `json:"method"`
	Seed   uint64 `json:"seed"`
	Asked  int    `json:"asked"`
	// Checkpoint is the size of the checkpoint the proofs are against (0:
	// none, and no proof).
	Checkpoint uint64 `json:"checkpoint_size"`
	// Population counts the records the sample was drawn from: those the
	// checkpoint covers, in the period when one was given.
	Population uint64   `json:"population"`
	Seqs       []uint64 `json:"seqs"`
	Proofs     []string `json:"proofs"`
	// Note says why there are fewer proofs than asked for.
	Note string `json:"note,omitempty"`
}

// draw returns k distinct positions in [0, n), in increasing order.
func draw(seed uint64, n uint64, k int) []uint64 {
	if uint64(k) > n {
		k = int(n)
	}
	r := rand.New(rand.NewPCG(seed, seed))
	taken := make(map[uint64]bool, k)
	out := make([]uint64, 0, k)
	for j := n - uint64(k); j < n; j++ {
		t := r.Uint64N(j + 1)
		if taken[t] {
			t = j
		}
		taken[t] = true
		out = append(out, t)
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// period is the --since/--until interval, either end open when zero.
type period struct{ since, until time.Time }

func (p period) open() bool { return p.since.IsZero() && p.until.IsZero() }

func (p period) contains(t time.Time) bool {
	return (p.since.IsZero() || !t.Before(p.since)) && (p.until.IsZero() || t.Before(p.until))
}

// inPeriod returns the seqs below size of the records of files whose ts is
// in p, reading the files one line at a time; with positions, only the
// records at those positions of that list (sorted), so that memory is
// bounded by the sample, not the chain. It returns the count of records in
// the period as well.
func inPeriod(ctx context.Context, files []string, size uint64, p period, positions []uint64) (count uint64, seqs []uint64, err error) {
	next := 0
	for _, name := range files {
		f, err := fsutil.OpenFile(name, os.O_RDONLY|fsutil.NoFollow, 0)
		if err != nil {
			return 0, nil, err
		}
		sc := chain.NewScanner(f)
		for sc.Scan() {
			if ctx.Err() != nil {
				f.Close()
				return 0, nil, ctx.Err()
			}
			if sc.LineErr() != nil {
				continue
			}
			rec := sc.Record()
			if rec.Seq >= size || !p.contains(rec.Time) {
				continue
			}
			for next < len(positions) && positions[next] == count {
				seqs = append(seqs, rec.Seq)
				next++
			}
			count++
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return 0, nil, fmt.Errorf("reading %s: %w", name, err)
		}
	}
	return count, seqs, nil
}
