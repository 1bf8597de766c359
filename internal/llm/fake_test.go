package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testKey is the API key the fake servers expect. Every error body and
// header of theirs repeats it, so the tests can check that no message does.
const testKey = "sk-test-SECRET-0123456789abcdef"

// wire is a provider's HTTP API as a fake server speaks it.
type wire struct {
	name string
	// newProvider builds the real client; base turns a fake server's URL
	// into its BaseURL.
	newProvider func(cfg Config) (Provider, error)
	base        func(url string) string
	// authorized reports whether r carries testKey the provider's way.
	authorized func(r *http.Request) bool
	// isChat reports whether r is a chat call for the model "test-model".
	isChat func(r *http.Request) bool
	// success is the body of a successful answer: text "hello, world",
	// model "test-model-001", 11 input and 7 output tokens, and two
	// choices that stopped and ran out of tokens.
	success string
	// errorBody is the provider's error body for status, echoing the key.
	errorBody func(status int) string
}

var wires = []wire{
	{
		name:        "gcp.gemini",
		newProvider: NewGemini,
		base:        func(url string) string { return url },
		authorized:  func(r *http.Request) bool { return r.Header.Get("x-goog-api-key") == testKey },
		isChat: func(r *http.Request) bool {
			return r.Method == http.MethodPost && r.URL.Path == "/v1beta/models/test-model:generateContent"
		},
		success: `{"candidates":[
			{"content":{"role":"model","parts":[{"text":"hello, "},{"text":"world"}]},"finishReason":"STOP","index":0},
			{"content":{"role":"model","parts":[{"text":"other"}]},"finishReason":"MAX_TOKENS","index":1}],
			"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":7,"totalTokenCount":18},
			"modelVersion":"test-model-001","responseId":"r1"}`,
		errorBody: func(status int) string {
			return fmt.Sprintf(`{"error":{"code":%d,"message":"API key %s not valid","status":"%s"}}`,
				status, testKey, map[int]string{401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 400: "INVALID_ARGUMENT"}[status])
		},
	},
	{
		name:        "openai",
		newProvider: NewOpenAI,
		base:        func(url string) string { return url + "/v1" },
		authorized:  func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+testKey },
		isChat: func(r *http.Request) bool {
			if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
				return false
			}
			var body struct{ Model string }
			return json.NewDecoder(r.Body).Decode(&body) == nil && body.Model == "test-model"
		},
		success: `{"id":"c1","object":"chat.completion","created":1,"model":"test-model-001",
			"choices":[
				{"index":0,"message":{"role":"assistant","content":"hello, world"},"finish_reason":"stop"},
				{"index":1,"message":{"role":"assistant","content":"other"},"finish_reason":"length"}],
			"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}`,
		errorBody: func(status int) string {
			return fmt.Sprintf(`{"error":{"message":"Incorrect API key provided: %s","type":"invalid_request_error","param":null,"code":"%s"}}`,
				testKey, testKey)
		},
	},
}

// fake is a fake provider server; handle decides each reply.
type fake struct {
	srv  *httptest.Server
	hits atomic.Int32
}

// newFake starts a server that checks the key and path, then calls handle.
// It answers 401 itself if the key is wrong and 404 for any other path.
func newFake(t *testing.T, w wire, handle func(rw http.ResponseWriter, r *http.Request)) *fake {
	t.Helper()
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		// Read the whole body first: the server notices a client that
		// hangs up (and cancels r.Context) only once the body is read.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		switch {
		case !w.authorized(r):
			reply(rw, http.StatusUnauthorized, w.errorBody(http.StatusUnauthorized))
		case !w.isChat(r):
			reply(rw, http.StatusNotFound, `{"error":{"message":"no such path `+r.URL.Path+`"}}`)
		default:
			handle(rw, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// reply writes a JSON body with status, and the key in a header as some
// proxies echo it.
func reply(rw http.ResponseWriter, status int, body string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("X-Echo-Api-Key", testKey)
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte(body))
}

// checkNoKey fails if the error's text, or that of anything it wraps,
// contains the key.
func checkNoKey(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; {
		if strings.Contains(e.Error(), testKey) || strings.Contains(fmt.Sprintf("%+v", e), testKey) {
			t.Errorf("error text contains the API key: %v", e)
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
}

// dial points w's real client at baseURL.
func dial(t *testing.T, w wire, baseURL string, timeout time.Duration) Provider {
	t.Helper()
	return dialConfig(t, w, Config{BaseURL: baseURL, Timeout: timeout})
}

// dialConfig points w's real client at cfg.BaseURL, with the test key.
func dialConfig(t *testing.T, w wire, cfg Config) Provider {
	t.Helper()
	cfg.APIKey, cfg.BaseURL = testKey, w.base(cfg.BaseURL)
	p, err := w.newProvider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wantType fails the test unless err is an error of type typ whose text
// does not contain the key.
func wantType(t *testing.T, err error, typ string) {
	t.Helper()
	if got := ErrorType(err); got != typ {
		t.Fatalf("ErrorType = %q, want %q (%v)", got, typ, err)
	}
	checkNoKey(t, err)
}
