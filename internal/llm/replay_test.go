package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRequestHashVectors pins the canonical encoding; docs/llm.md lists the
// same vectors.
func TestRequestHashVectors(t *testing.T) {
	tests := []struct {
		req  Request
		want string
	}{
		{Request{}, "bb067ee574dd1f3478b2f18bc57d63bc182a8427271671829f3d2c43a1f45b7c"},
		{testRequest, "de798134f501d61402883d059945a3d817fecf5590f6b8d6ebc84b9cb7f9d410"},
	}
	for _, tt := range tests {
		if got := RequestHash(tt.req); got != tt.want {
			t.Errorf("RequestHash(%+v) = %s, want %s", tt.req, got, tt.want)
		}
	}
}

func TestRequestHashDistinguishes(t *testing.T) {
	one, two := 1.0, 1.0000000000000002
	reqs := []Request{
		{}, {Model: "m"}, {System: "m"}, {Prompt: "m"},
		{System: "a\nprompt=1:b"}, {System: "a", Prompt: "b"},
		{MaxOutputTokens: 1}, {Temperature: new(0.0)}, {Temperature: &one}, {Temperature: &two},
	}
	seen := make(map[string]int)
	for i, r := range reqs {
		h := RequestHash(r)
		if j, ok := seen[h]; ok {
			t.Errorf("requests %d and %d hash alike: %+v, %+v", j, i, reqs[j], r)
		}
		seen[h] = i
	}
}

func writeCassette(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cassette.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newTestReplay(t *testing.T) Provider {
	t.Helper()
	line := fmt.Sprintf(`{"request_sha256":%q,"model":"test-model-001","response":"hello, world","input_tokens":11,"output_tokens":7,"finish_reasons":["stop"]}`, RequestHash(testRequest))
	p, err := NewReplay(writeCassette(t, line, ""))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReplayHit(t *testing.T) {
	got, err := newTestReplay(t).Chat(t.Context(), testRequest)
	if err != nil {
		t.Fatal(err)
	}
	want := Response{Text: "hello, world", Model: "test-model-001", InputTokens: 11, OutputTokens: 7, FinishReasons: []string{"stop"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Chat (-want +got):\n%s", diff)
	}
}

func TestReplayMiss(t *testing.T) {
	req := testRequest
	req.Prompt = "something else"
	_, err := newTestReplay(t).Chat(t.Context(), req)
	var e *Error
	if !errors.As(err, &e) || e.Type != TypeNotFound || e.Provider != "replay" {
		t.Fatalf("Chat error = %#v, want *Error not_found from replay", err)
	}
	if !strings.Contains(err.Error(), RequestHash(req)) {
		t.Errorf("message %q does not name the request hash", err)
	}
}

// TestReplayError: an error entry reproduces the provider's failure, with
// its type and HTTP status, and a bad one is refused naming its line.
func TestReplayError(t *testing.T) {
	for _, fail := range []ReplayedError{{Type: TypeAuth, Status: 401}, {Type: TypeRateLimit, Status: 429}, {Type: TypeTimeout}} {
		line, err := CassetteErrorLine(testRequest, fail)
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewReplay(writeCassette(t, string(bytes.TrimSuffix(line, []byte("\n")))))
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Chat(t.Context(), testRequest)
		var e *Error
		if !errors.As(err, &e) || e.Type != fail.Type || e.Status != fail.Status || e.Provider != "replay" {
			t.Fatalf("Chat error = %#v, want %+v from replay", err, fail)
		}
		if !strings.Contains(err.Error(), RequestHash(testRequest)) {
			t.Errorf("message %q does not name the request hash", err)
		}
	}
	h := RequestHash(testRequest)
	for name, bad := range map[string]string{
		"unknown type":  fmt.Sprintf(`{"request_sha256":%q,"error":{"type":"not_found"}}`, h),
		"bad status":    fmt.Sprintf(`{"request_sha256":%q,"error":{"type":"auth","status":200}}`, h),
		"with response": fmt.Sprintf(`{"request_sha256":%q,"response":"hi","error":{"type":"auth","status":401}}`, h),
	} {
		if _, err := NewReplay(writeCassette(t, bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%s: NewReplay error = %v, want one naming line 1", name, err)
		}
	}
	if _, err := CassetteErrorLine(testRequest, ReplayedError{Type: TypeCanceled}); err == nil {
		t.Error("CassetteErrorLine accepted a canceled call")
	}
}

func TestReplayCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := newTestReplay(t).Chat(ctx, testRequest)
	if got := ErrorType(err); got != TypeCanceled {
		t.Errorf("ErrorType = %q, want %q", got, TypeCanceled)
	}
}

func TestReplayMalformed(t *testing.T) {
	good := fmt.Sprintf(`{"request_sha256":%q,"model":"m","response":"r","input_tokens":1,"output_tokens":2,"finish_reasons":[]}`, RequestHash(Request{}))
	tests := map[string]string{
		"not JSON":      `{"request_sha256":`,
		"unknown field": strings.Replace(good, `"model"`, `"modle"`, 1),
		"bad hash":      `{"request_sha256":"ABC","model":"m","response":"r"}`,
		"negative":      strings.Replace(good, `"input_tokens":1`, `"input_tokens":-1`, 1),
		"two objects":   good + " {}",
	}
	for name, bad := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := NewReplay(writeCassette(t, good, "", bad))
			if err == nil || !strings.Contains(err.Error(), "line 3") {
				t.Errorf("NewReplay error = %v, want one naming line 3", err)
			}
		})
	}
	if _, err := NewReplay(filepath.Join(t.TempDir(), "missing.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewReplay(missing) = %v, want a not-exist error", err)
	}
}

// stub is a Provider that answers every prompt with its upper-case form,
// or fails.
type stub struct{ err error }

func (s stub) Name() string          { return "openai" }
func (s stub) Server() (string, int) { return "example.test", 443 }
func (s stub) Chat(ctx context.Context, req Request) (Response, error) {
	if s.err != nil {
		return Response{}, s.err
	}
	return Response{Text: strings.ToUpper(req.Prompt), Model: req.Model + "-001", InputTokens: len(req.Prompt), OutputTokens: 3, FinishReasons: []string{"stop"}}, nil
}

func TestRecorderRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	rec := NewRecorder(stub{}, path)
	if rec.Name() != "openai" {
		t.Errorf("Name() = %q, want the inner provider's", rec.Name())
	}
	// Concurrent calls must each append one whole line.
	const n = 20
	want := make([]Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req := testRequest
			req.Prompt = fmt.Sprintf("prompt <%d> & more", i)
			resp, err := rec.Chat(t.Context(), req)
			if err != nil {
				t.Error(err)
			}
			want[i] = resp
		})
	}
	wg.Wait()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cassette mode %v, want 0600", fi.Mode().Perm())
	}
	replay, err := NewReplay(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		req := testRequest
		req.Prompt = fmt.Sprintf("prompt <%d> & more", i)
		got, err := replay.Chat(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[i], got); diff != "" {
			t.Errorf("replayed %d (-recorded +replayed):\n%s", i, diff)
		}
	}
	data, _ := os.ReadFile(path)
	if lines := strings.Count(string(data), "\n"); lines != n {
		t.Errorf("cassette has %d lines, want %d", lines, n)
	}
}

func TestRecorderSkipsFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	inner := stub{err: &Error{Type: TypeRateLimit, Status: 429, Provider: "openai", msg: "llm: openai: rate limited"}}
	if _, err := NewRecorder(inner, path).Chat(t.Context(), testRequest); ErrorType(err) != TypeRateLimit {
		t.Errorf("Chat error = %v, want the inner rate_limit error", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed call created the cassette (stat: %v)", err)
	}
}

func TestRecorderWriteFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "rec.jsonl")
	if _, err := NewRecorder(stub{}, path).Chat(t.Context(), testRequest); err == nil {
		t.Error("Chat succeeded though the cassette cannot be written")
	}
}

// TestReplayTooLarge: a cassette answer over the limit fails its request
// as a live provider's would (response_too_large), one at the limit is
// given, and a line longer than any entry within the limit can be is an
// error naming the line, read with memory bounded by the limit.
func TestReplayTooLarge(t *testing.T) {
	const limit = 1000
	entry := func(req Request, text string) string {
		line, err := CassetteLine(req, Response{Text: text, Model: "m"})
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(string(line), "\n")
	}
	atLimit, over := testRequest, testRequest
	over.Prompt = "say more"
	p, err := NewReplayLimit(writeCassette(t, entry(atLimit, strings.Repeat("a", limit)), entry(over, strings.Repeat("a", limit+1))), limit)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := p.Chat(t.Context(), atLimit); err != nil || len(resp.Text) != limit {
		t.Errorf("answer at the limit: %d bytes, %v", len(resp.Text), err)
	}
	_, err = p.Chat(t.Context(), over)
	if ErrorType(err) != TypeTooLarge || !strings.Contains(err.Error(), "over the limit of 1000 bytes") {
		t.Errorf("answer over the limit: %v, want response_too_large naming the limit", err)
	}
	// The longest line an entry within the limit can take is 6*limit+64 KiB.
	long := entry(over, strings.Repeat("\x01", 12<<10)) // 6 bytes a byte once escaped: 72 KiB
	_, err = NewReplayLimit(writeCassette(t, entry(atLimit, "ok"), long), limit)
	if err == nil || !strings.Contains(err.Error(), "line 2 is over 71536 bytes") {
		t.Errorf("NewReplayLimit with a long line = %v, want an error naming line 2 and the bound", err)
	}
}
