package tracelint

import (
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// traceInfo is what checkGraph gathers about one trace.
type traceInfo struct {
	first   int // the trace's first span
	spans   int
	roots   []int // spans with no parent
	entries []int // spans whose parent is in another process, not in the input
	orphans []int // spans of the dictionary's scope whose parent is not in the input
}

// checkGraph checks every span's parent against the dictionary and every
// trace's roots, and returns the number of traces.
//
// A span whose parent is in another process (it joined the trace through
// TRACEPARENT) and whose dictionary entry allows "-" is an entry into the
// trace: its parent may be missing from the input when the trace's root is
// missing too (a CI job that started brain-run). When the root is in the
// input, a missing parent is a lost span: orphan-span. A trace with neither
// a root nor an entry never got a root: missing-root, once per trace.
func (l *linter) checkGraph() int {
	traces := map[pcommon.TraceID]*traceInfo{}
	var order []pcommon.TraceID
	for i := range l.nodes {
		n := &l.nodes[i]
		t := traces[n.key.trace]
		if t == nil {
			t = &traceInfo{first: i}
			traces[n.key.trace] = t
			order = append(order, n.key.trace)
		}
		t.spans++
		foreign := n.flags&fForeign != 0
		if n.flags&fHasParent == 0 {
			t.roots = append(t.roots, i)
			if !foreign {
				l.checkParent(i, "")
			}
			continue
		}
		if p, ok := l.parentOf(n); ok {
			if !foreign {
				l.checkParent(i, l.nameOf(&l.nodes[p]))
			}
			continue
		}
		switch {
		case foreign:
			t.entries = append(t.entries, i)
		case n.flags&fRemote != 0 && l.rootAllowed(n):
			t.entries = append(t.entries, i)
		default:
			t.orphans = append(t.orphans, i)
		}
	}
	for _, id := range order {
		t := traces[id]
		// The trace's findings, in the order they are found.
		nth := int64(0)
		add := func(f Finding) {
			f.key = findKey{phaseGraph, 1, l.ord(t.first), nth}
			nth++
			l.found.add(f)
		}
		l.lostEntries(t)
		if len(t.roots) > 1 {
			var names []string
			for _, r := range t.roots {
				names = append(names, l.nameOf(&l.nodes[r])+" "+spanHex(l.nodes[r].key.span))
			}
			add(l.spanFinding(RuleMultipleRoots, t.roots[1], "",
				fmt.Sprintf("trace %s has %d roots: %s", traceHex(id), len(t.roots), strings.Join(names, ", "))))
		}
		if len(t.roots)+len(t.entries) == 0 {
			l.missingRoot(id, t, add)
			continue
		}
		for _, o := range t.orphans {
			add(l.spanFinding(RuleOrphanSpan, o, "", fmt.Sprintf("parent %s is not in the input", spanHex(l.nodes[o].parent))))
		}
		if len(t.roots) > 0 {
			for _, e := range t.entries {
				if l.nodes[e].flags&fForeign == 0 {
					add(l.spanFinding(RuleOrphanSpan, e, "",
						fmt.Sprintf("parent %s (in another process) is not in the input, although the trace's root is", spanHex(l.nodes[e].parent))))
				}
			}
		}
	}
	return len(order)
}

// lostEntries moves to t.orphans the entry spans whose missing parent is
// also the parent of an orphan: that parent has local children in the
// input, so it is a lost span of the input, not another process's (as when
// a nested brain-run's spans are in the input but the outer one's root is
// not).
func (l *linter) lostEntries(t *traceInfo) {
	if len(t.orphans) == 0 || len(t.entries) == 0 {
		return
	}
	lost := map[pcommon.SpanID]bool{}
	for _, o := range t.orphans {
		lost[l.nodes[o].parent] = true
	}
	kept := t.entries[:0]
	for _, e := range t.entries {
		if lost[l.nodes[e].parent] && l.nodes[e].flags&fForeign == 0 {
			t.orphans = append(t.orphans, e)
		} else {
			kept = append(kept, e)
		}
	}
	t.entries = kept
	sort.Ints(t.orphans)
}

// missingRoot reports a trace without a root, at its first span whose
// parent is missing, naming the missing parents.
func (l *linter) missingRoot(id pcommon.TraceID, t *traceInfo, add func(Finding)) {
	if len(t.orphans) == 0 {
		// Every span has its parent in the input, and none is a root:
		// the parents form a cycle. Report at the trace's first span.
		add(l.spanFinding(RuleMissingRoot, t.first, "", fmt.Sprintf("trace %s: %d spans and no root: their parents form a cycle", traceHex(id), t.spans)))
		return
	}
	missing := map[pcommon.SpanID]bool{}
	var ids []string
	for _, o := range t.orphans {
		p := l.nodes[o].parent
		if !missing[p] {
			missing[p] = true
			ids = append(ids, spanHex(p))
		}
	}
	if len(ids) > 3 {
		ids = append(ids[:3], "…")
	}
	add(l.spanFinding(RuleMissingRoot, t.orphans[0], "",
		fmt.Sprintf("trace %s never got a root: %d %s, hanging from %s not in the input (%s); the process that owned the root may have died before writing it",
			traceHex(id), t.spans, plural(t.spans, "span"), countOf(len(missing), "parent"), strings.Join(ids, ", "))))
}

// checkParent reports node i if the dictionary does not allow its parent
// (parent is the parent's name, "" for none).
func (l *linter) checkParent(i int, parent string) {
	n := &l.nodes[i]
	if v, ok := l.dict.CheckParent(l.nameOf(n), parent, n.flags&fRemote != 0); ok {
		f := l.spanFinding(v.Rule, i, "", v.Detail)
		f.key = findKey{phaseGraph, 0, l.ord(i)}
		l.found.add(f)
	}
}

// rootAllowed reports whether n's dictionary entry lets it have no parent
// in the input ("-").
func (l *linter) rootAllowed(n *node) bool {
	spec := l.names[n.name].spec
	if spec == nil {
		return false
	}
	for _, p := range spec.Parents {
		if p == "-" {
			return true
		}
	}
	return false
}

func spanHex(id pcommon.SpanID) string   { return fmt.Sprintf("%x", id[:]) }
func traceHex(id pcommon.TraceID) string { return fmt.Sprintf("%x", id[:]) }

// countOf returns "1 parent", "2 parents".
func countOf(n int, word string) string { return fmt.Sprintf("%d %s", n, plural(n, word)) }
