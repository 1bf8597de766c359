package spandict

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheck(t *testing.T) {
	d := Default()
	llm := func(mod func(map[string]any)) MapAttrs {
		a := map[string]any{"brain.session_id": "s", "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
			"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": int64(3), "gen_ai.response.finish_reasons": []any{"stop"}}
		if mod != nil {
			mod(a)
		}
		return a
	}
	tests := []struct {
		name string
		span SpanView
		want []string // rule:attr
	}{
		{"clean", SpanView{Name: "llm_provider.chat", Kind: "client", Parent: "orchestrator.task_execution", Attributes: llm(nil)}, nil},
		{"unknown span", SpanView{Name: "made.up", Kind: "internal"}, []string{"unknown-span:"}},
		{"wrong kind", SpanView{Name: "llm_provider.chat", Kind: "internal", Parent: "orchestrator.task_execution", Attributes: llm(nil)}, []string{"wrong-kind:"}},
		{"bad parent", SpanView{Name: "llm_provider.chat", Kind: "client", Parent: "brain_cli.command", Attributes: llm(nil)}, []string{"bad-parent:"}},
		{"root not allowed", SpanView{Name: "llm_provider.chat", Kind: "client", Attributes: llm(nil)}, []string{"bad-parent:"}},
		{"missing", SpanView{Name: "llm_provider.chat", Kind: "client", Parent: "orchestrator.task_execution",
			Attributes: llm(func(a map[string]any) { delete(a, "gen_ai.request.model") })}, []string{"missing-attribute:gen_ai.request.model"}},
		{"type", SpanView{Name: "llm_provider.chat", Kind: "client", Parent: "orchestrator.task_execution",
			Attributes: llm(func(a map[string]any) { a["gen_ai.usage.input_tokens"] = "3" })}, []string{"attribute-type:gen_ai.usage.input_tokens"}},
		{"slice type", SpanView{Name: "llm_provider.chat", Kind: "client", Parent: "orchestrator.task_execution",
			Attributes: llm(func(a map[string]any) { a["gen_ai.response.finish_reasons"] = []any{int64(1)} })}, []string{"attribute-type:gen_ai.response.finish_reasons"}},
		{"enum", SpanView{Name: "llm_provider.chat", Kind: "client", Parent: "orchestrator.task_execution",
			Attributes: llm(func(a map[string]any) { a["gen_ai.provider.name"] = "acme" })}, []string{"attribute-enum:gen_ai.provider.name"}},
		{"deprecated and opt-in", SpanView{Name: "llm_provider.chat", Kind: "client", Parent: "orchestrator.task_execution",
			Attributes: llm(func(a map[string]any) { a["gen_ai.system"] = "openai"; a["gen_ai.input.messages"] = "hi" })},
			[]string{"deprecated-attribute:gen_ai.system", "opt-in-content:gen_ai.input.messages"}},
		{"error without type", SpanView{Name: "brain_cli.command", Kind: "internal", Error: true,
			Attributes: MapAttrs{"brain.command": "exec", "brain.session_id": "s"}}, []string{"error-without-type:error.type"}},
		{"root from another process", SpanView{Name: "brain_cli.command", Kind: "internal",
			Attributes: MapAttrs{"brain.command": "exec", "brain.session_id": "s"}}, nil},
		{"nested command: remote parent", SpanView{Name: "brain_cli.command", Kind: "internal", Parent: "brain_cli.command", ParentRemote: true,
			Attributes: MapAttrs{"brain.command": "exec", "brain.session_id": "s"}}, nil},
		{"nested command: local parent", SpanView{Name: "brain_cli.command", Kind: "internal", Parent: "brain_cli.command",
			Attributes: MapAttrs{"brain.command": "exec", "brain.session_id": "s"}}, []string{"bad-parent:"}},
		{"remote parent where no root is allowed", SpanView{Name: "llm_provider.chat", Kind: "client", Parent: "brain_cli.command", ParentRemote: true,
			Attributes: llm(nil)}, []string{"bad-parent:"}},
		{"no attributes at all", SpanView{Name: "audit_logger.write_event", Kind: "internal", Parent: "brain_cli.command"},
			[]string{"missing-attribute:audit.event_type", "missing-attribute:brain.session_id"}},
	}
	for _, tt := range tests {
		var got []string
		for _, v := range d.Check(tt.span) {
			got = append(got, v.Rule+":"+v.Attr)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: violations (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestParseStrict(t *testing.T) {
	for _, bad := range []string{
		"version: 2\nspans: {}\n",
		"version: 1\nspans: {a: {kind: sideways, parents: ['-']}}\n",
		"version: 1\nspans: {a: {kind: internal, parents: [nope]}}\n",
		"version: 1\nspans: {a: {kind: internal, parents: ['-'], attributes: {required: {x: float}}}}\n",
		"version: 1\nspans: {a: {kind: internal, parents: ['-'], colour: red}}\n",
	} {
		if _, err := Parse([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "spandict: ") {
			t.Errorf("Parse(%q) = %v, want a spandict error", bad, err)
		}
	}
	d := Default()
	for _, name := range []string{"brain_cli.command", "orchestrator.plan_generation", "orchestrator.task_execution",
		"llm_provider.chat", "sketch.generate_context", "verifier.run_checks", "audit_logger.write_event"} {
		if d.Spans[name] == nil {
			t.Errorf("the dictionary lacks %s from the seed's taxonomy", name)
		}
	}
}

func TestInScope(t *testing.T) {
	d := Default()
	for scope, want := range map[string]bool{
		"github.com/brain-dev/brain":              true,
		"github.com/brain-dev/brain/internal/llm": true,
		"github.com/brain-dev/brainstorm":         false,
		"go.opentelemetry.io/contrib/otelhttp":    false,
		"":                                        false,
	} {
		if got := d.InScope(scope); got != want {
			t.Errorf("InScope(%q) = %v, want %v", scope, got, want)
		}
	}
	d.Scope = ""
	if !d.InScope("anything") {
		t.Error("a dictionary without a scope must check every span")
	}
}
