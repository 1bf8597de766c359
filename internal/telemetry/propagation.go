package telemetry

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/propagation"
)

// The environment variables that carry W3C trace context between processes.
const (
	EnvTraceParent = "TRACEPARENT"
	EnvTraceState  = "TRACESTATE"
)

// ExtractEnv returns ctx with the remote span context that TRACEPARENT (and
// TRACESTATE) in environ describe, so that the spans started from it join
// that trace. environ is in os.Environ form; the last entry for a name wins.
// An absent or malformed TRACEPARENT leaves ctx unchanged.
func ExtractEnv(ctx context.Context, environ []string) context.Context {
	carrier := propagation.MapCarrier{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch k {
		case EnvTraceParent:
			carrier["traceparent"] = v
		case EnvTraceState:
			carrier["tracestate"] = v
		}
	}
	return propagation.TraceContext{}.Extract(ctx, carrier)
}

// TraceParent returns the W3C traceparent of the span in ctx, as
// TRACEPARENT carries it, or "" when ctx has no valid span context.
func TraceParent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// InjectEnv returns a copy of environ for a child process in which
// TRACEPARENT (and TRACESTATE, when the span has one) describe the span in
// ctx; any earlier entries for those names are removed. If ctx carries no
// valid span context, environ is returned unchanged.
func InjectEnv(ctx context.Context, environ []string) []string {
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	parent := carrier.Get("traceparent")
	if parent == "" {
		return environ
	}
	out := make([]string, 0, len(environ)+2)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if k != EnvTraceParent && k != EnvTraceState {
			out = append(out, kv)
		}
	}
	out = append(out, EnvTraceParent+"="+parent)
	if state := carrier.Get("tracestate"); state != "" {
		out = append(out, EnvTraceState+"="+state)
	}
	return out
}
