package orchestrator

import (
	"errors"
	"strings"
	"testing"
)

const goodPlan = `version: 1
tasks:
  - id: hello
    title: Write a greeting
    prompt: Write the word hello.
    context: []
    checks:
      - module: stock:match
        args: [artifact.txt, "^hello"]
`

func TestParsePlanReply(t *testing.T) {
	for name, reply := range map[string]string{
		"bare":        goodPlan,
		"fenced":      "Here is the plan:\n```yaml\n" + goodPlan + "```\nGood luck.",
		"plain fence": "```\n" + goodPlan + "```",
	} {
		p, data, err := ParsePlanReply(reply, Limits{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(p.Tasks) != 1 || p.Tasks[0].ID != "hello" || !strings.HasPrefix(string(data), "version: 1\n") {
			t.Errorf("%s: plan %+v, data %q", name, p, data)
		}
	}
}

func TestParsePlanReplyRejects(t *testing.T) {
	for name, tc := range map[string]struct{ reply, want string }{
		"prose":         {"I cannot help with that.", "cannot unmarshal"},
		"empty":         {"   ", "empty"},
		"no tasks":      {"version: 1\ntasks: []\n", "no tasks"},
		"no prompt":     {"version: 1\ntasks:\n  - id: a\n    title: t\n", "no prompt"},
		"unknown field": {"version: 1\ntasks:\n  - id: a\n    prompt: p\n    colour: red\n", "colour"},
		"duplicate id":  {"version: 1\ntasks:\n  - id: a\n    prompt: p\n  - id: a\n    prompt: q\n", "duplicate"},
		"unknown stock": {"version: 1\ntasks:\n  - id: a\n    prompt: p\n    checks: [{module: 'stock:nope'}]\n", "unknown stock check"},
		"escaping path": {"version: 1\ntasks:\n  - id: a\n    prompt: p\n    checks: [{module: ../../x.wasm}]\n", "relative path inside"},
		"absolute path": {"version: 1\ntasks:\n  - id: a\n    prompt: p\n    checks: [{module: /etc/x.wasm}]\n", "relative path inside"},
		"two documents": {goodPlan + "---\n" + goodPlan, "more than one"},
	} {
		_, _, err := ParsePlanReply(tc.reply, Limits{})
		if !errors.Is(err, ErrInvalidPlan) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrInvalidPlan mentioning %q", name, err, tc.want)
		}
	}
}

func TestPlanPromptNamesStockChecks(t *testing.T) {
	p := PlanPrompt("build a thing")
	for _, want := range []string{"version: 1", "stock:NAME", "exists", "jsonschema", "build a thing"} {
		if !strings.Contains(p, want) {
			t.Errorf("prompt lacks %q", want)
		}
	}
}

// TestParsePlanReplyLimits: a plan over a limit is an invalid plan that
// names the limit, with the number that went over it; at the limit it is
// taken.
func TestParsePlanReplyLimits(t *testing.T) {
	two := goodPlan + "  - id: bye\n    prompt: Write the word bye.\n"
	for name, tc := range map[string]struct {
		reply string
		l     Limits
		want  *LimitError // nil: accepted
	}{
		"bytes over":  {goodPlan, Limits{MaxPlanBytes: int64(len(goodPlan)) - 1}, &LimitError{Limit: LimitPlanBytes, What: "the plan in the reply", Got: int64(len(goodPlan)), Max: int64(len(goodPlan)) - 1, Model: true}},
		"bytes at":    {goodPlan, Limits{MaxPlanBytes: int64(len(goodPlan))}, nil},
		"fenced over": {"```yaml\n" + goodPlan + "```\n" + strings.Repeat("prose ", 100), Limits{MaxPlanBytes: int64(len(goodPlan))}, nil},
		"tasks over":  {two, Limits{MaxTasks: 1}, &LimitError{Limit: LimitTasks, What: "the plan in the reply", Got: 2, Max: 1, Model: true}},
		"tasks at":    {two, Limits{MaxTasks: 2}, nil},
	} {
		_, _, err := ParsePlanReply(tc.reply, tc.l)
		var le *LimitError
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: %v, want the plan taken", name, err)
		case tc.want != nil && (!errors.As(err, &le) || !errors.Is(err, ErrInvalidPlan)):
			t.Errorf("%s: %v, want an invalid plan over a limit", name, err)
		case tc.want != nil && *le != *tc.want:
			t.Errorf("%s: %+v, want %+v", name, *le, *tc.want)
		}
	}
}
