package chain

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lineRecorder is a LineSink that keeps what it is given.
type lineRecorder struct {
	lines   [][]byte
	skipped []int // the index in lines before which a line was skipped
}

func (r *lineRecorder) Lines(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		r.lines = append(r.lines, append([]byte(nil), data[:i+1]...))
		data = data[i+1:]
	}
}

func (r *lineRecorder) Skip() { r.skipped = append(r.skipped, len(r.lines)) }

// TestLineSink checks that VerifyOptions.Lines is given exactly the lines
// verified, in order, on every reading path: across rotated files and chunk
// boundaries, with a torn tail (not given), a final record without its
// newline (given with one), a line longer than a chunk (skipped, counted)
// and more short lines in a chunk than a job holds.
func TestLineSink(t *testing.T) {
	dir := t.TempDir()
	// A line longer than a chunk is never held whole: it is skipped.
	const oversizeLen = chunkSize + MaxRecordSize
	big := strings.Repeat("x", 300)

	// A chain of three files, the active one over a 4 MiB chunk.
	rotated := filepath.Join(dir, "rot", "audit.jsonl")
	os.MkdirAll(filepath.Dir(rotated), 0o700)
	batch := func(w *Writer, n int) {
		evs := make([]Event, n)
		for i := range evs {
			evs[i] = Event{Type: "e" + big}
		}
		if _, err := w.AppendBatch(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
	}
	w := openTest(t, rotated, Options{MaxFileSize: 32 << 10})
	for range 4 {
		batch(w, 100)
	}
	w.Close()
	w = openTest(t, rotated, Options{})
	batch(w, 12000)
	w.Close()

	single := func(name string) string {
		p := filepath.Join(dir, name, "audit.jsonl")
		os.MkdirAll(filepath.Dir(p), 0o700)
		w := openTest(t, p, Options{})
		appendN(t, w, 20, "e")
		w.Close()
		return p
	}
	addBytes := func(p string, b []byte) {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(b)
		f.Close()
	}
	torn := single("torn")
	addBytes(torn, []byte(`{"seq":21,"ts":"2025-01-0`))
	noNewline := single("nonl")
	b, _ := os.ReadFile(noNewline)
	os.WriteFile(noNewline, b[:len(b)-1], 0o600)
	oversize := single("oversize")
	addBytes(oversize, append(bytes.Repeat([]byte("y"), oversizeLen), '\n'))
	addBytes(oversize, []byte("{}\n"))
	junk := single("junk")
	addBytes(junk, bytes.Repeat([]byte("\n"), 3*maxJobLines))

	for _, tc := range []struct {
		name, path string
		// drop is the bytes of the last file not given; add what is
		// given after them.
		drop, add string
		skipAt    []int
	}{
		{name: "rotated", path: rotated},
		{name: "torn tail", path: torn, drop: `{"seq":21,"ts":"2025-01-0`},
		{name: "missing newline", path: noNewline, add: "\n"},
		{name: "oversize line", path: oversize, skipAt: []int{21}},
		{name: "short junk lines", path: junk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := VerifyFile(context.Background(), tc.path, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.path == rotated && len(rep.Files) < 3 {
				t.Fatalf("the rotated chain has %d files, want 3 or more", len(rep.Files))
			}
			var want []byte
			for _, f := range rep.Files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, b...)
			}
			want = append(bytes.TrimSuffix(want, []byte(tc.drop)), tc.add...)
			if tc.skipAt != nil {
				i := bytes.Index(want, []byte("yyyy"))
				want = append(want[:i], want[i+oversizeLen+1:]...)
			}
			for _, v := range []struct {
				name    string
				mapMin  int64
				slow    bool
				workers int
			}{{"mapped", 1, false, 4}, {"read", -1, false, 4}, {"mapped, general parser", 1, true, 1}, {"read, general parser", -1, true, 2}} {
				var r lineRecorder
				opts := VerifyOptions{Lines: &r, Workers: v.workers, mapMin: v.mapMin, slow: v.slow}
				got, err := VerifyFile(context.Background(), tc.path, opts)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(rep, got); diff != "" {
					t.Errorf("%s: the report differs with a sink (-want +got):\n%s", v.name, diff)
				}
				if all := bytes.Join(r.lines, nil); !bytes.Equal(all, want) {
					t.Errorf("%s: the sink got %d lines, %d bytes; want %d bytes", v.name, len(r.lines), len(all), len(want))
				}
				if diff := cmp.Diff(tc.skipAt, r.skipped); diff != "" {
					t.Errorf("%s: skipped lines (-want +got):\n%s", v.name, diff)
				}
			}
		})
	}
}

// TestDiscoverSkipsCheckpointFiles checks that the checkpoint file kept
// beside a chain, and its writer's state, are never taken for chains, though
// their names start as the chain's does.
func TestDiscoverSkipsCheckpointFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.jsonl")
	w := openTest(t, p, Options{})
	appendN(t, w, 3, "e")
	w.Close()
	os.WriteFile(p+CheckpointsSuffix, []byte(`{"note":"x"}`+"\n"), 0o600)
	os.WriteFile(p+CheckpointsSuffix+".state", []byte(`{"size":1}`), 0o600)
	chains, skipped, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(chains) != 1 || chains[0].Damaged || len(skipped) != 0 {
		t.Fatalf("Discover: %d chains (%+v), skipped %q; want the one chain", len(chains), chains, skipped)
	}
}
