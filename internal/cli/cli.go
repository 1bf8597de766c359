// Package cli holds the plumbing shared by BRAIN's binaries: exit codes, the
// diagnostic printer (error:, warning:, hint: lines on stderr) and the colour
// decision.
//
// Every binary's Main has the shape
//
//	func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
//
// and only Main picks an exit code; packages return errors.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
)

// Exit codes shared by every binary. The README's table documents them.
const (
	ExitOK         = 0  // success, PASS
	ExitFindings   = 1  // verification FAIL, lint violations, a check failed, a drill deviated
	ExitUsage      = 2  // bad flags or arguments
	ExitIO         = 3  // an input file could not be read, or an output could not be written
	ExitAuditWrite = 4  // an audit record could not be written durably: the operation was aborted
	ExitModel      = 5  // the model provider failed (key, quota, server, network, timeout) or its reply was not usable
	ExitEditedPlan = 6  // tasks.yaml is not the plan recorded by brain-run plan (accept it with --accept-edited-plan)
	ExitInternal   = 70 // a crash (panic) or an internal error (EX_SOFTWARE)
)

// UsageError marks an error as the user's: Main maps it to ExitUsage.
type UsageError struct {
	Err  error
	Hint string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitError carries an exit code chosen deep inside a command, with the message
// to print (which may be empty when the command already printed it).
type ExitError struct {
	Code int
	Err  error
	Hint string
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// Printer writes diagnostics on stderr with the program's prefix, in the style
// "brain-audit: error: reading \"x.jsonl\": ...".
type Printer struct {
	Prog  string
	W     io.Writer
	Color bool
}

// NewPrinter returns a Printer for prog writing to w. Colour is on only when w
// is a terminal and NO_COLOR is unset; it is decided once, here.
func NewPrinter(prog string, w io.Writer) *Printer {
	return &Printer{Prog: prog, W: w, Color: UseColor(w)}
}

// UseColor reports whether w is a terminal and NO_COLOR is unset.
func UseColor(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	return IsTerminal(w)
}

// IsTerminal reports whether s, a stream of the process, is a terminal.
func IsTerminal(s any) bool {
	f, ok := s.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

func (p *Printer) paint(c color.Attribute, s string) string {
	if !p.Color {
		return s
	}
	col := color.New(c, color.Bold)
	col.EnableColor()
	return col.Sprint(s)
}

// Errorf prints "prog: error: msg".
func (p *Printer) Errorf(format string, args ...any) {
	fmt.Fprintf(p.W, "%s: %s %s\n", p.Prog, p.paint(color.FgRed, "error:"), strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

// Warnf prints "prog: warning: msg".
func (p *Printer) Warnf(format string, args ...any) {
	fmt.Fprintf(p.W, "%s: %s %s\n", p.Prog, p.paint(color.FgYellow, "warning:"), strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

// Hintf prints "prog: hint: msg".
func (p *Printer) Hintf(format string, args ...any) {
	fmt.Fprintf(p.W, "%s: %s %s\n", p.Prog, p.paint(color.FgCyan, "hint:"), strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

// Infof prints "prog: msg".
func (p *Printer) Infof(format string, args ...any) {
	fmt.Fprintf(p.W, "%s: %s\n", p.Prog, strings.TrimRight(fmt.Sprintf(format, args...), "\n"))
}

// Banner prints a coloured PASS (green) or FAIL (red) word followed by text.
func (p *Printer) Banner(ok bool, text string) {
	word, c := "FAIL", color.FgRed
	if ok {
		word, c = "PASS", color.FgGreen
	}
	fmt.Fprintf(p.W, "%s: %s %s\n", p.Prog, p.paint(c, word), text)
}

// Report prints err (and its hint) and returns the exit code it maps to:
// *UsageError → ExitUsage, *ExitError → its code, anything else → fallback.
func (p *Printer) Report(err error, fallback int) int {
	if err == nil {
		return ExitOK
	}
	var ue *UsageError
	var ee *ExitError
	switch {
	case errors.As(err, &ue):
		p.Errorf("%v", ue.Err)
		if ue.Hint != "" {
			p.Hintf("%s", ue.Hint)
		}
		return ExitUsage
	case errors.As(err, &ee):
		if ee.Err != nil {
			p.Errorf("%v", ee.Err)
		}
		if ee.Hint != "" {
			p.Hintf("%s", ee.Hint)
		}
		return ee.Code
	}
	p.Errorf("%v", err)
	return fallback
}

// Alert prints a red "WARNING:" banner line, for risks the user opted into.
func (p *Printer) Alert(text string) {
	fmt.Fprintf(p.W, "%s: %s %s\n", p.Prog, p.paint(color.FgRed, "WARNING:"), text)
}
