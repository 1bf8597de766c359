package cli

import (
	"flag"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// boolFlag is the interface of a flag.Value that takes no argument.
type boolFlag interface{ IsBoolFlag() bool }

// flagArg reports whether a is a flag as package flag reads one ("-x",
// "--x", "-x=v"; not "-" or "--") and returns its name.
func flagArg(a string) (name string, ok bool) {
	if len(a) < 2 || a[0] != '-' || a == "--" {
		return "", false
	}
	name = strings.TrimPrefix(a[1:], "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	return name, name != ""
}

// takesValue reports whether the flag a (as on the command line) consumes
// the next argument: a flag fs defines, not boolean, without "=value".
// An undefined flag takes none; parsing it fails later with a usage error.
func takesValue(fs *flag.FlagSet, a, name string) bool {
	if fs == nil || strings.IndexByte(a, '=') >= 0 {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(boolFlag); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// subcommand returns c's subcommand called name, as ffcli matches it.
func subcommand(c *ffcli.Command, name string) *ffcli.Command {
	for _, s := range c.Subcommands {
		if strings.EqualFold(name, s.Name) {
			return s
		}
	}
	return nil
}

// Intersperse reorders args for c so that package flag, which stops at
// the first argument that is not a flag, reads flags wherever they stand:
// "show FILE --type x" becomes "show --type x -- FILE". At each level the
// first positional argument that names a subcommand selects it and the
// rest is reordered for that subcommand. After "--" every argument is
// positional. A command in verbatim keeps everything from its first
// positional argument on as it is (exec's program and its arguments).
func Intersperse(c *ffcli.Command, args []string, verbatim map[*ffcli.Command]bool) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		name, isFlag := flagArg(a)
		if isFlag && (len(pos) == 0 || !verbatim[c]) {
			flags = append(flags, a)
			if takesValue(c.FlagSet, a, name) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
			continue
		}
		if len(pos) == 0 {
			if s := subcommand(c, a); s != nil {
				return append(append(flags, a), Intersperse(s, args[i+1:], verbatim)...)
			}
		}
		if verbatim[c] {
			pos = append(pos, args[i:]...)
			break
		}
		pos = append(pos, a)
	}
	if len(pos) == 0 {
		return flags
	}
	return append(append(flags, "--"), pos...)
}

// Reorder is Intersperse for one command with the flags fs defines and no
// subcommand: the flags of args first, then "--" and the positional
// arguments. With verbatim, everything from the first positional argument
// on stays as it is.
func Reorder(fs *flag.FlagSet, args []string, verbatim bool) []string {
	c := &ffcli.Command{FlagSet: fs}
	return Intersperse(c, args, map[*ffcli.Command]bool{c: verbatim})
}
