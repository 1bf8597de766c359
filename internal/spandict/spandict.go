// Package spandict reads the span dictionary (golden/spans.yaml) and checks
// spans against it: names, kinds, parents and attributes with their types.
// The code's tests use it, and brain-trace-lint builds its rules on it. The
// dictionary's format is described in golden/spans.yaml's own comments and
// in docs/trace-lint.md.
package spandict

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/brain-dev/brain/golden"
	"github.com/brain-dev/brain/internal/names"
)

// Dict is the span dictionary.
type Dict struct {
	Version int `yaml:"version"`
	// Scope, when set, is the instrumentation scope whose spans the
	// dictionary describes: spans of that scope, or of a scope below it
	// (Scope + "/..."), are checked; others are another program's.
	Scope        string            `yaml:"scope"`
	Deprecated   map[string]string `yaml:"deprecated"`
	OptInContent []string          `yaml:"opt_in_content"`
	Spans        map[string]*Span  `yaml:"spans"`
	// ErrorTypes are the values error.type may take, with the exit code
	// of a command that ends with each (none for a span's only).
	ErrorTypes map[string]ErrorType `yaml:"error_types"`
}

// ErrorType is one error.type value: what it means, and the exit code of a
// command that ends with it (nil when only a span has it).
type ErrorType struct {
	Exit *int   `yaml:"exit"`
	Doc  string `yaml:"doc"`
}

// Span describes one span name.
type Span struct {
	Kind         string   `yaml:"kind"`
	Parents      []string `yaml:"parents"`
	CriticalPath bool     `yaml:"critical_path"`
	MutatesState bool     `yaml:"mutates_state"`
	Attributes   struct {
		Required    map[string]Attr `yaml:"required"`
		Conditional map[string]Attr `yaml:"conditional"`
	} `yaml:"attributes"`
}

// Attr describes one attribute: its type, allowed values, and when it is
// present (conditional attributes).
type Attr struct {
	Type string   `yaml:"type"`
	Enum []string `yaml:"enum"`
	When string   `yaml:"when"`
}

// UnmarshalYAML accepts `name: TYPE` as well as the full form.
func (a *Attr) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		a.Type = n.Value
		return nil
	}
	type plain Attr
	return n.Decode((*plain)(a))
}

var (
	kinds = []string{"internal", "server", "client", "producer", "consumer"}
	types = []string{"string", "int", "double", "bool", "string[]", "int[]"}
)

// Parse parses and checks a dictionary. Unknown fields, kinds and types are
// errors, so a typo never silently weakens a rule.
func Parse(b []byte) (*Dict, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var d Dict
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("spandict: %w", err)
	}
	if d.Version != 1 {
		return nil, fmt.Errorf("spandict: version %d, this build reads version 1", d.Version)
	}
	for name, et := range d.ErrorTypes {
		if et.Doc == "" {
			return nil, fmt.Errorf("spandict: error type %s: no doc", name)
		}
		if et.Exit != nil && (*et.Exit < 1 || *et.Exit > 255) {
			return nil, fmt.Errorf("spandict: error type %s: exit %d is not 1 to 255", name, *et.Exit)
		}
	}
	for name, s := range d.Spans {
		if !slices.Contains(kinds, s.Kind) {
			return nil, fmt.Errorf("spandict: span %s: unknown kind %q", name, s.Kind)
		}
		for _, p := range s.Parents {
			if _, ok := d.Spans[p]; !ok && p != "-" {
				return nil, fmt.Errorf("spandict: span %s: unknown parent %q", name, p)
			}
		}
		for _, m := range []map[string]Attr{s.Attributes.Required, s.Attributes.Conditional} {
			for k, a := range m {
				if !slices.Contains(types, a.Type) {
					return nil, fmt.Errorf("spandict: span %s: attribute %s: unknown type %q", name, k, a.Type)
				}
			}
		}
	}
	return &d, nil
}

// Default returns the dictionary embedded from golden/spans.yaml.
func Default() *Dict {
	d, err := Parse(golden.Spans)
	if err != nil {
		panic("spandict: embedded golden/spans.yaml: " + err.Error()) // a broken build, caught by the tests
	}
	return d
}

// The rule ids of the violations Check reports; brain-trace-lint reports
// them under the same ids.
const (
	RuleUnknownSpan         = "unknown-span"
	RuleWrongKind           = "wrong-kind"
	RuleBadParent           = "bad-parent"
	RuleMissingAttribute    = "missing-attribute"
	RuleAttributeType       = "attribute-type"
	RuleAttributeEnum       = "attribute-enum"
	RuleDeprecatedAttribute = "deprecated-attribute"
	RuleOptInContent        = "opt-in-content"
	RuleErrorWithoutType    = "error-without-type"
)

// Attributes is what a check reads of a span's attributes. Values are
// string, int64, float64, bool or []any, as pcommon.Value.AsRaw returns them.
type Attributes interface {
	// Get returns the value of key and whether the span has it.
	Get(key string) (any, bool)
	// Range calls fn for each attribute until fn returns false.
	Range(fn func(key string, v any) bool)
}

// MapAttrs is a map of attribute values as Attributes.
type MapAttrs map[string]any

// Get returns m[key].
func (m MapAttrs) Get(key string) (any, bool) { v, ok := m[key]; return v, ok }

// Range calls fn for each entry of m.
func (m MapAttrs) Range(fn func(key string, v any) bool) {
	for k, v := range m {
		if !fn(k, v) {
			return
		}
	}
}

// SpanView is what a check needs of a span.
type SpanView struct {
	Name   string
	Kind   string // lowercase: internal, client, ...
	Parent string // the parent span's name; "" when it has no parent in the input
	// ParentRemote says the parent is in another process (the span joined
	// its trace through TRACEPARENT); a "-" parent allows it.
	ParentRemote bool
	Error        bool // status is error
	Attributes   Attributes
}

// Violation is one way a span departs from the dictionary.
type Violation struct {
	Rule   string `json:"rule"`
	Span   string `json:"span"`
	Attr   string `json:"attribute,omitempty"`
	Detail string `json:"detail"`
}

func (v Violation) String() string {
	if v.Attr != "" {
		return fmt.Sprintf("%s: span %s: attribute %s: %s", v.Rule, v.Span, v.Attr, v.Detail)
	}
	return fmt.Sprintf("%s: span %s: %s", v.Rule, v.Span, v.Detail)
}

// Check checks one span and returns its violations, sorted: CheckSpan and
// CheckParent together.
func (d *Dict) Check(s SpanView) []Violation {
	out := d.CheckSpan(s)
	if v, ok := d.CheckParent(s.Name, s.Parent, s.ParentRemote); ok {
		out = append(out, v)
		sortViolations(out)
	}
	return out
}

// CheckParent checks that a span called name may have a parent called
// parent ("" for none); remote says the parent is in another process, which
// the dictionary's "-" allows like no parent. A name the dictionary does not
// know passes (CheckSpan reports it).
func (d *Dict) CheckParent(name, parent string, remote bool) (Violation, bool) {
	spec, ok := d.Spans[name]
	if !ok {
		return Violation{}, false
	}
	if parent == "" || remote && slices.Contains(spec.Parents, "-") {
		parent = "-"
	}
	if slices.Contains(spec.Parents, parent) {
		return Violation{}, false
	}
	return Violation{Rule: RuleBadParent, Span: name, Detail: fmt.Sprintf("parent %s is not one of %v", parent, spec.Parents)}, true
}

// CheckSpan checks one span on its own, all but its parent, and returns its
// violations, sorted.
func (d *Dict) CheckSpan(s SpanView) []Violation {
	var out []Violation
	add := func(rule, attr, format string, args ...any) {
		out = append(out, Violation{Rule: rule, Span: s.Name, Attr: attr, Detail: fmt.Sprintf(format, args...)})
	}
	attrs := s.Attributes
	if attrs == nil {
		attrs = MapAttrs(nil)
	}
	spec, ok := d.Spans[s.Name]
	if !ok {
		add(RuleUnknownSpan, "", "not in the span dictionary")
		return out
	}
	if s.Kind != spec.Kind {
		add(RuleWrongKind, "", "kind %s, want %s", s.Kind, spec.Kind)
	}
	for k, a := range spec.Attributes.Required {
		v, ok := attrs.Get(k)
		if !ok {
			add(RuleMissingAttribute, k, "required %s attribute is missing", a.Type)
			continue
		}
		checkValue(add, k, a, v)
	}
	hasErrorType := false
	attrs.Range(func(k string, v any) bool {
		if msg, ok := d.Deprecated[k]; ok {
			add(RuleDeprecatedAttribute, k, "deprecated: %s", msg)
		}
		if slices.Contains(d.OptInContent, k) {
			add(RuleOptInContent, k, "opt-in content attribute on a span")
		}
		if a, ok := spec.Attributes.Conditional[k]; ok {
			checkValue(add, k, a, v)
		}
		if k == names.AttrErrorType {
			hasErrorType = true
			if et, ok := v.(string); ok && d.ErrorTypes != nil {
				if _, known := d.ErrorTypes[et]; !known {
					add(RuleAttributeEnum, k, "value %q is not one of the dictionary's error_types", et)
				}
			}
		}
		return true
	})
	if s.Error && !hasErrorType {
		add(RuleErrorWithoutType, names.AttrErrorType, "status is error but error.type is missing")
	}
	sortViolations(out)
	return out
}

// InScope reports whether spans of the instrumentation scope named scope
// are the dictionary's to check.
func (d *Dict) InScope(scope string) bool {
	return d.Scope == "" || scope == d.Scope || strings.HasPrefix(scope, d.Scope+"/")
}

func sortViolations(out []Violation) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return out[i].Attr < out[j].Attr
	})
}

func checkValue(add func(rule, attr, format string, args ...any), k string, a Attr, v any) {
	if !hasType(v, a.Type) {
		add(RuleAttributeType, k, "value %v (%T), want %s", v, v, a.Type)
		return
	}
	if len(a.Enum) > 0 {
		if s, ok := v.(string); ok && !slices.Contains(a.Enum, s) {
			add(RuleAttributeEnum, k, "value %q is not one of %v", s, a.Enum)
		}
	}
}

func hasType(v any, t string) bool {
	switch t {
	case "string":
		_, ok := v.(string)
		return ok
	case "int":
		_, ok := v.(int64)
		return ok
	case "double":
		_, ok := v.(float64)
		return ok
	case "bool":
		_, ok := v.(bool)
		return ok
	case "string[]", "int[]":
		xs, ok := v.([]any)
		if !ok {
			return false
		}
		for _, x := range xs {
			if !hasType(x, t[:len(t)-2]) {
				return false
			}
		}
		return true
	}
	return false
}
