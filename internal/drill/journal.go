package drill

import (
	"encoding/json"
	"math"
	"sort"
	"time"
)

// JournalFormat names the journal's format (docs/brain-drill.md, "The
// journal").
const JournalFormat = "brain-drill-journal/1"

// Journal is what brain-drill run --json writes: every run of every drill,
// the statistics of each drill over its runs, and where the run's own
// trace and audit records are.
type Journal struct {
	Format      string         `json:"format"`
	Tool        string         `json:"tool"`
	Session     string         `json:"session,omitempty"`
	TraceID     string         `json:"trace_id,omitempty"`
	AuditChain  string         `json:"audit_chain,omitempty"`
	Started     string         `json:"started"`
	Ended       string         `json:"ended"`
	Interrupted bool           `json:"interrupted"`
	Replay      int            `json:"replay"`
	Drills      []JournalDrill `json:"drills"`
	Stats       []Stats        `json:"stats"`
	Summary     Summary        `json:"summary"`
}

// JournalDrill is one run of one drill. Times are RFC 3339 UTC with
// nanoseconds; durations are milliseconds; ttd_ms and ttr_ms are null when
// there is none (not detected, not recovered, not run).
type JournalDrill struct {
	ID              string          `json:"id"`
	Title           string          `json:"title"`
	File            string          `json:"file"`
	FileSHA256      string          `json:"file_sha256"`
	Severity        string          `json:"severity"`
	Run             int             `json:"run"`
	Verdict         Verdict         `json:"verdict"`
	Reasons         []JournalReason `json:"reasons"`
	DetectWithinMS  int64           `json:"detect_within_ms"`
	RecoverWithinMS int64           `json:"recover_within_ms"`
	TTDMS           *int64          `json:"ttd_ms"`
	TTRMS           *int64          `json:"ttr_ms"`
	Start           string          `json:"start"`
	End             string          `json:"end"`
	T0              string          `json:"t0,omitempty"`
	DetectedAt      string          `json:"detected_at,omitempty"`
	RecoveredAt     string          `json:"recovered_at,omitempty"`
	SteadyBefore    *bool           `json:"steady_before"`
	SteadyAfter     *bool           `json:"steady_after"`
	Phases          []JournalPhase  `json:"phases"`
	Blocks          []JournalBlock  `json:"blocks"`
	Scratch         string          `json:"scratch,omitempty"`
	Kept            bool            `json:"scratch_kept"`
	Notes           []string        `json:"notes,omitempty"`
	Records         []RecordRef     `json:"audit_records"`
}

// JournalReason is one reason for a verdict.
type JournalReason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// JournalPhase is one phase of a run.
type JournalPhase struct {
	Phase        Phase  `json:"phase"`
	AfterRecover bool   `json:"after_recover,omitempty"`
	Start        string `json:"start"`
	End          string `json:"end"`
	Deadline     string `json:"deadline"`
	Outcome      string `json:"outcome"`
	Rounds       int    `json:"rounds"`
}

// JournalBlock is one run of one block.
type JournalBlock struct {
	Phase       Phase  `json:"phase"`
	Name        string `json:"name"`
	Line        int    `json:"line"`
	Round       int    `json:"round"`
	Start       string `json:"start"`
	End         string `json:"end"`
	DurationMS  int64  `json:"duration_ms"`
	ExitCode    int    `json:"exit_code"`
	Signal      string `json:"signal,omitempty"`
	TimedOut    bool   `json:"timed_out"`
	Interrupted bool   `json:"interrupted"`
	Stopped     string `json:"stopped,omitempty"`
	Error       string `json:"error,omitempty"`
	OutputTail  string `json:"output_tail"`
	OutputBytes int64  `json:"output_bytes"`
}

// Dist is a distribution of durations in milliseconds, over N runs that
// had one: the 50th and 90th percentiles (nearest rank) and the maximum.
type Dist struct {
	N   int    `json:"n"`
	P50 *int64 `json:"p50"`
	P90 *int64 `json:"p90"`
	Max *int64 `json:"max"`
}

// Stats are one drill's figures over its runs.
type Stats struct {
	ID              string          `json:"id"`
	Runs            int             `json:"runs"`
	Verdicts        map[Verdict]int `json:"verdicts"`
	DetectWithinMS  int64           `json:"detect_within_ms"`
	RecoverWithinMS int64           `json:"recover_within_ms"`
	TTD             Dist            `json:"ttd_ms"`
	TTR             Dist            `json:"ttr_ms"`
}

// Summary counts the runs by verdict. Passed counts verdict passed only.
type Summary struct {
	Runs        int `json:"runs"`
	Passed      int `json:"passed"`
	Deviated    int `json:"deviated"`
	Aborted     int `json:"aborted"`
	Interrupted int `json:"interrupted"`
	NotRun      int `json:"not_run"`
}

// Count returns how many runs had verdict v.
func (s Summary) Count(v Verdict) int {
	switch v {
	case Passed:
		return s.Passed
	case Deviated:
		return s.Deviated
	case Aborted:
		return s.Aborted
	case Interrupted:
		return s.Interrupted
	}
	return s.NotRun
}

// Summarize counts results by verdict.
func Summarize(results []*Result) Summary {
	var s Summary
	for _, r := range results {
		s.Runs++
		switch r.Verdict {
		case Passed:
			s.Passed++
		case Deviated:
			s.Deviated++
		case Aborted:
			s.Aborted++
		case Interrupted:
			s.Interrupted++
		default:
			s.NotRun++
		}
	}
	return s
}

// NewJournal builds the journal of results.
func NewJournal(tool string, results []*Result, replay int, start, end time.Time, interrupted bool) *Journal {
	j := &Journal{Format: JournalFormat, Tool: tool, Started: stamp(start), Ended: stamp(end), Interrupted: interrupted,
		Replay: replay, Drills: []JournalDrill{}, Summary: Summarize(results)}
	for _, r := range results {
		j.Drills = append(j.Drills, journalDrill(r))
	}
	j.Stats = ComputeStats(results)
	return j
}

// Marshal returns the journal as indented JSON, ending in a newline.
func (j *Journal) Marshal() []byte {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		panic("drill: journal: " + err.Error()) // only plain types: cannot fail
	}
	return append(b, '\n')
}

func journalDrill(r *Result) JournalDrill {
	d := r.Drill
	jd := JournalDrill{ID: d.ID, Title: d.Title, File: d.File, FileSHA256: d.SHA256, Severity: d.Severity, Run: r.Run,
		Verdict: r.Verdict, Reasons: []JournalReason{}, DetectWithinMS: d.DetectWithin.Milliseconds(), RecoverWithinMS: d.RecoverWithin.Milliseconds(),
		Start: stamp(r.Start), End: stamp(r.End), T0: stamp(r.T0), DetectedAt: stamp(r.DetectedAt), RecoveredAt: stamp(r.RecoveredAt),
		SteadyBefore: r.SteadyBefore, SteadyAfter: r.SteadyAfter, Phases: []JournalPhase{}, Blocks: []JournalBlock{},
		Scratch: r.Scratch, Kept: r.Kept, Notes: r.Notes, Records: r.Records}
	if jd.Records == nil {
		jd.Records = []RecordRef{}
	}
	for _, rs := range r.Reasons {
		jd.Reasons = append(jd.Reasons, JournalReason(rs))
	}
	if ttd, ok := r.TTD(); ok {
		jd.TTDMS = ms(ttd)
	}
	if ttr, ok := r.TTR(); ok {
		jd.TTRMS = ms(ttr)
	}
	for _, p := range r.Phases {
		jd.Phases = append(jd.Phases, JournalPhase{Phase: p.Phase, AfterRecover: p.AfterRecover, Start: stamp(p.Start), End: stamp(p.End),
			Deadline: stamp(p.Deadline), Outcome: p.Outcome, Rounds: p.Rounds})
	}
	for _, b := range r.Blocks {
		jd.Blocks = append(jd.Blocks, JournalBlock{Phase: b.Phase, Name: b.Name, Line: b.Line, Round: b.Round, Start: stamp(b.Start), End: stamp(b.End),
			DurationMS: b.End.Sub(b.Start).Milliseconds(), ExitCode: b.ExitCode, Signal: b.Signal, TimedOut: b.TimedOut, Interrupted: b.Interrupted,
			Stopped: b.Stopped, Error: b.Error, OutputTail: b.Tail, OutputBytes: b.OutputBytes})
	}
	return jd
}

// ComputeStats groups results by drill, in the order drills first appear.
func ComputeStats(results []*Result) []Stats {
	var order []*Drill
	by := map[*Drill][]*Result{}
	for _, r := range results {
		if _, ok := by[r.Drill]; !ok {
			order = append(order, r.Drill)
		}
		by[r.Drill] = append(by[r.Drill], r)
	}
	out := []Stats{}
	for _, d := range order {
		rs := by[d]
		st := Stats{ID: d.ID, Runs: len(rs), Verdicts: map[Verdict]int{}, DetectWithinMS: d.DetectWithin.Milliseconds(), RecoverWithinMS: d.RecoverWithin.Milliseconds()}
		var ttd, ttr []time.Duration
		for _, r := range rs {
			st.Verdicts[r.Verdict]++
			if v, ok := r.TTD(); ok {
				ttd = append(ttd, v)
			}
			if v, ok := r.TTR(); ok {
				ttr = append(ttr, v)
			}
		}
		st.TTD, st.TTR = distOf(ttd), distOf(ttr)
		out = append(out, st)
	}
	return out
}

func distOf(ds []time.Duration) Dist {
	dist := Dist{N: len(ds)}
	if len(ds) == 0 {
		return dist
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	dist.P50 = ms(Percentile(ds, 50))
	dist.P90 = ms(Percentile(ds, 90))
	dist.Max = ms(ds[len(ds)-1])
	return dist
}

// Percentile returns the p-th percentile of sorted, by the nearest-rank
// method: the smallest value with at least p % of the values at or below
// it. Requires a non-empty, sorted slice and 0 < p <= 100.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) *int64 {
	v := d.Milliseconds()
	return &v
}

// stamp formats t as RFC 3339 UTC with nanoseconds; "" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}
