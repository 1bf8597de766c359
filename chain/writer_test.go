package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWriterRereadsTail checks that a writer whose view is stale (another
// writer appended, or rotated the file away) re-reads the tail and links to
// the true last record.
func TestWriterRereadsTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w1 := openTest(t, path, Options{})
	w2 := openTest(t, path, Options{MaxFileSize: 1200})
	var seqs []uint64
	for i, w := range []*Writer{w1, w2, w2, w1, w2, w1, w1, w2, w2, w2, w1} {
		h, err := w.Append(context.Background(), Event{Type: "t", Data: []byte(`{"pad":"` + strings.Repeat("x", 200) + `"}`)})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		seqs = append(seqs, h.Seq)
		if w.Head() != h {
			t.Errorf("append %d: Head() = %v, Append returned %v", i, w.Head(), h)
		}
	}
	if len(chainFiles(t, path)) < 3 {
		t.Fatalf("want w2 to have rotated at least twice, files %v", chainFiles(t, path))
	}
	rep := mustPass(t, path)
	recs := readRecords(t, chainFiles(t, path), false)
	var got []uint64
	for _, r := range recs {
		if r.typ == "t" {
			got = append(got, r.seq)
		}
	}
	if diff := cmp.Diff(got, seqs); diff != "" {
		t.Errorf("seqs returned by Append vs. in the file (-file +returned):\n%s", diff)
	}
	if rep.Head.Seq != seqs[len(seqs)-1] {
		t.Errorf("head seq %d, want %d", rep.Head.Seq, seqs[len(seqs)-1])
	}
}

// TestWriterRefusesTornTail checks that nothing is appended after a torn
// final line until Repair cuts it, and that a damaged last record is
// refused too, but not as a torn tail.
func TestWriterRefusesTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w := openTest(t, path, Options{})
	appendN(t, w, 3, "t")
	torn := []byte(`{"seq":4,"ts":"2025-01-02T03:04:05`)
	appendBytes(t, path, torn)
	before := readFile(t, path)

	_, err := w.Append(context.Background(), Event{Type: "t"})
	var te *TailError
	if !errors.Is(err, ErrTornTail) || !errors.As(err, &te) {
		t.Fatalf("Append after a torn tail: err %v, want a *TailError matching ErrTornTail", err)
	}
	if te.Offset != int64(len(before)-len(torn)) {
		t.Errorf("TailError.Offset %d, want %d", te.Offset, len(before)-len(torn))
	}
	if _, err := Open(path, Options{}); !errors.Is(err, ErrTornTail) {
		t.Errorf("Open after a torn tail: err %v, want ErrTornTail", err)
	}
	if !bytes.Equal(readFile(t, path), before) {
		t.Fatal("a refused append changed the file")
	}
	if rep := verifyPath(t, path, VerifyOptions{}); !rep.OnlyTornTail() {
		t.Fatalf("want only a torn tail, got:\n%s", findingsText(rep))
	}

	res, err := Repair(context.Background(), path, RepairOptions{Now: fixedClock()})
	if err != nil {
		t.Fatalf("Repair: %v", err)
	}
	if res.Action != ActionTornTail || res.Bytes != int64(len(torn)) {
		t.Errorf("Repair: action %q, %d bytes; want %q, %d bytes", res.Action, res.Bytes, ActionTornTail, len(torn))
	}
	if got := readFile(t, res.Quarantine); !bytes.Equal(got, torn) {
		t.Errorf("quarantine holds %q, want %q", got, torn)
	}
	appendN(t, w, 2, "t")
	mustPass(t, path)
	recs := readRecords(t, []string{path}, false)
	var types []string
	for _, r := range recs {
		types = append(types, r.typ)
	}
	want := []string{HeaderType, "t", "t", "t", RepairedType, "t", "t"}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("record types (-want +got):\n%s", diff)
	}

	// A damaged (not torn) last record: refused, but not as a torn tail.
	// (A writer that is already open notices only a change of size.)
	b := readFile(t, path)
	i := bytes.LastIndex(b, []byte(`"data":{"i":1}`))
	b[i+len(`"data":{"i":`)] = '7'
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	if !errors.As(err, &te) || errors.Is(err, ErrTornTail) {
		t.Fatalf("Open after a tampered last record: err %v, want a *TailError that is not ErrTornTail", err)
	}
}

// TestUnterminatedFinalLine: a final line without its newline is a torn
// write only when it is part of a record. A whole record that verifies is
// kept: the writer refuses to append (naming it), and Repair adds the
// newline, removing nothing. An edited last record whose newline was
// dropped is tampered: Repair refuses it, as any tampering.
func TestUnterminatedFinalLine(t *testing.T) {
	ctx := context.Background()
	t.Run("whole record", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		w := openTest(t, path, Options{})
		heads := appendN(t, w, 3, "t")
		w.Close()
		full := readFile(t, path)
		if err := os.Truncate(path, int64(len(full)-1)); err != nil {
			t.Fatal(err)
		}
		rep := verifyPath(t, path, VerifyOptions{})
		if !rep.OnlyMissingNewline() || rep.Head == nil || rep.Head.Seq != heads[2].Seq || rep.Records != 4 {
			t.Fatalf("want the last record verified and only a missing newline; head %+v, %d records:\n%s", rep.Head, rep.Records, findingsText(rep))
		}
		_, err := Open(path, Options{})
		var te *TailError
		if !errors.As(err, &te) || errors.Is(err, ErrTornTail) || !strings.Contains(te.Reason, "no newline") {
			t.Fatalf("Open: err %v, want a *TailError about the missing newline, not ErrTornTail", err)
		}
		res, err := Repair(ctx, path, RepairOptions{DryRun: true})
		if err != nil || res.Action != ActionNewline || res.Offset != int64(len(full)-1) || res.Bytes != 0 {
			t.Fatalf("Repair --dry-run: %+v, %v; want %q at byte %d, nothing removed", res, err, ActionNewline, len(full)-1)
		}
		if !bytes.Equal(readFile(t, path), full[:len(full)-1]) {
			t.Fatal("a dry run changed the file")
		}
		res, err = Repair(ctx, path, RepairOptions{Now: fixedClock()})
		if err != nil || res.Action != ActionNewline || res.Quarantine != "" {
			t.Fatalf("Repair: %+v, %v", res, err)
		}
		mustPass(t, path)
		if got := readFile(t, path); !bytes.HasPrefix(got, full) {
			t.Fatal("the repaired file does not begin with every byte of the original chain")
		}
		recs := readRecords(t, []string{path}, false)
		last := recs[len(recs)-1]
		if last.typ != RepairedType || !strings.Contains(last.data, `"action":"add_final_newline"`) || !strings.Contains(last.data, `"findings":{"missing_newline":1}`) {
			t.Errorf("last record %s %s, want a chain.repaired record of the new newline", last.typ, last.data)
		}
	})
	t.Run("edited record", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		w := openTest(t, path, Options{})
		appendN(t, w, 3, "t")
		w.Close()
		b := readFile(t, path)
		b = bytes.Replace(b[:len(b)-1], []byte(`"data":{"i":2}`), []byte(`"data":{"i":7}`), 1)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		rep := verifyPath(t, path, VerifyOptions{})
		if len(rep.Findings) != 1 || rep.Findings[0].Class != Tampered || rep.Findings[0].Line != 4 {
			t.Fatalf("want the last record tampered, nothing else:\n%s", findingsText(rep))
		}
		_, err := Open(path, Options{})
		var te *TailError
		if !errors.As(err, &te) || errors.Is(err, ErrTornTail) {
			t.Fatalf("Open: err %v, want a *TailError that is not ErrTornTail", err)
		}
		var re *RefusedError
		if _, err := Repair(ctx, path, RepairOptions{Now: fixedClock()}); !errors.As(err, &re) {
			t.Fatalf("Repair: %v, want it refused", err)
		}
		if !bytes.Equal(readFile(t, path), b) {
			t.Fatal("a refused repair changed the file")
		}
	})
}

// TestRotation checks a chain rotated across several files: it verifies as
// a whole, each header continues the previous file, and Discover finds the
// files in order.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	w := openTest(t, path, Options{MaxFileSize: 2000, Alg: BLAKE3})
	heads := appendN(t, w, 60, "t")
	files := chainFiles(t, path)
	if len(files) < 5 {
		t.Fatalf("want at least 5 files, got %v", files)
	}
	for i, f := range files[:len(files)-1] {
		if want := RotatedName(path, i); f != want {
			t.Errorf("file %d is %s, want %s", i, f, want)
		}
	}
	rep := mustPass(t, path)
	if rep.Alg != BLAKE3 || rep.Chain != testChainID || len(rep.Files) != len(files) {
		t.Errorf("report: alg %s chain %s files %v", rep.Alg, rep.Chain, rep.Files)
	}
	if last := heads[len(heads)-1]; rep.Head.Seq != last.Seq || rep.Head.Hash != last.Hash.String() {
		t.Errorf("report head %d:%s, want %v", rep.Head.Seq, rep.Head.Hash, last)
	}
	// Every file verifies on its own up to the file's end, too.
	mustPass(t, files[2])
	// Each header names the file it continues and its last record.
	recs := readRecords(t, files, false)
	for i, f := range files[1:] {
		h, r := fileHeader(t, f)
		if h.Index != i+1 || h.Continues == nil || h.Continues.File != filepath.Base(files[i]) {
			t.Fatalf("%s: header %+v, want index %d continuing %s", f, h, i+1, filepath.Base(files[i]))
		}
		var last chainRecord
		for _, rec := range recs {
			if rec.file == filepath.Base(files[i]) {
				last = rec
			}
		}
		if h.Continues.Seq != last.seq || r.seq != last.seq+1 || r.prev.String() != h.Continues.Hash {
			t.Errorf("%s: continues seq %d hash %s, record seq %d prev %s; previous file ends at seq %d",
				f, h.Continues.Seq, h.Continues.Hash, r.seq, r.prev, last.seq)
		}
	}
	chains, skipped, err := Discover(dir)
	if err != nil || len(skipped) != 0 || len(chains) != 1 {
		t.Fatalf("Discover: %d chains, skipped %v, err %v", len(chains), skipped, err)
	}
	if diff := cmp.Diff(files, chains[0].Files); diff != "" {
		t.Errorf("Discover files (-want +got):\n%s", diff)
	}
}

func fileHeader(t *testing.T, path string) (*HeaderData, *record) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, err := readFirstLine(f)
	if err != nil {
		t.Fatal(err)
	}
	h, r, err := parseHeader(line)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return h, r
}

// TestVerifyMissingActiveFile: a chain whose active file is missing (as a
// rotation left it before rotations became atomic, or where the file
// system has no hard links; or the file was deleted) is verified from its
// rotated files, and the gap is a missing_file finding, not a read error;
// repair refuses it, naming what will continue the chain.
func TestVerifyMissingActiveFile(t *testing.T) {
	path, rotated, files := chainWithoutActive(t)
	recs := readRecords(t, chainFiles(t, path), false)
	rep := verifyPath(t, path, VerifyOptions{})
	want := []wantFinding{at(MissingFile, filepath.Base(path), 0)}
	if diff := cmp.Diff(want, gotFindings(t, rep, filepath.Dir(path))); diff != "" || rep.Records != int64(len(recs)) || len(rep.Files) != len(files) {
		t.Fatalf("findings (-want +got):\n%s\n%d records in %v; all findings:\n%s", diff, rep.Records, rep.Files, findingsText(rep))
	}
	if f := rep.Findings[0]; !strings.Contains(f.Detail, "the next append continues the chain from "+filepath.Base(rotated)) || f.LastGood == nil || f.LastGood.Seq != recs[len(recs)-1].seq {
		t.Errorf("finding %s", f)
	}
	var re *RefusedError
	if _, err := Repair(context.Background(), path, RepairOptions{Now: fixedClock()}); !errors.As(err, &re) {
		t.Fatalf("Repair: %v, want it refused", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused repair created the active file: %v", err)
	}
	// No rotated file either: the path is simply not there.
	if _, err := VerifyFile(context.Background(), filepath.Join(t.TempDir(), "audit.jsonl"), VerifyOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("VerifyFile of nothing: %v, want a read error", err)
	}
}

// TestVerifyFewDescriptors verifies a chain of 300 files in a process that
// may open only 64: as a file (walking back through the rotated files) and
// as a directory. It passes: files are opened one at a time. (Before, all
// were held open, and every file that could not be opened, for any reason,
// was reported missing: 237 false missing_file findings here.)
func TestVerifyFewDescriptors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	w := openTest(t, path, Options{MaxFileSize: 1})
	appendN(t, w, 299, "t")
	w.Close()
	if n := len(chainFiles(t, path)); n != 300 {
		t.Fatalf("%d files, want 300", n)
	}
	for _, target := range []string{path, dir} {
		var res verifyResult
		runHelperJSON(t, helperCmd(t, modeVerify, envPath+"="+target, envNoFile+"=64"), &res)
		if res.Report == nil {
			t.Fatalf("helper printed %+v", res)
		}
		if !res.Report.OK() || len(res.Report.Files) != 300 {
			t.Errorf("verify %s with 64 descriptors: %d files, findings:\n%s", target, len(res.Report.Files), findingsText(res.Report))
		}
	}
}

// TestVerifyUnreadableRotatedFile: only a file that does not exist is
// missing. A rotated file that cannot be read for another reason — a loop
// of symbolic links in its place, a directory — makes verification fail
// with a read error naming it, never a missing_file finding.
func TestVerifyUnreadableRotatedFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(p string) error
		want  string
	}{
		{"symlink loop", func(p string) error { return os.Symlink(filepath.Base(p), p) }, "too many levels of symbolic links"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "is a directory"},
		// A named pipe with no writer would block a reader forever.
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "is a named pipe (FIFO), not a regular file"},
		// A link to a regular file is not followed: a rotated file is the chain's own.
		{"link to a file", func(p string) error {
			if err := os.WriteFile(p+".copy", nil, 0o600); err != nil {
				return err
			}
			return os.Symlink(filepath.Base(p)+".copy", p)
		}, "is a symbolic link, which is not followed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			w := openTest(t, path, Options{MaxFileSize: 1})
			appendN(t, w, 3, "t")
			w.Close()
			mid := RotatedName(path, 1)
			if err := os.Remove(mid); err != nil {
				t.Fatal(err)
			}
			if err := tc.plant(mid); err != nil {
				t.Fatal(err)
			}
			rep, err := VerifyFile(context.Background(), path, VerifyOptions{})
			var re *ReadError
			if !errors.As(err, &re) || re.Path != mid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("VerifyFile: %v (report %v), want a read error of %s: %s", err, rep, mid, tc.want)
			}
		})
	}
}

// chainWithoutActive writes a rotated chain and renames its active file to
// its rotated name, as a rotation cut short between renaming the active file
// and creating its successor leaves it (on a file system without hard
// links, or by a writer from before rotations linked). It returns the
// active path, the newest rotated file and the chain's files before.
func chainWithoutActive(t *testing.T) (path, rotated string, files []string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "audit.jsonl")
	w := openTest(t, path, Options{MaxFileSize: 1500})
	appendN(t, w, 12, "t")
	w.Close()
	files = chainFiles(t, path)
	rotated = RotatedName(path, len(files)-1)
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	return path, rotated, files
}

// TestReopenAfterRotationCrash simulates a crash between renaming the active
// file and creating its successor: the next Open continues the chain from
// the newest rotated file.
func TestReopenAfterRotationCrash(t *testing.T) {
	path, rotated, files := chainWithoutActive(t)
	// The chain as it is on disk verifies from its newest rotated file.
	mustPass(t, rotated)

	w := openTest(t, path, Options{MaxFileSize: 1500})
	heads := appendN(t, w, 3, "after")
	rep := mustPass(t, path)
	if len(rep.Files) != len(files)+1 {
		t.Errorf("files %v, want %d", rep.Files, len(files)+1)
	}
	h, _ := fileHeader(t, path)
	if h.Continues == nil || h.Continues.File != filepath.Base(rotated) || h.Index != len(files) {
		t.Errorf("new header %+v, want index %d continuing %s", h, len(files), filepath.Base(rotated))
	}
	if rep.Head.Seq != heads[2].Seq {
		t.Errorf("head seq %d, want %d", rep.Head.Seq, heads[2].Seq)
	}
	// A temporary header file left by a crash is no obstacle either.
	w.Close()
	if err := os.Rename(path, RotatedName(path, len(files))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", []byte(`{"seq":`), 0o600); err != nil {
		t.Fatal(err)
	}
	w = openTest(t, path, Options{})
	appendN(t, w, 1, "after")
	mustPass(t, path)
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary header file still there: %v", err)
	}
}

func TestHeadRoundTrip(t *testing.T) {
	d, _ := ParseDigest(strings.Repeat("0123456789abcdef", 4))
	for _, h := range []Head{{}, {Seq: 1, Hash: d}, {Seq: 1<<64 - 1, Hash: Digest{0xff, 1}}} {
		s := h.String()
		got, err := ParseHead(s)
		if err != nil {
			t.Errorf("ParseHead(%q): %v", s, err)
			continue
		}
		if diff := cmp.Diff(h, got); diff != "" {
			t.Errorf("ParseHead(%q) (-want +got):\n%s", s, diff)
		}
	}
	hex := d.String()
	for _, s := range []string{
		"", "12", ":" + hex, "-1:" + hex, "x:" + hex, "18446744073709551616:" + hex,
		"1:" + hex[:63], "1:" + hex + "0", "1:" + strings.ToUpper(hex), "1:" + hex[:63] + "g", " 1:" + hex, "1:" + hex + ":",
	} {
		if h, err := ParseHead(s); err == nil {
			t.Errorf("ParseHead(%q) = %v, want an error", s, h)
		} else if !strings.HasPrefix(err.Error(), "chain: ") {
			t.Errorf("ParseHead(%q): error %q lacks the package prefix", s, err)
		}
	}
}

// TestExpectHead checks that a recorded head catches what a plain chain
// cannot: a clean cut of the tail, and a rewrite of a record with every
// later hash recomputed.
func TestExpectHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w := openTest(t, path, Options{})
	heads := appendN(t, w, 10, "t")
	w.Close()
	recorded := heads[6] // seq 7, line 8
	good := readFile(t, path)

	rep := verifyPath(t, path, VerifyOptions{ExpectHead: &recorded})
	if !rep.OK() || !rep.HeadChecked {
		t.Fatalf("intact chain: OK %t HeadChecked %t\n%s", rep.OK(), rep.HeadChecked, findingsText(rep))
	}

	g := &corpusGen{t: t}
	for _, tc := range []struct {
		name string
		file []byte
		want []wantFinding
	}{
		{"tail cut", join(splitLines(good)[:6]), []wantFinding{at(HeadMismatch, "audit.jsonl", 6)}},
		{"rewrite and recompute", join(g.rechain(g.edit(splitLines(good), 5, `{"i":3}`, `{"i":9}`), 5, SHA256)),
			[]wantFinding{at(HeadMismatch, "audit.jsonl", 8)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
			mustPass(t, path) // undetectable without the recorded head
			rep := verifyPath(t, path, VerifyOptions{ExpectHead: &recorded})
			if diff := cmp.Diff(tc.want, gotFindings(t, rep, filepath.Dir(path))); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%s", diff, findingsText(rep))
			}
			if rep.HeadChecked {
				t.Error("HeadChecked is set")
			}
		})
	}
}

// TestFaultRollback injects an I/O error on the write and on the sync of an
// append (and of a rotation's new header): the append fails with a
// *WriteError, nothing of it stays in the file, the chain verifies, and the
// next append links to the last acknowledged record.
func TestFaultRollback(t *testing.T) {
	for _, tc := range []struct {
		op      string
		rotate  bool
		batch   int
		wantErr string
	}{
		{op: "write", batch: 1},
		{op: "sync", batch: 1},
		{op: "write", batch: 50},
		{op: "sync", batch: 50},
		{op: "write", rotate: true, batch: 1},
		{op: "sync", rotate: true, batch: 1},
	} {
		name := tc.op
		if tc.rotate {
			name += "-rotation"
		}
		if tc.batch > 1 {
			name += "-batch"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			var arm bool
			fault := func(op string) error {
				if arm && op == tc.op {
					arm = false
					return syscall.EIO
				}
				return nil
			}
			opts := Options{Fault: fault}
			if tc.rotate {
				opts.MaxFileSize = 1
			}
			w := openTest(t, path, opts)
			acked := appendN(t, w, 3, "t")
			before := chainBytes(t, path)
			arm = true
			evs := make([]Event, tc.batch)
			for i := range evs {
				evs[i] = Event{Type: "lost", Data: []byte(`{"pad":"` + strings.Repeat("y", 300) + `"}`)}
			}
			_, err := w.AppendBatch(context.Background(), evs)
			var we *WriteError
			if !errors.As(err, &we) || !errors.Is(err, syscall.EIO) || we.Op != tc.op {
				t.Fatalf("AppendBatch: err %v, want a *WriteError for %s wrapping EIO", err, tc.op)
			}
			if we.Path != path {
				t.Errorf("WriteError.Path %q, want %q", we.Path, path)
			}
			if msg := err.Error(); !strings.Contains(msg, "input/output error") || !strings.HasPrefix(msg, "chain: ") {
				t.Errorf("error message %q", msg)
			}
			if w.Head() != acked[2] {
				t.Errorf("Head() = %v after a failed append, want %v", w.Head(), acked[2])
			}
			if !tc.rotate {
				if got := chainBytes(t, path); got != before {
					t.Error("the failed append left bytes behind")
				}
			}
			if tc.rotate {
				// The rotation's header was not written: the newest rotated
				// file ends the chain.
				files := chainFiles(t, path)
				mustPass(t, files[len(files)-1])
			} else {
				mustPass(t, path)
			}
			next := appendN(t, w, 1, "t")[0]
			if next.Seq <= acked[2].Seq {
				t.Errorf("next seq %d, want after %d", next.Seq, acked[2].Seq)
			}
			mustPass(t, path)
			recs := readRecords(t, chainFiles(t, path), false)
			if n := len(seqSet(recs, "lost")); n != 0 {
				t.Errorf("%d records of the failed append are in the chain", n)
			}
			if miss := missingSeqs([]uint64{acked[0].Seq, acked[1].Seq, acked[2].Seq, next.Seq}, seqSet(recs, "t")); len(miss) > 0 {
				t.Errorf("acknowledged seqs missing: %v", miss)
			}
		})
	}
}

// chainBytes returns the concatenated files of the chain at path.
func chainBytes(t *testing.T, path string) string {
	var b strings.Builder
	for _, f := range chainFiles(t, path) {
		b.Write(readFile(t, f))
	}
	return b.String()
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func appendBytes(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestAppendRejects checks events the writer refuses before touching the file.
func TestAppendRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w := openTest(t, path, Options{})
	before := readFile(t, path)
	for _, ev := range []Event{
		{},
		{Type: HeaderType},
		{Type: RepairedType, Data: []byte(`{"action":"truncate_torn_tail"}`)},
		{Type: "chain.anything"},
		{Type: "t", Data: []byte(`[1]`)},
		{Type: "t", Data: []byte(`{"a":"\ud800"}`)},
		{Type: "t", Data: []byte(`{"a":1,"a":2}`)},
		{Type: "t", Data: []byte(`{"a":"` + "\xff" + `"}`)},
		{Type: "t\xff"},
		{Type: "t", Data: []byte(`{"pad":"` + strings.Repeat("x", MaxRecordSize) + `"}`)},
	} {
		if _, err := w.Append(context.Background(), ev); err == nil {
			t.Errorf("Append(%.60v): no error", ev)
		}
		// Check refuses the same, but for the size, which only the
		// record built from the event has.
		if err := ev.Check(); err == nil && len(ev.Data) < MaxRecordSize {
			t.Errorf("Event(%.60v).Check(): no error", ev)
		}
	}
	if !bytes.Equal(readFile(t, path), before) {
		t.Error("a rejected event changed the file")
	}
}

// TestAppendEach: one batch, one head per record, each the seq and hash of
// that record as stored.
func TestAppendEach(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w := openTest(t, path, Options{})
	if _, err := w.Append(context.Background(), Event{Type: "first", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	heads, err := w.AppendEach(context.Background(), []Event{{Type: "a", Data: []byte(`{"n":1}`)}, {Type: "b", Data: []byte(`{"n":2}`)}, {Type: "c", Data: []byte(`{"n":3}`)}})
	if err != nil {
		t.Fatal(err)
	}
	mustPass(t, path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []Head
	for s := NewScanner(f); s.Scan(); {
		if r := s.Record(); r.Type != HeaderType && r.Type != "first" {
			got = append(got, Head{Seq: r.Seq, Hash: r.Hash})
		}
	}
	if diff := cmp.Diff(got, heads); diff != "" {
		t.Errorf("heads in the file vs. returned (-file +returned):\n%s", diff)
	}
	if w.Head() != heads[2] {
		t.Errorf("Head() %v, want the last record's %v", w.Head(), heads[2])
	}
}

// TestWriteBatchSync: batches written with WriteBatch are in the file at
// once and made durable by one sync, Sync's; when that sync fails they are
// cut back out, but never a record another writer appended in between, and
// the writer goes on from what is left. Another writer's rotation syncs
// them before the file is rotated.
func TestWriteBatchSync(t *testing.T) {
	batch := func(typ string, n int) []Event {
		evs := make([]Event, n)
		for i := range evs {
			evs[i] = Event{Type: typ, Data: []byte(`{"pad":"` + strings.Repeat("z", 300) + `"}`)}
		}
		return evs
	}
	type step struct {
		who  int    // 0: the bulk writer, 1: another writer
		op   string // "write" (WriteBatch), "append" (AppendBatch), "sync"
		typ  string
		fail bool // the sync fails with EIO
	}
	for _, tc := range []struct {
		name      string
		rotate    int64 // MaxFileSize of the other writer
		steps     []step
		syncs     int      // syncs the bulk writer makes
		wantTypes []string // the record types of the chain at the end, in order
	}{{
		name:      "one sync for many batches",
		steps:     []step{{0, "write", "a", false}, {0, "write", "b", false}, {0, "write", "c", false}, {0, "sync", "", false}},
		syncs:     1,
		wantTypes: []string{"a", "b", "c", "after"},
	}, {
		name:      "failed sync cuts the batches",
		steps:     []step{{0, "write", "a", false}, {0, "write", "b", false}, {0, "sync", "", true}},
		syncs:     1,
		wantTypes: []string{"after"},
	}, {
		name:      "failed sync keeps another writer's records",
		steps:     []step{{0, "write", "a", false}, {1, "append", "other", false}, {0, "write", "b", false}, {0, "write", "c", false}, {0, "sync", "", true}},
		syncs:     1,
		wantTypes: []string{"a", "other", "after"},
	}, {
		name:      "another writer's rotation syncs them",
		rotate:    1,
		steps:     []step{{0, "write", "a", false}, {1, "append", "other", false}, {0, "write", "b", false}, {0, "sync", "", false}},
		syncs:     1,
		wantTypes: []string{"a", "other", "b", "after"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			syncs, failNext := 0, false
			bulk := openTest(t, path, Options{Fault: func(op string) error {
				if op != "sync" {
					return nil
				}
				syncs++
				if failNext {
					failNext = false
					return syscall.EIO
				}
				return nil
			}})
			other := openTest(t, path, Options{MaxFileSize: tc.rotate})
			start := syncs // the header's
			var last Head
			for i, s := range tc.steps {
				var err error
				switch s.op {
				case "write":
					last, err = bulk.WriteBatch(context.Background(), batch(s.typ, 20))
					if err == nil && bulk.Head() != last {
						t.Errorf("step %d: Head() %v after WriteBatch, want %v", i, bulk.Head(), last)
					}
				case "append":
					_, err = other.AppendBatch(context.Background(), batch(s.typ, 3))
				case "sync":
					failNext = s.fail
					err = bulk.Sync()
					var we *WriteError
					if s.fail && (!errors.As(err, &we) || we.Op != "sync" || !errors.Is(err, syscall.EIO)) {
						t.Fatalf("step %d: Sync: %v, want a *WriteError for sync wrapping EIO", i, err)
					}
					if s.fail {
						err = nil
						if bulk.Head() == last {
							t.Errorf("step %d: Head() still %v after a failed sync", i, last)
						}
					}
				}
				if err != nil {
					t.Fatalf("step %d (%s): %v", i, s.op, err)
				}
			}
			if got := syncs - start; got != tc.syncs {
				t.Errorf("the bulk writer synced %d times, want %d", got, tc.syncs)
			}
			// The chain verifies as it is, then takes appends from both.
			for _, f := range chainFiles(t, path) {
				mustPass(t, f)
			}
			appendN(t, bulk, 1, "after")
			mustPass(t, path)
			var types []string
			for _, r := range readRecords(t, chainFiles(t, path), false) {
				if r.typ != HeaderType && (len(types) == 0 || types[len(types)-1] != r.typ) {
					types = append(types, r.typ)
				}
			}
			if diff := cmp.Diff(tc.wantTypes, types); diff != "" {
				t.Errorf("record types in the chain (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckedThenChanged: an event Check passed whose strings are then
// replaced (by other strings, or by a prefix of the same string that cuts a
// character in two: the same bytes, shorter) is checked again by the writer
// and refused; only the very strings Check saw skip the check.
func TestCheckedThenChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	before := readFile(t, path)
	for name, change := range map[string]func(*Event){
		"type replaced":     func(ev *Event) { ev.Type = "t\xff" },
		"type cut":          func(ev *Event) { ev.Type = ev.Type[:2] },
		"session replaced":  func(ev *Event) { ev.Session = "\xc3" },
		"session cut":       func(ev *Event) { ev.Session = ev.Session[:1] },
		"trace_id replaced": func(ev *Event) { ev.TraceID = "\xed\xa0\x80" },
		"trace_id cut":      func(ev *Event) { ev.TraceID = ev.TraceID[:3] },
		"span_id cut":       func(ev *Event) { ev.SpanID = ev.SpanID[:2] },
	} {
		ev := Event{Type: "té", Session: "é", TraceID: "ab🙂", SpanID: "xé"}
		if err := ev.Check(); err != nil {
			t.Fatalf("%s: Check: %v", name, err)
		}
		change(&ev)
		if _, err := w.Append(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
			t.Errorf("%s: Append(%q) = %v, want not valid UTF-8", name, ev.Type+"|"+ev.Session+"|"+ev.TraceID+"|"+ev.SpanID, err)
		}
	}
	if !bytes.Equal(readFile(t, path), before) {
		t.Error("a refused event changed the file")
	}
}

// TestPlainThenChanged: the strings of an event ParseEvent read as plain
// are copied into the record as they are only while they are those
// strings; replaced by ones that need escapes, they are escaped (the
// record verifies and reads back as the new strings), and Check forgets
// that they were plain.
func TestPlainThenChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	line := []byte(`{"type":"t","session":"s","trace_id":"a","span_id":"b","k":1}`)
	for name, change := range map[string]func(*Event){
		"type":            func(ev *Event) { ev.Type = "t\"\\\n" },
		"session":         func(ev *Event) { ev.Session = "s\u2028" },
		"trace_id":        func(ev *Event) { ev.TraceID = "\x01" },
		"span_id":         func(ev *Event) { ev.SpanID = `"` },
		"checked again":   func(ev *Event) { ev.Type = "t\"\\\n"; ev.Check() },
		"same, not plain": func(ev *Event) { ev.Type = strings.Clone(ev.Type) + `"` },
	} {
		ev, _, err := ParseEvent(line, nil)
		if err != nil || !ev.plain {
			t.Fatalf("%s: ParseEvent(%s): plain %v, %v", name, line, ev.plain, err)
		}
		change(&ev)
		if _, err := w.Append(context.Background(), ev); err != nil {
			t.Fatalf("%s: Append: %v", name, err)
		}
		lines := bytes.Split(bytes.TrimSuffix(readFile(t, path), []byte("\n")), []byte("\n"))
		var rec struct {
			Type    string `json:"type"`
			Session string `json:"session"`
			TraceID string `json:"trace_id"`
			SpanID  string `json:"span_id"`
		}
		if err := json.Unmarshal(lines[len(lines)-1], &rec); err != nil {
			t.Fatalf("%s: the record does not parse: %v", name, err)
		}
		if got, want := [4]string{rec.Type, rec.Session, rec.TraceID, rec.SpanID}, [4]string{ev.Type, ev.Session, ev.TraceID, ev.SpanID}; got != want {
			t.Errorf("%s: the record reads %q, want %q", name, got, want)
		}
	}
	rep, err := VerifyFile(context.Background(), path, VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("the chain does not verify: %v %+v", err, rep)
	}
}
