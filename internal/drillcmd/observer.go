package drillcmd

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/drill"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/runcore"
)

// The spans of a drill run (golden/spans.yaml).
const (
	runSpan   = names.SpanDrillRun
	phaseSpan = names.SpanDrillPhase
)

// observer traces and audits drill runs in brain-drill's own workspace:
// a drill.run span per run, a drill.phase span per phase, and the drill.*
// records, each naming its run's span.
type observer struct {
	s     *runcore.Session
	spans map[*drill.Result]trace.Span
}

func (o *observer) record(ctx context.Context, r *drill.Result, ev audit.Event) error {
	h, err := o.s.Log.Record(ctx, ev)
	if err != nil {
		return err
	}
	r.Records = append(r.Records, drill.RecordRef{Type: ev.EventType(), Seq: h.Seq, Hash: h.Hash.String()})
	return nil
}

func (o *observer) Start(ctx context.Context, r *drill.Result) (context.Context, error) {
	d := r.Drill
	ctx, sp := o.s.Tracer.Start(ctx, runSpan, trace.WithAttributes(attribute.String(names.AttrBrainDrillID, d.ID),
		attribute.Int(names.AttrBrainDrillRun, r.Run), attribute.String(names.AttrBrainDrillSeverity, d.Severity)))
	if o.spans == nil {
		o.spans = map[*drill.Result]trace.Span{}
	}
	o.spans[r] = sp
	req := []string{}
	for _, q := range d.Requires {
		req = append(req, q.Name)
	}
	err := o.record(ctx, r, audit.DrillStarted{DrillID: d.ID, Run: r.Run, FileSHA256: d.SHA256, Severity: d.Severity,
		DetectWithinMS: d.DetectWithin.Milliseconds(), RecoverWithinMS: d.RecoverWithin.Milliseconds(), Requires: req})
	if err != nil {
		o.endSpan(r, names.ClassAuditWriteFailed)
	}
	return ctx, err
}

func (o *observer) Phase(ctx context.Context, r *drill.Result, p *drill.PhaseResult) (context.Context, func()) {
	attrs := []attribute.KeyValue{attribute.String(names.AttrBrainDrillPhase, string(p.Phase))}
	if p.AfterRecover {
		attrs = append(attrs, attribute.Bool(names.AttrBrainDrillAfterRecover, true))
	}
	ctx, sp := o.s.Tracer.Start(ctx, phaseSpan, trace.WithAttributes(attrs...))
	return ctx, func() {
		sp.SetAttributes(attribute.String(names.AttrBrainDrillOutcome, p.Outcome), attribute.Int(names.AttrBrainDrillRounds, p.Rounds))
		switch p.Outcome {
		case "failed", "timed-out", "interrupted":
			sp.SetStatus(codes.Error, p.Outcome)
			sp.SetAttributes(attribute.String(names.AttrErrorType, p.Outcome))
		}
		sp.End()
	}
}

func (o *observer) Mark(ctx context.Context, r *drill.Result, m drill.Milestone) error {
	d := r.Drill
	switch m {
	case drill.Injected:
		var inject int64
		for _, p := range r.Phases {
			if p.Phase == drill.Inject {
				inject = p.End.Sub(p.Start).Milliseconds()
			}
		}
		return o.record(ctx, r, audit.DrillInjected{DrillID: d.ID, Run: r.Run, InjectMS: inject})
	case drill.Detected:
		ttd, _ := r.TTD()
		o.spans[r].SetAttributes(attribute.Int64(names.AttrBrainDrillTTDMs, ttd.Milliseconds()))
		return o.record(ctx, r, audit.DrillDetected{DrillID: d.ID, Run: r.Run, TTDMS: ttd.Milliseconds(),
			DetectWithinMS: d.DetectWithin.Milliseconds(), Rounds: rounds(r, false)})
	case drill.Recovered:
		ttr, _ := r.TTR()
		o.spans[r].SetAttributes(attribute.Int64(names.AttrBrainDrillTTRMs, ttr.Milliseconds()))
		return o.record(ctx, r, audit.DrillRecovered{DrillID: d.ID, Run: r.Run, TTRMS: ttr.Milliseconds(),
			RecoverWithinMS: d.RecoverWithin.Milliseconds(), Rounds: rounds(r, true)})
	}
	return nil
}

// rounds returns how many rounds the detect probes (or the steady probes
// after recover) took.
func rounds(r *drill.Result, afterRecover bool) int {
	for _, p := range r.Phases {
		if (p.Phase == drill.Detect && !afterRecover) || (p.Phase == drill.Steady && p.AfterRecover && afterRecover) {
			return p.Rounds
		}
	}
	return 1
}

func (o *observer) End(ctx context.Context, r *drill.Result) error {
	if r.Err != nil {
		o.endSpan(r, names.ClassAuditWriteFailed)
		return nil
	}
	ev := audit.DrillEnded{DrillID: r.Drill.ID, Run: r.Run, Verdict: string(r.Verdict), Reasons: []string{},
		DurationMS: r.End.Sub(r.Start).Milliseconds(), SteadyBefore: r.SteadyBefore, SteadyAfter: r.SteadyAfter, Rollback: "not_needed"}
	for _, rs := range r.Reasons {
		ev.Reasons = append(ev.Reasons, rs.Code)
	}
	if ttd, ok := r.TTD(); ok {
		ev.TTDMS = new(ttd.Milliseconds())
	}
	if ttr, ok := r.TTR(); ok {
		ev.TTRMS = new(ttr.Milliseconds())
	}
	if r.Injected {
		ev.Rollback = "passed"
		for _, rs := range r.Reasons {
			if rs.Code == drill.ReasonRollbackFailed {
				ev.Rollback = "failed"
			}
		}
	}
	err := o.record(ctx, r, ev)
	errType := ""
	switch {
	case err != nil:
		errType = names.ClassAuditWriteFailed
	case r.Verdict == drill.Deviated, r.Verdict == drill.Aborted, r.Verdict == drill.Interrupted:
		errType = r.Reasons[0].Code
	}
	o.endSpan(r, errType)
	return err
}

// endSpan ends r's drill.run span with its verdict; errType, when set,
// makes its status an error of that type.
func (o *observer) endSpan(r *drill.Result, errType string) {
	sp := o.spans[r]
	if sp == nil {
		return
	}
	if errType != names.ClassAuditWriteFailed {
		sp.SetAttributes(attribute.String(names.AttrBrainDrillVerdict, string(r.Verdict)))
	}
	if errType != "" {
		sp.SetStatus(codes.Error, errType)
		sp.SetAttributes(attribute.String(names.AttrErrorType, errType))
	}
	sp.End()
	delete(o.spans, r)
}
