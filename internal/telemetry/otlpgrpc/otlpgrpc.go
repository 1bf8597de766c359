// Package otlpgrpc is telemetry's network transport: the official OTLP gRPC
// trace client (otlptracegrpc), configured for a short command — a bounded
// timeout per export and no retries (the spans are on disk for a later
// flush) — and the Collector's parser (pdata) for the spans file that a
// flush re-sends. It is a package of its own so that a binary that exports
// only to disk links neither gRPC nor pdata: telemetry.Config.Network and
// telemetry.Flush take it as a value.
package otlpgrpc

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
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

// Decode parses one line of a spans file with the Collector's own JSON
// parser, and returns it as the protobuf TracesData the client sends.
func (Transport) Decode(line []byte) (*tracepb.TracesData, error) {
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
	if err != nil {
		return nil, err
	}
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		return nil, fmt.Errorf("otlpgrpc: %w", err)
	}
	var out tracepb.TracesData
	if err := proto.Unmarshal(pb, &out); err != nil {
		return nil, fmt.Errorf("otlpgrpc: %w", err)
	}
	return &out, nil
}
