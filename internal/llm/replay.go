package llm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/brain-dev/brain/internal/fsutil"
)

// RequestHash returns the lowercase hex SHA-256 of req's canonical encoding,
// the key of a cassette entry. The encoding is the UTF-8 text
//
//	brain.llm.request.v1\n
//	model=LEN:MODEL\n
//	system=LEN:SYSTEM\n
//	prompt=LEN:PROMPT\n
//	max_output_tokens=N\n
//	temperature=T\n
//
// where LEN is the decimal byte length of the string that follows the colon
// (so any bytes, newlines included, are unambiguous), N is MaxOutputTokens
// in decimal and T is "none" for a nil Temperature, else the shortest
// decimal that round-trips the float64 (Go's strconv.FormatFloat(t, 'g', -1,
// 64): "0.2", "1", "1e-07"). docs/llm.md has test vectors.
func RequestHash(req Request) string {
	var b bytes.Buffer
	b.WriteString("brain.llm.request.v1\n")
	for _, f := range [...]struct{ name, value string }{
		{"model", req.Model}, {"system", req.System}, {"prompt", req.Prompt},
	} {
		fmt.Fprintf(&b, "%s=%d:%s\n", f.name, len(f.value), f.value)
	}
	fmt.Fprintf(&b, "max_output_tokens=%d\n", req.MaxOutputTokens)
	t := "none"
	if req.Temperature != nil {
		t = strconv.FormatFloat(*req.Temperature, 'g', -1, 64)
	}
	fmt.Fprintf(&b, "temperature=%s\n", t)
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:])
}

// cassetteEntry is one line of a cassette (docs/llm.md).
type cassetteEntry struct {
	RequestSHA256 string   `json:"request_sha256"`
	Model         string   `json:"model"`
	Response      string   `json:"response"`
	InputTokens   int      `json:"input_tokens"`
	OutputTokens  int      `json:"output_tokens"`
	FinishReasons []string `json:"finish_reasons"`
	// Error, when set, is a provider failure the replay reproduces instead
	// of an answer: a key revoked (401), a rate limit (429), a server error.
	Error *ReplayedError `json:"error,omitempty"`

	// tooLarge marks an entry whose response is over the replay's limit.
	tooLarge bool
}

// ReplayedError is a provider failure in a cassette: its stable error type
// and, when the provider answered with one, its HTTP status.
type ReplayedError struct {
	Type   string `json:"type"`
	Status int    `json:"status,omitempty"`
}

// replayableTypes are the error types a cassette may reproduce: the
// provider's own failures, not the caller's (canceled) or the replay's
// (not_found).
var replayableTypes = []string{TypeAuth, TypeRateLimit, TypeServer, TypeTimeout, TypeBadRequest, TypeInvalidResponse, TypeNetwork}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

type replay struct {
	cassette string
	max      int64
	entries  map[string]cassetteEntry
}

// NewReplay returns the offline provider ("replay") that answers from the
// JSONL cassette file: each request is looked up by [RequestHash]. The whole
// cassette is read and checked now; a line that is not a valid entry is an
// error naming the file and line. Blank lines are skipped, and when a hash
// appears twice the later line wins (a re-recording appends). A request
// without an entry fails with an *Error of Type "not_found". Answers are
// bounded by [DefaultMaxResponseBytes], as in NewReplayLimit.
func NewReplay(cassette string) (Provider, error) { return NewReplayLimit(cassette, 0) }

// NewReplayLimit is NewReplay with answers bounded as a live provider's
// are by Config.MaxResponseBytes (zero: the default): an entry whose
// response is longer fails its request with an *Error of Type
// "response_too_large", and a cassette line longer than any entry within
// the limit can be (six bytes per byte of response, for JSON escapes, and
// 64 KiB more) is an error, so reading a cassette takes memory bounded by
// the limit per line, never by the longest line.
func NewReplayLimit(cassette string, limit int64) (Provider, error) {
	f, err := fsutil.Open(cassette) // a regular file: a planted pipe cannot hang it
	if err != nil {
		return nil, fmt.Errorf("llm: replay: reading cassette: %w", err)
	}
	defer f.Close()
	r := &replay{cassette: cassette, max: maxResponseBytes(limit), entries: make(map[string]cassetteEntry)}
	maxLine := 6*r.max + 64<<10
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, int(maxLine))
	n := 1
	for ; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		e, err := parseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("llm: replay: cassette %q line %d: %v", cassette, n, err)
		}
		if int64(len(e.Response)) > r.max {
			e.Response, e.tooLarge = "", true // kept only to fail its request
		}
		r.entries[e.RequestSHA256] = e
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return nil, fmt.Errorf("llm: replay: cassette %q line %d is over %d bytes, the longest entry of an answer of at most %d bytes", cassette, n, maxLine, r.max)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("llm: replay: reading cassette %q: %w", cassette, err)
	}
	return r, nil
}

// parseEntry decodes and checks one cassette line.
func parseEntry(line []byte) (cassetteEntry, error) {
	var e cassetteEntry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return e, fmt.Errorf("not a cassette entry: %v", err)
	}
	if dec.More() {
		return e, errors.New("not a cassette entry: text after the JSON object")
	}
	switch {
	case !sha256Hex.MatchString(e.RequestSHA256):
		return e, errors.New("request_sha256 is not 64 lowercase hex digits")
	case e.InputTokens < 0 || e.OutputTokens < 0:
		return e, errors.New("negative token count")
	case e.Error == nil:
		return e, nil
	case e.Response != "" || e.InputTokens != 0 || e.OutputTokens != 0 || len(e.FinishReasons) != 0:
		return e, errors.New("an error entry has no response, tokens or finish reasons")
	}
	return e, e.Error.check()
}

// check reports whether the failure is one a provider can give.
func (f *ReplayedError) check() error {
	if !slices.Contains(replayableTypes, f.Type) {
		return fmt.Errorf("error type %q is not one a provider fails with (%s)", f.Type, strings.Join(replayableTypes, ", "))
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("error status %d is not an HTTP error status", f.Status)
	}
	return nil
}

func (r *replay) Name() string { return "replay" }

func (r *replay) Server() (string, int) { return "", 0 }

// Chat answers from the cassette.
func (r *replay) Chat(ctx context.Context, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		c := &call{provider: r.Name(), parent: ctx, ctx: ctx}
		return Response{}, c.fail(err, 0, "")
	}
	h := RequestHash(req)
	e, ok := r.entries[h]
	if !ok {
		return Response{}, newError(r.Name(), "", TypeNotFound, 0,
			fmt.Sprintf("cassette %q has no entry for request sha256 %s (model %q); record one with --record", r.cassette, h, req.Model))
	}
	if e.Error != nil {
		detail := fmt.Sprintf("the recorded provider failure for request sha256 %s (model %q): %s", h, req.Model, e.Error.Type)
		if e.Error.Status != 0 {
			detail += fmt.Sprintf(", HTTP %d", e.Error.Status)
		}
		return Response{}, newError(r.Name(), "", e.Error.Type, e.Error.Status, detail)
	}
	if e.tooLarge {
		return Response{}, (&call{provider: r.Name(), max: r.max}).tooLarge()
	}
	resp := Response{
		Text:          e.Response,
		Model:         e.Model,
		InputTokens:   e.InputTokens,
		OutputTokens:  e.OutputTokens,
		FinishReasons: e.FinishReasons,
	}
	if resp.Model == "" {
		resp.Model = req.Model
	}
	return resp, nil
}

type recorder struct {
	inner    Provider
	cassette string
	mu       sync.Mutex
}

// NewRecorder returns a provider that calls inner and appends each
// successful answer to the cassette file as one JSONL entry. The file is
// created (mode 0600) on the first answer; each entry is written with a
// single append-mode write and synced before Chat returns, so concurrent
// recorders never interleave partial lines. Failed calls are not recorded.
// If the entry cannot be written, Chat fails: a recording run must not
// silently miss answers. Name and Server are inner's.
func NewRecorder(inner Provider, cassette string) Provider {
	return &recorder{inner: inner, cassette: cassette}
}

func (r *recorder) Name() string { return r.inner.Name() }

func (r *recorder) Server() (string, int) { return r.inner.Server() }

// Chat calls the inner provider and records its answer.
func (r *recorder) Chat(ctx context.Context, req Request) (Response, error) {
	resp, err := r.inner.Chat(ctx, req)
	if err != nil {
		return resp, err
	}
	line, err := CassetteLine(req, resp)
	if err == nil {
		err = r.append(line)
	}
	if err != nil {
		return Response{}, fmt.Errorf("llm: recording to cassette %q: %w", r.cassette, err)
	}
	return resp, nil
}

// CassetteLine returns the cassette entry (one JSON line, ending in '\n')
// that makes a replay answer req with resp. The recorder writes these lines;
// golden scenarios build their cassettes with it.
func CassetteLine(req Request, resp Response) ([]byte, error) {
	e := cassetteEntry{
		RequestSHA256: RequestHash(req),
		Model:         resp.Model,
		Response:      resp.Text,
		InputTokens:   resp.InputTokens,
		OutputTokens:  resp.OutputTokens,
		FinishReasons: resp.FinishReasons,
	}
	if e.FinishReasons == nil {
		e.FinishReasons = []string{}
	}
	return encodeEntry(e)
}

// CassetteErrorLine returns the cassette entry that makes a replay fail req
// with the provider failure fail: how a golden scenario or a drill
// reproduces a revoked key or a rate limit offline.
func CassetteErrorLine(req Request, fail ReplayedError) ([]byte, error) {
	if err := fail.check(); err != nil {
		return nil, fmt.Errorf("llm: cassette error entry: %v", err)
	}
	return encodeEntry(cassetteEntry{RequestSHA256: RequestHash(req), Error: &fail})
}

func encodeEntry(e cassetteEntry) ([]byte, error) {
	var line bytes.Buffer
	enc := json.NewEncoder(&line) // Encode ends the line with '\n'
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return line.Bytes(), nil
}

// append writes line with one write call.
func (r *recorder) append(line []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := fsutil.OpenFile(r.cassette, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
