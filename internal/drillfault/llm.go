package drillfault

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/brain-dev/brain/internal/llm"
)

// The modes of the model provider stand-in.
const (
	ModeOK        = "ok"        // answer (from the cassette, else "ok")
	Mode401       = "401"       // the key is rejected: UNAUTHENTICATED / invalid_api_key
	Mode403       = "403"       // permission denied: PERMISSION_DENIED
	Mode429       = "429"       // rate limited, with Retry-After
	Mode503       = "503"       // the provider is down: UNAVAILABLE
	ModeSlow      = "slow"      // answer after Delay
	ModeMalformed = "malformed" // 200 with a body that is not the API's JSON
)

// LLMModes lists the stand-in's modes.
var LLMModes = []string{ModeOK, Mode401, Mode403, Mode429, Mode503, ModeSlow, ModeMalformed}

// maxRequestBytes bounds a request body the stand-in reads.
const maxRequestBytes = 8 << 20

// LLMSettings are what a mode change sets.
type LLMSettings struct {
	Mode       string        `json:"mode"`
	RetryAfter time.Duration `json:"retry_after,omitempty"` // 429: the Retry-After it sends (default 1s)
	Delay      time.Duration `json:"delay,omitempty"`       // slow: how long before it answers (default 5s)
	For        time.Duration `json:"for,omitempty"`         // the mode lasts this long from the first request it fails, then ok again; 0: until changed
	Key        *string       `json:"key,omitempty"`         // the one key it accepts from now on ("": any); nil: unchanged
}

// llmServer is the provider stand-in: it speaks the Gemini API
// (POST /v1beta/models/MODEL:generateContent, key in x-goog-api-key or
// ?key=) and the OpenAI API (POST /v1/chat/completions, key as a bearer
// token) closely enough for google.golang.org/genai and openai-go, and
// answers each request from a BRAIN cassette (docs/llm.md) by its request
// hash, or with "ok" without one, or with the failure its mode says.
type llmServer struct {
	replay llm.Provider // nil: answer "ok"
	now    func() time.Time

	mu       sync.Mutex
	settings LLMSettings
	key      string
	until    time.Time // when a mode set with For ends; zero until its first failed request
	requests int
	statuses map[int]int
}

func newLLMServer(replay llm.Provider, s LLMSettings) *llmServer {
	srv := &llmServer{replay: replay, now: time.Now, statuses: map[int]int{}}
	srv.set(s)
	return srv
}

// CheckLLMSettings returns an error for settings a stand-in refuses.
func CheckLLMSettings(s LLMSettings) error {
	if !slices.Contains(LLMModes, s.Mode) {
		return fmt.Errorf("unknown mode %q for llm (modes: %s)", s.Mode, strings.Join(LLMModes, ", "))
	}
	if s.RetryAfter < 0 || s.Delay < 0 || s.For < 0 {
		return errors.New("durations must not be negative")
	}
	return nil
}

func (l *llmServer) set(s LLMSettings) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.RetryAfter == 0 {
		s.RetryAfter = time.Second
	}
	if s.Delay == 0 {
		s.Delay = 5 * time.Second
	}
	if s.Key != nil {
		l.key = *s.Key
	}
	l.settings = s
	l.until = time.Time{}
}

// current returns the settings in force now (a mode set with For that has
// run out is ok again) and the key the stand-in accepts. A failing mode
// set with For starts its time at the first request it fails, as a quota
// window starts when the quota is hit: a client that comes late still sees
// the failure.
// request says whether a request is being answered (status asks too).
func (l *llmServer) current(request bool) (LLMSettings, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.settings.For <= 0 || l.settings.Mode == ModeOK:
	case l.until.IsZero():
		if request {
			l.until = l.now().Add(l.settings.For)
		}
	case !l.now().Before(l.until):
		l.settings.Mode, l.settings.For, l.until = ModeOK, 0, time.Time{}
	}
	return l.settings, l.key
}

func (l *llmServer) count(status int) {
	l.mu.Lock()
	l.requests++
	l.statuses[status]++
	l.mu.Unlock()
}

// status is what fault status reports of the stand-in.
func (l *llmServer) status() map[string]any {
	s, _ := l.current(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	by := map[string]int{}
	for k, v := range l.statuses {
		by[strconv.Itoa(k)] = v
	}
	return map[string]any{"mode": s.Mode, "requests": l.requests, "statuses": by}
}

// api is one of the two wire formats.
type api interface {
	// request parses the body into a chat request, with the model from
	// the path (Gemini) or the body (OpenAI).
	request(r *http.Request, body []byte) (llm.Request, error)
	key(r *http.Request) string
	answer(req llm.Request, resp llm.Response) any
	// failure is the API's error body for status.
	failure(status int, msg string, retryAfter time.Duration) any
	malformed() string
}

func (l *llmServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var a api
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, ":generateContent") && strings.Contains(r.URL.Path, "/models/"):
		a = geminiAPI{}
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions"):
		a = openaiAPI{}
	default:
		l.reply(w, http.StatusNotFound, map[string]any{"error": map[string]any{"code": 404, "message": "the drill's provider stand-in has no " + r.Method + " " + r.URL.Path, "status": "NOT_FOUND"}})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil || len(body) > maxRequestBytes {
		l.reply(w, http.StatusBadRequest, a.failure(http.StatusBadRequest, "the request body could not be read or is over 8 MiB", 0))
		return
	}
	s, key := l.current(true)
	if key != "" && a.key(r) != key {
		l.reply(w, http.StatusUnauthorized, a.failure(http.StatusUnauthorized, "API key not valid. Please pass a valid API key.", 0))
		return
	}
	switch s.Mode {
	case Mode401, Mode403, Mode503:
		status, _ := strconv.Atoi(s.Mode)
		l.reply(w, status, a.failure(status, map[int]string{401: "API key not valid. Please pass a valid API key.",
			403: "Permission denied: the API is not enabled for this key's project.", 503: "The model is overloaded. Please try again later."}[status], 0))
		return
	case Mode429:
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(s.RetryAfter.Seconds()))))
		l.reply(w, http.StatusTooManyRequests, a.failure(http.StatusTooManyRequests, "Resource has been exhausted (e.g. check quota).", s.RetryAfter))
		return
	case ModeMalformed:
		l.count(http.StatusOK)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, a.malformed())
		return
	case ModeSlow:
		t := time.NewTimer(s.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			l.count(499) // the client gave up
			return
		}
	}
	req, err := a.request(r, body)
	if err != nil {
		l.reply(w, http.StatusBadRequest, a.failure(http.StatusBadRequest, "invalid request: "+err.Error(), 0))
		return
	}
	resp := llm.Response{Text: "ok", Model: req.Model, InputTokens: 1, OutputTokens: 1, FinishReasons: []string{"stop"}}
	if l.replay != nil {
		resp, err = l.replay.Chat(r.Context(), req)
		var le *llm.Error
		switch {
		case errors.As(err, &le) && le.Status != 0:
			l.reply(w, le.Status, a.failure(le.Status, "as the cassette says: "+le.Type, s.RetryAfter))
			return
		case err != nil:
			l.reply(w, http.StatusBadRequest, a.failure(http.StatusBadRequest, fmt.Sprintf("the drill's provider stand-in has no answer in its cassette for this request (request sha256 %s)", llm.RequestHash(req)), 0))
			return
		}
	}
	l.reply(w, http.StatusOK, a.answer(req, resp))
}

func (l *llmServer) reply(w http.ResponseWriter, status int, body any) {
	l.count(status)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// geminiAPI is the Gemini API's generateContent.
type geminiAPI struct{}

type geminiContent struct {
	Role  string `json:"role,omitempty"`
	Parts []struct {
		Text string `json:"text"`
	} `json:"parts"`
}

func (geminiAPI) request(r *http.Request, body []byte) (llm.Request, error) {
	var in struct {
		Contents          []geminiContent `json:"contents"`
		SystemInstruction *geminiContent  `json:"systemInstruction"`
		GenerationConfig  *struct {
			MaxOutputTokens int      `json:"maxOutputTokens"`
			Temperature     *float32 `json:"temperature"`
		} `json:"generationConfig"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return llm.Request{}, err
	}
	path := r.URL.Path
	model := path[strings.LastIndex(path, "/models/")+len("/models/") : len(path)-len(":generateContent")]
	req := llm.Request{Model: model}
	text := func(c *geminiContent) string {
		var b strings.Builder
		for _, p := range c.Parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	if in.SystemInstruction != nil {
		req.System = text(in.SystemInstruction)
	}
	for i := range in.Contents {
		req.Prompt += text(&in.Contents[i])
	}
	if g := in.GenerationConfig; g != nil {
		req.MaxOutputTokens = g.MaxOutputTokens
		if g.Temperature != nil {
			// The client sends a float32: the shortest decimal of it is
			// the float64 the caller meant.
			t, _ := strconv.ParseFloat(strconv.FormatFloat(float64(*g.Temperature), 'g', -1, 32), 64)
			req.Temperature = &t
		}
	}
	return req, nil
}

func (geminiAPI) key(r *http.Request) string {
	if k := r.Header.Get("x-goog-api-key"); k != "" {
		return k
	}
	return r.URL.Query().Get("key")
}

func (geminiAPI) answer(req llm.Request, resp llm.Response) any {
	reason := "STOP"
	if len(resp.FinishReasons) > 0 && resp.FinishReasons[0] == "length" {
		reason = "MAX_TOKENS"
	}
	return map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"role": "model", "parts": []any{map[string]any{"text": resp.Text}}},
			"finishReason": reason, "index": 0,
		}},
		"usageMetadata": map[string]any{"promptTokenCount": resp.InputTokens, "candidatesTokenCount": resp.OutputTokens,
			"totalTokenCount": resp.InputTokens + resp.OutputTokens},
		"modelVersion": resp.Model,
	}
}

func (geminiAPI) failure(status int, msg string, retryAfter time.Duration) any {
	name := map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
		429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}[status]
	if name == "" {
		name = "UNKNOWN"
	}
	e := map[string]any{"code": status, "message": msg, "status": name}
	if status == http.StatusTooManyRequests {
		e["details"] = []any{map[string]any{"@type": "type.googleapis.com/google.rpc.RetryInfo",
			"retryDelay": strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))) + "s"}}
	}
	return map[string]any{"error": e}
}

func (geminiAPI) malformed() string {
	return `{"candidates": [{"content": {"parts": [{"text": "unterminated`
}

// openaiAPI is the OpenAI API's chat completions.
type openaiAPI struct{}

func (openaiAPI) request(_ *http.Request, body []byte) (llm.Request, error) {
	var in struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
		MaxTokens   int      `json:"max_tokens"`
		Temperature *float64 `json:"temperature"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return llm.Request{}, err
	}
	req := llm.Request{Model: in.Model, MaxOutputTokens: in.MaxTokens, Temperature: in.Temperature}
	for _, m := range in.Messages {
		text, err := openaiText(m.Content)
		if err != nil {
			return llm.Request{}, err
		}
		switch m.Role {
		case "system", "developer":
			req.System += text
		default:
			req.Prompt += text
		}
	}
	return req, nil
}

// openaiText reads a message's content: a string, or an array of parts.
func openaiText(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("a message's content is neither text nor parts")
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

func (openaiAPI) key(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

func (openaiAPI) answer(req llm.Request, resp llm.Response) any {
	reason := "stop"
	if len(resp.FinishReasons) > 0 && resp.FinishReasons[0] == "length" {
		reason = "length"
	}
	return map[string]any{
		"id": "chatcmpl-drill", "object": "chat.completion", "created": time.Now().Unix(), "model": resp.Model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": resp.Text}, "finish_reason": reason}},
		"usage":   map[string]any{"prompt_tokens": resp.InputTokens, "completion_tokens": resp.OutputTokens, "total_tokens": resp.InputTokens + resp.OutputTokens},
	}
}

func (openaiAPI) failure(status int, msg string, _ time.Duration) any {
	typ, code := "invalid_request_error", "invalid_request"
	switch status {
	case 401:
		code = "invalid_api_key"
	case 403:
		code = "insufficient_permissions"
	case 429:
		typ, code = "requests", "rate_limit_exceeded"
	case 500, 503:
		typ, code = "server_error", "server_error"
	}
	return map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}}
}

func (openaiAPI) malformed() string {
	return `{"id": "chatcmpl-drill", "choices": [{"message": {"content": "unterminated`
}
