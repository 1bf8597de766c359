package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestDiskFormat writes a small trace and reads it back with the Collector's
// own parser: ids, parents, attributes, events, links, kind and status must
// survive, and the line must be exactly what the Collector's encoder emits.
func TestDiskFormat(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	p, err := Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := p.Tracer()
	const big = int64(1<<53 + 1) // not representable as a JSON number in float64
	ctx, root := tr.Start(ctx, "brain_cli.command", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tr.Start(ctx, "llm_provider.chat",
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(trace.Link{SpanContext: root.SpanContext(), Attributes: []attribute.KeyValue{attribute.String("link.why", "retry")}}),
		trace.WithAttributes(
			attribute.String("gen_ai.request.model", "m-1"),
			attribute.Int64("gen_ai.usage.input_tokens", big),
			attribute.Bool("cached", true),
			attribute.Float64("temperature", 0.25),
			attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop", "length"}),
		))
	child.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
	child.SetStatus(codes.Error, "rate limited")
	child.End()
	root.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(cfg.SpansPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(raw, []byte("\n"))
	if last := lines[len(lines)-1]; len(last) != 0 {
		t.Fatalf("file does not end in a newline: %q", last)
	}
	lines = lines[:len(lines)-1]
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1 (one batch)", len(lines))
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(lines[0])
	if err != nil {
		t.Fatal(err)
	}
	again, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(lines[0]), string(again)+"\n"); diff != "" {
		t.Errorf("line differs from the Collector's encoding (-file +collector):\n%s", diff)
	}
	for _, want := range []string{
		`"traceId":"` + root.SpanContext().TraceID().String() + `"`,
		`"parentSpanId":"` + root.SpanContext().SpanID().String() + `"`,
		`"intValue":"9007199254740993"`,
		`"startTimeUnixNano":"`,
		`"resourceSpans":[`,
		`"scopeSpans":[`,
	} {
		if !bytes.Contains(lines[0], []byte(want)) {
			t.Errorf("line lacks %s", want)
		}
	}

	if got := td.ResourceSpans().Len(); got != 1 {
		t.Fatalf("got %d resource spans, want 1", got)
	}
	rs := td.ResourceSpans().At(0)
	res := rs.Resource().Attributes().AsRaw()
	for k, want := range map[string]any{"service.name": "brain-run", "service.version": "v0.0.0-test", "brain.session_id": "sess-test-1"} {
		if res[k] != want {
			t.Errorf("resource %s = %v, want %v", k, res[k], want)
		}
	}
	scope := rs.ScopeSpans().At(0).Scope()
	if scope.Name() != ScopeName || scope.Version() != "v0.0.0-test" {
		t.Errorf("scope = %s %s, want %s v0.0.0-test", scope.Name(), scope.Version(), ScopeName)
	}

	spans := map[string]ptrace.Span{}
	forEachSpan(td, func(_ ptrace.ResourceSpans, s ptrace.Span) { spans[s.Name()] = s })
	r, c := spans["brain_cli.command"], spans["llm_provider.chat"]
	if r.TraceID() != pcommon.TraceID(root.SpanContext().TraceID()) || r.SpanID() != pcommon.SpanID(root.SpanContext().SpanID()) {
		t.Errorf("root ids = %s/%s, want %s/%s", r.TraceID(), r.SpanID(), root.SpanContext().TraceID(), root.SpanContext().SpanID())
	}
	if !r.ParentSpanID().IsEmpty() {
		t.Errorf("root has parent %s", r.ParentSpanID())
	}
	if c.TraceID() != r.TraceID() || c.ParentSpanID() != r.SpanID() || c.SpanID() != pcommon.SpanID(child.SpanContext().SpanID()) {
		t.Errorf("child ids = %s/%s parent %s, want parent %s", c.TraceID(), c.SpanID(), c.ParentSpanID(), r.SpanID())
	}
	if c.Kind() != ptrace.SpanKindClient || r.Kind() != ptrace.SpanKindServer {
		t.Errorf("kinds = %v, %v", r.Kind(), c.Kind())
	}
	wantAttrs := map[string]any{
		"gen_ai.request.model":           "m-1",
		"gen_ai.usage.input_tokens":      big,
		"cached":                         true,
		"temperature":                    0.25,
		"gen_ai.response.finish_reasons": []any{"stop", "length"},
		"brain.session_id":               "sess-test-1",
	}
	if diff := cmp.Diff(wantAttrs, c.Attributes().AsRaw()); diff != "" {
		t.Errorf("child attributes (-want +got):\n%s", diff)
	}
	if c.Events().Len() != 1 || c.Events().At(0).Name() != "retry" || c.Events().At(0).Attributes().AsRaw()["attempt"] != int64(2) {
		t.Errorf("events = %v", c.Events().At(0).Attributes().AsRaw())
	}
	if c.Links().Len() != 1 || c.Links().At(0).SpanID() != r.SpanID() || c.Links().At(0).Attributes().AsRaw()["link.why"] != "retry" {
		t.Errorf("link lost")
	}
	if c.Status().Code() != ptrace.StatusCodeError || c.Status().Message() != "rate limited" {
		t.Errorf("status = %v %q", c.Status().Code(), c.Status().Message())
	}
	if c.EndTimestamp() < c.StartTimestamp() || c.StartTimestamp() == 0 {
		t.Errorf("times = %v..%v", c.StartTimestamp(), c.EndTimestamp())
	}
}

func TestDiskModes(t *testing.T) {
	cfg := testConfig(t)
	p, err := Setup(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{filepath.Dir(cfg.SpansPath): 0o700 | os.ModeDir, cfg.SpansPath: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), fi.Mode(), want)
		}
	}
}

// TestBurstLossless ends 20,000 spans at once, ten times the SDK's default
// queue, and finds every one of them on disk exactly once.
func TestBurstLossless(t *testing.T) {
	const n = 20000
	cfg := testConfig(t)
	writeSpans(t, cfg.SpansPath, n)
	spans, dups := spanCount(t, cfg.SpansPath)
	if spans != n || dups != 0 {
		t.Errorf("on disk: %d spans (%d repeated), want %d", spans, dups, n)
	}
}

// TestAppend runs two providers, as two commands would, on one file; a torn
// line left by a crash stays on a line of its own.
func TestAppend(t *testing.T) {
	cfg := testConfig(t)
	writeSpans(t, cfg.SpansPath, 3)
	f, err := os.OpenFile(cfg.SpansPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"resourceSpans":[{"tor`)
	f.Close()
	writeSpans(t, cfg.SpansPath, 3)
	raw, err := os.ReadFile(cfg.SpansPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 3 || lines[1] != `{"resourceSpans":[{"tor` {
		t.Fatalf("lines = %q", lines)
	}
	os.WriteFile(cfg.SpansPath, []byte(lines[0]+"\n"+lines[2]+"\n"), 0o600)
	if spans, dups := spanCount(t, cfg.SpansPath); spans != 6 || dups != 0 {
		t.Errorf("got %d spans (%d repeated), want 6", spans, dups)
	}
}

func TestShutdownTwice(t *testing.T) {
	cfg := testConfig(t)
	p, err := Setup(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	burst(context.Background(), p, 2)
	for range 2 {
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// A span started after Shutdown is dropped, not written to a closed file.
	_, s := p.Tracer().Start(context.Background(), "late")
	s.End()
	if spans, _ := spanCount(t, cfg.SpansPath); spans != 2 {
		t.Errorf("got %d spans, want 2", spans)
	}
}

func TestSetupErrors(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	for name, cfg := range map[string]Config{
		"no path":      {},
		"dir is file":  {SpansPath: filepath.Join(blocker, "spans.jsonl")},
		"bad endpoint": {SpansPath: filepath.Join(t.TempDir(), "s.jsonl"), OTLPEndpoint: "localhost"},
		"bad scheme":   {SpansPath: filepath.Join(t.TempDir(), "s.jsonl"), OTLPEndpoint: "ftp://localhost:4317"},
	} {
		if p, err := Setup(context.Background(), cfg); err == nil {
			p.Shutdown(context.Background())
			t.Errorf("%s: Setup succeeded", name)
		} else if !strings.HasPrefix(err.Error(), "telemetry: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	type result struct {
		HostPort string
		Insecure bool
	}
	for in, want := range map[string]result{
		"localhost:4317":          {"localhost:4317", true},
		"127.0.0.1:4317":          {"127.0.0.1:4317", true},
		"[::1]:4317":              {"[::1]:4317", true},
		"collector.example:4317":  {"collector.example:4317", false},
		"http://collector:4317":   {"collector:4317", true},
		"https://localhost:4317":  {"localhost:4317", false},
		"http://localhost:4317/x": {"localhost:4317", true},
	} {
		hp, insecure, err := parseEndpoint(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if diff := cmp.Diff(want, result{hp, insecure}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", in, diff)
		}
	}
}

// TestReason checks the words the warning uses for common failures.
func TestReason(t *testing.T) {
	if got := reason(grpcNet, context.DeadlineExceeded, 200*time.Millisecond); got != "no answer within 200ms" {
		t.Errorf("deadline: %q", got)
	}
}

// TestNoNetwork: a binary without a network transport refuses an endpoint
// rather than dropping the network path in silence.
func TestNoNetwork(t *testing.T) {
	cfg := testConfig(t)
	cfg.Network, cfg.OTLPEndpoint = nil, "127.0.0.1:4317"
	if p, err := Setup(context.Background(), cfg); !errors.Is(err, ErrNoNetwork) {
		if p != nil {
			p.Shutdown(context.Background())
		}
		t.Fatalf("Setup: %v, want ErrNoNetwork", err)
	}
	if _, _, err := Flush(context.Background(), nil, cfg.SpansPath, cfg.OTLPEndpoint, cfg.SpansPath+".state"); !errors.Is(err, ErrNoNetwork) {
		t.Fatalf("Flush: %v, want ErrNoNetwork", err)
	}
}

func TestReasonStatus(t *testing.T) {
	if got := reason(grpcNet, status.Error(grpccodes.DeadlineExceeded, "context deadline exceeded"), time.Second); got != "no answer within 1s" {
		t.Errorf("DeadlineExceeded status: %q", got)
	}
	err := fmt.Errorf("traces export: %w", status.Error(grpccodes.Unimplemented, "unknown service"))
	if got := reason(grpcNet, err, time.Second); got != "unimplemented: unknown service" {
		t.Errorf("got %q", got)
	}
}

// TestExportTimeoutAfter: the network path gets what the dead-endpoint
// budget leaves after the start-up, within bounds, so that a slow start
// does not push a dead endpoint's cost past the budget.
func TestExportTimeoutAfter(t *testing.T) {
	for _, tc := range []struct{ startup, want time.Duration }{
		{0, DefaultExportTimeout},
		{15 * time.Millisecond, DefaultExportTimeout},
		{20 * time.Millisecond, 50 * time.Millisecond},
		{25*time.Millisecond + 300*time.Microsecond, 44 * time.Millisecond},
		{30 * time.Millisecond, 40 * time.Millisecond},
		{50 * time.Millisecond, 40 * time.Millisecond},
		{time.Second, 40 * time.Millisecond},
	} {
		got := ExportTimeoutAfter(tc.startup)
		if got != tc.want {
			t.Errorf("ExportTimeoutAfter(%v) = %v, want %v", tc.startup, got, tc.want)
		}
		if tc.startup <= DeadEndpointBudget-minExportTimeout-shutdownSlack-endMargin && tc.startup+got+shutdownSlack > DeadEndpointBudget {
			t.Errorf("start-up %v + timeout %v + slack %v is over the budget", tc.startup, got, shutdownSlack)
		}
	}
}
