package tracelint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"

	"go.yaml.in/yaml/v3"
)

// Config is a brain-trace-lint config file: severity overrides and
// suppressions by rule id, span name and attribute, so a team can adopt the
// linter gradually. The format is in docs/trace-lint.md:
//
//	version: 1
//	rules:
//	  - rule: deprecated-attribute   # a rule id, or * for every rule
//	    span: llm_provider.chat      # optional: a span name; * and ? match
//	    attribute: gen_ai.system     # optional: an attribute name; * and ? match
//	    severity: warning            # error, warning or off
//	    reason: the SDK still sets it, see #123
//
// The last entry that matches a finding decides its severity.
type Config struct {
	Version int        `yaml:"version"`
	Rules   []Override `yaml:"rules"`

	sev []Severity // Rules[i]'s parsed severity
}

// Override is one entry of a Config.
type Override struct {
	Rule      string `yaml:"rule"`
	Span      string `yaml:"span"`
	Attribute string `yaml:"attribute"`
	Severity  string `yaml:"severity"`
	Reason    string `yaml:"reason"`
}

// ParseConfig parses and checks a config file. Unknown fields, unknown rule
// ids, bad patterns, bad severities and entries without a reason are errors:
// a typo must not silently switch a rule off.
func ParseConfig(b []byte) (*Config, error) {
	var c Config
	if err := decodeStrict(b, &c, &c.Version, "config"); err != nil {
		return nil, err
	}
	for i, o := range c.Rules {
		where := fmt.Sprintf("rules[%d]", i)
		if o.Rule == "" {
			return nil, fmt.Errorf("%s: no rule (a rule id, or *)", where)
		}
		if _, ok := ruleByID(o.Rule); !ok && o.Rule != "*" {
			return nil, fmt.Errorf("%s: unknown rule %q (brain-trace-lint rules lists them)", where, o.Rule)
		}
		for _, p := range []string{o.Span, o.Attribute} {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("%s: bad pattern %q", where, p)
			}
		}
		s, err := ParseSeverity(o.Severity)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		if o.Reason == "" {
			return nil, fmt.Errorf("%s: no reason: say why the rule is relaxed, for whoever reads the config next", where)
		}
		c.sev = append(c.sev, s)
	}
	return &c, nil
}

// Severity returns the severity of a finding of rule on span (a span name,
// "" when the finding concerns no span) and attr ("" for none): the last
// matching entry's, else def.
func (c *Config) Severity(rule, span, attr string, def Severity) Severity {
	if c == nil {
		return def
	}
	s := def
	for i, o := range c.Rules {
		if (o.Rule == "*" || o.Rule == rule) && match(o.Span, span) && match(o.Attribute, attr) {
			s = c.sev[i]
		}
	}
	return s
}

func match(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// decodeStrict decodes the YAML document b into v, whose unknown fields are
// errors, and checks that *version is 1 (what names the document in the
// error for an empty one).
func decodeStrict(b []byte, v any, version *int, what string) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty " + what)
		}
		return err
	}
	if *version != 1 {
		return fmt.Errorf("version %d, this build reads version 1", *version)
	}
	return nil
}
