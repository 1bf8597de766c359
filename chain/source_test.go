package chain

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/internal/fsutil"
)

// corpusFS returns the corpus as each kind of fs.FS a copy of the evidence
// may come as: a directory, a zip archive, a tree in memory.
func corpusFS(t *testing.T) map[string]fs.FS {
	t.Helper()
	tree := readTree(t, corpusDir)
	mem := fstest.MapFS{}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range tree {
			if !yield(k) {
				return
			}
		}
	}) {
		mem[name] = &fstest.MapFile{Data: []byte(tree[name]), Mode: 0o600}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(tree[name]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zb.Bytes()), int64(zb.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]fs.FS{"dir": os.DirFS(corpusDir), "zip": zr, "memory": mem}
}

// TestCorpusFS verifies every corpus chain, good and bad, rotated sets
// included, through VerifyFS from a directory, a zip archive and memory:
// the same findings at the same places as VerifyFile, named by their paths
// in the file system.
func TestCorpusFS(t *testing.T) {
	m := loadManifest(t)
	target := func(p string) string {
		if path.Ext(p) != ".jsonl" {
			return p + "/audit.jsonl"
		}
		return p
	}
	for kind, fsys := range corpusFS(t) {
		for _, p := range m.Good {
			t.Run(kind+"/"+p, func(t *testing.T) {
				rep, err := VerifyFS(context.Background(), fsys, target(p), VerifyOptions{})
				if err != nil || !rep.OK() || rep.Records == 0 {
					t.Fatalf("VerifyFS: %v; want PASS, got findings:\n%s", err, findingsText(rep))
				}
				file, err := VerifyFile(context.Background(), corpusTarget(p), VerifyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Records != file.Records || rep.Bytes != file.Bytes || *rep.Head != relRef(*file.Head) {
					t.Errorf("VerifyFS: %d records, %d bytes, head %+v; VerifyFile: %d, %d, %+v", rep.Records, rep.Bytes, rep.Head, file.Records, file.Bytes, file.Head)
				}
			})
		}
		for _, bf := range m.Bad {
			t.Run(kind+"/"+bf.Path, func(t *testing.T) {
				rep, err := VerifyFS(context.Background(), fsys, target(bf.Path), VerifyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(bf.Findings, gotFindings(t, rep, ".")); diff != "" {
					t.Errorf("%s (%s): findings (-want +got):\n%s\nall findings:\n%s", bf.Path, bf.What, diff, findingsText(rep))
				}
			})
		}
	}
}

// relRef is r with its file named relative to the corpus, as fs.FS paths.
func relRef(r RecordRef) RecordRef {
	rel, _ := filepath.Rel(corpusDir, r.File)
	r.File = filepath.ToSlash(rel)
	return r
}

// TestVerifyFSMissingActive: a copy without its active file, as a
// rotation cut short leaves it, verifies up to the newest rotated file
// found in the copy's directory, and reports the active file missing.
func TestVerifyFSMissingActive(t *testing.T) {
	active, _, files := chainWithoutActive(t)
	dir := filepath.Dir(active)
	mem := fstest.MapFS{}
	for _, f := range files[:len(files)-1] {
		mem["copy/"+filepath.Base(f)] = &fstest.MapFile{Data: readFile(t, f)}
	}
	last := RotatedName(active, len(files)-1)
	mem["copy/"+filepath.Base(last)] = &fstest.MapFile{Data: readFile(t, last)}
	mem["copy/unrelated.000001.jsonl.bak"] = &fstest.MapFile{Data: []byte("x")}
	rep, err := VerifyFS(context.Background(), mem, "copy/audit.jsonl", VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := VerifyFile(context.Background(), active, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(gotFindings(t, want, dir), gotFindings(t, rep, "copy")); diff != "" || rep.Records != want.Records || len(rep.Files) != len(files) {
		t.Fatalf("findings (-VerifyFile +VerifyFS):\n%s\n%d records in %v, want %d", diff, rep.Records, rep.Files, want.Records)
	}
}

// hostileFS is an fs.FS whose Stat says what stat says, and that fails the
// test if a file named in noOpen is opened.
type hostileFS struct {
	fstest.MapFS
	t      *testing.T
	stat   map[string]fs.FileInfo
	noOpen map[string]bool
	open   map[string]*fstest.MapFile // what Open returns instead, if set
}

func (h hostileFS) Open(name string) (fs.File, error) {
	if h.noOpen[name] {
		h.t.Errorf("%s was opened", name)
	}
	if f, ok := h.open[name]; ok {
		return fstest.MapFS{name: f}.Open(name)
	}
	return h.MapFS.Open(name)
}

func (h hostileFS) Stat(name string) (fs.FileInfo, error) {
	if fi, ok := h.stat[name]; ok {
		return fi, nil
	}
	return fs.Stat(h.MapFS, name)
}

// TestVerifyFSRefuses: a file that is not a regular file is refused before
// it is opened (a named pipe would block the reader), and a file whose size
// changed between the snapshot and its turn is a read error, never a
// finding drawn from bytes the snapshot did not see.
func TestVerifyFSRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w := openTest(t, path, Options{MaxFileSize: 1500})
	appendN(t, w, 12, "t")
	w.Close()
	files := chainFiles(t, path)
	mem := fstest.MapFS{}
	for _, f := range files {
		mem[filepath.Base(f)] = &fstest.MapFile{Data: readFile(t, f)}
	}
	pipe, _ := fs.Stat(fstest.MapFS{"p": &fstest.MapFile{Mode: fs.ModeNamedPipe}}, "p")
	dir, _ := fs.Stat(fstest.MapFS{"d": &fstest.MapFile{Mode: fs.ModeDir}}, "d")
	rotated := filepath.Base(files[0])
	for _, tc := range []struct {
		name string
		fsys hostileFS
		want any
	}{
		{"a named pipe as the active file", hostileFS{MapFS: mem, stat: map[string]fs.FileInfo{"audit.jsonl": pipe}, noOpen: map[string]bool{"audit.jsonl": true}}, new(*fsutil.NotRegularError)},
		{"a named pipe as a rotated file", hostileFS{MapFS: mem, stat: map[string]fs.FileInfo{rotated: pipe}, noOpen: map[string]bool{rotated: true}}, new(*fsutil.NotRegularError)},
		{"a directory as the active file", hostileFS{MapFS: mem, stat: map[string]fs.FileInfo{"audit.jsonl": dir}, noOpen: map[string]bool{"audit.jsonl": true}}, new(*fsutil.NotRegularError)},
		{"a rotated file grown after the snapshot", hostileFS{MapFS: mem, open: map[string]*fstest.MapFile{rotated: {Data: append(readFile(t, files[0]), "{}\n"...)}}}, new(*ReadError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fsys.t = t
			rep, err := VerifyFS(context.Background(), tc.fsys, "audit.jsonl", VerifyOptions{})
			var re *ReadError
			if !errors.As(err, &re) || !errors.As(err, tc.want) {
				t.Fatalf("VerifyFS: %v, findings %v; want a ReadError wrapping %T", err, rep, tc.want)
			}
		})
	}
	if rep, err := VerifyFS(context.Background(), mem, "audit.jsonl", VerifyOptions{}); err != nil || !rep.OK() || len(rep.Files) != len(files) {
		t.Fatalf("the same chain, unharmed: %v, files %v; findings:\n%s", err, rep.Files, findingsText(rep))
	}
}

// TestRotatedNamesAnyCharacter: the rotated files of a chain are found by
// their names as strings, in a directory whose name holds glob
// metacharacters and next to names that are nearly theirs.
func TestRotatedNamesAnyCharacter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), `ev[1]*?{a,b}`)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	active := filepath.Join(dir, "audit.jsonl")
	var want []string
	for _, n := range []string{"audit.000000.jsonl", "audit.000001.jsonl", "audit.00001.jsonl", "audit.0000002.jsonl", "audit.00000a.jsonl", "audit.000003.jsonl.bak", "audit.000004.json", "audit-000005.jsonl", "xaudit.000006.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if n == "audit.000000.jsonl" || n == "audit.000001.jsonl" {
			want = append(want, filepath.Join(dir, n))
		}
	}
	got, err := rotatedFiles(active)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rotatedFiles (-want +got):\n%s", diff)
	}
	if got, err := rotatedFiles(filepath.Join(dir, "absent", "audit.jsonl")); err != nil || got != nil {
		t.Errorf("rotatedFiles in a missing directory: %v, %v; want none", got, err)
	}
}

// writeRotatedChain writes a chain of files files, each a header and
// records records of about 400 bytes, as the writer rotates them:
// audit.000000.jsonl and on, then the active file, whose path it returns.
// It writes the files directly, not through a Writer: thousands of
// rotations are quick to make this way.
func writeRotatedChain(t testing.TB, dir string, files, records int) string {
	t.Helper()
	active := filepath.Join(dir, "audit.jsonl")
	h := newDigester(SHA256)
	ts := fixedClock()().AppendFormat(nil, TimeLayout)
	var seq uint64
	var prev Digest
	var lastFile string
	var b []byte
	for i := range files {
		hd := HeaderData{Format: FormatVersion, Alg: string(SHA256), Chain: testChainID, Index: i}
		if i > 0 {
			hd.Continues = &Continuation{File: lastFile, Seq: seq - 1, Hash: prev.String()}
		}
		data, err := json.Marshal(hd)
		if err != nil {
			t.Fatal(err)
		}
		b, prev = encodeRecordTS(b[:0], h, seq, ts, &Event{Type: HeaderType}, data, prev)
		seq++
		for r := range records {
			ev := benchEvent(i*records + r)
			b, prev = encodeRecordTS(b, h, seq, ts, &ev, ev.Data, prev)
			seq++
		}
		p := active
		if i < files-1 {
			p = RotatedName(active, i)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		lastFile = filepath.Base(p)
	}
	return active
}

// TestVerifyRotatedLinear verifies rotated chains of 300 and 3,000 small
// files and checks what verification allocates per file: it must not grow
// with the number of files (snapshotting used to cost time and memory in
// the square of the number of files) and must stay small (each file used
// to get read buffers, result slices, line tools and goroutines of its
// own). Memory allocated is counted, not time: the count is the same on a
// busy machine.
func TestVerifyRotatedLinear(t *testing.T) {
	perFile := map[int]float64{}
	for _, files := range []int{300, 3000} {
		p := writeRotatedChain(t, t.TempDir(), files, 2)
		rep := verifyPath(t, p, VerifyOptions{})
		if !rep.OK() || len(rep.Files) != files || rep.Records != int64(3*files) {
			t.Fatalf("%d files: %d files, %d records verified, findings %v", files, len(rep.Files), rep.Records, rep.Findings)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := VerifyFile(context.Background(), p, VerifyOptions{}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		perFile[files] = float64(after.TotalAlloc-before.TotalAlloc) / float64(files)
		t.Logf("%d files: %.0f bytes allocated per file", files, perFile[files])
	}
	// What a file costs: its name, its input, its header's parse (a
	// few KiB), not a buffer of its size or more.
	const maxPerFile = 8 << 10
	if perFile[3000] > maxPerFile {
		t.Errorf("verifying 3,000 rotated files allocated %.0f bytes per file, over %d", perFile[3000], maxPerFile)
	}
	if perFile[3000] > 1.5*perFile[300] {
		t.Errorf("verifying 3,000 rotated files allocated %.0f bytes per file, 300 files %.0f: the cost of a file grows with their number", perFile[3000], perFile[300])
	}
}
