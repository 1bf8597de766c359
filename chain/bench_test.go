package chain

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// benchEvent returns an event whose record is about 400 bytes, the size the
// speed targets are stated for.
func benchEvent(i int) Event {
	return Event{
		Type: "llm_provider.chat", Session: "c0ffee00-1234-4abc-9def-0123456789ab",
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
		Data: []byte(fmt.Sprintf(`{"model":"gemini-2.5-flash","input_tokens":1234,"output_tokens":567,"outcome":"ok","n":%d,"prompt_sha256":"9f86d081884c7d659a2feaa0c55ad015"}`, i)),
	}
}

// writeBenchChain writes a chain of n records with one batch per 4096.
func writeBenchChain(tb testing.TB, path string, n int) {
	tb.Helper()
	w, err := Open(path, Options{Now: func() time.Time { return time.Unix(1764000000, 0) }})
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	evs := make([]Event, 0, 4096)
	for i := 0; i < n; i++ {
		evs = append(evs, benchEvent(i))
		if len(evs) == cap(evs) || i == n-1 {
			if _, err := w.AppendBatch(context.Background(), evs); err != nil {
				tb.Fatal(err)
			}
			evs = evs[:0]
		}
	}
}

// benchChainPath returns a chain of n records, written once per process in
// BENCH_DIR (default a temporary directory).
func benchChainPath(b *testing.B, n int) string {
	dir := os.Getenv("BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	p := filepath.Join(dir, fmt.Sprintf("bench-%d.jsonl", n))
	if _, err := os.Stat(p); err != nil {
		writeBenchChain(b, p, n)
	}
	return p
}

// BenchmarkVerify verifies a chain of 1,000,000 records (BENCH_RECORDS
// overrides), or the chain file BENCH_FILE names (scripts/bench-verify.sh
// keeps its chain with KEEP=1); compare its MB/s with `openssl dgst -sha256`
// of the same file.
func BenchmarkVerify(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("BENCH_RECORDS"); v != "" {
		fmt.Sscan(v, &n)
	}
	p := os.Getenv("BENCH_FILE")
	if p == "" {
		p = benchChainPath(b, n)
	}
	fi, _ := os.Stat(p)
	b.SetBytes(fi.Size())
	b.ReportMetric(float64(fi.Size())/float64(n), "B/record")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := VerifyFile(context.Background(), p, VerifyOptions{})
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Findings)
		}
	}
}

// BenchmarkAppendEach is a durable append per record (fdatasync each).
func BenchmarkAppendEach(b *testing.B) {
	w, err := Open(filepath.Join(b.TempDir(), "a.jsonl"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ev := benchEvent(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.Append(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareWriteSync is the floor for BenchmarkAppendEach: write the same
// number of bytes and fdatasync, nothing else.
func BenchmarkBareWriteSync(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "bare"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	line := []byte(strings.Repeat("x", 420) + "\n")
	var off int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(line, off); err != nil {
			b.Fatal(err)
		}
		off += int64(len(line))
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendBatch is bulk append: 4096 records per group commit.
func BenchmarkAppendBatch(b *testing.B) {
	w, err := Open(filepath.Join(b.TempDir(), "a.jsonl"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	evs := make([]Event, 4096)
	for i := range evs {
		evs[i] = benchEvent(i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += len(evs) {
		if _, err := w.AppendBatch(context.Background(), evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
