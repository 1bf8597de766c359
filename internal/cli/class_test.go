package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/brain-dev/brain/internal/names"
)

// TestExitTableMatchesConstants holds the dictionary's table of classes and
// exit codes to the constants the commands use.
func TestExitTableMatchesConstants(t *testing.T) {
	for class, want := range map[string]int{
		names.ClassFindings:         ExitFindings,
		names.ClassUsage:            ExitUsage,
		names.ClassError:            ExitIO,
		names.ClassAuditWriteFailed: ExitAuditWrite,
		names.ClassAuth:             ExitModel,
		names.ClassInvalidPlan:      ExitModel,
		names.ClassEditedPlan:       ExitEditedPlan,
		names.ClassPanic:            ExitInternal,
	} {
		if got, ok := names.ExitCode(class); !ok || got != want {
			t.Errorf("class %s: exit %d (%v), want %d", class, got, ok, want)
		}
	}
}

func TestClassOf(t *testing.T) {
	plain := errors.New("x")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{plain, names.ClassError},
		{&UsageError{Err: plain}, names.ClassUsage},
		{&ExitError{Code: ExitUsage, Err: plain}, names.ClassUsage},
		{&ExitError{Code: ExitFindings, Err: plain}, names.ClassFindings},
		{&ExitError{Code: ExitIO, Err: plain}, names.ClassError},
		// A class carried inside an exit error is the class.
		{&ExitError{Code: ExitModel, Err: names.WithClass(names.ClassRateLimit, plain)}, names.ClassRateLimit},
		{fmt.Errorf("wrapped: %w", names.WithClass(names.ClassEditedPlan, plain)), names.ClassEditedPlan},
	} {
		if got := ClassOf(tc.err); got != tc.want {
			t.Errorf("ClassOf(%#v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestExitFromClass: the exit code of an error made by Exit is its class's.
func TestExitFromClass(t *testing.T) {
	for _, class := range []string{names.ClassRateLimit, names.ClassEditedPlan, names.ClassTasksTooLarge, names.ClassPlanTooLarge} {
		want, _ := names.ExitCode(class)
		ee := Exit(names.WithClass(class, errors.New("x")), "hint")
		if ee.Code != want || ee.Hint != "hint" {
			t.Errorf("Exit of class %s: %+v, want code %d", class, ee, want)
		}
	}
	if ee := Exit(names.WithClass(names.ClassNotDetected, errors.New("x")), ""); ee.Code != ExitIO {
		t.Errorf("a class with no exit code: %d, want %d", ee.Code, ExitIO)
	}
}

func TestExitCodeOf(t *testing.T) {
	if got := ExitCodeOf(&ExitError{Code: 6}, 70); got != 6 {
		t.Errorf("exit error: %d", got)
	}
	if got := ExitCodeOf(&UsageError{Err: errors.New("x")}, 70); got != ExitUsage {
		t.Errorf("usage error: %d", got)
	}
	if got := ExitCodeOf(errors.New("x"), 70); got != 70 {
		t.Errorf("other: %d", got)
	}
}

// TestErrorClassesTopic: `help error-classes` lists every class of the
// dictionary with its exit code.
func TestErrorClassesTopic(t *testing.T) {
	var text string
	for _, tp := range HelpTopics() {
		if tp.Name == "error-classes" {
			text = tp.Text
		}
	}
	if text == "" {
		t.Fatal("no error-classes topic")
	}
	for _, c := range names.Classes() {
		want := "  " + c + " "
		if code, ok := names.ExitCode(c); ok && c != names.ClassInterrupted {
			want = fmt.Sprintf("  %-19s %-5d ", c, code)
		}
		if !strings.Contains(text, want) {
			t.Errorf("error-classes does not list %q", want)
		}
	}
}
