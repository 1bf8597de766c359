package drillcmd

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/brain-dev/brain/internal/drill"
)

// The drill metrics (docs/brain-drill.md, Metrics): brain-drill exports them
// at its end with its spans, as brain-run does its own, when an OTLP
// endpoint is set.
const (
	metricRuns = "brain.drill.runs"
	metricTTD  = "brain.drill.ttd"
	metricTTR  = "brain.drill.ttr"
)

// drillBuckets are the bounds of the TTD and TTR histograms, in seconds:
// a probe polled every few hundred milliseconds to a run-book's minutes.
var drillBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// recordMetrics records every run: one brain.drill.runs by drill and
// verdict, and its time to detect and to recover when it has them. The
// attributes are the drill's name (a file of drills/) and the verdict, a
// closed set.
func recordMetrics(ctx context.Context, m metric.Meter, results []*drill.Result) {
	runs, _ := m.Int64Counter(metricRuns, metric.WithUnit("{run}"), metric.WithDescription("Drill runs, by drill and verdict."))
	ttd, _ := m.Float64Histogram(metricTTD, metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(drillBuckets...),
		metric.WithDescription("Time from the fault's injection to its detection, by drill and verdict."))
	ttr, _ := m.Float64Histogram(metricTTR, metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(drillBuckets...),
		metric.WithDescription("Time from the fault's injection to the steady state's return, by drill and verdict."))
	if runs == nil || ttd == nil || ttr == nil {
		return // a failed instrument is never a failed drill
	}
	for _, r := range results {
		set := metric.WithAttributeSet(attribute.NewSet(attribute.String("brain.drill", r.Drill.ID), attribute.String("brain.drill.verdict", string(r.Verdict))))
		runs.Add(ctx, 1, set)
		for _, t := range []struct {
			h metric.Float64Histogram
			d func() (time.Duration, bool)
		}{{ttd, r.TTD}, {ttr, r.TTR}} {
			if v, ok := t.d(); ok {
				t.h.Record(ctx, v.Seconds(), set)
			}
		}
	}
}
