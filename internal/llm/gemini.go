package llm

import (
	"context"
	"errors"
	"math"
	"strings"

	"google.golang.org/genai"
)

// DefaultGeminiBaseURL is the Gemini API endpoint used when Config.BaseURL
// is empty.
const DefaultGeminiBaseURL = "https://generativelanguage.googleapis.com/"

type gemini struct {
	endpoint
	client *genai.Client
}

// NewGemini returns the Gemini API provider ("gcp.gemini"), a
// google.golang.org/genai client with the key cfg.APIKey (callers read it
// from GEMINI_API_KEY) and the endpoint cfg.BaseURL (BRAIN_GEMINI_BASE_URL),
// or [DefaultGeminiBaseURL]. The library's retries are off (one attempt), so
// a 429 or 5xx comes back at once; the caller decides whether to retry.
// Requires a non-empty cfg.APIKey.
func NewGemini(cfg Config) (Provider, error) {
	const name = "gcp.gemini"
	if cfg.APIKey == "" {
		return nil, newError(name, "", TypeAuth, 0, "no API key (set GEMINI_API_KEY)")
	}
	ep, base, err := newEndpoint(name, cfg, DefaultGeminiBaseURL)
	if err != nil {
		return nil, err
	}
	oneAttempt := int32(1)
	client, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:     cfg.APIKey,
		Backend:    genai.BackendGeminiAPI,
		HTTPClient: httpClient(cfg),
		HTTPOptions: genai.HTTPOptions{
			BaseURL:      base,
			RetryOptions: &genai.HTTPRetryOptions{Attempts: &oneAttempt},
		},
	})
	if err != nil {
		return nil, newError(name, cfg.APIKey, TypeBadRequest, 0, "cannot configure the client")
	}
	return &gemini{endpoint: ep, client: client}, nil
}

// Chat calls models/MODEL:generateContent once.
func (g *gemini) Chat(ctx context.Context, req Request) (Response, error) {
	c, cancel := g.start(ctx)
	defer cancel()
	config := &genai.GenerateContentConfig{}
	if req.System != "" {
		config.SystemInstruction = genai.NewContentFromText(req.System, genai.RoleUser)
	}
	if req.MaxOutputTokens > 0 {
		config.MaxOutputTokens = int32(min(req.MaxOutputTokens, math.MaxInt32))
	}
	if req.Temperature != nil {
		t := float32(*req.Temperature)
		config.Temperature = &t
	}
	r, err := g.client.Models.GenerateContent(c.ctx, req.Model, genai.Text(req.Prompt), config)
	if err != nil {
		status, code := geminiStatus(err)
		return Response{}, c.fail(err, status, code)
	}
	if len(r.Candidates) == 0 {
		if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
			// The prompt itself was blocked: an answer, with no text.
			return geminiResponse(r, req.Model, []string{"content_filter"}), nil
		}
		return Response{}, c.invalid("no candidates")
	}
	var reasons []string
	for _, cand := range r.Candidates {
		if cand != nil && cand.FinishReason != "" {
			reasons = append(reasons, finishReason(string(cand.FinishReason)))
		}
	}
	resp := geminiResponse(r, req.Model, reasons)
	if first := r.Candidates[0]; first != nil && first.Content != nil {
		var b strings.Builder
		for _, p := range first.Content.Parts {
			if p != nil && !p.Thought {
				b.WriteString(p.Text)
			}
		}
		text, err := c.text(b.String())
		if err != nil {
			return Response{}, err
		}
		resp.Text = text
	}
	return resp, nil
}

// geminiResponse fills a Response's model and usage. Output tokens include
// the thinking tokens, which Gemini bills as output.
func geminiResponse(r *genai.GenerateContentResponse, model string, reasons []string) Response {
	resp := Response{Model: r.ModelVersion, FinishReasons: reasons}
	if resp.Model == "" {
		resp.Model = model
	}
	if u := r.UsageMetadata; u != nil {
		resp.InputTokens = int(u.PromptTokenCount)
		resp.OutputTokens = int(u.CandidatesTokenCount + u.ThoughtsTokenCount)
	}
	return resp
}

// geminiStatus extracts the HTTP status and status name of a genai.APIError.
// Its Code comes from the error body; a body without one falls back to the
// status name ("RESOURCE_EXHAUSTED").
func geminiStatus(err error) (int, string) {
	var ae genai.APIError
	var pe *genai.APIError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &pe) && pe != nil:
		ae = *pe
	default:
		return 0, ""
	}
	if ae.Code != 0 {
		return ae.Code, ae.Status
	}
	switch ae.Status {
	case "UNAUTHENTICATED":
		return 401, ae.Status
	case "PERMISSION_DENIED":
		return 403, ae.Status
	case "RESOURCE_EXHAUSTED":
		return 429, ae.Status
	case "UNAVAILABLE":
		return 503, ae.Status
	case "INTERNAL":
		return 500, ae.Status
	}
	return 400, ae.Status
}
