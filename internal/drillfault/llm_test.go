package drillfault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brain-dev/brain/internal/llm"
)

const testKey = "drill-key-1"

// clients are the real providers brain-run uses, pointed at a stand-in.
var clients = []struct {
	name string
	dial func(url, key string, timeout time.Duration) (llm.Provider, error)
}{
	{"gcp.gemini", func(url, key string, timeout time.Duration) (llm.Provider, error) {
		return llm.NewGemini(llm.Config{APIKey: key, BaseURL: url + "/", Timeout: timeout})
	}},
	{"openai", func(url, key string, timeout time.Duration) (llm.Provider, error) {
		return llm.NewOpenAI(llm.Config{APIKey: key, BaseURL: url + "/v1", Timeout: timeout})
	}},
}

var testReq = llm.Request{Model: "gemini-2.5-pro", System: "be brief", Prompt: "plan the ledger docs"}

// cassette writes a cassette answering testReq.
func cassette(t *testing.T) llm.Provider {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cassette.jsonl")
	line, _ := json.Marshal(map[string]any{"request_sha256": llm.RequestHash(testReq), "model": "gemini-2.5-pro-001",
		"response": "version: 1\ntasks: []\n", "input_tokens": 12, "output_tokens": 34, "finish_reasons": []string{"stop"}})
	if err := os.WriteFile(p, append(line, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := llm.NewReplay(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLLMStandIn: the real Gemini and OpenAI clients get, from the
// stand-in, the answer of its cassette, or the failure of its mode,
// classified as from the real providers.
func TestLLMStandIn(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			l := newLLMServer(cassette(t), LLMSettings{Mode: ModeOK})
			srv := httptest.NewServer(l)
			defer srv.Close()
			chat := func(key string, timeout time.Duration, req llm.Request) (llm.Response, error) {
				p, err := c.dial(srv.URL, key, timeout)
				if err != nil {
					t.Fatal(err)
				}
				return p.Chat(context.Background(), req)
			}
			resp, err := chat(testKey, 5*time.Second, testReq)
			if err != nil || resp.Text != "version: 1\ntasks: []\n" || resp.Model != "gemini-2.5-pro-001" || resp.InputTokens != 12 || resp.OutputTokens != 34 {
				t.Fatalf("answer %+v, %v", resp, err)
			}
			if _, err := chat(testKey, 5*time.Second, llm.Request{Model: "gemini-2.5-pro", Prompt: "not in the cassette"}); errType(err) != llm.TypeBadRequest {
				t.Errorf("a request the cassette does not hold: %v, want bad_request", err)
			}
			for _, tt := range []struct {
				s      LLMSettings
				typ    string
				status int
			}{
				{LLMSettings{Mode: Mode401}, llm.TypeAuth, 401},
				{LLMSettings{Mode: Mode403}, llm.TypeAuth, 403},
				{LLMSettings{Mode: Mode429}, llm.TypeRateLimit, 429},
				{LLMSettings{Mode: Mode503}, llm.TypeServer, 503},
				{LLMSettings{Mode: ModeMalformed}, llm.TypeInvalidResponse, 0},
				{LLMSettings{Mode: ModeSlow, Delay: time.Minute}, llm.TypeTimeout, 0},
			} {
				l.set(tt.s)
				_, err := chat(testKey, 300*time.Millisecond, testReq)
				var le *llm.Error
				if !errors.As(err, &le) || le.Type != tt.typ || le.Status != tt.status {
					t.Errorf("mode %s: %v, want %s with HTTP status %d", tt.s.Mode, err, tt.typ, tt.status)
				}
			}
			key := "drill-key-2"
			l.set(LLMSettings{Mode: ModeOK, Key: &key})
			if _, err := chat(testKey, 5*time.Second, testReq); errType(err) != llm.TypeAuth {
				t.Errorf("the old key after a rotation: %v, want auth", err)
			}
			if _, err := chat(key, 5*time.Second, testReq); err != nil {
				t.Errorf("the new key: %v", err)
			}
		})
	}
}

func errType(err error) string {
	var le *llm.Error
	if errors.As(err, &le) {
		return le.Type
	}
	return fmt.Sprint(err)
}

// TestLLMRateLimitHeaders: a 429 carries Retry-After, and Gemini's body a
// RetryInfo detail, as the real providers send them.
func TestLLMRateLimitHeaders(t *testing.T) {
	l := newLLMServer(nil, LLMSettings{Mode: Mode429, RetryAfter: 1500 * time.Millisecond})
	srv := httptest.NewServer(l)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1beta/models/m:generateContent", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Status  string
			Details []map[string]string
		}
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || body.Error.Status != "RESOURCE_EXHAUSTED" || body.Error.Details[0]["retryDelay"] != "2s" {
		t.Errorf("status %d, Retry-After %q, body %+v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if s := l.status(); s["requests"] != 1 || s["statuses"].(map[string]int)["429"] != 1 {
		t.Errorf("status %v", s)
	}
}

// TestLLMModeFor: a mode set for a while starts its time at the first
// request it fails (a client that comes late still sees it), and ends by
// itself.
func TestLLMModeFor(t *testing.T) {
	l := newLLMServer(nil, LLMSettings{Mode: ModeOK})
	clock := time.Unix(1000, 0)
	l.now = func() time.Time { return clock }
	l.set(LLMSettings{Mode: Mode429, For: 2 * time.Second})
	clock = clock.Add(time.Hour)
	if s := l.status(); s["mode"] != Mode429 {
		t.Fatalf("an hour later, before any request, the mode is %v", s["mode"])
	}
	if s, _ := l.current(true); s.Mode != Mode429 {
		t.Fatalf("the first request gets %s", s.Mode)
	}
	clock = clock.Add(1999 * time.Millisecond)
	if s, _ := l.current(true); s.Mode != Mode429 {
		t.Fatalf("within its time the mode is %s", s.Mode)
	}
	clock = clock.Add(time.Millisecond)
	if s, _ := l.current(true); s.Mode != ModeOK {
		t.Errorf("after its time the mode is %s, want ok", s.Mode)
	}
}
