package llm

import (
	"context"
	"errors"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// DefaultOpenAIBaseURL is the OpenAI endpoint used when Config.BaseURL is
// empty.
const DefaultOpenAIBaseURL = "https://api.openai.com/v1/"

type openAI struct {
	endpoint
	client openai.Client
}

// NewOpenAI returns a provider ("openai") for any OpenAI-compatible
// /chat/completions endpoint (OpenAI, Ollama, vLLM, llama.cpp server),
// through github.com/openai/openai-go. cfg.BaseURL (BRAIN_OPENAI_BASE_URL)
// names the endpoint including its version path ("http://localhost:11434/v1"),
// or [DefaultOpenAIBaseURL]. cfg.APIKey may be empty for a local server; it
// always replaces OPENAI_API_KEY, which the library would otherwise read.
// The library's retries are off (WithMaxRetries(0)), so a 429 or 5xx comes
// back at once.
func NewOpenAI(cfg Config) (Provider, error) {
	ep, base, err := newEndpoint("openai", cfg, DefaultOpenAIBaseURL)
	if err != nil {
		return nil, err
	}
	client := openai.NewClient(
		option.WithBaseURL(base),
		option.WithAPIKey(cfg.APIKey),
		option.WithMaxRetries(0),
		option.WithHTTPClient(httpClient(cfg)),
	)
	return &openAI{endpoint: ep, client: client}, nil
}

// Chat posts one /chat/completions request. MaxOutputTokens is sent as
// max_tokens, which every OpenAI-compatible server accepts.
func (o *openAI) Chat(ctx context.Context, req Request) (Response, error) {
	c, cancel := o.start(ctx)
	defer cancel()
	var msgs []openai.ChatCompletionMessageParamUnion
	if req.System != "" {
		msgs = append(msgs, openai.SystemMessage(req.System))
	}
	msgs = append(msgs, openai.UserMessage(req.Prompt))
	params := openai.ChatCompletionNewParams{Model: shared.ChatModel(req.Model), Messages: msgs}
	if req.MaxOutputTokens > 0 {
		params.MaxTokens = openai.Int(int64(req.MaxOutputTokens))
	}
	if req.Temperature != nil {
		params.Temperature = openai.Float(*req.Temperature)
	}
	r, err := o.client.Chat.Completions.New(c.ctx, params)
	if err != nil {
		var oe *openai.Error
		if errors.As(err, &oe) {
			code := oe.Code
			if code == "" {
				code = oe.Type
			}
			return Response{}, c.fail(err, oe.StatusCode, code)
		}
		return Response{}, c.fail(err, 0, "")
	}
	if len(r.Choices) == 0 {
		return Response{}, c.invalid("no choices")
	}
	text, err := c.text(r.Choices[0].Message.Content)
	if err != nil {
		return Response{}, err
	}
	resp := Response{
		Text:         text,
		Model:        r.Model,
		InputTokens:  int(r.Usage.PromptTokens),
		OutputTokens: int(r.Usage.CompletionTokens),
	}
	if resp.Model == "" {
		resp.Model = req.Model
	}
	for _, ch := range r.Choices {
		if ch.FinishReason != "" {
			resp.FinishReasons = append(resp.FinishReasons, finishReason(ch.FinishReason))
		}
	}
	return resp, nil
}
