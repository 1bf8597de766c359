package tracelint

import (
	"container/heap"
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
	// key is the finding's place in the order the in-memory linter finds
	// them (findKey); zero until findings.add gives it the next place.
	key findKey
}

// findKey orders findings as the in-memory linter finds them: by phase
// (reading the audit chain, reading the spans, the graph, ...), then by
// the place of what the finding is about within the phase. Listing the
// first --max-findings of a rule by key lists the same findings whether
// the spans were linted in memory or partition by partition (spill.go).
type findKey [4]int64

// Phases of findKey.
const (
	phaseRead  int64 = iota + 1 // the audit chain, then the spans, in input order
	phaseGraph                  // parents and roots: [phaseGraph, 0, span] then [phaseGraph, 1, trace's first span, n]
	phaseOptIn                  // [phaseOptIn, the finding's key when read]
	phaseAudit                  // [phaseAudit, 0, record], [phaseAudit, 1, span], [phaseAudit, 2, span]
	phaseEnd                    // no-spans, the scenario
)

func (k findKey) less(o findKey) bool {
	for i := range k {
		if k[i] != o[i] {
			return k[i] < o[i]
		}
	}
	return false
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
//
// The findings listed of a rule are its first max by key: a finding given
// without a key takes the next place of the current phase, so that added
// in order they are the first max added (as in memory); added out of order
// (partition by partition) they are the same ones.
type findings struct {
	max    int
	cfg    *Config
	lists  map[string]*best[Finding]
	counts map[string]*RuleCount
	phase  int64
	next   int64
}

func newFindings(max int, cfg *Config) *findings {
	return &findings{max: max, cfg: cfg, lists: map[string]*best[Finding]{}, counts: map[string]*RuleCount{}}
}

// setPhase starts a phase of keys given by add.
func (fs *findings) setPhase(p int64) { fs.phase, fs.next = p, 0 }

// reserve returns the first of n consecutive keys of the current phase,
// for findings added later, possibly out of order.
func (fs *findings) reserve(n int) int64 {
	k := fs.next
	fs.next += int64(n)
	return k
}

// best keeps the max best of the items added (every one when max is 0 or
// less), before saying which of two is better, in a heap with the worst
// kept on top: a rule's listed findings, the traces a page holds.
type best[T any] struct {
	max    int
	items  []T
	before func(a, b *T) bool
}

func (h *best[T]) Len() int           { return len(h.items) }
func (h *best[T]) Less(i, j int) bool { return h.before(&h.items[j], &h.items[i]) }
func (h *best[T]) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *best[T]) Push(x any)         { h.items = append(h.items, x.(T)) }
func (h *best[T]) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// keeps reports whether x would be kept now.
func (h *best[T]) keeps(x *T) bool {
	return h.max <= 0 || len(h.items) < h.max || h.before(x, &h.items[0])
}

// add adds x, leaving out the worst item when there are more than max; it
// reports false when one was left out (x or another).
func (h *best[T]) add(x T) bool {
	if h.max <= 0 || len(h.items) < h.max {
		heap.Push(h, x)
		return true
	}
	if h.before(&x, &h.items[0]) {
		h.items[0] = x
		heap.Fix(h, 0)
	}
	return false
}

func (fs *findings) count(rule string) *RuleCount {
	c := fs.counts[rule]
	if c == nil {
		c = &RuleCount{}
		fs.counts[rule] = c
	}
	return c
}

// listed reports whether a finding of rule at key would be listed now (if
// not, add only counts it).
func (fs *findings) listed(rule string, key findKey) bool {
	h := fs.lists[rule]
	return h == nil || h.keeps(&Finding{key: key})
}

// add records f, whose Severity is already the configured one.
func (fs *findings) add(f Finding) {
	if f.key == (findKey{}) {
		f.key = findKey{fs.phase, fs.next}
		fs.next++
	}
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
	h := fs.lists[f.Rule]
	if h == nil {
		h = &best[Finding]{max: fs.max, before: func(a, b *Finding) bool { return a.key.less(b.key) }}
		fs.lists[f.Rule] = h
	}
	if !h.add(f) {
		c.Unlisted++
	}
}

// raise records a finding of rule at its configured severity.
func (fs *findings) raise(f Finding) {
	r, _ := ruleByID(f.Rule)
	f.Severity = fs.cfg.Severity(f.Rule, f.Span, f.Attr, r.Severity)
	fs.add(f)
}

// sorted returns the findings in input order: by input, line, then rule.
func (fs *findings) sorted() []Finding {
	var out []Finding
	for _, h := range fs.lists {
		out = append(out, h.items...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key.less(out[j].key) })
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
