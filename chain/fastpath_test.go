package chain

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/brain-dev/brain/chain/internal/fastpath"
	"github.com/google/go-cmp/cmp"
)

// FuzzFastRecord checks that the fast parser (fastpath.Parser) accepts only
// what the general parser accepts as a canonical record, with the same
// fields: whenever it accepts a line whose prev and hash are lowercase hex
// (the only ones process keeps on the fast path), parseRecord must accept
// it too.
func FuzzFastRecord(f *testing.F) {
	for _, data := range []string{
		`{"a":"b","n":[1,{"x":null}],"t":true,"f":false,"e":{},"l":[],"z":-0.5e+3}`,
		`{"k":"v"}`, `{}`, `{"a":[[[[1]]]]}`, `{"s":"a b/c"}`,
		// Repeated keys, which only the general parser may name.
		`{"k":1,"k":2}`, `{"a":{"b":1,"c":2,"b":3}}`, `{"a":[{"k":1,"k":1}]}`,
		`{"a":{"k":1},"b":{"k":1},"k":{"k":{"k":1}}}`,
		`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"ka":10,"kb":11,"kc":12,"kd":13,"ke":14,"kf":15,"kg":16,"k3":17}`,
	} {
		ev := Event{Type: "t", Session: "s", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7", Data: []byte(data)}
		line, _ := encodeRecord(nil, SHA256, 7, time.Unix(1764000000, 0), &ev, ev.Data, Digest{1})
		f.Add(line[:len(line)-1], uint8(0))
	}
	f.Fuzz(func(t *testing.T, line []byte, shift uint8) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return
		}
		// The line sits at some offset in its chunk, after other bytes.
		pre := int(shift % 130)
		data := append(append(bytes.Repeat([]byte("x"), pre), line...), '\n')
		var p fastpath.Parser
		p.Reset(data, 0)
		if p.NextDirty(pre) != pre+len(line) {
			return // not a clean line: the general parser's
		}
		var fr fastpath.Record
		if !p.Record(data, pre, pre+len(line), &fr) || !isLowerHex(fr.Prev) || !isLowerHex(fr.Hash) {
			return
		}
		var r record
		if pe := parseRecord(line, &r); pe != nil {
			t.Fatalf("the fast parser accepted %q, which parseRecord rejects: %v", line, pe)
		}
		if r.prev.String() != string(fr.Prev) || r.hash.String() != string(fr.Hash) {
			t.Fatalf("prev/hash of %q: fast %s/%s, general %s/%s", line, fr.Prev, fr.Hash, r.prev, r.hash)
		}
		fast := record{seq: fr.Seq, ts: fr.TS, typ: fr.Type, session: fr.Session, traceID: fr.TraceID, spanID: fr.SpanID, data: fr.Data, entry: fr.Entry}
		r.prev, r.hash = Digest{}, Digest{}
		if diff := cmp.Diff(r, fast, cmp.AllowUnexported(record{})); diff != "" {
			t.Fatalf("fields of %q (-general +fast):\n%s", line, diff)
		}
	})
}

// TestFastPathTaken checks that the records the writer produces take the
// fast path: without that it would be silently slower, not wrong.
func TestFastPathTaken(t *testing.T) {
	if !fastpath.Available() {
		t.Skip("no vector kernel on this machine")
	}
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	w, err := Open(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		ev := Event{Type: "llm_provider.chat", Session: "c0ffee00-1234-4abc-9def-0123456789ab", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
			Data: []byte(`{"model":"gemini-2.5-flash","input_tokens":1234,"ok":true,"n":` + string(rune('0'+i%10)) + `,"tags":["a","b"],"usage":{"in":1,"out":2.5},` +
				// Keys that repeat across objects, never within one; keys
				// alike but for a byte; an object of more than 16 keys.
				`"one":{"in":1},"list":[{"k":1,"in":2},{"k":2,"in":{"k":3}}],"response_sha256":"x","response_tokens":1,"request_sha256_":2,` +
				`"wide":{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"ka":10,"kb":11,"kc":12,"kd":13,"ke":14,"kf":15,"kg":16,"kh":17}}`)}
		if _, err := w.Append(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var fp fastpath.Parser
	fp.Reset(data, 0)
	fast, lines := 0, 0
	for s := 0; s < len(data); {
		e := s + bytes.IndexByte(data[s:], '\n')
		if fp.NextDirty(s) != e {
			t.Fatalf("line %d is not clean", lines+1)
		}
		var r fastpath.Record
		if fp.Record(data, s, e, &r) {
			fast++
		}
		lines++
		s = e + 1
	}
	if fast != lines {
		t.Fatalf("%d of %d lines took the fast path, want all", fast, lines)
	}
}

// TestVerifyShrunkWhileMapped checks that a file that shrinks below the
// size snapshotted at the start, while it is mapped, gives a read error,
// not a crash.
func TestVerifyShrunkWhileMapped(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	writeBenchChain(t, p, 3*mapMin/400) // about 3 MiB
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	// The snapshot says the file is whole; it is then cut to one page.
	if err := os.Truncate(p, 4096); err != nil {
		t.Fatal(err)
	}
	in := input{name: p, r: f, size: fi.Size(), f: f}
	_, err = verify(context.Background(), []input{in}, VerifyOptions{})
	var re *ReadError
	if !errors.As(err, &re) || !bytes.Contains([]byte(err.Error()), []byte("shrank")) {
		t.Fatalf("verify of a file cut under its mapping: %v, want a ReadError saying it shrank", err)
	}
}

// benchLines returns n lines like scripts/bench-verify.sh writes.
func benchLines(b testing.TB, n int) []byte {
	b.Helper()
	var data []byte
	var prev Digest
	for i := range n {
		ev := Event{Type: "llm_provider.chat", Session: "c0ffee00-1234-4abc-9def-0123456789ab", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
			Data: []byte(`{"model":"gemini-2.5-flash","input_tokens":1234,"output_tokens":567,"n":` + strconv.Itoa(i) + `}`)}
		data, prev = encodeRecord(data, SHA256, uint64(i+1), time.Unix(1764000000, 0), &ev, ev.Data, prev)
	}
	return data
}

// BenchmarkFastRecord measures the fast parser alone (classification
// included, hashing not), per line.
func BenchmarkFastRecord(b *testing.B) {
	data := benchLines(b, 1000)
	var p fastpath.Parser
	var r fastpath.Record
	for b.Loop() {
		p.Reset(data, 0)
		for s := 0; s < len(data); {
			e := p.NextDirty(s)
			if !p.Record(data, s, e, &r) {
				b.Fatal("slow path")
			}
			s = e + 1
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/line")
}

// BenchmarkProcess measures a worker's whole job per line: parse and hash,
// on the fast path and on the general parser.
func BenchmarkProcess(b *testing.B) {
	data := benchLines(b, 1000)
	for _, mode := range []string{"fast", "fast-one-at-a-time", "fast-reference-hash", "general"} {
		b.Run(mode, func(b *testing.B) {
			var fs *fastScratch
			if mode != "general" && fastpath.Available() {
				fs = newFastScratch(SHA256)
				if mode != "fast" {
					fs.pair = nil
				}
			}
			h := newDigester(SHA256)
			if mode != "fast" {
				h = newReferenceDigester(SHA256)
			}
			j := &job{data: data}
			for b.Loop() {
				j.next = 0
				j.process(h, fs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/line")
		})
	}
}

// FuzzProcess holds the fast path to the reference path line by line: a
// chunk of lines processed with the fast parser (package fastpath) and the
// fast SHA-256 gives every line the same result (status, seq, prev, hash,
// the hash computed, header or not, the message) as the general parser with
// the reference digester (hash.Hash) alone. FuzzVerify holds the two to
// the same reports; this names the line and the field that differ.
func FuzzProcess(f *testing.F) {
	if !fastpath.Available() {
		f.Skip("no fast path on this machine")
	}
	for _, g := range corpusFiles(f, "good") {
		f.Add(g, false)
	}
	for _, b := range corpusFiles(f, "bad") {
		f.Add(b, false)
	}
	f.Add(benchLines(f, 50), true)
	f.Fuzz(func(t *testing.T, data []byte, blake bool) {
		if len(data) == 0 || data[len(data)-1] != '\n' {
			data = append(bytes.Clone(data), '\n') // the fuzzer's input is not ours to extend
		}
		alg := SHA256
		if blake {
			alg = BLAKE3
		}
		type result struct {
			li  lineInfo
			msg string
		}
		run := func(h *digester, fs *fastScratch) []result {
			j := &job{data: data}
			var out []result
			for j.next < len(data) {
				j.process(h, fs)
				for i := range j.out {
					li := j.out[i]
					li.msg = 0
					out = append(out, result{li, j.msgOf(&j.out[i])})
				}
			}
			return out
		}
		ref := run(newReferenceDigester(alg), nil)
		// The fast path as it runs (two clean lines hashed together, for
		// SHA-256, where the machine can), and one line at a time.
		fast := run(newDigester(alg), newFastScratch(alg))
		one := run(newDigester(alg), &fastScratch{})
		if diff := cmp.Diff(ref, fast, cmp.AllowUnexported(result{}, lineInfo{})); diff != "" {
			t.Fatalf("the fast path's lines differ from the reference's (-reference +fast):\n%s", diff)
		}
		if diff := cmp.Diff(ref, one, cmp.AllowUnexported(result{}, lineInfo{})); diff != "" {
			t.Fatalf("the fast path's lines, one at a time, differ from the reference's (-reference +fast):\n%s", diff)
		}
	})
}

// TestProcessAllocatesNothing: a worker's job allocates nothing per line,
// on the fast path and on the general parser with the reference hash
// (their results go to reused slices): an allocation per line is a few
// percent of verify-log, and garbage the collector has to chase.
func TestProcessAllocatesNothing(t *testing.T) {
	data := benchLines(t, 200)
	for _, mode := range []string{"fast", "general"} {
		h, fs := newDigester(SHA256), newFastScratch(SHA256)
		if mode == "general" || !fastpath.Available() {
			h, fs = newReferenceDigester(SHA256), nil
		}
		j := &job{data: data}
		if allocs := testing.AllocsPerRun(20, func() {
			j.next = 0
			j.process(h, fs)
		}); allocs > 0 {
			t.Errorf("%s: %.0f allocations per chunk of %d lines, want none", mode, allocs, 200)
		}
	}
}
