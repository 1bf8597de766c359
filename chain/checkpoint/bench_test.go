package checkpoint

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
)

// benchChain returns the chain BENCH_CHAIN names (made with checkpoints by
// scripts/bench-checkpoint.sh, its verifier key in the same directory as
// k.vkey), or skips.
func benchChain(b *testing.B) (string, note.Verifiers) {
	p := os.Getenv("BENCH_CHAIN")
	if p == "" {
		b.Skip("BENCH_CHAIN names a chain with checkpoints (scripts/bench-checkpoint.sh makes one)")
	}
	v, err := LoadVerifier(filepath.Join(filepath.Dir(p), "k.vkey"))
	if err != nil {
		b.Fatal(err)
	}
	return p, note.VerifierList(v)
}

// BenchmarkVerifyPlain is chain.VerifyFile of the chain: the baseline.
func BenchmarkVerifyPlain(b *testing.B) {
	p, _ := benchChain(b)
	for b.Loop() {
		rep, err := chain.VerifyFile(context.Background(), p, chain.VerifyOptions{})
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Findings)
		}
	}
}

// BenchmarkVerifyCheckpoints is VerifyFile with every checkpoint checked.
func BenchmarkVerifyCheckpoints(b *testing.B) {
	p, vs := benchChain(b)
	for b.Loop() {
		res, err := VerifyFile(context.Background(), p, VerifyOptions{Verifiers: vs, MaxUncovered: -1})
		if err != nil || !res.OK() {
			b.Fatal(err, res.Findings)
		}
	}
}

// BenchmarkVerifyProof is VerifyProof of a record in the middle of the
// chain, against its latest checkpoint: the auditor's offline check.
func BenchmarkVerifyProof(b *testing.B) {
	p, vs := benchChain(b)
	c, err := Latest(StorePath(p), LatestOptions{Verifiers: vs})
	if err != nil {
		b.Fatal(err)
	}
	pr, _, err := Prove(context.Background(), p, c.Checkpoint.Size/2, c, 0)
	if err != nil {
		b.Fatal(err)
	}
	proof := pr.Marshal()
	b.ReportMetric(float64(len(pr.Hashes)), "hashes")
	for b.Loop() {
		if _, err := VerifyProof(proof, vs, ProofOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
