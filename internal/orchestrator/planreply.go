// Package orchestrator turns a goal into a plan and a plan into executed,
// verified tasks. This file holds the pure part of planning: the prompt the
// plan model gets and the strict reading of its reply.
package orchestrator

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/brain-dev/brain/checks"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/plan"
)

// ErrInvalidPlan wraps every reason a model's reply is not a usable plan.
var ErrInvalidPlan = names.WithClass(names.ClassInvalidPlan, errors.New("the model's reply is not a valid plan"))

// invalidPlan wraps reason in ErrInvalidPlan. Its class is reason's when
// reason has one (a limit, a module that cannot be pinned), else
// invalid_plan.
func invalidPlan(reason error) error {
	err := fmt.Errorf("%w: %w", ErrInvalidPlan, reason)
	if c, ok := names.Find(reason); ok {
		return names.WithClass(c, err)
	}
	return err
}

// PlanPrompt returns the prompt that asks the plan model for a tasks.yaml
// for goal.
func PlanPrompt(goal string) string {
	var b strings.Builder
	b.WriteString(`You plan software work for BRAIN. Reply with one YAML document and nothing else:
a tasks.yaml with "version: 1" and a list "tasks". Each task has:
  id: short name (letters, digits, '.', '_', '-'), unique
  title: one line
  prompt: what the executing model must produce; its whole reply becomes the task's artifact
  context: list of workspace file globs the model may read (may be empty)
  model: leave empty for the default
  checks: acceptance checks, each {module: stock:NAME, args: [...]}, run against the artifact
    directory where the task's artifact is the file "artifact.txt"
Stock checks: `)
	b.WriteString(strings.Join(checks.Names(), ", "))
	b.WriteString(".\n\nGoal:\n")
	b.WriteString(goal)
	b.WriteString("\n")
	return b.String()
}

var fence = regexp.MustCompile("(?s)```(?:ya?ml)?[ \\t]*\\r?\\n(.*?)```")

// ParsePlanReply reads a plan model's reply: the YAML document itself, or the
// first fenced block in it. The document may be at most l.MaxPlanBytes long
// and the plan have at most l.MaxTasks tasks (zero fields: DefaultLimits);
// it must parse strictly, have at least one task, give every task a prompt,
// and use only stock checks or check modules at relative paths inside the
// plan's directory. It returns the plan and the exact bytes to write as
// tasks.yaml (whose SHA-256 is what gets recorded). Every error wraps
// ErrInvalidPlan; one over a limit also wraps a *LimitError.
func ParsePlanReply(reply string, l Limits) (*plan.Plan, []byte, error) {
	l = l.or()
	doc := strings.TrimSpace(reply)
	if m := fence.FindStringSubmatch(reply); m != nil {
		doc = strings.TrimSpace(m[1])
	}
	if doc == "" {
		return nil, nil, fmt.Errorf("%w: the reply is empty", ErrInvalidPlan)
	}
	if n := int64(len(doc)) + 1; n > l.MaxPlanBytes {
		return nil, nil, invalidPlan(&LimitError{Limit: LimitPlanBytes, What: "the plan in the reply", Got: n, Max: l.MaxPlanBytes, Model: true})
	}
	data := []byte(doc + "\n")
	p, err := plan.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidPlan, err)
	}
	if len(p.Tasks) == 0 {
		return nil, nil, fmt.Errorf("%w: it has no tasks", ErrInvalidPlan)
	}
	if err := l.checkTasks(p, "the plan in the reply"); err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			le.Model = true
		}
		return nil, nil, invalidPlan(err)
	}
	stock := checks.Names()
	for _, t := range p.Tasks {
		if strings.TrimSpace(t.Prompt) == "" {
			return nil, nil, fmt.Errorf("%w: task %q has no prompt", ErrInvalidPlan, t.ID)
		}
		for _, c := range t.Checks {
			if name, ok := strings.CutPrefix(c.Module, "stock:"); ok {
				if !slices.Contains(stock, name) {
					return nil, nil, fmt.Errorf("%w: task %q: unknown stock check %q (known: %s)", ErrInvalidPlan, t.ID, name, strings.Join(stock, ", "))
				}
				continue
			}
			if path.IsAbs(c.Module) || strings.Contains(c.Module, `\`) || path.Clean(c.Module) != c.Module || strings.HasPrefix(c.Module, "../") {
				return nil, nil, fmt.Errorf("%w: task %q: check module %q must be stock:NAME or a relative path inside the plan's directory", ErrInvalidPlan, t.ID, c.Module)
			}
		}
	}
	return p, data, nil
}
