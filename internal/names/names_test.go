package names_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/brain-dev/brain/golden"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/names/internal/namegen"
)

// TestGeneratedIsCurrent fails when names_gen.go is not what go generate
// makes of golden/spans.yaml today.
func TestGeneratedIsCurrent(t *testing.T) {
	want, err := namegen.Generate(golden.Spans)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("names_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("names_gen.go is stale: run go generate ./internal/names")
	}
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"brain_cli.command":         "BrainCLICommand",
		"gen_ai.usage.input_tokens": "GenAIUsageInputTokens",
		"brain.session_id":          "BrainSessionID",
		"timed-out":                 "TimedOut",
	} {
		if got := namegen.GoName(in); got != want {
			t.Errorf("GoName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGenerateRefusesCollisions: two dictionary names that make one Go
// name are an error, not a silently lost constant.
func TestGenerateRefusesCollisions(t *testing.T) {
	y := []byte("version: 1\nscope: x\nspans: {}\nerror_types:\n  a_b: {exit: 1, doc: one}\n  a-b: {exit: 1, doc: two}\n")
	if _, err := namegen.Generate(y); err == nil {
		t.Fatal("a_b and a-b: no error")
	}
}

func TestClasses(t *testing.T) {
	for c, want := range map[string]int{
		names.ClassUsage: 2, names.ClassFindings: 1, names.ClassError: 3, names.ClassAuditWriteFailed: 4,
		names.ClassEditedPlan: 6, names.ClassRateLimit: 5, names.ClassPanic: 70, names.ClassInterrupted: 128,
		names.ClassTasksTooLarge: 3, names.ClassPlanTooLarge: 5,
	} {
		if got, ok := names.ExitCode(c); !ok || got != want {
			t.Errorf("ExitCode(%s) = %d, %v; want %d", c, got, ok, want)
		}
		if names.Doc(c) == "" {
			t.Errorf("Doc(%s) is empty", c)
		}
	}
	if _, ok := names.ExitCode(names.ClassNotDetected); ok {
		t.Error("a drill phase's class has an exit code")
	}
	if _, ok := names.ExitCode("no such class"); ok || names.IsClass("no such class") {
		t.Error("an unknown class is known")
	}
}

func TestClassOf(t *testing.T) {
	base := errors.New("base")
	inner := names.WithClass(names.ClassAuth, base)
	outer := names.WithClass(names.ClassEditedPlan, fmt.Errorf("wrapped: %w", inner))
	if got := names.ClassOf(outer); got != names.ClassEditedPlan {
		t.Errorf("ClassOf(outer) = %q, want the outermost class", got)
	}
	if got := names.ClassOf(fmt.Errorf("x: %w", inner)); got != names.ClassAuth {
		t.Errorf("ClassOf through a wrapper = %q", got)
	}
	if !errors.Is(outer, base) || outer.Error() != "wrapped: base" {
		t.Errorf("WithClass changed the error: %v", outer)
	}
	if got := names.ClassOf(base); got != names.ClassError {
		t.Errorf("ClassOf(unclassed) = %q", got)
	}
}
