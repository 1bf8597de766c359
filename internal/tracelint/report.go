package tracelint

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/fatih/color"
)

// Formats WriteReport writes.
const (
	FormatText  = "text"
	FormatJSON  = "json"
	FormatJUnit = "junit"
)

// WriteReport writes res in format: coverage figures first, then the
// findings (and, for json and junit, a summary). Colour applies to text.
func WriteReport(w io.Writer, res *Result, format string, colour bool) error {
	switch format {
	case FormatText:
		return writeText(w, res, colour)
	case FormatJSON:
		return writeJSON(w, res)
	case FormatJUnit:
		return writeJUnit(w, res)
	}
	return fmt.Errorf("unknown format %q", format)
}

// CoverageLines are the coverage figures as text, one line each.
func CoverageLines(res *Result) []string {
	c := res.Coverage
	var crit []string
	for _, k := range sortedKeys(c.CriticalPath) {
		crit = append(crit, fmt.Sprintf("%s %d", k, c.CriticalPath[k]))
	}
	line := fmt.Sprintf("spans: %d in %s", res.Spans, countOf(res.Traces, "trace"))
	if len(crit) > 0 {
		line += "; critical path: " + strings.Join(crit, ", ")
	}
	lines := []string{line}
	if a := c.Audit; a != nil {
		lines = append(lines, fmt.Sprintf("audit: %s, %d naming a span of the input; mutating spans audited %s",
			countOf(a.Records, "record"), a.Linked, ratio(a.Audited, a.Mutating)))
	}
	if s := c.Scenario; s != nil {
		audit := "audit events not checked (no --audit)"
		if s.AuditChecked {
			audit = "audit events " + ratio(s.AuditSeen, s.AuditExpected)
		}
		lines = append(lines, fmt.Sprintf("scenario %s: critical-path spans %s, %s", s.Name, ratio(s.CriticalSeen, s.CriticalExpected), audit))
	}
	return lines
}

// ratio formats "seen/expected (percent)".
func ratio(seen, expected int) string {
	if expected == 0 {
		return fmt.Sprintf("%d/0", seen)
	}
	return fmt.Sprintf("%d/%d (%.1f%%)", seen, expected, 100*float64(seen)/float64(expected))
}

func writeText(w io.Writer, res *Result, colour bool) error {
	var b strings.Builder
	for _, l := range CoverageLines(res) {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, f := range res.Findings {
		s := f.String()
		if colour {
			sev := f.Severity.String()
			c := color.New(color.FgRed, color.Bold)
			if f.Severity == Warning {
				c = color.New(color.FgYellow, color.Bold)
			}
			c.EnableColor()
			s = strings.Replace(s, sev+" "+f.Rule, c.Sprint(sev)+" "+f.Rule, 1)
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is the last line of the json format.
type Summary struct {
	Kind       string                `json:"kind"`
	Result     string                `json:"result"`
	Errors     int                   `json:"errors"`
	Warnings   int                   `json:"warnings"`
	Suppressed int                   `json:"suppressed"`
	Unlisted   int                   `json:"unlisted"`
	Spans      int                   `json:"spans"`
	Traces     int                   `json:"traces"`
	Inputs     []InputStats          `json:"inputs"`
	Rules      map[string]*RuleCount `json:"rules"`
}

// Verdict is "PASS" or "FAIL".
func (r *Result) Verdict() string {
	if r.OK() {
		return "PASS"
	}
	return "FAIL"
}

func writeJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	type coverage struct {
		Kind   string `json:"kind"`
		Spans  int    `json:"spans"`
		Traces int    `json:"traces"`
		Coverage
	}
	if err := enc.Encode(coverage{"coverage", res.Spans, res.Traces, res.Coverage}); err != nil {
		return err
	}
	for _, f := range res.Findings {
		if err := enc.Encode(struct {
			Kind string `json:"kind"`
			Finding
		}{"finding", f}); err != nil {
			return err
		}
	}
	t := res.Totals
	return enc.Encode(Summary{Kind: "summary", Result: res.Verdict(), Errors: t.Errors, Warnings: t.Warnings, Suppressed: t.Suppressed,
		Unlisted: t.Unlisted, Spans: res.Spans, Traces: res.Traces, Inputs: res.Inputs, Rules: res.Counts})
}

// The JUnit XML elements (the schema Jenkins, GitLab and GitHub report
// actions read).
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Class     string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Failure   *junitFailure `xml:"failure,omitempty"`
		Skipped   *junitSkipped `xml:"skipped,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
)

// writeJUnit writes one test suite: a test case per coverage figure of the
// scenario and one per rule, failed when the rule has errors; warnings go to
// the case's output, and a rule whose every finding was suppressed is
// skipped.
func writeJUnit(w io.Writer, res *Result) error {
	name := "brain-trace-lint"
	if s := res.Coverage.Scenario; s != nil {
		name += ": " + s.Name
	}
	suite := junitSuite{Name: name}
	suite.Properties = append(suite.Properties, junitProperty{"spans", fmt.Sprint(res.Spans)}, junitProperty{"traces", fmt.Sprint(res.Traces)})
	for _, l := range CoverageLines(res) {
		k, v, _ := strings.Cut(l, ": ")
		suite.Properties = append(suite.Properties, junitProperty{"coverage." + strings.ReplaceAll(k, " ", "."), v})
	}
	if s := res.Coverage.Scenario; s != nil {
		add := func(what string, seen, expected int) {
			c := junitCase{Class: "brain-trace-lint.coverage", Name: fmt.Sprintf("%s %s: %s", s.Name, what, ratio(seen, expected))}
			if seen < expected {
				c.Failure = &junitFailure{Message: fmt.Sprintf("%d of %d %s", seen, expected, what), Type: "coverage"}
			}
			suite.Cases = append(suite.Cases, c)
		}
		add("critical-path spans", s.CriticalSeen, s.CriticalExpected)
		if s.AuditChecked {
			add("audit events", s.AuditSeen, s.AuditExpected)
		}
	}
	byRule := map[string][]Finding{}
	for _, f := range res.Findings {
		byRule[f.Rule] = append(byRule[f.Rule], f)
	}
	for _, r := range Rules {
		c := junitCase{Class: "brain-trace-lint.rules", Name: r.ID}
		cnt := res.Counts[r.ID]
		var errs, warns []string
		for _, f := range byRule[r.ID] {
			if f.Severity == Error {
				errs = append(errs, f.String())
			} else {
				warns = append(warns, f.String())
			}
		}
		switch {
		case cnt != nil && cnt.Errors > 0:
			text := strings.Join(errs, "\n")
			if cnt.Unlisted > 0 {
				text += fmt.Sprintf("\n(%d more not listed: --max-findings)", cnt.Unlisted)
			}
			c.Failure = &junitFailure{Message: fmt.Sprintf("%d %s: %s", cnt.Errors, plural(cnt.Errors, "error"), r.Summary), Type: r.ID, Text: text}
		case cnt != nil && cnt.Suppressed > 0 && cnt.Warnings == 0:
			c.Skipped = &junitSkipped{Message: fmt.Sprintf("%d suppressed by the config", cnt.Suppressed)}
		}
		if len(warns) > 0 {
			c.SystemOut = strings.Join(warns, "\n")
		}
		suite.Cases = append(suite.Cases, c)
	}
	for _, c := range suite.Cases {
		suite.Tests++
		if c.Failure != nil {
			suite.Failures++
		}
		if c.Skipped != nil {
			suite.Skipped++
		}
	}
	doc := junitSuites{Name: "brain-trace-lint", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
