package drill

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/brain-dev/brain/internal/names"
)

// Verdict is how a drill run ended.
type Verdict string

// The verdicts. Only Passed is a pass; NotRun never counts as one.
const (
	Passed      Verdict = "passed"      // detected within detect_within and recovered within recover_within
	Deviated    Verdict = "deviated"    // detected late or never, a step of inject, investigate, recover or rollback failed, or steady not restored in time
	Aborted     Verdict = "aborted"     // setup or the first steady-state probe failed: nothing was injected
	Interrupted Verdict = "interrupted" // brain-drill was stopped by a signal
	NotRun      Verdict = "not-run"     // a requirement is not met: nothing ran
)

// Verdicts lists every verdict, in the order summaries count them.
var Verdicts = []Verdict{Passed, Deviated, Aborted, Interrupted, NotRun}

// The reason codes of a verdict other than passed. They are stable
// identifiers (audit records carry them); Reason.Message says more.
const (
	ReasonRequires          = names.ClassRequiresUnmet
	ReasonSetupFailed       = names.ClassSetupFailed
	ReasonSteadyFailed      = names.ClassSteadyFailed
	ReasonInjectFailed      = names.ClassInjectFailed
	ReasonNotDetected       = names.ClassNotDetected
	ReasonDetectedLate      = names.ClassDetectedLate
	ReasonInvestigateFailed = names.ClassInvestigateFailed
	ReasonRecoverFailed     = names.ClassRecoverFailed
	ReasonNotRecovered      = names.ClassNotRecovered
	ReasonRecoveredLate     = names.ClassRecoveredLate
	ReasonRollbackFailed    = names.ClassRollbackFailed
	ReasonInterrupted       = "interrupted"
	ReasonSkipped           = "skipped"
	// ReasonAuditFailed: the run stopped because the Observer failed (an
	// audit record could not be written). It is in the journal only: the
	// chain could not take it.
	ReasonAuditFailed = names.ClassAuditFailed
)

// Reason is one reason for a verdict.
type Reason struct {
	Code    string
	Message string
}

// PhaseResult is one phase of a run.
type PhaseResult struct {
	Phase        Phase
	AfterRecover bool // the steady probes polled after recover
	Start, End   time.Time
	Deadline     time.Time
	Outcome      string // passed, failed, timed-out, interrupted, skipped
	Rounds       int    // polling rounds (detect, steady after recover); 1 otherwise
}

// Result is one run of one drill.
type Result struct {
	Drill   *Drill
	Run     int // 1-based, of --replay N
	Verdict Verdict
	Reasons []Reason
	Unmet   []string // the requirements not met, for not-run

	Start, End  time.Time
	Injected    bool      // the inject phase started: rollback runs
	T0          time.Time // the end of the last inject block
	DetectedAt  time.Time // zero: not detected
	RecoveredAt time.Time // zero: steady state not restored

	SteadyBefore *bool // nil: not probed
	SteadyAfter  *bool

	Phases []*PhaseResult
	Blocks []*BlockResult // every block run; of polled phases the first and the last round

	Records []RecordRef // the audit records written for the run (by the Observer)

	Scratch string   // the scratch directory
	Kept    bool     // it was kept (not passed, or Runner.Keep)
	Notes   []string // what the clean-up did (faults left running, a directory kept)

	// Err is set when the run had to stop because the Observer failed (an
	// audit record could not be written): the drill's verdict is not
	// evidence, and the command must fail.
	Err error
}

// TTD returns the time to detect and whether there is one.
func (r *Result) TTD() (time.Duration, bool) {
	if r.DetectedAt.IsZero() {
		return 0, false
	}
	return r.DetectedAt.Sub(r.T0), true
}

// TTR returns the time to recover and whether there is one.
func (r *Result) TTR() (time.Duration, bool) {
	if r.RecoveredAt.IsZero() {
		return 0, false
	}
	return r.RecoveredAt.Sub(r.T0), true
}

// Reason returns the first reason's message, or "".
func (r *Result) Reason() string {
	if len(r.Reasons) == 0 {
		return ""
	}
	return r.Reasons[0].Message
}

func (r *Result) fail(v Verdict, code, format string, args ...any) {
	if rank(v) > rank(r.Verdict) {
		r.Verdict = v
	}
	r.Reasons = append(r.Reasons, Reason{Code: code, Message: fmt.Sprintf(format, args...)})
}

// rank orders verdicts by how much they say went wrong.
func rank(v Verdict) int {
	switch v {
	case Passed:
		return 0
	case Deviated:
		return 1
	case Aborted:
		return 2
	case Interrupted:
		return 3
	}
	return 4
}

// RecordRef names an audit record written for a drill run.
type RecordRef struct {
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// Milestone is a point of a drill's life cycle the Observer records.
type Milestone string

// The milestones, in order.
const (
	Injected  Milestone = "injected"  // T0
	Detected  Milestone = "detected"  // every detect probe passed
	Recovered Milestone = "recovered" // the steady state is back
)

// Observer sees a run as it happens: brain-drill traces and audits it. An
// error from Start, Mark or End (an audit record that could not be
// written) stops the run: rollback still runs, and Result.Err is set.
type Observer interface {
	// Start is called before anything of the run happens; the context it
	// returns is the run's.
	Start(ctx context.Context, r *Result) (context.Context, error)
	// Phase is called as phase p starts; done is called with its result.
	Phase(ctx context.Context, r *Result, p *PhaseResult) (pctx context.Context, done func())
	// Mark records a milestone.
	Mark(ctx context.Context, r *Result, m Milestone) error
	// End is called last, with the verdict; also after an error of Start
	// or Mark (Result.Err is set then, and nothing more should be
	// recorded).
	End(ctx context.Context, r *Result) error
}

// Runner runs drills.
type Runner struct {
	Bash    string   // the bash that runs the blocks
	Bin     string   // the directory of the BRAIN binaries, put first on PATH
	WorkDir string   // where scratch directories are made ("": the system's temporary directory)
	Keep    bool     // keep the scratch directory of a passed run too
	Env     []string // the environment the blocks' is made from (droppedEnv is left out)
	Host    Host     // what requirements are checked against
	// Observer traces and audits the run; nil: nothing is.
	Observer Observer
	// Cleanup, when set, is called after rollback with the scratch
	// directory: it stops the faults a drill left running and returns
	// what it did.
	Cleanup func(ctx context.Context, scratch string) []string
	// Progress, when set, gets a line for each block run.
	Progress func(line string)
}

// run is one run of a drill in progress.
type run struct {
	*Runner
	d   *Drill
	res *Result
	ctx context.Context // the run's context (a signal cancels it)
}

// Run runs drill d once (run counts the runs of --replay from 1) and
// returns its result. A canceled ctx (SIGINT) stops the block running,
// runs rollback under a context of its own bounded by rollback's limit,
// and gives the verdict interrupted.
func (rn *Runner) Run(ctx context.Context, d *Drill, runNo int) *Result {
	res := &Result{Drill: d, Run: runNo, Verdict: Passed, Start: time.Now()}
	r := &run{Runner: rn, d: d, res: res, ctx: ctx}
	obs := rn.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	r.Observer = obs
	if err := r.lifeCycle(); err != nil {
		res.Err = err
		res.fail(Interrupted, ReasonAuditFailed, "stopped: an audit record of the drill run could not be written")
	}
	res.End = time.Now()
	if err := obs.End(context.WithoutCancel(r.ctx), res); err != nil && res.Err == nil {
		res.Err = err
	}
	return res
}

// NotRunResult is the result of a drill that was not run at all because
// brain-drill stopped before it: it never counts as passed.
func NotRunResult(d *Drill, runNo int, why string) *Result {
	now := time.Now()
	return &Result{Drill: d, Run: runNo, Verdict: NotRun, Start: now, End: now,
		Reasons: []Reason{{Code: ReasonSkipped, Message: why}}}
}

// Skip records that run runNo of drill d was not run because brain-drill
// stopped before it (why says so): its result is not-run, and the Observer
// sees it start and end like any other, so that every run has its records.
func (rn *Runner) Skip(ctx context.Context, d *Drill, runNo int, why string) *Result {
	res := NotRunResult(d, runNo, why)
	ctx = context.WithoutCancel(ctx)
	if rn.Observer == nil {
		return res
	}
	if _, err := rn.Observer.Start(ctx, res); err != nil {
		res.Err = err
	}
	if err := rn.Observer.End(ctx, res); err != nil && res.Err == nil {
		res.Err = err
	}
	return res
}

func (r *run) lifeCycle() error {
	res, d := r.res, r.d
	res.Unmet = d.Unmet(r.Host)
	ctx, err := r.Observer.Start(r.ctx, res)
	if err != nil {
		return err
	}
	r.ctx = ctx
	if len(res.Unmet) > 0 {
		res.Verdict = NotRun
		for _, u := range res.Unmet {
			res.Reasons = append(res.Reasons, Reason{Code: ReasonRequires, Message: u})
		}
		return nil
	}
	scratch, err := makeScratch(r.WorkDir, d.ID, res.Run)
	res.Scratch = scratch
	if err != nil {
		res.fail(Aborted, ReasonSetupFailed, "cannot make the scratch directory: %v", err)
		r.finish()
		return nil
	}
	err = r.cycle()
	r.finish()
	return err
}

// cycle runs the phases up to, but not including, rollback; then rollback
// when inject started.
func (r *run) cycle() error {
	res, d := r.res, r.d
	defer func() {
		if res.Injected {
			r.rollback()
		}
	}()
	if !r.once(Setup, time.Now().Add(d.Limit(Setup)), false) {
		r.stopped(Setup, Aborted, ReasonSetupFailed, "setup failed: nothing was injected")
		return nil
	}
	before := r.once(Steady, time.Now().Add(d.Limit(Steady)), false)
	res.SteadyBefore = &before
	if !before {
		r.stopped(Steady, Aborted, ReasonSteadyFailed, "the steady state did not hold before the fault: nothing was injected")
		return nil
	}
	res.Injected = true
	ok := r.once(Inject, time.Now().Add(d.Limit(Inject)), false)
	res.T0 = time.Now()
	if len(res.Blocks) > 0 {
		res.T0 = res.Blocks[len(res.Blocks)-1].End
	}
	if !ok {
		r.stopped(Inject, Deviated, ReasonInjectFailed, "an inject step failed: the fault may be only partly in place")
		return nil
	}
	if err := r.Observer.Mark(r.ctx, res, Injected); err != nil {
		return err
	}
	detected, rounds := r.poll(Detect, res.T0.Add(d.Limit(Detect)), false)
	if !detected {
		if r.interrupted() {
			return nil
		}
		res.fail(Deviated, ReasonNotDetected, "not detected: the detect steps did not all pass within %s (%d × detect_within %s, %d rounds)",
			d.Limit(Detect), WindowFactor, d.DetectWithin, rounds)
		return nil
	}
	if ttd, _ := res.TTD(); ttd > d.DetectWithin {
		res.fail(Deviated, ReasonDetectedLate, "detected late: TTD %s > detect_within %s", round(ttd), d.DetectWithin)
	}
	if err := r.Observer.Mark(r.ctx, res, Detected); err != nil {
		return err
	}
	if !r.once(Investigate, time.Now().Add(d.Limit(Investigate)), false) {
		if r.stopped(Investigate, Deviated, ReasonInvestigateFailed, "an investigate step failed: the run-book's commands do not work as written") {
			return nil
		}
	}
	window := res.T0.Add(d.Limit(Recover))
	if !r.once(Recover, window, false) {
		r.stopped(Recover, Deviated, ReasonRecoverFailed, "a recover step failed: the run-book's recovery does not work as written")
		return nil
	}
	restored, rounds := r.poll(Steady, window, true)
	res.SteadyAfter = &restored
	if !restored {
		if r.interrupted() {
			return nil
		}
		res.fail(Deviated, ReasonNotRecovered, "not recovered: the steady state was not back within %s of T0 (%d × recover_within %s, %d rounds)",
			d.Limit(Recover), WindowFactor, d.RecoverWithin, rounds)
		return nil
	}
	if ttr, _ := res.TTR(); ttr > d.RecoverWithin {
		res.fail(Deviated, ReasonRecoveredLate, "recovered late: TTR %s > recover_within %s", round(ttr), d.RecoverWithin)
	}
	return r.Observer.Mark(r.ctx, res, Recovered)
}

// stopped notes that phase p failed: interrupted, if that is why (it
// reports true then), else verdict v with code and msg and the failing
// block.
func (r *run) stopped(p Phase, v Verdict, code, msg string) bool {
	if r.interrupted() {
		return true
	}
	if b := r.lastFailed(p); b != nil {
		msg += fmt.Sprintf(": step %s at %s: %s", b.Name, fmt.Sprintf("%s:%d", r.d.File, b.Line), b.Describe())
	}
	r.res.fail(v, code, "%s", msg)
	return false
}

// interrupted reports whether the run's context was canceled, and gives
// the verdict interrupted the first time it is.
func (r *run) interrupted() bool {
	if r.ctx.Err() == nil {
		return false
	}
	for _, rs := range r.res.Reasons {
		if rs.Code == ReasonInterrupted {
			return true
		}
	}
	phase := ""
	for i := len(r.res.Phases) - 1; i >= 0; i-- {
		if r.res.Phases[i].Outcome == "interrupted" {
			phase = " during " + string(r.res.Phases[i].Phase)
			break
		}
	}
	r.res.fail(Interrupted, ReasonInterrupted, "%s%s", interruptCause(r.ctx), phase)
	return true
}

func (r *run) lastFailed(p Phase) *BlockResult {
	for i := len(r.res.Blocks) - 1; i >= 0; i-- {
		if b := r.res.Blocks[i]; b.Phase == p && !b.OK() {
			return b
		}
	}
	return nil
}

// once runs the blocks of phase p once each, in order, by deadline. It
// stops at the first block that fails, unless all is set (rollback runs
// every block). It reports whether every block passed.
func (r *run) once(p Phase, deadline time.Time, all bool) bool {
	ctx := r.ctx
	if p == Rollback {
		ctx = context.WithoutCancel(r.ctx)
	}
	pr := &PhaseResult{Phase: p, Start: time.Now(), Deadline: deadline, Rounds: 1, Outcome: "passed"}
	r.res.Phases = append(r.res.Phases, pr)
	pctx, done := r.Observer.Phase(ctx, r.res, pr)
	defer func() { pr.End = time.Now(); done() }()
	blocks := r.d.PhaseBlocks(p)
	if len(blocks) == 0 {
		pr.Outcome = "skipped"
		return true
	}
	ok := true
	for _, b := range blocks {
		br := r.block(pctx, b, deadline, 1)
		if !br.OK() {
			ok = false
			pr.Outcome = outcomeOf(br)
			if !all {
				break
			}
		}
	}
	return ok
}

// poll runs the blocks of phase p in rounds, a round starting at most
// PollInterval after the last one started, until a round passes whole or
// deadline passes. It reports whether one did (and records when in the
// result) and how many rounds ran. Of the rounds, the journal keeps every
// block of the first and of the last.
func (r *run) poll(p Phase, deadline time.Time, afterRecover bool) (bool, int) {
	pr := &PhaseResult{Phase: p, AfterRecover: afterRecover, Start: time.Now(), Deadline: deadline, Outcome: "failed"}
	r.res.Phases = append(r.res.Phases, pr)
	pctx, done := r.Observer.Phase(r.ctx, r.res, pr)
	defer func() { pr.End = time.Now(); done() }()
	blocks := r.d.PhaseBlocks(p)
	keep := len(r.res.Blocks)
	var last []*BlockResult
	for round := 1; ; round++ {
		if !time.Now().Before(deadline) {
			pr.Outcome = "timed-out"
			r.res.Blocks = append(r.res.Blocks, last...)
			return false, pr.Rounds
		}
		pr.Rounds = round
		start := time.Now()
		passed := true
		var this []*BlockResult
		for _, b := range blocks {
			br := r.block(pctx, b, deadline, round)
			this = append(this, br)
			if !br.OK() {
				passed = false
				if br.Interrupted {
					pr.Outcome = "interrupted"
				}
				break
			}
		}
		if round == 1 {
			r.res.Blocks = append(r.res.Blocks[:keep], this...)
			last = nil
		} else {
			last = this
		}
		if passed {
			at := this[len(this)-1].End
			if afterRecover {
				r.res.RecoveredAt = at
			} else {
				r.res.DetectedAt = at
			}
			pr.Outcome = "passed"
			r.res.Blocks = append(r.res.Blocks, last...)
			return true, round
		}
		if pctx.Err() != nil {
			pr.Outcome = "interrupted"
			r.res.Blocks = append(r.res.Blocks, last...)
			return false, round
		}
		wait := time.Until(start.Add(PollInterval))
		if until := time.Until(deadline); until < wait {
			wait = until
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-pctx.Done():
			}
			t.Stop()
		}
	}
}

func outcomeOf(b *BlockResult) string {
	switch {
	case b.Interrupted:
		return "interrupted"
	case b.TimedOut:
		return "timed-out"
	}
	return "failed"
}

// block runs one block by deadline (or its own timeout, if sooner).
func (r *run) block(ctx context.Context, b Block, deadline time.Time, roundNo int) *BlockResult {
	limit, msg := deadline, fmt.Sprintf("stopped at the %s phase's limit", b.Phase)
	switch b.Phase {
	case Detect:
		msg = fmt.Sprintf("stopped at the end of the detect window (%d × detect_within %s)", WindowFactor, r.d.DetectWithin)
	case Recover, Steady:
		if !r.res.T0.IsZero() {
			msg = fmt.Sprintf("stopped at the end of the recovery window (%d × recover_within %s)", WindowFactor, r.d.RecoverWithin)
			break
		}
		fallthrough
	default:
		msg += fmt.Sprintf(" of %s", r.d.Limit(b.Phase))
	}
	if b.Timeout > 0 {
		if t := time.Now().Add(b.Timeout); t.Before(limit) {
			limit, msg = t, fmt.Sprintf("stopped at its timeout=%s", b.Timeout)
		}
	}
	env, err := r.env(b)
	var br *BlockResult
	if err != nil {
		now := time.Now()
		br = &BlockResult{Phase: b.Phase, Name: b.Name, Line: b.Line, Start: now, End: now, ExitCode: -1, Error: err.Error()}
	} else {
		br = runBlock(ctx, r.Bash, b, r.res.Scratch, env, limit, msg)
	}
	br.Round = roundNo
	if b.Phase != Detect && !(b.Phase == Steady && !r.res.T0.IsZero()) {
		r.res.Blocks = append(r.res.Blocks, br)
	}
	if r.Progress != nil {
		r.Progress(fmt.Sprintf("%s: %s %s (%s:%d) round %d: %s in %s", r.d.ID, b.Phase, b.Name, r.d.File, b.Line, roundNo, br.Describe(), round(br.End.Sub(br.Start))))
	}
	return br
}

// env returns the environment of block b.
func (r *run) env(b Block) ([]string, error) {
	scratch := r.res.Scratch
	vars, err := readEnvFile(filepath.Join(scratch, EnvFile))
	if err != nil {
		return nil, err
	}
	src, err := filepath.Abs(r.d.File)
	if err != nil {
		src = r.d.File
	}
	own := map[string]string{
		"DRILL_DIR":    scratch,
		"DRILL_ENV":    filepath.Join(scratch, EnvFile),
		"DRILL_ID":     r.d.ID,
		"DRILL_RUN":    strconv.Itoa(r.res.Run),
		"DRILL_PHASE":  string(b.Phase),
		"DRILL_STEP":   b.Name,
		"DRILL_SOURCE": src,
	}
	if _, set := vars["BRAIN_DIR"]; !set {
		own["BRAIN_DIR"] = filepath.Join(scratch, Workspace)
	}
	if _, set := vars["XDG_CONFIG_HOME"]; !set {
		own["XDG_CONFIG_HOME"] = filepath.Join(scratch, ConfigDir)
	}
	return blockEnv(r.Env, vars, own, r.Bin), nil
}

// rollback runs every rollback block, under a context no signal cancels,
// bounded by rollback's limit.
func (r *run) rollback() {
	if !r.once(Rollback, time.Now().Add(r.d.Limit(Rollback)), true) {
		b := r.lastFailed(Rollback)
		r.res.fail(Deviated, ReasonRollbackFailed, "a rollback step failed: the fault may still be in place: step %s at %s:%d: %s", b.Name, r.d.File, b.Line, b.Describe())
	}
}

// finish stops what the drill left running and removes the scratch
// directory of a passed run (unless Keep).
func (r *run) finish() {
	res := r.res
	if res.Scratch == "" {
		return
	}
	if r.Cleanup != nil {
		res.Notes = append(res.Notes, r.Cleanup(context.WithoutCancel(r.ctx), res.Scratch)...)
	}
	if r.Keep || res.Verdict != Passed {
		res.Kept = true
		return
	}
	if err := removeScratch(res.Scratch); err != nil {
		res.Kept = true
		res.Notes = append(res.Notes, fmt.Sprintf("kept %s: %v", res.Scratch, err))
	}
}

// removeScratch removes a scratch directory, never across a mount point:
// a file system a step mounted under it (and did not unmount) keeps it.
func removeScratch(dir string) error {
	if m, err := mountsUnder(dir); err != nil {
		return err
	} else if len(m) > 0 {
		return fmt.Errorf("%s is still mounted there", m[0])
	}
	err := os.RemoveAll(dir)
	if err != nil {
		// A step may have taken the permissions away from a directory of
		// its own: give them back to the owner, then try again.
		filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
		err = os.RemoveAll(dir)
	}
	return err
}

// round rounds d for messages.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d
}

type nopObserver struct{}

func (nopObserver) Start(ctx context.Context, _ *Result) (context.Context, error) { return ctx, nil }
func (nopObserver) Phase(ctx context.Context, _ *Result, _ *PhaseResult) (context.Context, func()) {
	return ctx, func() {}
}
func (nopObserver) Mark(context.Context, *Result, Milestone) error { return nil }
func (nopObserver) End(context.Context, *Result) error             { return nil }
