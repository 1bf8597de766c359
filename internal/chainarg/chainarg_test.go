//go:build unix

package chainarg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/brain-dev/brain/chain"
)

func writeChain(t *testing.T, path string, n int) {
	t.Helper()
	w, err := chain.Open(path, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := w.Append(t.Context(), chain.Event{Type: "test.event", Data: []byte(`{"n":1}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ws", "audit.jsonl")
	os.Mkdir(filepath.Dir(good), 0o700)
	writeChain(t, good, 3)

	// A file: one target, verified, its file reported.
	ts, _, err := Resolve(good, nil)
	if err != nil || len(ts) != 1 || ts[0].Name != good {
		t.Fatalf("file: %v, %+v", err, ts)
	}
	rep, err := ts[0].Verify(t.Context(), chain.VerifyOptions{})
	if err != nil || !rep.OK() || len(rep.Files) != 1 || rep.Files[0] != good {
		t.Fatalf("file verified: %v, %+v", err, rep)
	}

	// A directory: every chain in it.
	ts, _, err = Resolve(filepath.Dir(good), nil)
	if err != nil || len(ts) != 1 || ts[0].Name != good {
		t.Fatalf("directory: %v, %+v", err, ts)
	}

	// Standard input.
	b, _ := os.ReadFile(good)
	ts, _, err = Resolve(Stdin, bytes.NewReader(b))
	if err != nil || len(ts) != 1 {
		t.Fatalf("stdin: %v, %+v", err, ts)
	}
	if rep, err := ts[0].Verify(t.Context(), chain.VerifyOptions{}); err != nil || !rep.OK() || rep.Records != 4 {
		t.Fatalf("stdin verified: %v, %+v", err, rep)
	}

	// A missing file is still a target: verification says what is missing.
	if ts, _, err := Resolve(filepath.Join(dir, "missing.jsonl"), nil); err != nil || len(ts) != 1 {
		t.Fatalf("missing file: %v, %+v", err, ts)
	}

	// An empty directory names no chain.
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o700)
	if _, _, err := Resolve(empty, nil); !errors.Is(err, ErrNoChain) || err.Error() != `no audit chain under "`+empty+`"` {
		t.Fatalf("empty directory: %v", err)
	}

	// A path through a file cannot be read: an *Error that says so.
	var ae *Error
	if _, _, err := Resolve(filepath.Join(good, "x"), nil); !errors.As(err, &ae) || err.Error() != `reading "`+filepath.Join(good, "x")+`": not a directory` {
		t.Fatalf("unreadable: %v", err)
	}
}
