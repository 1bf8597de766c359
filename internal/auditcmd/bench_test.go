package auditcmd

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkAppendBatch measures `brain-audit append --sync=batch` of
// 100,000 events of the size scripts/bench-verify.sh writes (records of
// about 440 bytes), parsing stdin included; records/s is the figure the
// bulk-append target is stated in.
func BenchmarkAppendBatch(b *testing.B) {
	const n = 100_000
	// The input is made once, in a buffer of its size: its making is no
	// part of a profile of the benchmark worth reading.
	const line = `{"type":"llm_provider.chat","session":"c0ffee00-1234-4abc-9def-0123456789ab","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","model":"gemini-2.5-flash","input_tokens":1234,"output_tokens":567,"n":`
	in := make([]byte, 0, n*(len(line)+8))
	for i := range n {
		in = append(strconv.AppendInt(append(in, line...), int64(i), 10), "}\n"...)
	}
	for b.Loop() {
		p := filepath.Join(b.TempDir(), "audit.jsonl")
		if code := Main(context.Background(), []string{"append", "--sync=batch", p}, bytes.NewReader(in), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppendManyKeys appends one line of 10,000 fields with escaped
// keys (about 170 KB), the input that made the duplicate checks quadratic.
func BenchmarkAppendManyKeys(b *testing.B) {
	line := manyKeys(10_000, false, "")
	for b.Loop() {
		p := filepath.Join(b.TempDir(), "audit.jsonl")
		if code := Main(context.Background(), []string{"append", p}, strings.NewReader(line), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
