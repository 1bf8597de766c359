// Command sendspan sends one span over OTLP gRPC, to check that a local Jaeger
// receives spans and can find them by brain.session_id without brain-run.
//
//	go run ./sendspan -endpoint 127.0.0.1:4317 -session test-123
//
// (from tools/jaeger). The resource has service.name=brain-run and
// brain.session_id; so has the span unless -span-attr=false.
// It prints the trace id it sent and exits non-zero if the export failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:4317", "OTLP gRPC endpoint (host:port, plaintext)")
	session := flag.String("session", "test-123", "value of the brain.session_id attribute")
	service := flag.String("service", "brain-run", "service.name of the resource")
	name := flag.String("name", "sendspan.test", "span name")
	timeout := flag.Duration("timeout", 5*time.Second, "bound on the whole export")
	spanAttr := flag.Bool("span-attr", true, "also put brain.session_id on the span (it is always on the resource)")
	flag.Parse()

	if err := run(*endpoint, *service, *session, *name, *timeout, *spanAttr); err != nil {
		fmt.Fprintln(os.Stderr, "sendspan:", err)
		os.Exit(1)
	}
}

func run(endpoint, service, session, name string, timeout time.Duration, spanAttr bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	exp, err := otlptracegrpc.New(ctx,
		otlptracegrpc.WithEndpoint(endpoint),
		otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithTimeout(timeout),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
	)
	if err != nil {
		return fmt.Errorf("exporter: %w", err)
	}

	res := resource.NewSchemaless(
		attribute.String("service.name", service),
		attribute.String("brain.session_id", session),
	)
	// A synchronous processor: the span is exported when it ends.
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSyncer(exp),
	)

	// The SDK reports export errors of the span processor to the global
	// error handler, not to the caller: catch them to exit non-zero.
	var failed error
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		if failed == nil {
			failed = fmt.Errorf("export: %w", err)
		}
	}))

	tracer := tp.Tracer("github.com/brain-dev/brain/tools/jaeger/sendspan")
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
	if spanAttr {
		opts = append(opts, trace.WithAttributes(attribute.String("brain.session_id", session)))
	}
	_, span := tracer.Start(ctx, name, opts...)
	span.AddEvent("sendspan.hello")
	traceID := span.SpanContext().TraceID().String()
	span.End()

	if err := tp.ForceFlush(ctx); err != nil && failed == nil {
		failed = fmt.Errorf("flush: %w", err)
	}
	if err := tp.Shutdown(ctx); err != nil && failed == nil {
		failed = fmt.Errorf("shutdown: %w", err)
	}
	if failed != nil {
		return failed
	}
	fmt.Println(traceID)
	return nil
}
