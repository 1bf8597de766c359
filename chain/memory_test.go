package chain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// verifyMemoryBound is what verification may hold, for any input: a few
// chunks in flight per worker, at most maxWorkers workers. docs/chain-format.md
// promises 256 MiB; the tests hold it to half, on inputs whose every byte
// once cost hundreds of bytes of memory.
const verifyMemoryBound = 128 << 20

// TestVerifyMemoryBound verifies hostile files in a child process with
// GOMAXPROCS=8 (eight workers) and checks its peak resident memory (VmHWM,
// see verifyResult) against verifyMemoryBound. The inputs are 4 MB of
// lines that cost most per byte: blank lines and one-byte lines (a result
// per byte: 16 MB of blank lines took 4.8 GB before), junk of every kind
// the parsers refuse, lines with a repeated key, one line of 4 MB, and a
// header line of 4 MB; from a file (mapped) and from stdin (read). Every
// line must still be reported: the counts are checked.
func TestVerifyMemoryBound(t *testing.T) {
	size := 4 << 20
	if testing.Short() {
		size = 1 << 20
	}
	dir := t.TempDir()
	hdr := headerLine(SHA256, 0, Digest{}, `{"format":"`+FormatVersion+`","alg":"sha256","chain":"`+testChainID+`","index":0}`)
	junk := "\n{\n{}\n[\n\"\n \n\r\n\xff\n{\"seq\":1}\n"
	dup := `{"seq":1,"ts":"2025-01-02T03:04:05.123456789Z","type":"t","session":"","trace_id":"","span_id":"","data":{"k":1,"k":2},"prev":"` +
		strings.Repeat("0", 64) + `","hash":"` + strings.Repeat("0", 64) + `"}` + "\n"
	for _, tc := range []struct {
		name  string
		body  []byte
		first bool // body replaces the header
		// malformed is the number of malformed findings (-1: not checked).
		malformed int
	}{
		{"blank lines", bytes.Repeat([]byte("\n"), size), false, size},
		{"one-brace lines", bytes.Repeat([]byte("{\n"), size/2), false, size / 2},
		{"junk", bytes.Repeat([]byte(junk), size/len(junk)), false, 9 * (size / len(junk))},
		{"repeated keys", bytes.Repeat([]byte(dup), size/len(dup)), false, -1},
		{"one huge line", append(bytes.Repeat([]byte("x"), size), '\n'), false, 1},
		{"huge header", append(bytes.Repeat([]byte("{"), size), '\n'), true, 1},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".jsonl")
		var b []byte
		if !tc.first {
			b = append(b, hdr...)
		}
		b = append(b, tc.body...)
		if tc.first {
			b = append(b, hdr[len(hdr)/2:]...) // a line after it, malformed
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		checkVerifyMemory(t, tc.name, p, len(b), tc.malformed)
	}
	if testing.Short() {
		return
	}
	// A file larger than the bound, mapped: its pages are unmapped once
	// verified, so they do not add up. 160 lines of 1 MiB and more (each
	// over the size limit, so the verifier only scans it for its end).
	p := filepath.Join(dir, "large.jsonl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(hdr)
	line := append(bytes.Repeat([]byte("x"), MaxRecordSize+4096), '\n')
	for range 160 {
		f.Write(line)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkVerifyMemory(t, "large file", p, len(hdr)+160*len(line), 160)
}

// checkVerifyMemory verifies the file at p (size bytes) in a child process,
// from the file and from stdin, and checks its peak memory and the number
// of malformed findings (-1: not checked).
func checkVerifyMemory(t *testing.T, name, p string, size, malformed int) {
	for _, from := range []string{"file", "stdin"} {
		t.Run(name+"/"+from, func(t *testing.T) {
			target := p
			if from == "stdin" {
				target = "-"
			}
			cmd := helperCmd(t, modeVerify, envPath+"="+target, "GOMAXPROCS=8")
			if from == "stdin" {
				f, err := os.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				cmd.Stdin = f
			}
			var res verifyResult
			runHelperJSON(t, cmd, &res)
			if res.Report == nil || res.PeakKiB <= 0 {
				t.Fatalf("helper printed %+v", res)
			}
			rep := res.Report
			if rep.OK() {
				t.Fatal("a hostile file verified")
			}
			if malformed >= 0 && rep.Counts[Malformed] != malformed {
				t.Errorf("%d malformed findings, want %d (counts %v)", rep.Counts[Malformed], malformed, rep.Counts)
			}
			rss := res.PeakKiB << 10
			t.Logf("%d bytes verified with a peak of %s resident", size, mib(rss))
			if rss > verifyMemoryBound {
				t.Errorf("verifying %d bytes took %s of memory, over the bound of %s", size, mib(rss), mib(verifyMemoryBound))
			}
		})
	}
}

// runHelperJSON runs the helper process cmd and decodes what it prints
// into v.
func runHelperJSON(t *testing.T, cmd *exec.Cmd, v any) {
	t.Helper()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("helper printed %.200q: %v", out, err)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// diffMemoryBound is what Diff may hold: two lines of MaxRecordSize and
// their read buffers, and the key bags of the lines after the divergence.
const diffMemoryBound = 128 << 20

// TestDiffMemoryBound diffs hostile pairs of files in a child process and
// checks its peak memory (VmHWM) and the result: a line of 16 MB in each
// (a 100 MB line took 1.2 GB before), and 1,200,000 distinct short lines
// after the divergence in each, half of them in both (more than a key bag
// holds: matched in parts of the key space).
func TestDiffMemoryBound(t *testing.T) {
	dir := t.TempDir()
	hdr := headerLine(SHA256, 0, Digest{}, `{"format":"`+FormatVersion+`","alg":"sha256","chain":"`+testChainID+`","index":0}`)
	write := func(name string, parts ...[]byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Join(append([][]byte{hdr}, parts...), nil), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	huge := bytes.Repeat([]byte("x"), 16<<20)
	lines := func(from, to int) []byte {
		var b bytes.Buffer
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "%x\n", i)
		}
		return b.Bytes()
	}
	n := 1_200_000
	if testing.Short() {
		n = 200_000
	}
	for _, tc := range []struct {
		name         string
		a, b         string
		line         int64
		onlyA, onlyB int64
	}{
		{"huge lines", write("huge-a.jsonl", huge, []byte("a\n")), write("huge-b.jsonl", huge, []byte("b\n")), 2, 1, 1},
		{"many lines", write("many-a.jsonl", lines(0, n)), write("many-b.jsonl", lines(n/2, n+n/2)), 2, int64(n / 2), int64(n / 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res diffResult
			runHelperJSON(t, helperCmd(t, modeDiff, envPath+"="+tc.a, envPath2+"="+tc.b), &res)
			if res.Result == nil || res.PeakKiB <= 0 {
				t.Fatalf("helper printed %+v", res)
			}
			r := res.Result
			if r.Identical || r.Line != tc.line || r.OnlyInA != tc.onlyA || r.OnlyInB != tc.onlyB {
				t.Errorf("diverge at line %d, only in a %d, only in b %d; want %d, %d, %d", r.Line, r.OnlyInA, r.OnlyInB, tc.line, tc.onlyA, tc.onlyB)
			}
			if len(r.LineA) > 2048 {
				t.Errorf("the result holds a line of %d bytes", len(r.LineA))
			}
			rss := res.PeakKiB << 10
			t.Logf("diff with a peak of %s resident", mib(rss))
			if rss > diffMemoryBound {
				t.Errorf("diff took %s of memory, over the bound of %s", mib(rss), mib(diffMemoryBound))
			}
		})
	}
}

// TestVerifyManyShortLines puts 40,000 blank lines (more than a chunk's
// results hold, so the sequencer finishes the chunk in steps) between the
// records of a chain whose record after them was edited. Every reading path
// gives the same report, and the findings after the steps are located
// exactly: the edited record's line and byte offset, the counts.
func TestVerifyManyShortLines(t *testing.T) {
	const blanks = 40_000
	g := newCorpusGen(t)
	l := g.edit(g.base(), 5, `"exit":0`, `"exit":1`)
	off := len(join(l[:4])) + blanks
	l = append(l[:4:4], append([][]byte{bytes.Repeat([]byte("\n"), blanks)}, l[4:]...)...)
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(p, join(l), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := verifyPath(t, p, VerifyOptions{}) // all four paths agree
	if rep.Counts[Malformed] != blanks || rep.Counts[Tampered] != 1 || rep.Records != 7 {
		t.Fatalf("counts %v, %d records; want %d malformed, 1 tampered, 7 records", rep.Counts, rep.Records, blanks)
	}
	// The tampered finding comes after the listed malformed ones: find it
	// with MaxFindings high enough.
	rep = verifyPath(t, p, VerifyOptions{MaxFindings: blanks + 10})
	f := rep.Findings[len(rep.Findings)-1]
	if f.Class != Tampered || f.Line != int64(5+blanks) || f.Offset != int64(off) {
		t.Errorf("last finding %s; want tampered at line %d, byte %d", f, 5+blanks, off)
	}
	if b := rep.Findings[blanks-1]; b.Class != Malformed || b.Line != int64(4+blanks) || b.Offset != int64(off-1) {
		t.Errorf("last blank line's finding %s; want malformed at line %d, byte %d", b, 4+blanks, off-1)
	}
}
