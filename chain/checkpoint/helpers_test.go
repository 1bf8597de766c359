package checkpoint

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
)

// testChainID is the chain id of every generated test chain.
const testChainID = "0123456789abcdef0123456789abcdef"

// seededReader is a deterministic byte source for test keys.
type seededReader byte

func (r seededReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r) + byte(i)
	}
	return len(p), nil
}

// testKey returns a deterministic signer named name, made from seed.
// A nil t (the crash test's writer process) panics on an error.
func testKey(t testing.TB, name string, seed byte) (*Signer, note.Verifier) {
	check := func(err error) {
		if err == nil {
			return
		}
		if t == nil {
			panic(err)
		}
		t.Helper()
		t.Fatal(err)
	}
	skey, vkey, err := note.GenerateKey(seededReader(seed), name)
	check(err)
	s, err := NewSigner(skey)
	check(err)
	if s.VerifierKey() != vkey {
		check(fmt.Errorf("the derived verifier key %s is not %s", s.VerifierKey(), vkey))
	}
	v, err := note.NewVerifier(vkey)
	check(err)
	return s, v
}

// fixedClock returns a deterministic clock.
func fixedClock() func() time.Time {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	var mu sync.Mutex
	n := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return t0.Add(time.Duration(n) * time.Millisecond)
	}
}

// testChain is a chain being written by a test.
type testChain struct {
	t    testing.TB
	path string
	w    *chain.Writer
	n    int
}

// newChain creates a chain in a new directory; rotate > 0 rotates it at
// that size.
func newChain(t testing.TB, rotate int64) *testChain {
	t.Helper()
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	w, err := chain.Open(p, chain.Options{ChainID: testChainID, Now: fixedClock(), MaxFileSize: rotate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return &testChain{t: t, path: p, w: w}
}

// add appends n records in one batch.
func (c *testChain) add(n int) {
	c.t.Helper()
	evs := make([]chain.Event, n)
	for i := range evs {
		evs[i] = chain.Event{Type: "test.event", Session: "s1", Data: fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, c.n, strings.Repeat("p", c.n%50))}
		c.n++
	}
	if _, err := c.w.AppendBatch(context.Background(), evs); err != nil {
		c.t.Fatal(err)
	}
}

// lines returns the chain's record lines in order, across its files.
func (c *testChain) lines() [][]byte {
	c.t.Helper()
	rep, err := chain.VerifyFile(context.Background(), c.path, chain.VerifyOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	var out [][]byte
	for _, f := range rep.Files {
		b, err := os.ReadFile(f)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, l := range bytes.SplitAfter(b, []byte{'\n'}) {
			if len(l) > 0 {
				out = append(out, bytes.TrimSuffix(l, []byte{'\n'}))
			}
		}
	}
	return out
}

// make signs a checkpoint and fails the test on an error.
func (c *testChain) checkpoint(s *Signer, opts Options) *Made {
	c.t.Helper()
	opts.Signer = s
	if opts.Now == nil {
		opts.Now = fixedClock()
	}
	m, err := Make(context.Background(), c.path, opts)
	if err != nil {
		c.t.Fatalf("Make: %v", err)
	}
	return m
}

// verify verifies the chain with its checkpoints against vs.
func (c *testChain) verify(vs ...note.Verifier) *Result {
	c.t.Helper()
	res, err := VerifyFile(context.Background(), c.path, VerifyOptions{Verifiers: note.VerifierList(vs...), MaxUncovered: -1})
	if err != nil {
		c.t.Fatalf("VerifyFile: %v", err)
	}
	return res
}
