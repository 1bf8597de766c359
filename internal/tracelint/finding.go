package tracelint

import (
	"fmt"
	"sort"
	"strings"
)

// Finding is one violation of a rule.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// File and Line locate the span (or audit record) the finding is
	// about; Line is 0 for a finding about a whole input.
	File    string `json:"file,omitempty"`
	Line    int64  `json:"line,omitempty"`
	TraceID string `json:"trace_id,omitempty"`
	SpanID  string `json:"span_id,omitempty"`
	Span    string `json:"span,omitempty"` // the span's name
	Attr    string `json:"attribute,omitempty"`
	Message string `json:"message"`

	file int // index of the input, for ordering; -1 for other files
	span int // index of the span while linting; -1 for none
}

// String formats the finding as the text output prints it:
//
//	FILE:LINE: SEVERITY RULE: span NAME SPANID: attribute A: MESSAGE
func (f Finding) String() string {
	var b strings.Builder
	if f.File != "" {
		b.WriteString(f.File)
		if f.Line > 0 {
			fmt.Fprintf(&b, ":%d", f.Line)
		}
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s %s: ", f.Severity, f.Rule)
	b.WriteString(f.subject())
	b.WriteString(f.Message)
	return b.String()
}

// subject names what the finding is about: "span NAME ID: attribute A: ".
func (f Finding) subject() string {
	var b strings.Builder
	if f.Span != "" {
		fmt.Fprintf(&b, "span %s", f.Span)
		if f.SpanID != "" {
			fmt.Fprintf(&b, " %s", f.SpanID)
		}
		b.WriteString(": ")
	}
	if f.Attr != "" {
		fmt.Fprintf(&b, "attribute %s: ", f.Attr)
	}
	return b.String()
}

// RuleCount counts a rule's findings by the severity they ended up with.
type RuleCount struct {
	Errors     int `json:"errors,omitempty"`
	Warnings   int `json:"warnings,omitempty"`
	Suppressed int `json:"suppressed,omitempty"`
	// Unlisted are the findings over --max-findings, counted but not kept.
	Unlisted int `json:"unlisted,omitempty"`
}

// findings keeps at most max findings per rule (so that memory stays
// bounded when every span of a big input breaks the same rule) and counts
// them all.
type findings struct {
	max    int
	cfg    *Config
	list   []Finding
	counts map[string]*RuleCount
}

func newFindings(max int, cfg *Config) *findings {
	return &findings{max: max, cfg: cfg, counts: map[string]*RuleCount{}}
}

func (fs *findings) count(rule string) *RuleCount {
	c := fs.counts[rule]
	if c == nil {
		c = &RuleCount{}
		fs.counts[rule] = c
	}
	return c
}

// add records f, whose Severity is already the configured one.
func (fs *findings) add(f Finding) {
	c := fs.count(f.Rule)
	switch f.Severity {
	case Off:
		c.Suppressed++
		return
	case Warning:
		c.Warnings++
	default:
		c.Errors++
	}
	if fs.max > 0 && c.Errors+c.Warnings > fs.max {
		c.Unlisted++
		return
	}
	fs.list = append(fs.list, f)
}

// raise records a finding of rule at its configured severity.
func (fs *findings) raise(f Finding) {
	r, _ := ruleByID(f.Rule)
	f.Severity = fs.cfg.Severity(f.Rule, f.Span, f.Attr, r.Severity)
	fs.add(f)
}

// sorted returns the findings in input order: by input, line, then rule.
func (fs *findings) sorted() []Finding {
	out := append([]Finding(nil), fs.list...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.file != b.file {
			// Inputs first, in order; then other files (the audit chain).
			if a.file < 0 || b.file < 0 {
				return b.file < 0 && a.file >= 0
			}
			return a.file < b.file
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return out
}

// totals sums the counts over every rule.
func (fs *findings) totals() RuleCount {
	var t RuleCount
	for _, c := range fs.counts {
		t.Errors += c.Errors
		t.Warnings += c.Warnings
		t.Suppressed += c.Suppressed
		t.Unlisted += c.Unlisted
	}
	return t
}
