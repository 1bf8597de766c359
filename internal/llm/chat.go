package llm

import (
	"context"
	"errors"
	"time"

	"github.com/brain-dev/brain/internal/names"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// SpanName is the name of the span [Chat] starts.
const SpanName = names.SpanLLMProviderChat

// Chat calls p inside a client span "llm_provider.chat" started from tr
// (the tracer of ctx's span if tr is nil). The span carries the GenAI
// semantic-convention attributes gen_ai.operation.name ("chat"),
// gen_ai.provider.name, gen_ai.request.model (and gen_ai.request.max_tokens,
// gen_ai.request.temperature when set), server.address and server.port (for
// a networked provider), and on success gen_ai.response.model,
// gen_ai.usage.input_tokens, gen_ai.usage.output_tokens and
// gen_ai.response.finish_reasons. A failure sets error.type (the *Error's
// Type), http.response.status_code when there was one, and the span status
// Error with the error's message. Prompt and response text never go on the
// span, nor do the deprecated gen_ai.system, gen_ai.prompt and
// gen_ai.completion.
func Chat(ctx context.Context, tr trace.Tracer, p Provider, req Request) (Response, error) {
	return ChatThen(ctx, tr, p, req, nil)
}

// Then is called by [ChatThen] inside the llm_provider.chat span, after the
// provider answered (or failed): ctx carries the span, latency is the
// provider call's duration. It is where the call's audit record is written,
// so that the record names the chat span.
type Then func(ctx context.Context, resp Response, err error, latency time.Duration) error

// ChatThen is [Chat] with then called inside the span before it ends. When
// then returns an error, the span records it with error.type
// "audit_write_failed" and ChatThen returns it (with the response); the
// provider's own error, if any, is then dropped, as the audit failure is
// what stops the caller.
func ChatThen(ctx context.Context, tr trace.Tracer, p Provider, req Request, then Then) (Response, error) {
	if tr == nil {
		tr = trace.SpanFromContext(ctx).TracerProvider().Tracer("github.com/brain-dev/brain/internal/llm")
	}
	attrs := []attribute.KeyValue{
		semconv.GenAIOperationNameChat,
		semconv.GenAIProviderNameKey.String(p.Name()),
		semconv.GenAIRequestModel(req.Model),
	}
	if req.MaxOutputTokens > 0 {
		attrs = append(attrs, semconv.GenAIRequestMaxTokens(req.MaxOutputTokens))
	}
	if req.Temperature != nil {
		attrs = append(attrs, semconv.GenAIRequestTemperature(*req.Temperature))
	}
	if address, port := p.Server(); address != "" {
		attrs = append(attrs, semconv.ServerAddress(address))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	ctx, span := tr.Start(ctx, SpanName, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()

	start := time.Now()
	resp, err := p.Chat(ctx, req)
	latency := time.Since(start)
	if then != nil {
		if terr := then(ctx, resp, err, latency); terr != nil {
			span.SetAttributes(semconv.ErrorTypeKey.String(names.ClassAuditWriteFailed))
			span.SetStatus(codes.Error, "audit write failed")
			return resp, terr
		}
	}
	if err != nil {
		span.SetAttributes(semconv.ErrorTypeKey.String(ErrorType(err)))
		var e *Error
		if errors.As(err, &e) && e.Status != 0 {
			span.SetAttributes(semconv.HTTPResponseStatusCode(e.Status))
		}
		span.SetStatus(codes.Error, err.Error())
		return resp, err
	}
	span.SetAttributes(
		semconv.GenAIResponseModel(resp.Model),
		semconv.GenAIUsageInputTokens(resp.InputTokens),
		semconv.GenAIUsageOutputTokens(resp.OutputTokens),
	)
	if len(resp.FinishReasons) > 0 {
		span.SetAttributes(semconv.GenAIResponseFinishReasons(resp.FinishReasons...))
	}
	return resp, nil
}
