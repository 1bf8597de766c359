package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestMakeIncremental checks that checkpoints made from the records added
// since the last one (across rotations) have the root that tlog computes
// over the whole chain, that only the first verifies the whole chain, and
// that Full gives the same checkpoint.
func TestMakeIncremental(t *testing.T) {
	s, v := testKey(t, "brain-audit/test", 1)
	c := newChain(t, 4000)
	for step, n := range []int{5, 1, 40, 3, 100, 7} {
		c.add(n)
		m := c.checkpoint(s, Options{})
		if (m.Verified != nil) != (step == 0) {
			t.Errorf("step %d: whole chain verified: %v, want %v", step, m.Verified != nil, step == 0)
		}
		lines := c.lines()
		ref := newTlogTree(t, lines)
		want, _ := tlog.TreeHash(int64(len(lines)), ref)
		if m.Checkpoint.Size != uint64(len(lines)) || tlog.Hash(m.Checkpoint.Root) != want {
			t.Fatalf("step %d: checkpoint %v, want size %d root %s", step, m.Checkpoint, len(lines), Hash(want))
		}
		if !m.New {
			t.Errorf("step %d: the checkpoint is not new", step)
		}
		f := c.checkpoint(s, Options{Full: true})
		if f.Checkpoint != m.Checkpoint || f.New || f.Verified == nil {
			t.Errorf("step %d: with Full: %v (new %v), want %v, not new", step, f.Checkpoint, f.New, m.Checkpoint)
		}
	}
	res := c.verify(v)
	if !res.OK() || res.Checkpoints != 6 || res.Matched != 6 || res.Uncovered != 0 || len(res.Files) < 3 {
		t.Fatalf("verify: %v, %d checkpoints, %d matched, %d uncovered, %d files", res.Findings, res.Checkpoints, res.Matched, res.Uncovered, len(res.Files))
	}
}

// TestMakeUnchanged checks that a chain that has not grown gets no second
// entry, and that a checkpoint's note is what the file holds.
func TestMakeUnchanged(t *testing.T) {
	s, _ := testKey(t, "brain-audit/test", 1)
	c := newChain(t, 0)
	c.add(3)
	m1 := c.checkpoint(s, Options{})
	m2 := c.checkpoint(s, Options{})
	if m2.New || !bytes.Equal(m1.Note, m2.Note) {
		t.Fatalf("second checkpoint of an unchanged chain: new %v", m2.New)
	}
	if n := len(storeLines(t, c.path)); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
}

// TestMakeRefuses checks that the writer never signs a chain that does not
// extend its last checkpoint, nor one that does not verify, and leaves the
// checkpoint file as it was.
func TestMakeRefuses(t *testing.T) {
	s, _ := testKey(t, "brain-audit/corpus-log", 1)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, p string)
	}{
		{"rewritten and rehashed", func(t *testing.T, p string) {
			r := writeCorpusChain(t, t.TempDir(), 25, 0, map[int]string{3: `{"i":3,"cmd":"true"}`}, nil, s)
			copyChain(t, r, p)
		}},
		{"rewritten, same lengths", func(t *testing.T, p string) {
			r := writeCorpusChain(t, t.TempDir(), 25, 0, map[int]string{3: `{"i":3,"cmd":"make deplox"}`}, nil, s)
			copyChain(t, r, p)
		}},
		{"tail cut", func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			ls := bytes.SplitAfter(b, []byte{'\n'})
			os.WriteFile(p, bytes.Join(ls[:15], nil), 0o600)
		}},
		{"tail cut, then as many records appended", func(t *testing.T, p string) {
			r := writeCorpusChain(t, t.TempDir(), 25, 0, map[int]string{16: `{"i":16,"cmd":"make deploy","again":true}`}, nil, s)
			copyChain(t, r, p)
		}},
		{"record after the checkpoint tampered", func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"i":22,`), []byte(`"i":99,`), 1), 0o600)
		}},
		{"rehashed after the checkpoint, link to its head broken", func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			ls := bytes.SplitAfter(b, []byte{'\n'})
			os.WriteFile(p, bytes.Join(append(ls[:20], ls[21:]...), nil), 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A checkpoint at 20, the writer's state, then 5 more records.
			p := writeCorpusChain(t, t.TempDir(), 20, 0, nil, []int{20}, s)
			if m, err := Make(context.Background(), p, Options{Signer: s}); err != nil || m.New {
				t.Fatal(err)
			}
			w := writeCorpusChain(t, t.TempDir(), 25, 0, nil, nil, s)
			b, _ := os.ReadFile(w)
			os.WriteFile(p, b, 0o600)
			before, _ := os.ReadFile(StorePath(p))
			tc.damage(t, p)
			_, err := Make(context.Background(), p, Options{Signer: s})
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Make: %v, want a *RefusedError", err)
			}
			after, _ := os.ReadFile(StorePath(p))
			if !bytes.Equal(before, after) {
				t.Error("the refused checkpoint changed the checkpoint file")
			}
		})
	}
}

// TestMakeBadState checks that a state file that does not lead to the
// next record, or does not give the last checkpoint's root, is passed over
// for a whole verification, with the right checkpoint.
func TestMakeBadState(t *testing.T) {
	s, v := testKey(t, "brain-audit/test", 1)
	for _, tc := range []struct {
		name string
		edit func(st *writerState)
	}{
		{"range of another tree", func(st *writerState) { st.Range[0] = LeafHash(nil).String() }},
		{"offset elsewhere", func(st *writerState) { st.Offset -= 10 }},
		{"offset beyond the file", func(st *writerState) { st.Offset += 1 << 20 }},
		{"wrong head", func(st *writerState) { st.Head = "3:" + string(bytes.Repeat([]byte("0"), 64)) }},
		{"file index beyond", func(st *writerState) { st.Index = 7 }},
		{"garbage", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t, 0)
			c.add(10)
			c.checkpoint(s, Options{})
			sp := statePath(StorePath(c.path))
			if tc.edit == nil {
				os.WriteFile(sp, []byte("{{{"), 0o600)
			} else {
				st := readState(sp)
				tc.edit(st)
				writeState(sp, st)
			}
			c.add(5)
			m := c.checkpoint(s, Options{})
			if m.Verified == nil {
				t.Error("the whole chain was not verified")
			}
			if res := c.verify(v); !res.OK() || res.Matched != 2 {
				t.Fatalf("verify: %v, %d matched", res.Findings, res.Matched)
			}
		})
	}
}

// TestMakeOrigin checks that a configured origin is kept by later
// checkpoints and that another one is refused.
func TestMakeOrigin(t *testing.T) {
	s, v := testKey(t, "example.com/log", 1)
	c := newChain(t, 0)
	c.add(2)
	if m := c.checkpoint(s, Options{Origin: "example.com/log"}); m.Checkpoint.Origin != "example.com/log" {
		t.Fatalf("origin %q", m.Checkpoint.Origin)
	}
	c.add(2)
	if m := c.checkpoint(s, Options{}); m.Checkpoint.Origin != "example.com/log" {
		t.Fatalf("origin %q, want the configured one kept", m.Checkpoint.Origin)
	}
	c.add(1)
	_, err := Make(context.Background(), c.path, Options{Signer: s, Origin: "example.com/other"})
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("another origin: %v, want a *RefusedError", err)
	}
	if res := c.verify(v); !res.OK() || res.Origin != "example.com/log" {
		t.Fatalf("verify: %v, origin %q", res.Findings, res.Origin)
	}
}

// TestMakeConcurrent runs writers and checkpointers at once: every
// checkpoint is stored whole, in order of size, and matches the chain.
func TestMakeConcurrent(t *testing.T) {
	s, v := testKey(t, "brain-audit/test", 1)
	c := newChain(t, 8000)
	c.add(1)
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				if g == 0 {
					c.add(7)
					continue
				}
				if _, err := Make(context.Background(), c.path, Options{Signer: s, Now: time.Now}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.checkpoint(s, Options{})
	res := c.verify(v)
	if !res.OK() || res.Uncovered != 0 {
		t.Fatalf("verify: %v, %d uncovered", res.Findings, res.Uncovered)
	}
	var last uint64
	for _, l := range storeLines(t, c.path) {
		e, err := parseEntry(bytes.TrimSuffix(l, []byte{'\n'}))
		if err != nil {
			t.Fatal(err)
		}
		ck, _, err := Open(e.Note, note.VerifierList(v))
		if err != nil {
			t.Fatal(err)
		}
		if ck.Size < last {
			t.Fatalf("checkpoint of size %d after one of %d", ck.Size, last)
		}
		last = ck.Size
	}
}

// TestRepairStore checks that a torn last line is moved aside, whole lines
// kept, and that the writer appends again after the repair.
func TestRepairStore(t *testing.T) {
	s, v := testKey(t, "brain-audit/test", 1)
	c := newChain(t, 0)
	c.add(3)
	c.checkpoint(s, Options{})
	c.add(3)
	c.checkpoint(s, Options{})
	sp := StorePath(c.path)
	b, _ := os.ReadFile(sp)
	torn := b[:len(b)-40]
	os.WriteFile(sp, torn, 0o600)
	c.add(1)
	var te *TornError
	if _, err := Make(context.Background(), c.path, Options{Signer: s}); !errors.As(err, &te) {
		t.Fatalf("Make on a torn file: %v, want a *TornError", err)
	}
	dry, err := RepairStore(sp, true, time.Now())
	if err != nil || dry.Action != "truncate_torn_tail" {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	if got, _ := os.ReadFile(sp); !bytes.Equal(got, torn) {
		t.Fatal("the dry run changed the file")
	}
	res, err := RepairStore(sp, false, time.Now())
	if err != nil || res.Action != "truncate_torn_tail" || res.Quarantine == "" {
		t.Fatalf("repair: %+v, %v", res, err)
	}
	q, _ := os.ReadFile(res.Quarantine)
	first := bytes.IndexByte(b, '\n') + 1
	if got, _ := os.ReadFile(sp); !bytes.Equal(got, b[:first]) || !bytes.Equal(q, torn[first:]) {
		t.Fatalf("after the repair the file holds %q and the quarantine %q", got, q)
	}
	if fi, _ := os.Stat(res.Quarantine); fi.Mode().Perm() != 0o600 || filepath.Dir(res.Quarantine) != filepath.Dir(sp) {
		t.Errorf("quarantine %s mode %v", res.Quarantine, fi.Mode())
	}
	c.checkpoint(s, Options{})
	if r := c.verify(v); !r.OK() {
		t.Fatalf("verify after the repair: %v", r.Findings)
	}
	if again, _ := RepairStore(sp, false, time.Now()); again.Action != "none" {
		t.Errorf("a second repair: %+v", again)
	}
}

// TestMakeRewrittenSameSize checks that a chain rewritten and rehashed to
// the size of its last checkpoint is refused, though no record was added:
// the record the checkpoint ends at is checked.
func TestMakeRewrittenSameSize(t *testing.T) {
	s, _ := testKey(t, "brain-audit/corpus-log", 1)
	p := writeCorpusChain(t, t.TempDir(), 20, 0, nil, []int{20}, s)
	if _, err := Make(context.Background(), p, Options{Signer: s}); err != nil {
		t.Fatal(err)
	}
	r := writeCorpusChain(t, t.TempDir(), 20, 0, map[int]string{3: `{"i":3,"cmd":"make deplox"}`}, nil, s)
	copyChain(t, r, p)
	var re *RefusedError
	if _, err := Make(context.Background(), p, Options{Signer: s}); !errors.As(err, &re) {
		t.Fatalf("Make: %v, want a *RefusedError", err)
	}
}
