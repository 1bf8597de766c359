package runcore

import (
	"flag"
	"io"

	"github.com/brain-dev/brain/internal/cli"
)

// OnCommandLine reports whether flag name of fs, the flag set of the
// subcommand being run, was given on the command line (Env.Args) rather
// than taken from the environment. It parses the command line again with
// the flag package, as ffcli did, into a flag set with the same flags that
// reads no environment: the decision is the parser's, so a value that only
// looks like the flag (--goal --dev-log-unsafe-io, or anything after "--")
// is not the flag, and one after a positional argument is.
func (e *Env) OnCommandLine(fs *flag.FlagSet, name string) bool {
	set, ok := parseCommandLine(e.rootFlags, e.Args)
	if !ok {
		return false
	}
	args, ok := set.Args(), set.NArg() > 0
	if !ok {
		return false
	}
	// Flags may follow positional arguments (cli.Run reorders them), but
	// not exec's program's: those are its own.
	sub, ok := parseCommandLine(fs, cli.Reorder(fs, args[1:], args[0] == "exec"))
	if !ok {
		return false
	}
	given := false
	sub.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// parseCommandLine parses args into a copy of fs's flags whose values are
// thrown away, and returns it; false if args do not parse.
func parseCommandLine(fs *flag.FlagSet, args []string) (*flag.FlagSet, bool) {
	mirror := flag.NewFlagSet("", flag.ContinueOnError)
	mirror.SetOutput(io.Discard)
	if fs != nil {
		fs.VisitAll(func(f *flag.Flag) { mirror.Var(discardValue{boolFlag: isBoolFlag(f.Value)}, f.Name, "") })
	}
	if err := mirror.Parse(args); err != nil {
		return nil, false
	}
	return mirror, true
}

func isBoolFlag(v flag.Value) bool {
	b, ok := v.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// discardValue accepts any value; boolFlag makes it a flag that takes none.
type discardValue struct{ boolFlag bool }

func (discardValue) String() string     { return "" }
func (discardValue) Set(string) error   { return nil }
func (d discardValue) IsBoolFlag() bool { return d.boolFlag }
