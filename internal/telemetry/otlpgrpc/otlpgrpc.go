// Package otlpgrpc is telemetry's network transport: the official OTLP
// exporter (otlptrace, with its transform of the SDK's spans into protobuf)
// over its gRPC client (otlptracegrpc), configured for a short command — a
// bounded timeout per export and no retries (the spans are on disk for a
// later flush) — and the Collector's parser (pdata) for the spans file that
// a flush re-sends. It is a package of its own so that a binary that
// exports only to disk links neither gRPC, pdata, the transform nor
// protobuf: telemetry.Config.Network and telemetry.Flush take it as a value.
package otlpgrpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Transport implements telemetry.Network over OTLP gRPC.
type Transport struct{}

// Exporter returns the OTLP exporter over Client's client. It does no I/O:
// the connection is made on the first export.
func (t Transport) Exporter(ctx context.Context, hostport string, insecure bool, timeout time.Duration) (sdktrace.SpanExporter, error) {
	return otlptrace.New(ctx, t.Client(hostport, insecure, timeout))
}

// Sender returns the client Flush sends a spans file's lines with: Client's
// client, which sends the lines as Decode parses them.
func (t Transport) Sender(hostport string, insecure bool, timeout time.Duration) Sender {
	return sender{t.Client(hostport, insecure, timeout)}
}

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

// Sender is telemetry.Sender, spelt out: this package does not import
// telemetry, whose tests use it.
type Sender = interface {
	Start(ctx context.Context) error
	Decode(line []byte) (batch any, spans int, err error)
	Send(ctx context.Context, batches []any) error
	Stop(ctx context.Context) error
}

type sender struct{ otlptrace.Client }

// Decode parses one line of a spans file (Decode), and counts its spans.
func (sender) Decode(line []byte) (batch any, spans int, err error) {
	td, err := Decode(line)
	if err != nil {
		return nil, 0, err
	}
	for _, rs := range td.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			spans += len(ss.GetSpans())
		}
	}
	return td, spans, nil
}

// Send sends the batches' resource spans in one request; none, no request.
func (s sender) Send(ctx context.Context, batches []any) error {
	var rs []*tracepb.ResourceSpans
	for _, b := range batches {
		rs = append(rs, b.(*tracepb.TracesData).GetResourceSpans()...)
	}
	if len(rs) == 0 {
		return nil
	}
	return s.UploadTraces(ctx, rs)
}

// Decode parses one line of a spans file with the Collector's own JSON
// parser, and returns it as the protobuf TracesData the client sends.
func Decode(line []byte) (*tracepb.TracesData, error) {
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

// EncodeLine returns rs as one line of a spans file: one TracesData object
// in OTLP JSON, ending in a newline, written by the Collector's own encoder
// (pdata), which the disk path's encoder is held to byte for byte for
// strings that are UTF-8, as protobuf's are. brain-drill's OTLP stand-in
// keeps what it receives this way, so that a drill can compare it with a
// workspace's spans file line for line.
func EncodeLine(rs []*tracepb.ResourceSpans) ([]byte, error) {
	pb, err := proto.Marshal(&tracepb.TracesData{ResourceSpans: rs})
	if err != nil {
		return nil, fmt.Errorf("otlpgrpc: %w", err)
	}
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(pb)
	if err != nil {
		return nil, fmt.Errorf("otlpgrpc: %w", err)
	}
	line, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		return nil, fmt.Errorf("otlpgrpc: %w", err)
	}
	return append(line, '\n'), nil
}
