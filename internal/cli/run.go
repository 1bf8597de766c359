package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// Tool is one binary's command tree, as Run runs it.
type Tool struct {
	// Root is the command tree.
	Root *ffcli.Command
	// Verbatim are commands whose arguments from their first positional
	// one on are not flags of theirs (exec's program and its arguments).
	Verbatim []*ffcli.Command
	// Topics are the extra subjects of "help TOPIC", besides the
	// subcommands; the exit codes are always one (HelpTopics).
	Topics []Topic
}

// Topic is a help text that is not a command's.
type Topic struct{ Name, Short, Text string }

// Run parses args against t's command tree and runs the selected command.
// Flags may stand anywhere on the line (Intersperse). "-h", "--help" and
// "help [SUBCOMMAND...|TOPIC]" print help on stdout and succeed;
// "--version" (before any subcommand) prints the version on stdout;
// "completion bash|zsh|fish" prints a shell completion script. Flag errors
// and a missing subcommand are usage errors (ExitUsage, with a hint, on
// stderr, before the command runs); an error from a command is printed
// through p.Report with fallback as its default code.
func Run(ctx context.Context, t Tool, args []string, stdout io.Writer, p *Printer, fallback int) int {
	root := t.Root
	root.LongHelp = strings.TrimRight(root.LongHelp, "\n") + rootFooter(root.Name, t)
	verbatim := make(map[*ffcli.Command]bool, len(t.Verbatim))
	for _, c := range t.Verbatim {
		verbatim[c] = true
	}
	switch word, rest, isVersion := rootWord(root, args); {
	case isVersion:
		fmt.Fprintln(stdout, Version(root.Name))
		return ExitOK
	case word == "help" && subcommand(root, "help") == nil:
		return help(t, rest, stdout, p)
	case word == "completion" && subcommand(root, "completion") == nil:
		return completion(root, verbatim, rest, stdout, p)
	}

	var usage bytes.Buffer
	setOutput(root, &usage)
	parseErr := root.Parse(Intersperse(root, args, verbatim))
	err := parseErr
	if err == nil {
		err = root.Run(ctx)
	}
	var ne ffcli.NoExecError
	switch {
	case errors.Is(err, flag.ErrHelp):
		// -h while parsing is a request; ErrHelp from a command is misuse.
		if parseErr != nil {
			stdout.Write(usage.Bytes())
			return ExitOK
		}
		p.W.Write(usage.Bytes())
		return ExitUsage
	case errors.As(err, &ne):
		fmt.Fprintln(p.W, ne.Command.UsageFunc(ne.Command))
		return ExitUsage
	case parseErr == nil:
		if in := InterruptOf(ctx); in != nil && errors.Is(err, context.Canceled) {
			// The command stopped because a signal asked it to: say
			// which, not "context canceled".
			err = in
		}
		return p.Report(err, fallback)
	}
	p.Errorf("%s", strings.TrimPrefix(err.Error(), "error parsing commandline arguments: "))
	p.Hintf("run '%s -h' for usage", strings.TrimSpace(p.Prog+" "+subName(root, args)))
	return ExitUsage
}

// rootWord returns the first positional argument of args at the root,
// after the root's own flags, with the arguments after it; isVersion
// reports a -version or --version flag before it. The version flag is not
// in the root's flag set, so that no environment variable sets it.
func rootWord(root *ffcli.Command, args []string) (word string, rest []string, isVersion bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return "", nil, false
		}
		name, ok := flagArg(a)
		if !ok {
			return a, args[i+1:], false
		}
		if name == "version" && root.FlagSet.Lookup("version") == nil {
			return "", nil, true
		}
		if takesValue(root.FlagSet, a, name) {
			i++
		}
	}
	return "", nil, false
}

func rootFooter(prog string, t Tool) string {
	var b strings.Builder
	b.WriteString("\n\n'" + prog + " help SUBCOMMAND' shows a subcommand's help (as 'SUBCOMMAND -h' does);\n")
	b.WriteString("'" + prog + " help TOPIC' one of these topics:")
	for _, tp := range append(helpTopicHeads(), t.Topics...) {
		fmt.Fprintf(&b, "\n  %-12s %s", tp.Name, tp.Short)
	}
	b.WriteString("\n'" + prog + " --version' prints the version; '" + prog + " completion bash|zsh|fish' a shell completion script.")
	return b.String()
}

func allTopics(t Tool) []Topic { return append(HelpTopics(), t.Topics...) }

// help prints the help of the command or topic that path names.
func help(t Tool, path []string, stdout io.Writer, p *Printer) int {
	c := t.Root
	for i, name := range path {
		s := subcommand(c, name)
		if s == nil {
			if i == 0 && len(path) == 1 {
				for _, tp := range allTopics(t) {
					if tp.Name == name {
						fmt.Fprint(stdout, strings.TrimRight(tp.Text, "\n")+"\n")
						return ExitOK
					}
				}
			}
			p.Errorf("no help for %q: not a subcommand or topic", strings.Join(path[:i+1], " "))
			p.Hintf("run '%s help' for the list", p.Prog)
			return ExitUsage
		}
		c = s
	}
	fmt.Fprint(stdout, usageOf(c))
	return ExitOK
}

// usageOf returns c's help text, as -h prints it.
func usageOf(c *ffcli.Command) string {
	if c.FlagSet == nil {
		c.FlagSet = flag.NewFlagSet(c.Name, flag.ContinueOnError)
	}
	if c.UsageFunc != nil {
		return c.UsageFunc(c) + "\n"
	}
	return ffcli.DefaultUsageFunc(c) + "\n"
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
		if s := subcommand(root, a); s != nil {
			return s.Name
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
