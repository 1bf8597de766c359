package names_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/golden"
	"github.com/brain-dev/brain/internal/names"
	"github.com/brain-dev/brain/internal/names/internal/namegen"
	"github.com/brain-dev/brain/internal/spandict"
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

// TestClassesMatchDictionary holds the generated table to the dictionary:
// every error class is found, with its exit code and doc; Classes lists
// them all, sorted; and no other name is a class, however close it is to
// one (the table is searched, so an entry out of order would go unfound).
func TestClassesMatchDictionary(t *testing.T) {
	d, err := spandict.Parse(golden.Spans)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(maps.Keys(d.ErrorTypes))
	if diff := cmp.Diff(want, names.Classes()); diff != "" {
		t.Errorf("Classes() (-want +got):\n%s", diff)
	}
	for _, c := range want {
		et := d.ErrorTypes[c]
		wantExit := 0
		if et.Exit != nil {
			wantExit = *et.Exit
		}
		if got, ok := names.ExitCode(c); got != wantExit || ok != (wantExit != 0) {
			t.Errorf("ExitCode(%q) = %d, %v; want %d", c, got, ok, wantExit)
		}
		if got := names.Doc(c); got != et.Doc {
			t.Errorf("Doc(%q) = %q, want %q", c, got, et.Doc)
		}
		if !names.IsClass(c) {
			t.Errorf("IsClass(%q) is false", c)
		}
		for _, near := range []string{c[:len(c)-1], c + "_", c + "\x00", "_" + c, strings.ToUpper(c)} {
			if slices.Contains(want, near) {
				continue
			}
			if names.IsClass(near) || names.Doc(near) != "" {
				t.Errorf("%q is a class", near)
			}
			if _, ok := names.ExitCode(near); ok {
				t.Errorf("%q has an exit code", near)
			}
		}
	}
	for _, c := range []string{"", "\xff", "~"} {
		if names.IsClass(c) {
			t.Errorf("%q is a class", c)
		}
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
