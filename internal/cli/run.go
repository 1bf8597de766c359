package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// Run parses args against the command tree root and runs the selected
// command. Flag errors and a missing subcommand are usage errors (ExitUsage,
// with a hint); -h prints the usage and is success; an error from a command is
// printed through p.Report with fallback as its default code.
func Run(ctx context.Context, root *ffcli.Command, args []string, p *Printer, fallback int) int {
	var usage bytes.Buffer
	setOutput(root, &usage)
	parseErr := root.Parse(args)
	err := parseErr
	if err == nil {
		err = root.Run(ctx)
	}
	var ne ffcli.NoExecError
	switch {
	case errors.Is(err, flag.ErrHelp):
		// -h while parsing is a request; ErrHelp from a command is misuse.
		p.W.Write(usage.Bytes())
		if parseErr != nil {
			return ExitOK
		}
		return ExitUsage
	case errors.As(err, &ne):
		fmt.Fprintln(p.W, ne.Command.UsageFunc(ne.Command))
		return ExitUsage
	case parseErr == nil:
		return p.Report(err, fallback)
	}
	p.Errorf("%s", strings.TrimPrefix(err.Error(), "error parsing commandline arguments: "))
	p.Hintf("run '%s -h' for usage", strings.TrimSpace(p.Prog+" "+subName(root, args)))
	return ExitUsage
}

func setOutput(c *ffcli.Command, w *bytes.Buffer) {
	if c.FlagSet != nil {
		c.FlagSet.SetOutput(w)
	}
	for _, s := range c.Subcommands {
		setOutput(s, w)
	}
}

// subName returns the name of the subcommand args select, if any.
func subName(root *ffcli.Command, args []string) string {
	for _, a := range args {
		for _, s := range root.Subcommands {
			if strings.EqualFold(a, s.Name) {
				return s.Name
			}
		}
	}
	return ""
}

// NArgs returns a usage error unless args has between min and max elements
// (max < 0: no upper bound).
func NArgs(args []string, min, max int, usage string) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		return &UsageError{Err: fmt.Errorf("usage: %s", usage)}
	}
	return nil
}
