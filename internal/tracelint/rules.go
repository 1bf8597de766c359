// Package tracelint is brain-trace-lint: it lints recorded spans (OTLP JSON
// lines, as brain-run and the OpenTelemetry Collector's file exporter write
// them) against the span dictionary, an audit chain and a golden scenario's
// expectations, and draws a trace as a waterfall.
//
// The rules, the config file, the scenario expectation format and the
// output formats are described in docs/trace-lint.md.
package tracelint

import (
	"fmt"
	"strings"

	"github.com/brain-dev/brain/internal/spandict"
)

// Severity is how much a finding weighs: an error fails the lint, a warning
// is reported only, and off suppresses it.
type Severity int8

// Severities, from least to most severe.
const (
	Off Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Off:
		return "off"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// ParseSeverity parses "error", "warning" or "off".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "error":
		return Error, nil
	case "warning":
		return Warning, nil
	case "off":
		return Off, nil
	}
	return Off, fmt.Errorf("severity %q is not error, warning or off", s)
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Rule ids that are not the span dictionary's own (spandict.Rule*).
const (
	RuleMalformedLine     = "malformed-line"
	RuleNoSpans           = "no-spans"
	RuleDuplicateSpan     = "duplicate-span"
	RuleOrphanSpan        = "orphan-span"
	RuleMultipleRoots     = "multiple-roots"
	RuleMissingRoot       = "missing-root"
	RuleSecret            = "secret"
	RuleAuditChain        = "audit-chain"
	RuleAuditUnknownSpan  = "audit-unknown-span"
	RuleAuditMissing      = "audit-missing"
	RuleAuditMismatch     = "audit-mismatch"
	RuleScenarioSpanCount = "scenario-span-count"
	RuleScenarioShape     = "scenario-shape"
	RuleScenarioAudit     = "scenario-audit"
)

// Rule describes one rule: its stable id, its default severity and what it
// checks.
type Rule struct {
	ID       string
	Severity Severity
	Summary  string
}

// Rules is every rule brain-trace-lint has, in the order docs/trace-lint.md
// lists them. Ids are stable: configs and CI reports name them.
var Rules = []Rule{
	{RuleMalformedLine, Error, "a line of the input is not an OTLP JSON traces object"},
	{RuleNoSpans, Error, "the input holds no span at all"},
	{spandict.RuleUnknownSpan, Error, "the span's name is not in the span dictionary"},
	{spandict.RuleWrongKind, Error, "the span's kind is not the dictionary's"},
	{spandict.RuleBadParent, Error, "the span's parent is not one the dictionary allows (or the span is a root and may not be)"},
	{spandict.RuleMissingAttribute, Error, "a required attribute is missing"},
	{spandict.RuleAttributeType, Error, "an attribute has the wrong type"},
	{spandict.RuleAttributeEnum, Error, "an attribute's value is not one of the dictionary's values"},
	{spandict.RuleDeprecatedAttribute, Error, "a deprecated attribute (gen_ai.system, gen_ai.prompt, ...) is present"},
	{spandict.RuleOptInContent, Error, "an opt-in content attribute (gen_ai.input.messages, ...) is present but the command did not run with --dev-log-unsafe-io"},
	{spandict.RuleErrorWithoutType, Error, "the span's status is error but it has no error.type"},
	{RuleDuplicateSpan, Warning, "the same span (trace id and span id) appears twice: a re-sent batch or a file read twice"},
	{RuleOrphanSpan, Error, "the span's parent is not in the input, although its trace's root is"},
	{RuleMultipleRoots, Error, "the trace has more than one root span"},
	{RuleMissingRoot, Error, "the trace has spans but never got a root: its top spans hang from parents that are not in the input"},
	{RuleSecret, Error, "an attribute value (or status message) looks like a credential: an API key, a token, a private key"},
	{RuleAuditChain, Error, "--audit: the audit chain does not verify"},
	{RuleAuditUnknownSpan, Error, "--audit: an audit record's trace_id/span_id names no span in the input"},
	{RuleAuditMissing, Error, "--audit: a span the dictionary marks as mutating state has no audit record"},
	{RuleAuditMismatch, Error, "--audit: an audit_logger.write_event span names a record (audit.seq, audit.hash) the chain does not hold as described"},
	{RuleScenarioSpanCount, Error, "--scenario: the number of spans of a name differs from the expectation"},
	{RuleScenarioShape, Error, "--scenario: the span tree (names, parent edges, error status) differs from the expectation"},
	{RuleScenarioAudit, Error, "--scenario: the number of audit records of a type differs from the expectation"},
}

// ruleByID returns the rule with id, if there is one.
func ruleByID(id string) (Rule, bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
