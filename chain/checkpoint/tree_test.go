package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	mproof "github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/tlog"
)

// tlogTree is the reference: x/mod/sumdb/tlog's stored hashes of a log of
// the lines given, computed by its own code.
type tlogTree struct{ stored []tlog.Hash }

func newTlogTree(t testing.TB, lines [][]byte) *tlogTree {
	r := &tlogTree{}
	for i, l := range lines {
		hs, err := tlog.StoredHashes(int64(i), l, r)
		if err != nil {
			t.Fatal(err)
		}
		r.stored = append(r.stored, hs...)
	}
	return r
}

func (r *tlogTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(r.stored)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = r.stored[x]
	}
	return out, nil
}

// testLines returns n lines of 1 to 600 bytes, from a fixed seed.
func testLines(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	lines := make([][]byte, n)
	for i := range lines {
		l := make([]byte, 1+rng.IntN(600))
		for j := range l {
			l[j] = 'a' + byte(rng.IntN(26))
		}
		lines[i] = l
	}
	return lines
}

func joinLines(lines [][]byte) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestTreeMatchesTlog checks the tree against golang.org/x/mod/sumdb/tlog:
// the root at every size, fed serially or in parallel, whole or in chunks
// that cut the log anywhere, and inclusion and consistency proofs built
// from the tree's nodes, checked by tlog.CheckRecord and tlog.CheckTree
// (not by this package's code) and equal to tlog's own proofs.
func TestTreeMatchesTlog(t *testing.T) {
	const n = 1500
	lines := testLines(n, 7)
	ref := newTlogTree(t, lines)
	all := joinLines(lines)
	var targets []uint64
	for s := uint64(1); s <= n; s++ {
		targets = append(targets, s)
	}
	for _, tc := range []struct {
		name    string
		workers int
		chunk   int
	}{{"serial", 1, len(all)}, {"parallel", 4, len(all)}, {"parallel chunks", 3, 300_000}, {"small chunks", 8, 5000}} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(nil, append([]uint64(nil), targets...), nil)
			tr.workers = tc.workers
			for d := all; len(d) > 0; {
				end := min(tc.chunk, len(d))
				end += bytes.IndexByte(d[end-1:], '\n')
				if tc.chunk >= minParallel || tc.workers == 1 {
					tr.Lines(d[:end])
				} else {
					tr.parallel(d[:end])
				}
				d = d[end:]
			}
			if tr.size() != n {
				t.Fatalf("size %d, want %d", tr.size(), n)
			}
			for s := int64(1); s <= n; s++ {
				want, err := tlog.TreeHash(s, ref)
				if err != nil {
					t.Fatal(err)
				}
				got, ok := tr.root(uint64(s))
				if !ok || tlog.Hash(got) != want {
					t.Fatalf("root at size %d: %s (known %v), tlog says %s", s, got, ok, Hash(want))
				}
			}
		})
	}

	// Few targets: pieces of many leaves, whose nodes above pairs of leaves
	// are hashed two at a time, from even and odd starts.
	for _, targets := range [][]uint64{{1500}, {7, 1000, 1500}, {1, 2, 3, 513, 1024, 1499}} {
		tr := newTree(nil, append([]uint64(nil), targets...), nil)
		tr.workers = 3
		cut := len(joinLines(lines[:701]))
		tr.parallel(all[:cut])
		tr.parallel(all[cut:])
		for _, s := range targets {
			want, _ := tlog.TreeHash(int64(s), ref)
			if got, ok := tr.root(s); !ok || tlog.Hash(got) != want {
				t.Fatalf("targets %v: root at %d: %s, tlog says %s", targets, s, got, Hash(want))
			}
		}
	}

	for _, c := range []struct{ index, size uint64 }{{0, 1}, {0, 2}, {5, 6}, {6, 7}, {100, 1000}, {1023, 1024}, {1024, 1500}, {777, 1499}} {
		nodes, err := mproof.Inclusion(c.index, c.size)
		if err != nil {
			t.Fatal(err)
		}
		tr := newTree(nil, []uint64{c.size}, nodes.IDs)
		tr.workers = 4
		tr.parallel(all)
		hs, err := proofHashes(tr, nodes)
		if err != nil {
			t.Fatal(err)
		}
		root, _ := tr.root(c.size)
		p := make(tlog.RecordProof, len(hs))
		for i := range hs {
			p[i] = tlog.Hash(hs[i])
		}
		if err := tlog.CheckRecord(p, int64(c.size), tlog.Hash(root), int64(c.index), tlog.RecordHash(lines[c.index])); err != nil {
			t.Errorf("inclusion of %d in %d: tlog.CheckRecord: %v", c.index, c.size, err)
		}
		want, err := tlog.ProveRecord(int64(c.size), int64(c.index), ref)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(want) != fmt.Sprint(p) {
			t.Errorf("inclusion of %d in %d: %v, tlog.ProveRecord gives %v", c.index, c.size, p, want)
		}
	}
	for _, c := range []struct{ old, size uint64 }{{1, 2}, {3, 4}, {4, 8}, {6, 8}, {7, 1500}, {1024, 1500}, {1000, 1001}, {999, 1499}} {
		nodes, err := mproof.Consistency(c.old, c.size)
		if err != nil {
			t.Fatal(err)
		}
		tr := newTree(nil, []uint64{c.old, c.size}, nodes.IDs)
		tr.workers = 3
		tr.parallel(all)
		hs, err := proofHashes(tr, nodes)
		if err != nil {
			t.Fatal(err)
		}
		oldRoot, _ := tr.root(c.old)
		root, _ := tr.root(c.size)
		p := make(tlog.TreeProof, len(hs))
		for i := range hs {
			p[i] = tlog.Hash(hs[i])
		}
		if err := tlog.CheckTree(p, int64(c.size), tlog.Hash(root), int64(c.old), tlog.Hash(oldRoot)); err != nil {
			t.Errorf("consistency %d → %d: tlog.CheckTree: %v", c.old, c.size, err)
		}
		want, err := tlog.ProveTree(int64(c.size), int64(c.old), ref)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(want) != fmt.Sprint(p) {
			t.Errorf("consistency %d → %d: %v, tlog.ProveTree gives %v", c.old, c.size, p, want)
		}
	}
}

// TestTreeSkip checks that a line the verifier could not hold makes every
// later root unknown, never a wrong one.
func TestTreeSkip(t *testing.T) {
	lines := testLines(10, 3)
	tr := newTree(nil, []uint64{3, 4, 8}, nil)
	tr.Lines(joinLines(lines[:3]))
	tr.Skip()
	tr.Lines(joinLines(lines[4:]))
	if _, ok := tr.root(3); !ok {
		t.Error("the root before the skipped line is unknown")
	}
	for _, s := range []uint64{4, 8} {
		if _, ok := tr.root(s); ok {
			t.Errorf("the root at %d, after the skipped line, is known", s)
		}
	}
}

// TestLeafAndNodeHash checks the hashes against tlog's.
func TestLeafAndNodeHash(t *testing.T) {
	l := []byte(`{"seq":0}`)
	if got, want := LeafHash(l), tlog.RecordHash(l); tlog.Hash(got) != want {
		t.Errorf("LeafHash %s, tlog.RecordHash %s", got, Hash(want))
	}
	a, b := LeafHash([]byte("a")), LeafHash([]byte("b"))
	if got, want := NodeHash(a, b), tlog.NodeHash(tlog.Hash(a), tlog.Hash(b)); tlog.Hash(got) != want {
		t.Errorf("NodeHash %s, tlog.NodeHash %s", got, Hash(want))
	}
}

// TestEmptyRoot: the root written out is SHA-256 of nothing, and the root
// tlog gives the tree of no records.
func TestEmptyRoot(t *testing.T) {
	if want := Hash(sha256.Sum256(nil)); EmptyRoot != want {
		t.Errorf("EmptyRoot %s, SHA-256 of nothing %s", EmptyRoot, want)
	}
	if want, _ := tlog.TreeHash(0, &tlogTree{}); tlog.Hash(EmptyRoot) != want {
		t.Errorf("EmptyRoot %s, tlog says %s", EmptyRoot, Hash(want))
	}
}
