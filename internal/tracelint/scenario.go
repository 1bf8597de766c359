package tracelint

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rogpeppe/go-internal/diff"
	"go.yaml.in/yaml/v3"

	"github.com/brain-dev/brain/internal/chainarg"
	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/spandict"
)

// ExpectFile is the name of a scenario's expectations in its directory.
const ExpectFile = "expect.yaml"

// expectHeader starts every expectations file.
const expectHeader = `# Golden expectations of this scenario, written by brain-trace-lint --update
# from a run of it: never edit by hand. Ids, timestamps and durations are not
# recorded. Format: docs/trace-lint.md.
`

// maxShapeDepth bounds how deep a span tree is followed when its shape is
// built; deeper spans are counted but not placed (no BRAIN trace is more
// than a handful of levels deep).
const maxShapeDepth = 200

// Expectation is a golden scenario's expected spans and audit records:
// how many spans of each name, the span tree's shape and the audit
// records of each type. See docs/trace-lint.md.
type Expectation struct {
	Version int            `yaml:"version"`
	Traces  int            `yaml:"traces"`
	Spans   map[string]int `yaml:"spans"`
	Audit   map[string]int `yaml:"audit,omitempty"`
	Tree    []*Shape       `yaml:"tree"`
}

// Shape is a node of the span tree's shape: a span name, whether the span's
// status is error, its children's shapes, and how many identical siblings
// it stands for (count, omitted when 1).
type Shape struct {
	Span     string   `yaml:"span"`
	Error    bool     `yaml:"error,omitempty"`
	Count    int      `yaml:"count,omitempty"`
	Children []*Shape `yaml:"children,omitempty"`
}

// Scenario is a golden scenario: a directory holding expect.yaml.
type Scenario struct {
	Name   string // the directory's name
	Path   string // the expectations file
	Expect *Expectation
	raw    []byte // the file as read; nil when it does not exist yet
}

// LoadScenario reads the scenario at path: a scenario directory or its
// expect.yaml. With create, a missing expect.yaml is not an error (--update
// will write it).
func LoadScenario(path string, create bool) (*Scenario, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &InputError{Name: path, Err: chainarg.Unwrap(err)}
	}
	sc := &Scenario{Path: path}
	if fi.IsDir() {
		sc.Path = filepath.Join(path, ExpectFile)
	}
	sc.Name = filepath.Base(filepath.Dir(sc.Path))
	b, err := fsutil.ReadFile(sc.Path, true)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		return sc, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, &InputError{Name: sc.Path, Err: errors.New("no such file"), Hint: "record the scenario's expectations with --update --audit CHAIN (see docs/trace-lint.md)"}
	case err != nil:
		return nil, &InputError{Name: sc.Path, Err: chainarg.Unwrap(err)}
	}
	e, err := ParseExpectation(b)
	if err != nil {
		return nil, &InputError{Name: sc.Path, Err: err}
	}
	sc.Expect, sc.raw = e, b
	return sc, nil
}

// ParseExpectation parses and checks an expectations file.
func ParseExpectation(b []byte) (*Expectation, error) {
	var e Expectation
	if err := decodeStrict(b, &e, &e.Version, "expectations"); err != nil {
		return nil, err
	}
	for _, m := range []map[string]int{e.Spans, e.Audit} {
		for k, n := range m {
			if n <= 0 {
				return nil, fmt.Errorf("%s: count %d, want a positive count", k, n)
			}
		}
	}
	var check func(s []*Shape) error
	check = func(s []*Shape) error {
		for _, n := range s {
			if n == nil || n.Span == "" {
				return errors.New("tree: a node without a span name")
			}
			if n.Count < 0 {
				return fmt.Errorf("tree: %s: count %d", n.Span, n.Count)
			}
			if err := check(n.Children); err != nil {
				return err
			}
		}
		return nil
	}
	if err := check(e.Tree); err != nil {
		return nil, err
	}
	return &e, nil
}

// Marshal returns the expectations file's bytes.
func (e *Expectation) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(expectHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(e); err != nil {
		panic("tracelint: encoding expectations: " + err.Error()) // plain types: cannot fail
	}
	enc.Close()
	return b.Bytes()
}

// Update writes actual as the scenario's expectations (atomically: a
// temporary file, synced, renamed) and returns the unified diff from the
// old file, nil when nothing changed.
func (sc *Scenario) Update(actual *Expectation) ([]byte, error) {
	nb := actual.Marshal()
	d := diff.Diff(sc.Path+" (old)", sc.raw, sc.Path, nb)
	if d == nil && sc.raw != nil {
		return nil, nil
	}
	if err := fsutil.WriteFileAtomic(sc.Path, nb, 0o644); err != nil {
		return nil, err
	}
	sc.raw, sc.Expect = nb, actual
	return d, nil
}

// expectation builds the expectations the input gives; traces is the
// number of traces.
func (l *linter) expectation(traces int) *Expectation {
	e := &Expectation{Version: 1, Traces: traces, Spans: map[string]int{}}
	children := make([][]int32, len(l.nodes))
	var tops []int32
	for i := range l.nodes {
		n := &l.nodes[i]
		e.Spans[l.nameOf(n)]++
		if p, ok := l.parentOf(n); ok {
			children[p] = append(children[p], int32(i))
		} else {
			tops = append(tops, int32(i))
		}
	}
	e.Tree, _ = l.group(tops, children, 0)
	if l.audit != nil {
		e.Audit = map[string]int{}
		for t, n := range l.audit.types {
			e.Audit[t] = n
		}
	}
	return e
}

// group returns the shapes of the spans ids, identical ones merged, in a
// canonical order, and the key that names their multiset.
func (l *linter) group(ids []int32, children [][]int32, depth int) ([]*Shape, string) {
	type g struct {
		key   string
		shape *Shape
	}
	byKey := map[string]*g{}
	for _, i := range ids {
		n := &l.nodes[i]
		s := &Shape{Span: l.nameOf(n), Error: n.flags&fError != 0}
		var ck string
		if depth < maxShapeDepth {
			s.Children, ck = l.group(children[i], children, depth+1)
		}
		key := s.Span
		if s.Error {
			key += "!"
		}
		key += "(" + ck + ")"
		if x := byKey[key]; x != nil {
			x.shape.Count++
			continue
		}
		s.Count = 1
		byKey[key] = &g{key, s}
	}
	gs := make([]*g, 0, len(byKey))
	for _, x := range byKey {
		gs = append(gs, x)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].key < gs[j].key })
	var out []*Shape
	var b strings.Builder
	for _, x := range gs {
		fmt.Fprintf(&b, "%d*%s,", x.shape.Count, x.key)
		if x.shape.Count == 1 {
			x.shape.Count = 0 // omitted in the file
		}
		out = append(out, x.shape)
	}
	return out, b.String()
}

// checkScenario compares the input's expectation with the scenario's.
func (l *linter) checkScenario(sc *Scenario, actual *Expectation) {
	want := sc.Expect
	if want == nil {
		return // --update will write it
	}
	raise := func(rule, span, msg string) {
		l.found.raise(Finding{Rule: rule, File: sc.Path, Span: span, Message: msg, file: -1, span: -1})
	}
	if actual.Traces != want.Traces {
		raise(RuleScenarioShape, "", fmt.Sprintf("%s in the input, %d expected", countOf(actual.Traces, "trace"), want.Traces))
	}
	for _, k := range unionKeys(want.Spans, actual.Spans) {
		if a, w := actual.Spans[k], want.Spans[k]; a != w {
			raise(RuleScenarioSpanCount, k, fmt.Sprintf("%d in the input, %d expected", a, w))
		}
	}
	if !sameShapes(want.Tree, actual.Tree) {
		wp, ap := map[string]int{}, map[string]int{}
		pathCounts(want.Tree, "", 1, wp)
		pathCounts(actual.Tree, "", 1, ap)
		n := 0
		for _, p := range unionKeys(wp, ap) {
			if a, w := ap[p], wp[p]; a != w {
				n++
				span := p[strings.LastIndex(p, "/")+1:]
				where := "with no parent in the input"
				if i := strings.LastIndex(p, "/"); i >= 0 {
					where = "under " + strings.ReplaceAll(p[:i], "/", " > ")
				}
				raise(RuleScenarioShape, strings.TrimSuffix(span, " (error)"), fmt.Sprintf("%s: %d in the input, %d expected", where+errorNote(span), a, w))
			}
		}
		if n == 0 {
			raise(RuleScenarioShape, "", "the spans are grouped under their parents differently than expected; --update shows the difference as a diff")
		}
	}
	if l.audit != nil {
		for _, k := range unionKeys(want.Audit, actual.Audit) {
			if a, w := actual.Audit[k], want.Audit[k]; a != w {
				raise(RuleScenarioAudit, "", fmt.Sprintf("%s: %d %s in the audit chain, %d expected", k, a, plural(a, "record"), w))
			}
		}
	}
}

func errorNote(span string) string {
	if strings.HasSuffix(span, " (error)") {
		return ", with status error"
	}
	return ""
}

// sameShapes reports whether two trees have the same shape.
func sameShapes(a, b []*Shape) bool {
	return bytes.Equal(shapeText(a), shapeText(b))
}

func shapeText(s []*Shape) []byte {
	b, err := yaml.Marshal(s)
	if err != nil {
		panic("tracelint: " + err.Error())
	}
	return b
}

// pathCounts adds, for every node of s, how many spans stand at its path
// (names from the root, "/"-separated; " (error)" marks error status).
func pathCounts(s []*Shape, prefix string, mult int, out map[string]int) {
	for _, n := range s {
		name := n.Span
		if n.Error {
			name += " (error)"
		}
		p := name
		if prefix != "" {
			p = prefix + "/" + name
		}
		c := mult * max(n.Count, 1)
		out[p] += c
		pathCounts(n.Children, p, c, out)
	}
}

func unionKeys(a, b map[string]int) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]int{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// ScenarioCoverage is a scenario's coverage figures: of the critical-path
// spans and audit records it expects, how many the input has (up to the
// expected count per name and type).
type ScenarioCoverage struct {
	Name             string `json:"name"`
	CriticalSeen     int    `json:"critical_path_seen"`
	CriticalExpected int    `json:"critical_path_expected"`
	AuditChecked     bool   `json:"audit_checked"`
	AuditSeen        int    `json:"audit_seen"`
	AuditExpected    int    `json:"audit_expected"`
}

func scenarioCoverage(sc *Scenario, actual *Expectation, d *spandict.Dict, audit bool) *ScenarioCoverage {
	c := &ScenarioCoverage{Name: sc.Name, AuditChecked: audit && sc.Expect != nil}
	want := sc.Expect
	if want == nil {
		return c
	}
	for name, w := range want.Spans {
		if s := d.Spans[name]; s != nil && s.CriticalPath {
			c.CriticalExpected += w
			c.CriticalSeen += min(actual.Spans[name], w)
		}
	}
	if c.AuditChecked {
		for t, w := range want.Audit {
			c.AuditExpected += w
			c.AuditSeen += min(actual.Audit[t], w)
		}
	}
	return c
}
