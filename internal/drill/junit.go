package drill

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// The JUnit report brain-drill run --junit writes: one testsuite, one
// testcase per run of a drill. passed is a pass; deviated a <failure>;
// aborted and interrupted an <error>; not-run <skipped> (never a pass).
// The testsuite's counts are the summary's.

type junitSuites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	junitCounts
	Suites []junitSet `xml:"testsuite"`
}

// junitCounts are the attributes testsuites and testsuite share.
type junitCounts struct {
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
	Time     string `xml:"time,attr"`
}

type junitSet struct {
	Name string `xml:"name,attr"`
	junitCounts
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnit returns the JUnit XML report of the journal's runs.
func JUnit(j *Journal) []byte {
	start, _ := time.Parse(time.RFC3339Nano, j.Started)
	end, _ := time.Parse(time.RFC3339Nano, j.Ended)
	s := j.Summary
	counts := junitCounts{Tests: s.Runs, Failures: s.Deviated, Errors: s.Aborted + s.Interrupted, Skipped: s.NotRun, Time: seconds(end.Sub(start))}
	set := junitSet{Name: "brain-drill", junitCounts: counts, Timestamp: start.UTC().Format("2006-01-02T15:04:05")}
	for _, kv := range [][2]string{{"tool", j.Tool}, {"session", j.Session}, {"trace_id", j.TraceID}, {"audit_chain", j.AuditChain}} {
		if kv[1] != "" {
			set.Properties = append(set.Properties, junitProperty{Name: kv[0], Value: kv[1]})
		}
	}
	for _, d := range j.Drills {
		ds, _ := time.Parse(time.RFC3339Nano, d.Start)
		de, _ := time.Parse(time.RFC3339Nano, d.End)
		name := d.ID
		if j.Replay > 1 {
			name = fmt.Sprintf("%s (run %d of %d)", d.ID, d.Run, j.Replay)
		}
		c := junitCase{Classname: "drills." + d.ID, Name: name, File: d.File, Time: seconds(de.Sub(ds))}
		msg, text := string(d.Verdict), reasonsText(d)
		if len(d.Reasons) > 0 {
			msg += ": " + d.Reasons[0].Message
		}
		p := &junitProblem{Message: msg, Type: string(d.Verdict), Text: text}
		switch d.Verdict {
		case Deviated:
			c.Failure = p
		case Aborted, Interrupted:
			c.Error = p
		case NotRun:
			c.Skipped = &junitProblem{Message: msg, Text: text}
		}
		c.SystemOut = timesText(d)
		set.Cases = append(set.Cases, c)
	}
	suites := junitSuites{Name: "brain-drill", junitCounts: counts, Suites: []junitSet{set}}
	b, err := xml.MarshalIndent(suites, "", "  ")
	if err != nil {
		panic("drill: junit: " + err.Error()) // only plain types: cannot fail
	}
	return append(append([]byte(xml.Header), b...), '\n')
}

// reasonsText lists a run's reasons and the output of its failed blocks.
func reasonsText(d JournalDrill) string {
	var b strings.Builder
	for _, r := range d.Reasons {
		fmt.Fprintf(&b, "%s: %s\n", r.Code, r.Message)
	}
	for _, bl := range d.Blocks {
		if bl.ExitCode == 0 && !bl.TimedOut && !bl.Interrupted && bl.Error == "" {
			continue
		}
		fmt.Fprintf(&b, "\n--- %s step %s (%s:%d), round %d: exit %d", bl.Phase, bl.Name, d.File, bl.Line, bl.Round, bl.ExitCode)
		if bl.Stopped != "" {
			b.WriteString(", " + bl.Stopped)
		}
		b.WriteString("\n" + bl.OutputTail)
	}
	return b.String()
}

func timesText(d JournalDrill) string {
	f := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return (time.Duration(*p) * time.Millisecond).String()
	}
	return fmt.Sprintf("verdict %s; TTD %s (detect_within %s); TTR %s (recover_within %s)\n", d.Verdict,
		f(d.TTDMS), time.Duration(d.DetectWithinMS)*time.Millisecond, f(d.TTRMS), time.Duration(d.RecoverWithinMS)*time.Millisecond)
}

func seconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%.3f", d.Seconds())
}
