package tracelint

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// recordedLine returns the one line a recorded exec-shaped command writes.
func recordedLine(t *testing.T) []byte {
	r := newRecording(t)
	r.command(context.Background(), "exec", func(context.Context) {})
	r.close()
	b, err := os.ReadFile(r.spans())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b, []byte("\n")) != 1 {
		t.Fatalf("want one line, got %q", b)
	}
	return b
}

// TestBadLines: lines that are not OTLP traces are findings with their
// line number, and every other line is still linted; lines of other
// signals (a Collector file exporter shared by several pipelines) and blank
// lines are passed over.
func TestBadLines(t *testing.T) {
	good := recordedLine(t)
	dir := t.TempDir()
	var b bytes.Buffer
	b.WriteString("{not json, key sk-proj-Abc123Def456Ghi789Jkl012\n") // 1
	b.Write(good)                                                      // 2
	b.WriteString(`{"resourceMetrics":[{"scopeMetrics":[]}]}` + "\n")  // 3
	b.WriteString("\n")                                                // 4
	b.WriteString(`{"seq":0,"type":"chain.header"}` + "\n")            // 5
	b.WriteString(`{"resourceSpans":[]}` + "\n")                       // 6
	b.WriteString(strings.Repeat("x", len(good)+100) + "\n")           // 7: over --max-line
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"tr`)   // 8: a torn last line
	path := writeFile(t, filepath.Join(dir, "spans.jsonl"), b.String())
	res := lintFiles(t, Options{MaxLine: len(good) + 10}, path)
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Rule+"@"+strconv.FormatInt(f.Line, 10))
	}
	if diff := cmp.Diff([]string{"malformed-line@1", "secret@1", "malformed-line@5", "malformed-line@7", "malformed-line@8"}, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	for _, f := range res.Findings {
		if strings.Contains(f.Message, "Abc123") || strings.Contains(f.Message, "not json") {
			t.Errorf("the finding %q quotes the input", f)
		}
	}
	want := InputStats{Name: path, Lines: 2, Malformed: 4, Skipped: 1, Spans: 3}
	if diff := cmp.Diff([]InputStats{want}, res.Inputs); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// TestUnreadable: a missing file, a directory, a file that is not OTLP at
// all, and a zstd-compressed one are input errors, not findings.
func TestUnreadable(t *testing.T) {
	dir := t.TempDir()
	notOTLP := writeFile(t, filepath.Join(dir, "audit.jsonl"), `{"seq":0,"type":"chain.header"}`+"\n"+"{}\n")
	zst := writeFile(t, filepath.Join(dir, "spans.jsonl.zst"), "\x28\xb5\x2f\xfdrest")
	for _, tt := range []struct {
		name, want string
	}{
		{filepath.Join(dir, "missing.jsonl"), "no such file or directory"},
		{dir, "is a directory"},
		{notOTLP, "not OTLP JSON lines (2 lines, none of them a traces object)"},
		{zst, "the input is zstd-compressed"},
	} {
		ins, err := OpenInputs([]string{tt.name}, nil)
		if err == nil {
			_, err = Lint(context.Background(), ins, Options{})
			CloseInputs(ins)
		}
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want an *InputError saying %q", tt.name, err, tt.want)
		}
	}
}

// TestGzipAndStdin: a gzip-compressed input is read like a plain one, and
// "-" reads the reader given as stdin.
func TestGzipAndStdin(t *testing.T) {
	good := recordedLine(t)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(good)
	zw.Close()
	ins, err := OpenInputs([]string{"-"}, &z)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Lint(context.Background(), ins, Options{})
	if err != nil || res.Spans != 3 || !res.OK() {
		t.Fatalf("Lint = %v spans, ok %v, %v; want 3 spans, ok", res.Spans, res.OK(), err)
	}
}

// TestCollectorFile: the Collector's file exporter writes one line per
// export, several resources (services) and scopes to a line, through the
// same pdata JSON marshaler; brain's spans in it are linted, another
// service's only serve as parents and roots.
func TestCollectorFile(t *testing.T) {
	line := recordedLine(t)
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
	if err != nil {
		t.Fatal(err)
	}
	brain := td.ResourceSpans().At(0)
	var root ptrace.Span
	for i := 0; i < brain.ScopeSpans().At(0).Spans().Len(); i++ {
		if s := brain.ScopeSpans().At(0).Spans().At(i); s.ParentSpanID().IsEmpty() {
			root = s
		}
	}
	// A CI job's span is the parent of brain-run's root, through TRACEPARENT.
	out := ptrace.NewTraces()
	ci := out.ResourceSpans().AppendEmpty()
	ci.Resource().Attributes().PutStr("service.name", "ci-runner")
	ss := ci.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("ci-runner/jobs")
	job := ss.Spans().AppendEmpty()
	job.SetName("job test")
	job.SetTraceID(root.TraceID())
	job.SetSpanID(pcommon.SpanID{0xc1})
	job.SetStartTimestamp(root.StartTimestamp() - 1000)
	job.SetEndTimestamp(root.EndTimestamp() + 1000)
	root.SetParentSpanID(job.SpanID())
	root.SetFlags(root.Flags() | otlpHasIsRemote | otlpIsRemote)
	brain.CopyTo(out.ResourceSpans().AppendEmpty())
	js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(out)
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, filepath.Join(t.TempDir(), "collector.json"), string(js)+"\n")
	res := lintFiles(t, Options{}, path)
	if !res.OK() || len(res.Findings) != 0 || res.Spans != 4 || res.Traces != 1 {
		t.Fatalf("findings %v, spans %d, traces %d; want none, 4 spans, 1 trace", summary(res), res.Spans, res.Traces)
	}
	if res.Coverage.CriticalPath["brain_cli.command"] != 1 {
		t.Errorf("critical path %v", res.Coverage.CriticalPath)
	}
}

// TestNoSpans: an empty input fails: a CI job that lints nothing must not
// pass.
func TestNoSpans(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "spans.jsonl"), "")
	res := lintFiles(t, Options{}, path)
	if res.OK() || summary(res)[0] != "no-spans -" {
		t.Fatalf("findings %v; want no-spans", summary(res))
	}
}
