package checkpoint

import (
	"bytes"
	"context"
	"os"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
)

// TestVerifyBoundsFindings checks that a checkpoint file of many bad lines
// (lines that are no entry, lines over the size limit, checkpoints signed by
// another key) costs the memory of the findings the report lists, not one
// finding per line: loading keeps the first MaxFindings, counts the rest,
// and the report counts every one.
func TestVerifyBoundsFindings(t *testing.T) {
	key, v := testKey(t, "example.com/log", 1)
	thief, _ := testKey(t, "example.com/log", 2)
	c := newChain(t, 0)
	c.add(10)
	c.checkpoint(key, Options{})
	c.checkpoint(thief, Options{})
	store := StorePath(c.path)
	b, err := os.ReadFile(store)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte{'\n'})
	own, stolen := lines[0], lines[1]
	const garbage, oversize, signed = 20000, 20, 500
	var hostile bytes.Buffer
	hostile.Write(own)
	for i := range garbage + oversize + signed {
		switch {
		case i < garbage:
			hostile.WriteString("x\n")
		case i < garbage+oversize:
			hostile.Write(append(bytes.Repeat([]byte{'a'}, MaxEntrySize+10), '\n'))
		default:
			hostile.Write(stolen)
		}
	}
	if err := os.WriteFile(store, hostile.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, keep := range []int{1, 100} {
		ld, err := load(context.Background(), store, note.VerifierList(v), keep)
		if err != nil {
			t.Fatal(err)
		}
		if len(ld.findings) != keep {
			t.Errorf("keep %d: load kept %d findings of the file's %d bad lines", keep, len(ld.findings), garbage+oversize+signed)
		}
		if n := len(ld.findings) + ld.dropped[Malformed] + ld.dropped[BadSignature]; n != garbage+oversize+signed {
			t.Errorf("keep %d: %d bad lines kept or counted, want %d", keep, n, garbage+oversize+signed)
		}
	}

	res, err := VerifyFile(context.Background(), c.path, VerifyOptions{Verifiers: note.VerifierList(v), MaxUncovered: -1, Chain: chain.VerifyOptions{MaxFindings: 50}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[Malformed] != garbage+oversize || res.Counts[BadSignature] != signed {
		t.Errorf("counts %v, want %d %s and %d %s", res.Counts, garbage+oversize, Malformed, signed, BadSignature)
	}
	if len(res.Findings) != 50 || res.Suppressed != garbage+oversize+signed-50 {
		t.Errorf("%d findings listed and %d suppressed, want 50 and %d", len(res.Findings), res.Suppressed, garbage+oversize+signed-50)
	}
	if res.Checkpoints != 1 || res.Matched != 1 {
		t.Errorf("%d checkpoints signed, %d matched: want the one good checkpoint", res.Checkpoints, res.Matched)
	}
}
