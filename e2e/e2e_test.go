//go:build e2e

// Package e2e checks brain-run against a real Jaeger (built from source by
// scripts/jaeger.sh): traces exported over OTLP gRPC are found by
// brain.session_id, and spans kept on disk while Jaeger was down arrive once
// after brain-run flush. Run it with `make e2e`.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	queryAPI = "http://127.0.0.1:16686"
	otlp     = "127.0.0.1:4317"
)

// jaeger runs scripts/jaeger.sh CMD with its pid file and log in runDir.
func jaeger(t *testing.T, runDir, cmd string) {
	t.Helper()
	c := exec.Command("bash", filepath.Join(repo(t), "scripts", "jaeger.sh"), cmd)
	c.Env = append(os.Environ(), "JAEGER_RUN_DIR="+runDir)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("jaeger.sh %s: %v\n%s", cmd, err, out)
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// brainRun runs the built brain-run in dir with extra environment.
func brainRun(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	c := exec.Command(filepath.Join(repo(t), "bin", "brain-run"), args...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if xe, ok := err.(*exec.ExitError); ok {
		code = xe.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

type jspan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		SpanID string `json:"spanID"`
	} `json:"references"`
	Tags []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"tags"`
}

// sessionSpans queries Jaeger for the spans of a session, waiting (bounded)
// until at least want have been stored.
func sessionSpans(t *testing.T, session string, want int) []jspan {
	t.Helper()
	q := url.Values{"service": {"brain-run"}, "tags": {fmt.Sprintf(`{"brain.session_id":%q}`, session)}, "limit": {"1000"}}
	var spans []jspan
	for try := 0; try < 100; try++ {
		resp, err := http.Get(queryAPI + "/api/traces?" + q.Encode())
		if err == nil {
			var body struct {
				Data []struct {
					Spans []jspan `json:"spans"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			spans = spans[:0]
			for _, tr := range body.Data {
				spans = append(spans, tr.Spans...)
			}
			if err == nil && len(spans) >= want {
				return spans
			}
		}
		time.Sleep(100 * time.Millisecond) // polling Jaeger's asynchronous storage
	}
	return spans
}

func count(spans []jspan, name string) int {
	n := 0
	for _, s := range spans {
		if s.OperationName == name {
			n++
		}
	}
	return n
}

func TestJaegerEndToEnd(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "jaeger")
	jaeger(t, runDir, "start")
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			jaeger(t, runDir, "stop")
		}
	})
	dir := t.TempDir()

	// 1. Nested execs exporting over OTLP gRPC form one trace in Jaeger.
	sess := fmt.Sprintf("e2e-live-%d", time.Now().UnixNano())
	r := brainRun(t, dir, []string{"BRAIN_SESSION_ID=" + sess, "OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp, deliveryTimeout},
		"exec", "--", "sh", "-c", "brain-run exec -- true && brain-run exec -- true")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exec: code %d stderr %q", r.code, r.stderr)
	}
	spans := sessionSpans(t, sess, 15)
	if n := count(spans, "brain_cli.command"); n != 3 {
		t.Fatalf("Jaeger has %d brain_cli.command spans for session %s, want 3 (outer + 2 nested)", n, sess)
	}
	traces := map[string]bool{}
	for _, s := range spans {
		traces[s.TraceID] = true
	}
	if len(traces) != 1 {
		t.Fatalf("session %s spans %d traces, want one trace across processes", sess, len(traces))
	}
	if n := count(spans, "audit_logger.write_event"); n != 12 {
		t.Errorf("Jaeger has %d audit_logger.write_event spans, want 12 (4 per command)", n)
	}
	for _, s := range spans {
		if s.OperationName != "brain_cli.command" {
			continue
		}
		tags := map[string]any{}
		for _, tg := range s.Tags {
			tags[tg.Key] = tg.Value
		}
		if tags["brain.session_id"] != sess || tags["brain.command"] != "exec" {
			t.Errorf("root span tags %v lack brain.session_id=%s and brain.command=exec", tags, sess)
		}
	}

	// 1b. brain-run demo exporting live: its one trace, with every span of
	// the golden scenario, is in Jaeger under the trace id the summary names.
	demo := fmt.Sprintf("e2e-demo-%d", time.Now().UnixNano())
	r = brainRun(t, dir, []string{"BRAIN_SESSION_ID=" + demo, "OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp, deliveryTimeout, "BRAIN_CACHE_DIR=" + filepath.Join(dir, "cache")},
		"demo", filepath.Join(dir, "demo"))
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("demo: code %d stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	spans = sessionSpans(t, demo, 34)
	want := map[string]int{"brain_cli.command": 1, "orchestrator.plan_generation": 1, "orchestrator.task_execution": 3,
		"llm_provider.chat": 4, "sketch.generate_context": 3, "verifier.run_checks": 3, "audit_logger.write_event": 19}
	for name, n := range want {
		if got := count(spans, name); got != n {
			t.Errorf("Jaeger has %d %s spans of the demo, want %d", got, name, n)
		}
	}
	if len(spans) == 0 || !strings.Contains(r.stdout, "curl http://127.0.0.1:16686/api/traces/"+spans[0].TraceID) {
		t.Errorf("the demo's summary does not name its trace in Jaeger:\n%s", r.stdout)
	}

	// 2. Jaeger down: the command succeeds, warns once, keeps the spans.
	jaeger(t, runDir, "stop")
	stopped = true
	dead := fmt.Sprintf("e2e-dead-%d", time.Now().UnixNano())
	r = brainRun(t, dir, []string{"BRAIN_SESSION_ID=" + dead, "OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp}, "exec", "--", "true")
	if r.code != 0 {
		t.Fatalf("exec with Jaeger down: code %d: %s", r.code, r.stderr)
	}
	if n := strings.Count(r.stderr, "warning:"); n != 1 || !strings.Contains(r.stderr, "spans.jsonl") {
		t.Fatalf("stderr %q: want exactly one warning naming where the spans are", r.stderr)
	}

	// 3. Jaeger back: flush delivers the kept spans, once.
	jaeger(t, runDir, "start")
	stopped = false
	flush1 := dead + "-flush1"
	r = brainRun(t, dir, []string{"BRAIN_SESSION_ID=" + flush1, "OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp}, "flush")
	if r.code != 0 {
		t.Fatalf("flush: code %d: %s", r.code, r.stderr)
	}
	got := sessionSpans(t, dead, 5)
	if n := count(got, "brain_cli.command"); n != 1 || len(got) != 5 {
		t.Fatalf("after flush Jaeger has %d spans (%d roots) for session %s, want 5 spans, 1 root", len(got), n, dead)
	}
	// A second flush sends only what is new since the first: the first
	// flush's own spans (kept on disk by design), never a span twice.
	r = brainRun(t, dir, []string{"BRAIN_SESSION_ID=" + dead + "-flush2", "OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp}, "flush")
	var sent, already int
	if r.code != 0 {
		t.Fatalf("second flush: code %d: %s", r.code, r.stderr)
	}
	if _, err := fmt.Sscanf(r.stderr, "brain-run: sent %d spans to "+otlp+" (%d already sent)", &sent, &already); err != nil {
		t.Fatalf("second flush said %q: %v", r.stderr, err)
	}
	own := sessionSpans(t, flush1, sent)
	if len(own) != sent {
		t.Fatalf("second flush sent %d spans, but the first flush's own spans in Jaeger are %d: want them to be exactly what was sent", sent, len(own))
	}
	if again := sessionSpans(t, dead, 5); len(again) != 5 {
		t.Fatalf("after a second flush Jaeger has %d spans for session %s, want 5: nothing sent twice", len(again), dead)
	}
}
