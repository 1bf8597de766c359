package chain

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzVerify checks three properties:
//
//  1. VerifyReader never panics and never fails to produce a report, whatever
//     the input (data).
//  2. One mutation of a good corpus chain (chosen by which) — a byte flip, an
//     insertion, a deletion or a copy of a range to another place, at a
//     position chosen by the fuzzer — never verifies, unless it is a clean cut
//     of whole records at the end, which a plain hash chain cannot detect.
//  3. The fast path and the general parser give the same report for data.
func FuzzVerify(f *testing.F) {
	goods := corpusFiles(f, "good") // none is empty
	for i, g := range goods {
		for op := range uint8(4) {
			f.Add(g, uint8(i), op, uint32(len(g)/2), uint16(i*7+1), byte(op+1))
		}
	}
	for _, b := range corpusFiles(f, "bad") {
		f.Add(b, uint8(0), uint8(0), uint32(0), uint16(1), byte(1))
	}
	ctx := context.Background()
	opts := VerifyOptions{Workers: 2}
	slow := VerifyOptions{Workers: 2, slow: true}
	f.Fuzz(func(t *testing.T, data []byte, which, op uint8, pos uint32, n uint16, val byte) {
		rep, err := VerifyReader(ctx, "input", bytes.NewReader(data), opts)
		if err != nil {
			t.Fatalf("VerifyReader: %v", err)
		}
		// 3. The fast parser and the general one agree on every input.
		general, err := VerifyReader(ctx, "input", bytes.NewReader(data), slow)
		if err != nil {
			t.Fatalf("VerifyReader: %v", err)
		}
		if diff := cmp.Diff(general, rep); diff != "" {
			t.Fatalf("the fast path's report differs from the general parser's (-general +fast):\n%s", diff)
		}
		good := goods[int(which)%len(goods)]
		mut, desc := mutate(good, data, op, pos, n, val)
		if mut == nil {
			return
		}
		rep, err = VerifyReader(ctx, "mutated", bytes.NewReader(mut), opts)
		if err != nil {
			t.Fatalf("VerifyReader: %v", err)
		}
		if rep.OK() {
			t.Fatalf("%s of a good chain verifies:\n%q", desc, mut)
		}
	})
}

// mutate applies one mutation to a copy of good. It returns nil when the
// result is not a mutation that must be detected: a no-op, or a clean cut of
// whole records at the end.
func mutate(good, data []byte, op uint8, pos uint32, n uint16, val byte) ([]byte, string) {
	m := bytes.Clone(good)
	switch op % 4 {
	case 0: // flip bits of one byte
		p := int(pos % uint32(len(m)))
		x := val
		if x == 0 {
			x = 0x20
		}
		m[p] ^= x
		return m, fmt.Sprintf("xor 0x%02x at byte %d", x, p)
	case 1: // insert bytes: the fuzzer's data, or val repeated
		p := int(pos % uint32(len(m)+1))
		ins := data
		if k := 1 + int(n)%64; len(ins) > k {
			ins = ins[:k]
		}
		if len(ins) == 0 {
			ins = []byte{val}
		}
		return append(m[:p:p], append(bytes.Clone(ins), m[p:]...)...), fmt.Sprintf("insertion of %q at byte %d", ins, p)
	case 2: // delete a range
		p := int(pos % uint32(len(m)))
		k := 1 + int(n)%(len(m)-p)
		if p+k == len(m) && p > 0 && m[p-1] == '\n' {
			return nil, "" // a clean cut of whole records at the end
		}
		return append(m[:p:p], m[p+k:]...), fmt.Sprintf("deletion of bytes %d..%d", p, p+k)
	default: // copy a range of the chain to another place
		a := int(n) % len(m)
		k := min(1+int(val), len(m)-a)
		p := int(pos % uint32(len(m)+1))
		return append(m[:p:p], append(bytes.Clone(good[a:a+k]), m[p:]...)...), fmt.Sprintf("copy of bytes %d..%d to byte %d", a, a+k, p)
	}
}

// corpusFiles returns the committed single-file chains of the corpus under
// kind ("good" or "bad").
func corpusFiles(t testing.TB, kind string) [][]byte {
	ms, err := filepath.Glob(filepath.Join(corpusDir, kind, "*.jsonl"))
	if err != nil || len(ms) == 0 {
		t.Fatalf("no corpus files under %s/%s (%v)", corpusDir, kind, err)
	}
	var out [][]byte
	for _, p := range ms {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
