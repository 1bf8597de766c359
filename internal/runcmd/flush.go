package runcmd

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/telemetry"
	"github.com/brain-dev/brain/internal/workspace"
)

func newFlush(e *runcore.Env) *ffcli.Command {
	fs, rf := runcore.NewFlags("flush")
	return &ffcli.Command{
		Name:       "flush",
		ShortUsage: "brain-run flush [--dir DIR] [--otlp-endpoint HOST:PORT]",
		ShortHelp:  "re-send spans kept on disk to the OTLP endpoint",
		LongHelp: `flush sends the spans in DIR/spans.jsonl that were not delivered yet to the
OTLP gRPC endpoint, and remembers what was delivered (DIR/spans.flushed), so
a second flush sends nothing twice.

Exit status: 0 sent (or nothing to send), 2 usage, 3 the endpoint could not
take the spans (run flush again later), 4 audit write failed.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("flush takes no arguments")
			}
			endpoint := rf.Endpoint()
			if endpoint == "" {
				return &cli.UsageError{Err: errors.New("no endpoint to flush to"), Hint: "pass --otlp-endpoint localhost:4317 or set OTEL_EXPORTER_OTLP_ENDPOINT"}
			}
			rf.ResolveDir(e.P)
			spans := workspace.Dir(rf.Dir).Spans()
			// The flush's own spans go to disk only: they are sent by the
			// next flush, never half-way through this one.
			local := *rf
			local.DiskOnly = true
			code, err := runcore.Instrument(ctx, e, &local, "flush", func(ctx context.Context, s *runcore.Session) (int, error) {
				sent, skipped, err := telemetry.Flush(ctx, e.Network, spans, endpoint, filepath.Join(rf.Dir, workspace.FlushState))
				var dle *telemetry.DamagedLinesError
				if errors.As(err, &dle) {
					// Everything else was delivered; damaged lines are reported, not retried forever.
					e.P.Warnf("%v", dle)
					err = nil
				}
				if err != nil {
					return cli.ExitIO, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("flushing to %s: %v (%d spans sent before the failure)", endpoint, err, sent),
						Hint: "start the collector and run 'brain-run flush' again: delivered spans are not sent twice"}
				}
				if _, err := s.Log.Record(ctx, audit.TelemetryFlushed{Endpoint: endpoint, Sent: sent, Skipped: skipped}); err != nil {
					return 0, err
				}
				e.P.Infof("sent %d spans to %s (%d already sent)", sent, endpoint, skipped)
				return 0, nil
			})
			return runcore.ExitErr(code, err)
		},
	}
}
