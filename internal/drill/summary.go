package drill

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fatih/color"
)

// FormatDuration writes d as the summary does: milliseconds below a
// second ("412ms"), else seconds with two decimals ("1.31s").
func FormatDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func msDuration(p *int64) string {
	if p == nil {
		return "-"
	}
	return FormatDuration(time.Duration(*p) * time.Millisecond)
}

// paint colours s for verdict v when colour is on.
func paint(on bool, v Verdict, s string) string {
	if !on {
		return s
	}
	attr := color.FgYellow
	switch v {
	case Passed:
		attr = color.FgGreen
	case Deviated, Aborted:
		attr = color.FgRed
	}
	c := color.New(attr, color.Bold)
	c.EnableColor()
	return c.Sprint(s)
}

// WriteSummary writes the summary table of j: with one run per drill, one
// line per drill with its verdict, TTD, TTR and limits; with --replay, one
// line per drill with its runs, passes and the p50 / p90 / max of TTD and
// TTR. A last line counts the runs by verdict. colour paints verdicts.
func WriteSummary(w io.Writer, j *Journal, colour bool) {
	if j.Replay > 1 {
		writeReplaySummary(w, j, colour)
	} else {
		rows := [][]string{{"DRILL", "VERDICT", "TTD", "TTR", "LIMITS", ""}}
		verdicts := []Verdict{""}
		for _, d := range j.Drills {
			note := ""
			if d.Verdict != Passed && len(d.Reasons) > 0 {
				note = d.Reasons[0].Message
			}
			rows = append(rows, []string{d.ID, string(d.Verdict), msDuration(d.TTDMS), msDuration(d.TTRMS),
				limits(d.DetectWithinMS, d.RecoverWithinMS), note})
			verdicts = append(verdicts, d.Verdict)
		}
		writeTable(w, rows, []bool{false, false, true, true, false, false}, 1, verdicts, colour)
	}
	fmt.Fprintln(w, countLine(j, colour))
}

func writeReplaySummary(w io.Writer, j *Journal, colour bool) {
	rows := [][]string{{"DRILL", "RUNS", "PASSED", "TTD p50 / p90 / max", "TTR p50 / p90 / max", "LIMITS", ""}}
	verdicts := []Verdict{""}
	for _, st := range j.Stats {
		worst := Passed
		note := ""
		for _, d := range j.Drills {
			if d.ID == st.ID && rank(d.Verdict) > rank(worst) {
				worst = d.Verdict
				if len(d.Reasons) > 0 {
					note = fmt.Sprintf("run %d: %s", d.Run, d.Reasons[0].Message)
				}
			}
		}
		rows = append(rows, []string{st.ID, fmt.Sprint(st.Runs), fmt.Sprint(st.Verdicts[Passed]), dist(st.TTD), dist(st.TTR),
			limits(st.DetectWithinMS, st.RecoverWithinMS), note})
		verdicts = append(verdicts, worst)
	}
	writeTable(w, rows, []bool{false, true, true, true, true, false, false}, 2, verdicts, colour)
}

func dist(d Dist) string {
	if d.N == 0 {
		return "-"
	}
	return msDuration(d.P50) + " / " + msDuration(d.P90) + " / " + msDuration(d.Max)
}

func limits(detect, recover int64) string {
	return FormatLimit(detect) + " / " + FormatLimit(recover)
}

// FormatLimit writes a limit in milliseconds as a Go duration, without
// zero trailing units ("2s", "15m", "1h").
func FormatLimit(ms int64) string {
	s := (time.Duration(ms) * time.Millisecond).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// writeTable writes rows in columns two spaces apart, right-aligning the
// columns right marks; the cell in column painted of each row is coloured
// by that row's verdict. The last column is not padded.
func writeTable(w io.Writer, rows [][]string, right []bool, painted int, verdicts []Verdict, colour bool) {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for ri, r := range rows {
		var b strings.Builder
		for i, c := range r {
			last := i == len(r)-1
			if last && c == "" {
				break
			}
			if i > 0 {
				b.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-len(c))
			cell := c
			if ri > 0 && i == painted {
				cell = paint(colour, verdicts[ri], c)
			}
			switch {
			case right[i]:
				b.WriteString(pad + cell)
			case last:
				b.WriteString(cell)
			default:
				b.WriteString(cell + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// countLine is the summary's last line: "9 drills: 8 passed, 1 not-run".
func countLine(j *Journal, colour bool) string {
	s := j.Summary
	var parts []string
	for _, v := range Verdicts {
		if n := s.Count(v); n > 0 || v == Passed {
			parts = append(parts, paint(colour, v, fmt.Sprintf("%d %s", n, v)))
		}
	}
	what := plural(len(j.Stats), "drill")
	if j.Replay > 1 {
		what = fmt.Sprintf("%s × %d runs", what, j.Replay)
	}
	return fmt.Sprintf("%s: %s", what, strings.Join(parts, ", "))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
