package tracelint

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/internal/spandict"
)

func TestConfigParseStrict(t *testing.T) {
	for _, bad := range []string{
		"",
		"version: 2\nrules: []\n",
		"version: 1\nrules: [{rule: no-such-rule, severity: off, reason: x}]\n",
		"version: 1\nrules: [{rule: secret, severity: maybe, reason: x}]\n",
		"version: 1\nrules: [{rule: secret, severity: off}]\n",
		"version: 1\nrules: [{severity: off, reason: x}]\n",
		"version: 1\nrules: [{rule: secret, span: '[', severity: off, reason: x}]\n",
		"version: 1\nrules: [{rule: secret, severity: off, reason: x, colour: red}]\n",
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%q) succeeded", bad)
		}
	}
}

func TestConfigSeverity(t *testing.T) {
	c, err := ParseConfig([]byte(`version: 1
rules:
  - rule: "*"
    span: "llm_provider.*"
    severity: warning
    reason: the LLM spans are new
  - rule: deprecated-attribute
    attribute: gen_ai.system
    severity: "off"
    reason: the SDK still sets it
  - rule: missing-attribute
    span: llm_provider.chat
    severity: error
    reason: but required attributes stay errors
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		rule, span, attr string
		want             Severity
	}{
		{"wrong-kind", "llm_provider.chat", "", Warning},
		{"wrong-kind", "brain_cli.command", "", Error},
		{"deprecated-attribute", "llm_provider.chat", "gen_ai.system", Off},
		{"deprecated-attribute", "llm_provider.chat", "gen_ai.prompt", Warning},
		{"missing-attribute", "llm_provider.chat", "gen_ai.request.model", Error},
		{"duplicate-span", "sketch.generate_context", "", Warning},
	} {
		def, _ := ruleByID(tt.rule)
		if got := c.Severity(tt.rule, tt.span, tt.attr, def.Severity); got != tt.want {
			t.Errorf("Severity(%s, %s, %s) = %v, want %v", tt.rule, tt.span, tt.attr, got, tt.want)
		}
	}
}

// TestConfigApplied: a suppressed rule's findings are counted, not listed,
// and do not fail the lint; a downgraded one is listed as a warning.
func TestConfigApplied(t *testing.T) {
	res := lintBroken(t, "version: 1\nrules:\n  - {rule: unknown-span, span: made.*, severity: \"off\", reason: being renamed}\n  - {rule: deprecated-attribute, severity: warning, reason: adopting}\n")
	if !res.OK() || res.Totals.Suppressed != 1 || res.Totals.Warnings != 1 || len(res.Findings) != 1 || res.Findings[0].Severity != Warning {
		t.Fatalf("ok %v, totals %+v, findings %v; want one warning and one suppressed", res.OK(), res.Totals, res.Findings)
	}
}

// TestRulesDocumented: docs/trace-lint.md's rules table lists every rule,
// with its default severity, in the order of Rules; every rule id the span
// dictionary's checker emits is a rule.
func TestRulesDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/trace-lint.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	row := regexp.MustCompile("^\\| `([a-z-]+)` \\| (error|warning) \\|")
	for _, line := range strings.Split(string(b), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			got = append(got, m[1]+" "+m[2])
		}
	}
	var want []string
	for _, r := range Rules {
		want = append(want, r.ID+" "+r.Severity.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("docs/trace-lint.md rules table (-Rules +doc):\n%s", diff)
	}
	for _, id := range []string{spandict.RuleUnknownSpan, spandict.RuleWrongKind, spandict.RuleBadParent, spandict.RuleMissingAttribute,
		spandict.RuleAttributeType, spandict.RuleAttributeEnum, spandict.RuleDeprecatedAttribute, spandict.RuleOptInContent, spandict.RuleErrorWithoutType} {
		if _, ok := ruleByID(id); !ok {
			t.Errorf("spandict's %s is not a rule", id)
		}
	}
}
