package chain

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestClassifyKernels checks the vector kernel against the portable one on
// random bytes of every value, at every length and alignment up to a few
// blocks.
func TestClassifyKernels(t *testing.T) {
	if !hasSIMD {
		t.Skip("no vector kernel on this machine")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 64*9)
	for round := range 2000 {
		for i := range buf {
			switch rng.IntN(4) {
			case 0:
				buf[i] = byte(rng.IntN(256))
			case 1:
				buf[i] = '"'
			case 2:
				buf[i] = `\ \n\x1f\x20\x7f\x80\xff`[rng.IntN(8)]
			default:
				buf[i] = 'a' + byte(rng.IntN(26))
			}
		}
		off, n := rng.IntN(64), rng.IntN(len(buf)-64)
		data := buf[off : off+n]
		words := (n + 63) / 64
		q1, d1 := make([]uint64, words), make([]uint64, words)
		q2, d2 := make([]uint64, words), make([]uint64, words)
		classify(data, q1, d1)
		full := n / 64 * 64
		classifyBlocksGeneric(data[:full], q2[:n/64], d2[:n/64])
		if rest := data[full:]; len(rest) > 0 {
			pad := bytes.Repeat([]byte("a"), 64)
			copy(pad, rest)
			classifyBlocksGeneric(pad, q2[n/64:], d2[n/64:])
		}
		if diff := cmp.Diff(q2, q1); diff != "" {
			t.Fatalf("round %d: quote bits (-generic +simd):\n%s", round, diff)
		}
		if diff := cmp.Diff(d2, d1); diff != "" {
			t.Fatalf("round %d: dirty bits (-generic +simd):\n%s", round, diff)
		}
	}
}

// TestCleanRangeNextQuote checks the bit helpers against a byte loop.
func TestCleanRangeNextQuote(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 300)
	for i := range data {
		data[i] = `ab"\x01`[rng.IntN(4)]
		if rng.IntN(3) > 0 {
			data[i] = 'a'
		}
	}
	words := (len(data) + 63) / 64
	q, d := make([]uint64, words), make([]uint64, words)
	classify(data, q, d)
	for s := 0; s <= len(data); s++ {
		for e := s; e <= len(data); e++ {
			want := !bytes.ContainsAny(data[s:e], "\\\x01")
			if got := cleanRange(d, s, e); got != want {
				t.Fatalf("cleanRange(%d, %d) = %v, want %v", s, e, got, want)
			}
			wantQ := -1
			if k := bytes.IndexByte(data[s:e], '"'); k >= 0 {
				wantQ = s + k
			}
			if got := nextQuote(q, s, e); got != wantQ {
				t.Fatalf("nextQuote(%d, %d) = %d, want %d", s, e, got, wantQ)
			}
		}
	}
}

// FuzzFastRecord checks that the fast parser accepts only what the general
// parser accepts as a canonical record, with the same fields: whenever
// fastRecord accepts a line whose prev and hash are lowercase hex (the only
// ones process keeps on the fast path), parseRecord must accept it too.
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
		var fs fastScratch
		fs.reset(data, 0)
		if fs.nextDirty(pre) != pre+len(line) {
			return // not a clean line: the general parser's
		}
		var fr record
		prevHex, hashHex, ok := fs.fastRecord(data, pre, pre+len(line), &fr)
		if !ok || !isLowerHex(prevHex) || !isLowerHex(hashHex) {
			return
		}
		var r record
		if pe := parseRecord(line, &r); pe != nil {
			t.Fatalf("fastRecord accepted %q, which parseRecord rejects: %v", line, pe)
		}
		if r.prev.String() != string(prevHex) || r.hash.String() != string(hashHex) {
			t.Fatalf("prev/hash of %q: fast %s/%s, general %s/%s", line, prevHex, hashHex, r.prev, r.hash)
		}
		r.prev, r.hash = Digest{}, Digest{}
		if diff := cmp.Diff(r, fr, cmp.AllowUnexported(record{})); diff != "" {
			t.Fatalf("fields of %q (-general +fast):\n%s", line, diff)
		}
	})
}

// TestFastPathTaken checks that the records the writer produces take the
// fast path: without that it would be silently slower, not wrong.
func TestFastPathTaken(t *testing.T) {
	if !hasSIMD {
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
	var fs fastScratch
	fs.reset(data, 0)
	fast, lines := 0, 0
	for s := 0; s < len(data); {
		e := s + bytes.IndexByte(data[s:], '\n')
		var r record
		if fs.nextDirty(s) != e {
			t.Fatalf("line %d is not clean", lines+1)
		}
		if _, _, ok := fs.fastRecord(data, s, e, &r); ok {
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
func benchLines(b *testing.B, n int) []byte {
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
	var fs fastScratch
	for b.Loop() {
		fs.reset(data, 0)
		for s := 0; s < len(data); {
			e := fs.nextDirty(s)
			var r record
			if _, _, ok := fs.fastRecord(data, s, e, &r); !ok {
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
	for _, mode := range []string{"fast", "fast-reference-hash", "general"} {
		b.Run(mode, func(b *testing.B) {
			var fs *fastScratch
			if mode != "general" && hasSIMD {
				fs = &fastScratch{}
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

// TestCleanTSWords derives cleanTS's constants from the shape, and checks
// cleanTS against validTS on every one-byte change of a good timestamp.
func TestCleanTSWords(t *testing.T) {
	const shape = "dddd-dd-ddTdd:dd:dd.dddddddddZ"
	want := [4][3]uint64{}
	for k, off := range [4]int{0, 8, 16, 22} {
		for i := 0; i < 8; i++ {
			if c := shape[off+i]; c == 'd' {
				want[k][0] |= 0x80 << (8 * i)
			} else {
				want[k][1] |= uint64(c) << (8 * i)
				want[k][2] |= 0xff << (8 * i)
			}
		}
	}
	got := [4][3]uint64{
		{0x0080800080808080, 0x2d00002d00000000, 0xff0000ff00000000},
		{0x8080008080008080, 0x00003a0000540000, 0x0000ff0000ff0000},
		{0x8080808000808000, 0x000000002e00003a, 0x00000000ff0000ff},
		{0x0080808080808080, 0x5a00000000000000, 0xff00000000000000},
	}
	if got != want {
		t.Fatalf("cleanTS constants %#x, want %#x", got, want)
	}
	ts := []byte("2025-11-24T16:00:00.123456789Z")
	for i := range ts {
		for c := 0x20; c < 0x80; c++ {
			b := bytes.Clone(ts)
			b[i] = byte(c)
			if cleanTS(b) != validTS(b) {
				t.Fatalf("cleanTS(%q) = %v, validTS says %v", b, cleanTS(b), validTS(b))
			}
		}
	}
}

// TestHexEqual checks hexEqual, vector and portable, against hex encoding,
// on matches and on one-byte changes at every position.
func TestHexEqual(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		var d Digest
		for i := range d {
			d[i] = byte(rng.IntN(256))
		}
		h := []byte(d.String())
		if !hexEqual(&d, h) || !hexEqualGeneric(&d, h) {
			t.Fatalf("hexEqual(%x, %s) is false", d, h)
		}
		for i := range h {
			bad := bytes.Clone(h)
			bad[i] = "0123456789abcdefABCDEF/:`g"[rng.IntN(26)]
			if bad[i] == h[i] {
				continue
			}
			if hexEqual(&d, bad) || hexEqualGeneric(&d, bad) {
				t.Fatalf("hexEqual(%x, %s) is true", d, bad)
			}
		}
	}
}
