// Package spandict reads the span dictionary (golden/spans.yaml) and checks
// spans against it: names, kinds, parents and attributes with their types.
// The code's tests use it, and brain-trace-lint builds its rules on it.
package spandict

import (
	"bytes"
	"fmt"
	"slices"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/brain-dev/brain/golden"
)

// Dict is the span dictionary.
type Dict struct {
	Version      int               `yaml:"version"`
	Deprecated   map[string]string `yaml:"deprecated"`
	OptInContent []string          `yaml:"opt_in_content"`
	Spans        map[string]*Span  `yaml:"spans"`
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

// SpanView is what a check needs of a span. Attribute values are string,
// int64, float64, bool or []any (as pcommon.Value.AsRaw returns them).
type SpanView struct {
	Name       string
	Kind       string // lowercase: internal, client, ...
	Parent     string // the parent span's name; "" when it has no parent in the input
	Error      bool   // status is error
	Attributes map[string]any
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

// Check checks one span and returns its violations, sorted.
func (d *Dict) Check(s SpanView) []Violation {
	var out []Violation
	add := func(rule, attr, format string, args ...any) {
		out = append(out, Violation{Rule: rule, Span: s.Name, Attr: attr, Detail: fmt.Sprintf(format, args...)})
	}
	spec, ok := d.Spans[s.Name]
	if !ok {
		add("unknown-span", "", "not in the span dictionary")
		return out
	}
	if s.Kind != spec.Kind {
		add("wrong-kind", "", "kind %s, want %s", s.Kind, spec.Kind)
	}
	parent := s.Parent
	if parent == "" {
		parent = "-"
	}
	if !slices.Contains(spec.Parents, parent) {
		add("bad-parent", "", "parent %s is not one of %v", parent, spec.Parents)
	}
	for k, a := range spec.Attributes.Required {
		v, ok := s.Attributes[k]
		if !ok {
			add("missing-attribute", k, "required %s attribute is missing", a.Type)
			continue
		}
		checkValue(add, k, a, v)
	}
	for k, v := range s.Attributes {
		if msg, ok := d.Deprecated[k]; ok {
			add("deprecated-attribute", k, "deprecated: %s", msg)
		}
		if slices.Contains(d.OptInContent, k) {
			add("opt-in-content", k, "opt-in content attribute on a span")
		}
		if a, ok := spec.Attributes.Conditional[k]; ok {
			checkValue(add, k, a, v)
		}
	}
	if s.Error {
		if _, ok := s.Attributes["error.type"]; !ok {
			add("error-without-type", "error.type", "status is error but error.type is missing")
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rule != out[j].Rule {
			return out[i].Rule < out[j].Rule
		}
		return out[i].Attr < out[j].Attr
	})
	return out
}

func checkValue(add func(rule, attr, format string, args ...any), k string, a Attr, v any) {
	if !hasType(v, a.Type) {
		add("attribute-type", k, "value %v (%T), want %s", v, v, a.Type)
		return
	}
	if len(a.Enum) > 0 {
		if s, ok := v.(string); ok && !slices.Contains(a.Enum, s) {
			add("attribute-enum", k, "value %q is not one of %v", s, a.Enum)
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
