package tracelint

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// benchSpans is the size of the benchmark corpus: the target is
// 1,000,000 spans linted in under 10 s on 2 cores, in under 500 MB.
// BENCH_SPANS sets another (scripts/bench-trace-lint.sh writes 100,000,
// 1,000,000 and 5,000,000 to measure how memory grows with the input).
func benchSpans(b *testing.B) int {
	if v := os.Getenv("BENCH_SPANS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_SPANS=%q: want a positive number", v)
		}
		return n
	}
	return 1_000_000
}

// corpus writes (once; BENCH_DIR keeps it between runs) a file of n spans:
// copies of a real recorded plan+execute session (the SDK, brain's disk
// exporter, its audit logger and the OpenAI client, 5 tasks: 50 spans, so
// that n = 1,000,000 is 20,000 whole copies),
// each copy with its own trace and span ids (parent links kept) and its
// own times, 512 spans a line as brain-run writes them. With thin, every
// attribute is dropped: the same trees in about a third of the bytes, and
// a finding for every required attribute.
func corpus(b *testing.B, n int, thin bool) string {
	dir := os.Getenv("BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	name := fmt.Sprintf("spans-%d.jsonl", n)
	if thin {
		name = fmt.Sprintf("spans-%d-thin.jsonl", n)
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	r := newRecording(b)
	r.planExecute(newOpenAIServer(b), 5)
	r.close()
	var template []ptrace.Span
	tmpl := fileSpans(b, r.spans(), func(s ptrace.Span) { template = append(template, s) })
	res, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(splitLines(tmpl)[0])
	f, err := os.Create(path + ".tmp")
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var line ptrace.Traces
	var spans ptrace.SpanSlice
	flush := func() {
		if line.SpanCount() == 0 {
			return
		}
		js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(line)
		if err != nil {
			b.Fatal(err)
		}
		w.Write(js)
		w.WriteByte('\n')
	}
	newLine := func() {
		line = ptrace.NewTraces()
		rs := line.ResourceSpans().AppendEmpty()
		res.ResourceSpans().At(0).Resource().CopyTo(rs.Resource())
		ss := rs.ScopeSpans().AppendEmpty()
		res.ResourceSpans().At(0).ScopeSpans().At(0).Scope().CopyTo(ss.Scope())
		spans = ss.Spans()
	}
	newLine()
	for copyN := uint64(1); n > 0; copyN++ {
		for _, s := range template {
			if n == 0 {
				break
			}
			c := spans.AppendEmpty()
			copySpan(s, c, copyN)
			shift := pcommon.Timestamp(copyN * 20_000_000)
			c.SetStartTimestamp(c.StartTimestamp() + shift)
			c.SetEndTimestamp(c.EndTimestamp() + shift)
			if thin {
				c.Attributes().Clear()
			}
			n--
			if spans.Len() == 512 {
				flush()
				newLine()
			}
		}
	}
	flush()
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path
}

// copySpan copies s to c as copy n: with its own trace and span ids (the
// ids of s with a mask of n), parent links kept.
func copySpan(s, c ptrace.Span, n uint64) {
	var tmask [16]byte
	var smask [8]byte
	binary.BigEndian.PutUint64(tmask[8:], n)
	binary.BigEndian.PutUint64(smask[:], n*0x9e3779b97f4a7c15)
	s.CopyTo(c)
	c.SetTraceID(xor16(c.TraceID(), tmask))
	c.SetSpanID(xor8(c.SpanID(), smask))
	if !c.ParentSpanID().IsEmpty() {
		c.SetParentSpanID(xor8(c.ParentSpanID(), smask))
	}
}

func xor16(id pcommon.TraceID, m [16]byte) pcommon.TraceID {
	for i := range id {
		id[i] ^= m[i]
	}
	return id
}

func xor8(id pcommon.SpanID, m [8]byte) pcommon.SpanID {
	for i := range id {
		id[i] ^= m[i]
	}
	return id
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i > 0 {
			out = append(out, b[:i])
		}
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return out
}

// fileSpans calls fn with every span of the spans file at path, in order,
// and returns the file's bytes.
func fileSpans(t testing.TB, path string, fn func(ptrace.Span)) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range splitLines(b) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			for j := 0; j < td.ResourceSpans().At(i).ScopeSpans().Len(); j++ {
				ss := td.ResourceSpans().At(i).ScopeSpans().At(j).Spans()
				for k := 0; k < ss.Len(); k++ {
					fn(ss.At(k))
				}
			}
		}
	}
	return b
}

// BenchmarkLint lints 1,000,000 recorded brain spans (every rule that does
// not need --audit or --scenario: the dictionary, secrets in every value,
// parents and roots); BenchmarkLintThin the same trees without attributes
// (about the 200 MB), where every span breaks a rule.
func BenchmarkLint(b *testing.B)     { benchLint(b, false) }
func BenchmarkLintThin(b *testing.B) { benchLint(b, true) }

func benchLint(b *testing.B, thin bool) {
	n := benchSpans(b)
	path := corpus(b, n, thin)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		ins, err := OpenInputs([]string{path}, nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Lint(context.Background(), ins, Options{})
		CloseInputs(ins)
		if err != nil {
			b.Fatal(err)
		}
		if res.Spans != n || res.OK() == thin {
			b.Fatalf("%d spans, ok %v", res.Spans, res.OK())
		}
	}
}
