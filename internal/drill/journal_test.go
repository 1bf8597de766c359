package drill

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 10; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    float64
		n    int
		want time.Duration
	}{{50, 10, 5 * time.Millisecond}, {90, 10, 9 * time.Millisecond}, {100, 10, 10 * time.Millisecond},
		{50, 1, time.Millisecond}, {90, 1, time.Millisecond}, {50, 2, time.Millisecond}, {90, 2, 2 * time.Millisecond}, {50, 3, 2 * time.Millisecond}} {
		if got := Percentile(ds[:tt.n], tt.p); got != tt.want {
			t.Errorf("p%v of %d = %v, want %v", tt.p, tt.n, got, tt.want)
		}
	}
}

// results makes one result of every verdict, from real runs.
func results(t *testing.T) []*Result {
	t.Helper()
	rn := newRunner(t)
	var out []*Result
	// The drill that passes has time to spare on a busy machine; the one
	// that deviates waits out its 3 × 50 ms.
	for _, c := range []struct {
		within string
		steps  []string
	}{
		{"5s", []string{"steady: true", "inject: true", "detect: true"}},
		{"50ms", []string{"steady: true", "inject: true", "detect: echo '<not & \"detected\">'; false", "rollback: true"}},
		{"50ms", []string{"steady: exit 1", "inject: true", "detect: true"}},
	} {
		out = append(out, rn.Run(context.Background(), drillOf(t, c.within, c.steps...), 1))
	}
	rn.Host.EUID = 1000
	d := drillOf(t, "50ms", "steady: true", "inject: true", "detect: true")
	d.Requires = []Requirement{{Name: "root"}}
	out = append(out, rn.Run(context.Background(), d, 1))
	out = append(out, NotRunResult(d, 2, "brain-drill was interrupted before this run"))
	return out
}

// TestJUnitCounts: the JUnit report parses, and its counts are the
// summary's: deviated are failures, aborted and interrupted errors,
// not-run skipped, never passes.
func TestJUnitCounts(t *testing.T) {
	rs := results(t)
	j := NewJournal("brain-drill test", rs, 1, rs[0].Start, rs[len(rs)-1].End, false)
	// The report's own types read it back; the testscripts parse it with
	// a reader of their own.
	var doc junitSuites
	if err := xml.Unmarshal(JUnit(j), &doc); err != nil {
		t.Fatalf("the JUnit report does not parse: %v\n%s", err, JUnit(j))
	}
	s := j.Summary
	want := Summary{Runs: 5, Passed: 1, Deviated: 1, Aborted: 1, NotRun: 2}
	if s != want {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	if doc.Tests != s.Runs || doc.Failures != s.Deviated || doc.Errors != s.Aborted+s.Interrupted || doc.Skipped != s.NotRun {
		t.Errorf("testsuites counts %d/%d/%d/%d, summary %+v", doc.Tests, doc.Failures, doc.Errors, doc.Skipped, s)
	}
	su := doc.Suites[0]
	var passes, failures, errs, skipped int
	for _, c := range su.Cases {
		switch {
		case c.Failure != nil:
			failures++
		case c.Error != nil:
			errs++
		case c.Skipped != nil:
			skipped++
		default:
			passes++
		}
	}
	if len(su.Cases) != s.Runs || passes != s.Passed || failures != su.Failures || errs != su.Errors || skipped != su.Skipped {
		t.Errorf("cases: %d passes, %d failures, %d errors, %d skipped; suite %+v", passes, failures, errs, skipped, su.junitCounts)
	}
	if su.Cases[3].Skipped.Message != "not-run: requires root (running as uid 1000)" {
		t.Errorf("a not-run case says %q", su.Cases[3].Skipped.Message)
	}
}

// TestJournal: the journal holds what the issue asks of each run, with
// null TTD and TTR where there is none.
func TestJournal(t *testing.T) {
	rs := results(t)
	b := NewJournal("brain-drill test", rs, 1, rs[0].Start, rs[len(rs)-1].End, false).Marshal()
	var j struct {
		Drills []map[string]any `json:"drills"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	for i, d := range j.Drills {
		for _, k := range []string{"id", "verdict", "ttd_ms", "ttr_ms", "start", "end", "steady_before", "steady_after", "blocks"} {
			if _, ok := d[k]; !ok {
				t.Errorf("drill %d has no %s", i, k)
			}
		}
	}
	passed, deviated := j.Drills[0], j.Drills[1]
	if passed["ttd_ms"] == nil || passed["ttr_ms"] == nil || deviated["ttd_ms"] != nil || deviated["ttr_ms"] != nil {
		t.Errorf("TTD/TTR: passed %v %v, deviated %v %v", passed["ttd_ms"], passed["ttr_ms"], deviated["ttd_ms"], deviated["ttr_ms"])
	}
	blocks := deviated["blocks"].([]any)
	var detect []map[string]any
	for _, b := range blocks {
		if m := b.(map[string]any); m["phase"] == "detect" {
			detect = append(detect, m)
		}
	}
	// Of the polled rounds, the first and the last are kept.
	if len(detect) != 2 || detect[0]["round"].(float64) != 1 || detect[1]["round"].(float64) < 2 {
		t.Errorf("detect blocks kept: %v", detect)
	}
	for _, k := range []string{"phase", "start", "end", "exit_code", "output_tail"} {
		if _, ok := detect[0][k]; !ok {
			t.Errorf("a block has no %s", k)
		}
	}
	if detect[0]["output_tail"] != "<not & \"detected\">\n" {
		t.Errorf("output tail %q", detect[0]["output_tail"])
	}
}

// TestSummaryTable: one line per drill, then the counts; not-run is
// counted as such, never as passed.
func TestSummaryTable(t *testing.T) {
	rs := results(t)
	var b strings.Builder
	WriteSummary(&b, NewJournal("t", rs, 1, rs[0].Start, rs[len(rs)-1].End, false), false)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "DRILL  VERDICT") || lines[6] != "4 drills: 1 passed, 1 deviated, 1 aborted, 2 not-run" {
		t.Errorf("summary:\n%s", b.String())
	}
	if !strings.Contains(lines[4], "not-run") || !strings.HasSuffix(lines[4], "requires root (running as uid 1000)") {
		t.Errorf("not-run line %q", lines[4])
	}
	b.Reset()
	WriteSummary(&b, NewJournal("t", rs[:1], 3, rs[0].Start, rs[0].End, false), false)
	if !strings.Contains(b.String(), "TTD p50 / p90 / max") || !strings.HasSuffix(b.String(), "1 drill × 3 runs: 1 passed\n") {
		t.Errorf("replay summary:\n%s", b.String())
	}
}
