package llm

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// SpanName is the name of the span [Chat] starts.
const SpanName = "llm_provider.chat"

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

	resp, err := p.Chat(ctx, req)
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
