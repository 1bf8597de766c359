package runcmd

import (
	"errors"
	"testing"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/orchestrator"
)

// TestErrorsCarryDictionaryClasses: every error that carries a class
// carries one of the dictionary's, and one a command can end with.
func TestErrorsCarryDictionaryClasses(t *testing.T) {
	errs := map[string]error{
		"audit write":      &audit.WriteError{Type: "plan.created", Err: errors.New("no space")},
		"edited plan":      &orchestrator.EditedPlanError{Path: "tasks.yaml"},
		"module":           &orchestrator.ModuleError{Task: "t", Module: "m.wasm"},
		"invalid plan":     orchestrator.ErrInvalidPlan,
		"model plan limit": &orchestrator.LimitError{Limit: orchestrator.LimitTasks, Model: true},
		"tasks.yaml limit": &orchestrator.LimitError{Limit: orchestrator.LimitPlanBytes},
		"record limit":     &orchestrator.LimitError{Limit: orchestrator.LimitRecord},
	}
	for _, typ := range []string{llm.TypeAuth, llm.TypeRateLimit, llm.TypeServer, llm.TypeTimeout, llm.TypeCanceled,
		llm.TypeBadRequest, llm.TypeInvalidResponse, llm.TypeNetwork, llm.TypeNotFound, llm.TypeTooLarge} {
		errs["llm "+typ] = &llm.Error{Type: typ}
	}
	for name, err := range errs {
		class := cli.ClassOf(err)
		if _, ok := names.ExitCode(class); !ok {
			t.Errorf("%s: class %q is not one a command ends with in golden/spans.yaml", name, class)
		}
	}
}
