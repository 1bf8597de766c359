package checkpoint

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	tlog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// seedStore adds the lines of every checkpoint file of the corpus to f.
func seedStore(f *testing.F, add func(line []byte)) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*", "audit.jsonl.checkpoints"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		for _, l := range bytes.Split(b, []byte{'\n'}) {
			add(l)
		}
	}
}

// FuzzParseCheckpoint holds the checkpoint parser to its contract: it never
// panics, what it accepts is exactly what Marshal writes back, and
// transparency-dev/formats reads the same checkpoint from it.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("brain-audit/x\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n"))
	f.Add([]byte("brain-audit/x\n01\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n"))
	f.Add([]byte("o\n18446744073709551615\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n"))
	seedStore(f, func(l []byte) {
		if e, err := parseEntry(l); err == nil {
			if i := bytes.LastIndex(e.Note, []byte("\n\n")); i >= 0 {
				f.Add(e.Note[:i+1])
			}
		}
	})
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := ParseCheckpoint(text)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Marshal(), text) {
			t.Fatalf("accepted %q, which Marshal writes as %q", text, c.Marshal())
		}
		var tc tlog.Checkpoint
		rest, err := tc.Unmarshal(text)
		if err != nil || len(rest) != 0 || tc.Origin != c.Origin || tc.Size != c.Size || !bytes.Equal(tc.Hash, c.Root[:]) {
			t.Fatalf("accepted %q as %v; formats reads %+v, rest %q, %v", text, c, tc, rest, err)
		}
		if err := CheckOrigin(c.Origin); err != nil {
			t.Fatalf("accepted the origin %q: %v", c.Origin, err)
		}
	})
}

// FuzzEntry holds the checkpoint file's line parser, and the opening of the
// note it holds, to their contract: no panic, one spelling per entry, and a
// note that opens is a checkpoint signed by the key given.
func FuzzEntry(f *testing.F) {
	seedStore(f, func(l []byte) { f.Add(l) })
	f.Add([]byte(`{"ts":"2026-01-02T03:04:05.124456789Z","note":""}`))
	f.Add([]byte(`{"note":"","ts":"2026-01-02T03:04:05.124456789Z"}`))
	f.Add([]byte(`{"ts":"2026-01-02T03:04:05.124456789Z","note":"x","note":"y"}`))
	s, v := testKey(f, "brain-audit/corpus-log", 1)
	vs := note.VerifierList(v)
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := parseEntry(line)
		if err != nil {
			return
		}
		if m := marshalEntry(e); !bytes.Equal(m[:len(m)-1], line) {
			t.Fatalf("accepted %q, which marshals as %q", line, m)
		}
		c, n, err := Open(e.Note, vs)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Marshal(), []byte(n.Text)) {
			t.Fatalf("opened %q as %v", n.Text, c)
		}
		found := false
		for _, sig := range n.Sigs {
			found = found || sig.Hash == s.KeyHash() && sig.Name == s.Name()
		}
		if !found {
			t.Fatalf("opened a note without a signature of the key: %q", e.Note)
		}
	})
}

// FuzzParseProof holds the proof parsers to their contract: no panic, and
// what they accept is what Marshal writes back.
func FuzzParseProof(f *testing.F) {
	b, err := os.ReadFile(vectorsFile)
	if err == nil {
		var v struct {
			Proof       string `json:"proof_record_2"`
			Consistency string `json:"consistency_3_to_6"`
		}
		if json.Unmarshal(b, &v) == nil {
			f.Add([]byte(v.Proof))
			f.Add([]byte(v.Consistency))
		}
	}
	f.Add([]byte(ProofHeader + "\nextra e30=\nindex 0\n\n"))
	f.Add([]byte("old 0\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := ParseProof(b); err == nil && !bytes.Equal(p.Marshal(), b) {
			t.Fatalf("accepted a proof that marshals otherwise: %q", b)
		}
		if p, err := ParseConsistency(b); err == nil && !bytes.Equal(p.Marshal(), b) {
			t.Fatalf("accepted a consistency proof that marshals otherwise: %q", b)
		}
	})
}
