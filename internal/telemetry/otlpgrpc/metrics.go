package otlpgrpc

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Metrics implements telemetry.MetricsNetwork: a metrics pipeline exporting over OTLP gRPC to hostport
// (plaintext when insecure): the SDK's meter provider with a manual
// reader, so that nothing is collected or sent until Export, and delta
// temporality, so that the many short processes that report to one
// collector add up instead of each restarting a cumulative series. Every
// export is bounded by timeout and never retried. It does no I/O.
func (Transport) Metrics(hostport string, insecure bool, timeout time.Duration, res *resource.Resource) (mp metric.MeterProvider, export, shutdown func(context.Context) error) {
	opts := []otlpmetricgrpc.Option{
		otlpmetricgrpc.WithEndpoint(hostport),
		otlpmetricgrpc.WithTimeout(timeout),
		otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{Enabled: false}),
		otlpmetricgrpc.WithTemporalitySelector(sdkmetric.DeltaTemporalitySelector),
	}
	if insecure {
		opts = append(opts, otlpmetricgrpc.WithInsecure())
	}
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(sdkmetric.DeltaTemporalitySelector))
	m := &metricsPipeline{
		opts:   opts,
		reader: reader,
		mp:     sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader)),
	}
	return m.mp, m.Export, m.Shutdown
}

type metricsPipeline struct {
	opts   []otlpmetricgrpc.Option
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	exp    *otlpmetricgrpc.Exporter
}

// Export collects the instruments and sends them in one request. Nothing
// recorded is sent twice: with delta temporality a collection resets them.
// An endpoint without an OTLP metrics service (a trace-only backend, such
// as Jaeger's own OTLP receiver) answers Unimplemented: that is not a
// failure, the metrics have nowhere to go, and Export returns nil.
func (m *metricsPipeline) Export(ctx context.Context) error {
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(ctx, &rm); err != nil {
		return err
	}
	if len(rm.ScopeMetrics) == 0 {
		return nil
	}
	if m.exp == nil {
		exp, err := otlpmetricgrpc.New(ctx, m.opts...)
		if err != nil {
			return err
		}
		m.exp = exp
	}
	err := m.exp.Export(ctx, &rm)
	if status.Code(err) == codes.Unimplemented {
		return nil
	}
	return err
}

// Shutdown closes the connection, if one was made.
func (m *metricsPipeline) Shutdown(ctx context.Context) error {
	m.mp.Shutdown(ctx)
	if m.exp == nil {
		return nil
	}
	return m.exp.Shutdown(ctx)
}
