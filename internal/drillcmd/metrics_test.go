package drillcmd

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/brain-dev/brain/internal/drill"
)

// TestRecordMetrics: every run counts once by drill and verdict; a run's
// TTD and TTR are recorded when it has them, and only then.
func TestRecordMetrics(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	results := []*drill.Result{
		{Drill: &drill.Drill{ID: "otlp-down"}, Verdict: drill.Passed, T0: t0, DetectedAt: t0.Add(1500 * time.Millisecond), RecoveredAt: t0.Add(4 * time.Second)},
		{Drill: &drill.Drill{ID: "otlp-down"}, Verdict: drill.Passed, T0: t0, DetectedAt: t0.Add(500 * time.Millisecond), RecoveredAt: t0.Add(2 * time.Second)},
		{Drill: &drill.Drill{ID: "disk-full"}, Verdict: drill.Deviated, T0: t0, DetectedAt: t0.Add(time.Second)}, // never recovered
		{Drill: &drill.Drill{ID: "disk-full"}, Verdict: drill.NotRun},
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	recordMetrics(context.Background(), mp.Meter("test"), results)
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Metric, Drill, Verdict string
		Count                  uint64
		Sum                    float64
	}
	var got []row
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					dr, _ := dp.Attributes.Value("brain.drill")
					v, _ := dp.Attributes.Value("brain.drill.verdict")
					got = append(got, row{m.Name, dr.AsString(), v.AsString(), uint64(dp.Value), 0})
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					dr, _ := dp.Attributes.Value("brain.drill")
					v, _ := dp.Attributes.Value("brain.drill.verdict")
					got = append(got, row{m.Name, dr.AsString(), v.AsString(), dp.Count, dp.Sum})
					if len(dp.Bounds) != len(drillBuckets) {
						t.Errorf("%s has %d bucket bounds, want %d", m.Name, len(dp.Bounds), len(drillBuckets))
					}
				}
			}
		}
	}
	sort.Slice(got, func(i, j int) bool {
		a, b := got[i], got[j]
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		if a.Drill != b.Drill {
			return a.Drill < b.Drill
		}
		return a.Verdict < b.Verdict
	})
	want := []row{
		{metricRuns, "disk-full", "deviated", 1, 0},
		{metricRuns, "disk-full", "not-run", 1, 0},
		{metricRuns, "otlp-down", "passed", 2, 0},
		{metricTTD, "disk-full", "deviated", 1, 1},
		{metricTTD, "otlp-down", "passed", 2, 2},
		{metricTTR, "otlp-down", "passed", 2, 6},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("drill metrics (-want +got):\n%s", diff)
	}
}
