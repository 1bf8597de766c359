package llm

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// chatSpan runs Chat against the fake OpenAI-compatible server answering
// with status and body, and returns the one span it recorded.
func chatSpan(t *testing.T, status int, body string) (sdktrace.ReadOnlySpan, int, error) {
	t.Helper()
	w := wires[1]
	f := newFake(t, w, func(rw http.ResponseWriter, r *http.Request) { reply(rw, status, body) })
	p := dial(t, w, f.srv.URL, 5*time.Second)
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	_, err := Chat(t.Context(), tp.Tracer("test"), p, testRequest)
	spans := sr.Ended()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	_, port := p.Server()
	return spans[0], port, err
}

func TestChatSpan(t *testing.T) {
	s, port, err := chatSpan(t, 200, wires[1].success)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "llm_provider.chat" || s.SpanKind() != trace.SpanKindClient {
		t.Errorf("span %q kind %v, want llm_provider.chat kind client", s.Name(), s.SpanKind())
	}
	want := map[string]string{
		"gen_ai.operation.name":          "chat",
		"gen_ai.provider.name":           "openai",
		"gen_ai.request.model":           "test-model",
		"gen_ai.request.max_tokens":      "64",
		"gen_ai.request.temperature":     "0.2",
		"gen_ai.response.model":          "test-model-001",
		"gen_ai.usage.input_tokens":      "11",
		"gen_ai.usage.output_tokens":     "7",
		"gen_ai.response.finish_reasons": `["stop","length"]`,
		"server.address":                 "127.0.0.1",
		"server.port":                    strconv.Itoa(port),
	}
	if diff := cmp.Diff(want, attrMap(s.Attributes())); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if s.Status().Code == codes.Error {
		t.Errorf("status = %v, want unset", s.Status())
	}
	checkNoText(t, s)
}

func TestChatSpanError(t *testing.T) {
	s, _, err := chatSpan(t, 429, wires[1].errorBody(429))
	if got := ErrorType(err); got != TypeRateLimit {
		t.Fatalf("ErrorType = %q, want %q", got, TypeRateLimit)
	}
	got := attrMap(s.Attributes())
	if got["error.type"] != "rate_limit" || got["http.response.status_code"] != "429" {
		t.Errorf("error.type = %q, http.response.status_code = %q; want rate_limit, 429", got["error.type"], got["http.response.status_code"])
	}
	for _, k := range []string{"gen_ai.response.model", "gen_ai.usage.input_tokens"} {
		if _, ok := got[k]; ok {
			t.Errorf("failed span has %s", k)
		}
	}
	if s.Status().Code != codes.Error || s.Status().Description != err.Error() {
		t.Errorf("status = %+v, want Error %q", s.Status(), err)
	}
	checkNoText(t, s)
}

func TestChatSpanReplay(t *testing.T) {
	p := newTestReplay(t)
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	if _, err := Chat(t.Context(), tp.Tracer("test"), p, testRequest); err != nil {
		t.Fatal(err)
	}
	got := attrMap(sr.Ended()[0].Attributes())
	if got["gen_ai.provider.name"] != "replay" {
		t.Errorf("gen_ai.provider.name = %q, want replay", got["gen_ai.provider.name"])
	}
	if _, ok := got["server.address"]; ok {
		t.Error("replay span has server.address")
	}
}

func attrMap(kvs []attribute.KeyValue) map[string]string {
	m := make(map[string]string)
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// checkNoText fails if the span carries a deprecated GenAI attribute, or the
// prompt, system instruction, response text or key anywhere.
func checkNoText(t *testing.T, s sdktrace.ReadOnlySpan) {
	t.Helper()
	secrets := []string{testRequest.Prompt, testRequest.System, "hello, world", testKey}
	for _, kv := range s.Attributes() {
		switch kv.Key {
		case "gen_ai.system", "gen_ai.prompt", "gen_ai.completion":
			t.Errorf("span has deprecated attribute %s", kv.Key)
		}
		for _, x := range secrets {
			if strings.Contains(kv.Value.String(), x) {
				t.Errorf("attribute %s contains %q", kv.Key, x)
			}
		}
	}
	for _, x := range secrets {
		if strings.Contains(s.Status().Description, x) {
			t.Errorf("status description contains %q", x)
		}
	}
	if len(s.Events()) != 0 {
		t.Errorf("span has events %v", s.Events())
	}
}

// TestChatThen: then runs inside the chat span with the answer, and an error
// it returns fails the call and marks the span.
func TestChatThen(t *testing.T) {
	p := newTestReplay(t)
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	var inSpan trace.SpanContext
	var got Response
	_, err := ChatThen(t.Context(), tp.Tracer("test"), p, testRequest, func(ctx context.Context, resp Response, err error, latency time.Duration) error {
		inSpan, got = trace.SpanContextFromContext(ctx), resp
		if err != nil || latency < 0 {
			t.Errorf("then got err %v, latency %v", err, latency)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := sr.Ended()[0]; s.SpanContext().SpanID() != inSpan.SpanID() || got.Text != "hello, world" {
		t.Errorf("then ran in span %s with %+v, want the chat span %s and the answer", inSpan.SpanID(), got, s.SpanContext().SpanID())
	}

	boom := errors.New("audit: disk full")
	_, err = ChatThen(t.Context(), tp.Tracer("test"), p, testRequest, func(context.Context, Response, error, time.Duration) error { return boom })
	if err != boom {
		t.Fatalf("ChatThen = %v, want then's error", err)
	}
	s := sr.Ended()[1]
	if a := attrMap(s.Attributes()); a["error.type"] != "audit_write_failed" || s.Status().Code != codes.Error {
		t.Errorf("span attributes %v status %v, want error.type audit_write_failed and status Error", a, s.Status())
	}
}
