// Package llm talks to the language models BRAIN plans and executes with.
//
// Three providers implement [Provider]: Gemini through google.golang.org/genai
// ([NewGemini]), any OpenAI-compatible endpoint through the official
// github.com/openai/openai-go client ([NewOpenAI]), and an offline replay of a
// JSONL cassette ([NewReplay]); [NewRecorder] wraps a live provider and appends
// each answer to a cassette. [Chat] calls a provider inside an
// "llm_provider.chat" span that carries the OpenTelemetry GenAI
// semantic-convention attributes, never prompt or response text.
//
// Every failure is an [*Error] whose Type is a stable error.type value and
// whose message is built from the HTTP status, the type and this package's own
// words: it never repeats the API key nor the provider's error body.
//
// The cassette format and the request hash are documented in docs/llm.md.
package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/brain-dev/brain/internal/names"
)

// Request is one chat call: a system instruction, a user prompt and the
// sampling settings. A zero MaxOutputTokens and a nil Temperature leave the
// provider's defaults.
type Request struct {
	Model           string
	System          string
	Prompt          string
	MaxOutputTokens int
	Temperature     *float64
}

// Response is a model's answer. Model is the model that answered, as the
// provider reports it (it may name a version of the requested model).
// FinishReasons holds one reason per choice, mapped to the GenAI
// semantic-convention values "stop", "length", "content_filter", "tool_call"
// and "error" where one applies, else the provider's value in lower case.
type Response struct {
	Text          string
	Model         string
	InputTokens   int
	OutputTokens  int
	FinishReasons []string
}

// Provider is a chat model behind some API.
type Provider interface {
	// Name is the gen_ai.provider.name value: "gcp.gemini", "openai", "replay".
	Name() string
	// Chat sends req and returns the model's answer, or an *Error.
	Chat(ctx context.Context, req Request) (Response, error)
	// Server is the host and port the provider talks to, for server.address
	// and server.port; "" and 0 for a provider that makes no network calls.
	Server() (address string, port int)
}

// Config configures a live provider.
//
// APIKey is sent to the provider and never appears in an error message.
// BaseURL overrides the provider's endpoint (for tests, drills and
// self-hosted servers). Timeout bounds one Chat call end to end; zero means
// [DefaultTimeout]. HTTPClient, if set, is the client the library uses; its
// own Timeout, if any, also applies. MaxResponseBytes bounds an answer:
// the HTTP body is read up to that many bytes and no further, and the
// reply's text may not be longer; zero means [DefaultMaxResponseBytes].
// A longer answer is an *Error of Type "response_too_large".
type Config struct {
	APIKey           string
	BaseURL          string
	Timeout          time.Duration
	HTTPClient       *http.Client
	MaxResponseBytes int64
}

// DefaultTimeout bounds a Chat call when Config.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// DefaultMaxResponseBytes bounds an answer when Config.MaxResponseBytes is
// zero: 8 MiB, some thirty times the longest reply a model gives today.
const DefaultMaxResponseBytes = 8 << 20

// maxResponseBytes returns max, or the default when it is not positive.
func maxResponseBytes(max int64) int64 {
	if max <= 0 {
		return DefaultMaxResponseBytes
	}
	return max
}

// The stable error.type values of an *Error.
const (
	TypeAuth            = names.ClassAuth             // HTTP 401 or 403: key missing, wrong or revoked
	TypeRateLimit       = names.ClassRateLimit        // HTTP 429
	TypeServer          = names.ClassServer           // HTTP 5xx
	TypeTimeout         = names.ClassTimeout          // no answer within the timeout or the caller's deadline (or HTTP 408)
	TypeCanceled        = names.ClassCanceled         // the caller canceled the context
	TypeBadRequest      = names.ClassBadRequest       // any other HTTP 4xx, such as an unknown model (404)
	TypeInvalidResponse = names.ClassInvalidResponse  // an answer that cannot be decoded or has no choices
	TypeNetwork         = names.ClassNetwork          // the endpoint cannot be reached
	TypeNotFound        = names.ClassNotFound         // replay: the cassette has no entry for the request
	TypeTooLarge        = names.ClassResponseTooLarge // the answer is over Config.MaxResponseBytes
)

// Error is a failed provider call. Type is one of the Type constants, Status
// the HTTP status (0 if there was none) and Provider the provider's Name.
// The message never contains the API key.
type Error struct {
	Type     string
	Status   int
	Provider string
	msg      string
	cause    error // context.Canceled or context.DeadlineExceeded, else nil
}

// Error returns the message, "llm: PROVIDER: ...".
func (e *Error) Error() string { return e.msg }

// Unwrap returns context.Canceled for a canceled call and
// context.DeadlineExceeded for a timeout, so errors.Is works on them. It
// never exposes the client library's error, whose text may repeat the key
// or the provider's error body.
func (e *Error) Unwrap() error { return e.cause }

// ErrorClass is the error's class: its Type.
func (e *Error) ErrorClass() string { return e.Type }

// ErrorType returns err's stable error.type: the Type of an *Error in its
// chain, else "_OTHER" (the semantic conventions' fallback).
func ErrorType(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Type
	}
	return names.ClassOTHER
}

// newError builds an *Error whose message is "llm: PROVIDER: DETAIL" with
// key scrubbed from it.
func newError(provider, key, typ string, status int, detail string) *Error {
	e := &Error{Type: typ, Status: status, Provider: provider, msg: scrub("llm: "+provider+": "+detail, key)}
	switch typ {
	case TypeCanceled:
		e.cause = context.Canceled
	case TypeTimeout:
		if status == 0 {
			e.cause = context.DeadlineExceeded
		}
	}
	return e
}

// scrub replaces every occurrence of key in s. Keys shorter than four bytes
// are left alone: replacing them would garble the message and such keys
// are not secrets worth the name.
func scrub(s, key string) string {
	if len(key) < 4 {
		return s
	}
	return strings.ReplaceAll(s, key, "[REDACTED]")
}

// call describes one attempt of a live provider, so a failure can be
// classified the same way for every client library.
type call struct {
	provider string
	key      string
	timeout  time.Duration
	max      int64           // the most bytes of the answer
	parent   context.Context // the caller's context
	ctx      context.Context // parent bounded by timeout, carrying the call
	// overflow is set when the answer's body went over max (limitBody).
	overflow atomic.Bool
}

// callKey is the context key under which a live call travels to the HTTP
// transport (limitTransport), whatever the client library does with errors.
type callKey struct{}

// startCall derives the bounded context of one Chat call.
func startCall(ctx context.Context, provider, key string, timeout time.Duration, max int64) (*call, context.CancelFunc) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	c := &call{provider: provider, key: key, timeout: timeout, max: maxResponseBytes(max), parent: ctx}
	c.ctx = context.WithValue(cctx, callKey{}, c)
	return c, cancel
}

// tooLarge reports an answer over the call's limit.
func (c *call) tooLarge() *Error {
	return newError(c.provider, c.key, TypeTooLarge, 0, fmt.Sprintf("the answer is over the limit of %d bytes", c.max))
}

// text returns the reply text t, or an *Error when it is over the limit.
func (c *call) text(t string) (string, error) {
	if int64(len(t)) > c.max {
		return "", c.tooLarge()
	}
	return t, nil
}

// fail classifies err. status is the HTTP status the library reported (0 if
// none) and code the provider's short error code ("RESOURCE_EXHAUSTED",
// "invalid_api_key"); code is kept only if it looks like an identifier.
func (c *call) fail(err error, status int, code string) *Error {
	switch {
	case c.overflow.Load():
		return c.tooLarge()
	case errors.Is(c.parent.Err(), context.Canceled):
		return newError(c.provider, c.key, TypeCanceled, 0, "request canceled")
	case c.parent.Err() != nil:
		return newError(c.provider, c.key, TypeTimeout, 0, "no answer before the caller's deadline")
	case c.ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || isNetTimeout(err):
		return newError(c.provider, c.key, TypeTimeout, 0, "no answer within "+c.timeout.String())
	case status != 0:
		return c.status(status, code)
	}
	var ue *url.Error
	var oe *net.OpError
	if errors.As(err, &ue) || errors.As(err, &oe) {
		return c.network(err)
	}
	return c.invalid("cannot decode the answer")
}

// status classifies an HTTP error status.
func (c *call) status(status int, code string) *Error {
	var typ, what string
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		typ, what = TypeAuth, "the API key was rejected (check that it is set and not revoked)"
	case status == http.StatusTooManyRequests:
		typ, what = TypeRateLimit, "rate limited or out of quota"
	case status == http.StatusRequestTimeout:
		typ, what = TypeTimeout, "the provider timed out"
	case status >= 500:
		typ, what = TypeServer, "the provider failed"
	case status == http.StatusNotFound:
		typ, what = TypeBadRequest, "not found (check the model name and the base URL)"
	case status >= 400:
		typ, what = TypeBadRequest, "the provider rejected the request"
	default:
		typ, what = TypeInvalidResponse, "unexpected answer"
	}
	detail := fmt.Sprintf("%s (HTTP %d", what, status)
	if t := http.StatusText(status); t != "" {
		detail += " " + t
	}
	if identifier.MatchString(code) && (len(c.key) < 4 || !strings.Contains(code, c.key)) {
		detail += ", " + code
	}
	return newError(c.provider, c.key, typ, status, detail+")")
}

// identifier matches the provider error codes worth repeating: one to
// five words of letters joined by underscores, all upper or all lower case
// ("RESOURCE_EXHAUSTED", "insufficient_quota"). Nothing with a digit or a
// dash gets through, so a key echoed in the code field never does.
var identifier = regexp.MustCompile(`^([A-Z]{1,24}(_[A-Z]{1,24}){0,4}|[a-z]{1,24}(_[a-z]{1,24}){0,4})$`)

// network reports an endpoint that cannot be reached, with the socket-level
// reason ("connect: connection refused") but not the URL.
func (c *call) network(err error) *Error {
	reason := "connection failed"
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		reason = oe.Op + ": " + oe.Err.Error()
	}
	return newError(c.provider, c.key, TypeNetwork, 0, "cannot reach the provider: "+reason)
}

// invalid reports an answer that is not a usable chat response.
func (c *call) invalid(detail string) *Error {
	return newError(c.provider, c.key, TypeInvalidResponse, 0, "invalid answer: "+detail)
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// endpoint is what the live providers share: name, key, timeout, answer
// limit and the server they talk to.
type endpoint struct {
	name    string
	key     string
	timeout time.Duration
	max     int64
	address string
	port    int
}

// newEndpoint resolves cfg.BaseURL, defaulting to base, and returns the
// endpoint and the URL to give the client library.
func newEndpoint(name string, cfg Config, base string) (endpoint, string, error) {
	if cfg.BaseURL != "" {
		base = cfg.BaseURL
	}
	address, port, err := serverOf(name, base)
	return endpoint{name: name, key: cfg.APIKey, timeout: cfg.Timeout, max: cfg.MaxResponseBytes, address: address, port: port}, base, err
}

func (e *endpoint) Name() string { return e.name }

func (e *endpoint) Server() (string, int) { return e.address, e.port }

// start begins one Chat call.
func (e *endpoint) start(ctx context.Context) (*call, context.CancelFunc) {
	return startCall(ctx, e.name, e.key, e.timeout, e.max)
}

// serverOf returns the host and port of a base URL, the port defaulting to
// the scheme's.
func serverOf(provider, base string) (string, int, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", 0, fmt.Errorf("llm: %s: base URL %q is not an http(s) URL", provider, base)
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return "", 0, fmt.Errorf("llm: %s: base URL %q has a bad port", provider, base)
		}
	}
	return u.Hostname(), port, nil
}

// httpClient returns a copy of cfg.HTTPClient, or a fresh client of the
// package's own so the libraries never share http.DefaultClient with the
// rest of the process, whose transport reads no answer body past the
// limit of its call (limitTransport).
func httpClient(cfg Config) *http.Client {
	c := &http.Client{}
	if cfg.HTTPClient != nil {
		*c = *cfg.HTTPClient
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = limitTransport{base: base}
	return c
}

// limitTransport bounds the answer body of every request made for a call
// (startCall): a read past the call's limit fails and marks the call, so
// that the failure is classified as response_too_large however the client
// library reports it. Memory is bounded by the limit, not by the answer.
type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if c, ok := req.Context().Value(callKey{}).(*call); ok && err == nil {
		resp.Body = &limitBody{ReadCloser: resp.Body, c: c, left: c.max}
	}
	return resp, err
}

// errTooLarge ends the read of an answer body over its limit.
var errTooLarge = errors.New("llm: answer over the size limit")

type limitBody struct {
	io.ReadCloser
	c    *call
	left int64 // bytes that may still be read
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte past the limit tells it is over
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		b.c.overflow.Store(true)
		return 0, errTooLarge
	}
	return n, err
}

// finishReason maps a provider's finish reason to the GenAI
// semantic-convention value.
func finishReason(r string) string {
	switch strings.ToLower(r) {
	case "stop", "end_turn":
		return "stop"
	case "length", "max_tokens":
		return "length"
	case "content_filter", "safety", "recitation", "blocklist", "prohibited_content", "spii",
		"image_safety", "image_prohibited_content", "image_recitation":
		return "content_filter"
	case "tool_calls", "function_call", "tool_call":
		return "tool_call"
	case "malformed_function_call", "unexpected_tool_call", "too_many_tool_calls", "error":
		return "error"
	}
	return strings.ToLower(r)
}
