package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/transparency-dev/formats/proof"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// proveChain returns a chain of n records with a checkpoint of them.
func proveChain(t *testing.T, n int) (*testChain, *Signer, note.Verifier) {
	s, v := testKey(t, "brain-audit/test", 1)
	c := newChain(t, 3000)
	c.add(n - 1)
	c.checkpoint(s, Options{})
	return c, s, v
}

// TestProveVerify proves records of a chain and checks each proof with
// VerifyProof and, independently, with golang.org/x/mod/sumdb/tlog's
// CheckRecord on the record's hash and the checkpoint's root; the proof's
// bytes read by transparency-dev/formats give the same proof.
func TestProveVerify(t *testing.T) {
	c, _, v := proveChain(t, 300)
	lines := c.lines()
	latest, err := Latest(StorePath(c.path), LatestOptions{Verifiers: note.VerifierList(v)})
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range []uint64{0, 1, 2, 127, 128, 255, 298, 299} {
		p, rep, err := Prove(context.Background(), c.path, idx, latest, 0)
		if err != nil {
			t.Fatalf("Prove %d: %v", idx, err)
		}
		if !rep.OK() {
			t.Fatalf("Prove %d: the chain does not verify: %v", idx, rep.Findings)
		}
		b := p.Marshal()
		got, err := VerifyProof(b, note.VerifierList(v), ProofOptions{Origin: DefaultOrigin(testChainID)})
		if err != nil {
			t.Fatalf("VerifyProof %d: %v", idx, err)
		}
		if got.Index != idx || !bytes.Equal(got.Record, lines[idx]) || got.Checkpoint.Size != 300 {
			t.Fatalf("VerifyProof %d: index %d, record %q, checkpoint %v", idx, got.Index, got.Record, got.Checkpoint)
		}

		// tlog's own check, from the proof's text.
		var tp proof.TLogProof
		if err := tp.Unmarshal(b); err != nil {
			t.Fatalf("formats: %v", err)
		}
		if tp.Index != idx || !bytes.Equal(tp.ExtraData, lines[idx]) || !bytes.Equal(tp.Checkpoint, latest.Note) {
			t.Fatalf("formats reads index %d, extra %q", tp.Index, tp.ExtraData)
		}
		rp := make(tlog.RecordProof, len(tp.Hashes))
		for i, h := range tp.Hashes {
			rp[i] = tlog.Hash(h)
		}
		if err := tlog.CheckRecord(rp, int64(latest.Checkpoint.Size), tlog.Hash(latest.Checkpoint.Root), int64(idx), tlog.RecordHash(tp.ExtraData)); err != nil {
			t.Fatalf("tlog.CheckRecord %d: %v", idx, err)
		}
	}
}

// TestVerifyProofAttacks changes a valid proof in every part an attacker
// could and checks that each change is refused.
func TestVerifyProofAttacks(t *testing.T) {
	c, _, v := proveChain(t, 40)
	lines := c.lines()
	latest, _ := Latest(StorePath(c.path), LatestOptions{})
	p, _, err := Prove(context.Background(), c.path, 17, latest, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, other := testKey(t, "brain-audit/test", 2)
	vs := note.VerifierList(v)
	edit := func(f func(p *Proof)) []byte {
		q := *p
		q.Hashes = append([]Hash(nil), p.Hashes...)
		f(&q)
		return q.Marshal()
	}
	for _, tc := range []struct {
		name  string
		proof []byte
		vs    note.Verifiers
		opts  ProofOptions
	}{
		{"another record", edit(func(p *Proof) { p.Record = lines[18] }), vs, ProofOptions{}},
		{"the record edited", edit(func(p *Proof) { p.Record = bytes.Replace(p.Record, []byte(`"n":`), []byte(`"m":`), 1) }), vs, ProofOptions{}},
		{"another index", edit(func(p *Proof) { p.Index = 16 }), vs, ProofOptions{}},
		{"an index past the checkpoint", edit(func(p *Proof) { p.Index = 40 }), vs, ProofOptions{}},
		{"a hash changed", edit(func(p *Proof) { p.Hashes[2][0] ^= 1 }), vs, ProofOptions{}},
		{"a hash removed", edit(func(p *Proof) { p.Hashes = p.Hashes[1:] }), vs, ProofOptions{}},
		{"a hash added", edit(func(p *Proof) { p.Hashes = append(p.Hashes, p.Hashes[0]) }), vs, ProofOptions{}},
		{"no record", edit(func(p *Proof) { p.Record = nil }), vs, ProofOptions{}},
		{"the checkpoint's size edited", edit(func(p *Proof) { p.Checkpoint = bytes.Replace(p.Checkpoint, []byte("\n40\n"), []byte("\n41\n"), 1) }), vs, ProofOptions{}},
		{"another key", p.Marshal(), note.VerifierList(other), ProofOptions{}},
		{"another origin expected", p.Marshal(), vs, ProofOptions{Origin: "brain-audit/elsewhere"}},
		{"a witness that did not cosign", p.Marshal(), vs, ProofOptions{Witnesses: []note.Verifier{other}}},
		{"cut short", p.Marshal()[:len(p.Marshal())-30], vs, ProofOptions{}},
		{"not canonical", bytes.Replace(p.Marshal(), []byte("index 17"), []byte("index 017"), 1), vs, ProofOptions{}},
		{"no header", bytes.TrimPrefix(p.Marshal(), []byte(ProofHeader)), vs, ProofOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := VerifyProof(tc.proof, tc.vs, tc.opts); err == nil {
				t.Fatal("VerifyProof accepted it")
			}
		})
	}
	if _, err := VerifyProof(p.Marshal(), vs, ProofOptions{}); err != nil {
		t.Fatalf("the proof itself: %v", err)
	}
}

// TestProveRefusesRewrite checks that no proof is made from a chain that
// no longer matches the checkpoint.
func TestProveRefusesRewrite(t *testing.T) {
	s, _ := testKey(t, "brain-audit/corpus-log", 1)
	p := writeCorpusChain(t, t.TempDir(), 20, 0, nil, []int{20}, s)
	r := writeCorpusChain(t, t.TempDir(), 20, 0, map[int]string{3: `{"i":3,"cmd":"true"}`}, nil, s)
	copyChain(t, r, p)
	latest, _ := Latest(StorePath(p), LatestOptions{})
	var re *RefusedError
	if _, _, err := Prove(context.Background(), p, 2, latest, 0); !errors.As(err, &re) {
		t.Fatalf("Prove: %v, want a *RefusedError", err)
	}
	if _, _, err := Prove(context.Background(), p, 20, latest, 0); !errors.As(err, &re) || !strings.Contains(err.Error(), "not covered") {
		t.Fatalf("Prove past the checkpoint: %v", err)
	}
}

// TestConsistency proves that a later checkpoint extends an earlier one,
// checks the proof with VerifyConsistency and with tlog.CheckTree, and
// refuses a proof against another old checkpoint.
func TestConsistency(t *testing.T) {
	s, v := testKey(t, "brain-audit/test", 1)
	vs := note.VerifierList(v)
	c := newChain(t, 3000)
	c.add(12)
	old := c.checkpoint(s, Options{})
	c.add(7)
	mid := c.checkpoint(s, Options{})
	c.add(100)
	c.checkpoint(s, Options{})
	latest, _ := Latest(StorePath(c.path), LatestOptions{})
	for _, o := range []*Made{old, mid} {
		p, _, err := ProveConsistency(context.Background(), c.path, o.Checkpoint, latest, 0)
		if err != nil {
			t.Fatal(err)
		}
		b := p.Marshal()
		got, err := VerifyConsistency(b, o.Note, vs, ProofOptions{})
		if err != nil {
			t.Fatalf("VerifyConsistency from %d: %v", o.Checkpoint.Size, err)
		}
		if got.Old.Size != o.Checkpoint.Size || got.Checkpoint != latest.Checkpoint {
			t.Fatalf("VerifyConsistency: %v → %v", got.Old, got.Checkpoint)
		}
		q, err := ParseConsistency(b)
		if err != nil {
			t.Fatal(err)
		}
		tp := make(tlog.TreeProof, len(q.Hashes))
		for i, h := range q.Hashes {
			tp[i] = tlog.Hash(h)
		}
		if err := tlog.CheckTree(tp, int64(latest.Checkpoint.Size), tlog.Hash(latest.Checkpoint.Root), int64(o.Checkpoint.Size), tlog.Hash(o.Checkpoint.Root)); err != nil {
			t.Fatalf("tlog.CheckTree from %d: %v", o.Checkpoint.Size, err)
		}
	}
	p, _, _ := ProveConsistency(context.Background(), c.path, old.Checkpoint, latest, 0)
	if _, err := VerifyConsistency(p.Marshal(), mid.Note, vs, ProofOptions{}); err == nil {
		t.Fatal("a proof from size 13 verified against the checkpoint of 20")
	}
	// A forged old checkpoint of the same size: another history.
	forged, _ := Sign(Checkpoint{Origin: old.Checkpoint.Origin, Size: old.Checkpoint.Size, Root: LeafHash([]byte("x"))}, s)
	if _, err := VerifyConsistency(p.Marshal(), forged, vs, ProofOptions{}); err == nil {
		t.Fatal("the proof verified against a forged old checkpoint")
	}
}
