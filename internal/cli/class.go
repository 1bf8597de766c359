package cli

import (
	"errors"

	"github.com/brain-dev/brain/internal/names"
)

// ClassOf is err's class, one of the error_types of golden/spans.yaml: the
// class it carries (a names.Classed error in its tree), else usage or
// findings by its exit code, else error. It is the error.type of a
// command's root span and the error of its command.end record.
func ClassOf(err error) string {
	if c, ok := names.Find(err); ok {
		return c
	}
	var (
		ue *UsageError
		ee *ExitError
	)
	switch {
	case errors.As(err, &ue), errors.As(err, &ee) && ee.Code == ExitUsage:
		return names.ClassUsage
	case errors.As(err, &ee) && ee.Code == ExitFindings:
		return names.ClassFindings
	}
	return names.ClassError
}

// Exit returns err as an *ExitError whose code is the exit code of its class
// (ClassOf) in the dictionary's table, with hint: the code is decided in one
// place, not by each command.
func Exit(err error, hint string) *ExitError {
	code, ok := names.ExitCode(ClassOf(err))
	if !ok {
		code = ExitIO
	}
	return &ExitError{Code: code, Err: err, Hint: hint}
}

// ExitCodeOf is the exit code err ends a command with: an *ExitError's
// code, ExitUsage for a *UsageError, else fallback.
func ExitCodeOf(err error, fallback int) int {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return fallback
}
