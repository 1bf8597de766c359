// Package otlpgrpc is telemetry's network transport: the official OTLP gRPC
// trace client (otlptracegrpc), configured for a short command — a bounded
// timeout per export and no retries (the spans are on disk for a later
// flush). It is a package of its own so that a binary that exports only to
// disk does not link gRPC: telemetry.Config.Network and telemetry.Flush take
// it as a value.
package otlpgrpc

import (
	"errors"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Transport implements telemetry.Network over OTLP gRPC.
type Transport struct{}

// Client returns an OTLP gRPC client for hostport, plaintext when insecure
// is set, with timeout per export and retries off. It does no I/O: the
// connection is made on the first export.
func (Transport) Client(hostport string, insecure bool, timeout time.Duration) otlptrace.Client {
	opts := []otlptracegrpc.Option{
		otlptracegrpc.WithEndpoint(hostport),
		otlptracegrpc.WithTimeout(timeout),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
	}
	if insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	return otlptracegrpc.NewClient(opts...)
}

// Describe says in a few words what a gRPC status in err means: timedOut
// for DeadlineExceeded, else the lower-case code and the server's message.
// It returns "", false for an error that carries no status, or the status
// Unknown (whose message is the transport's own, kept whole by the caller).
func (Transport) Describe(err error) (why string, timedOut bool) {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return "", false
	}
	switch s := se.GRPCStatus(); s.Code() {
	case codes.DeadlineExceeded:
		return "", true
	case codes.Unknown:
		return "", false
	default:
		return strings.ToLower(s.Code().String()) + ": " + s.Message(), false
	}
}
