package telemetry_test

import (
	"testing"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/telemetry"
)

// TestMetricSpanNames: the spans metrics are derived from are named as the
// packages that make them name them.
func TestMetricSpanNames(t *testing.T) {
	for _, tc := range []struct{ metrics, maker string }{
		{telemetry.ChatSpan, llm.SpanName},
		{telemetry.AuditWriteSpan, audit.WriteSpan},
		{telemetry.CommandRootSpan, runcore.RootSpan},
	} {
		if tc.metrics != tc.maker {
			t.Errorf("metrics derive from span %q, the span is named %q", tc.metrics, tc.maker)
		}
	}
}
