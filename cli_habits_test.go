package brain_test

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/brain-dev/brain/internal/auditcmd"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/runcmd"
	"github.com/brain-dev/brain/internal/tracelint"
)

// TestEveryCommandsHabits holds every subcommand of every binary to the
// same habits: -h, --help and help SUB print the same help on stdout and
// succeed; --version names the binary; a mistyped flag, before or after a
// positional argument, is a usage error before any output (but for exec,
// whose arguments after the program's name are the program's).
func TestEveryCommandsHabits(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	t.Chdir(t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(t.TempDir(), "config"))
	mains := map[string]func(ctx context.Context, args []string, stdout, stderr *bytes.Buffer) int{
		"brain-audit": func(ctx context.Context, args []string, stdout, stderr *bytes.Buffer) int {
			return auditcmd.Main(ctx, args, strings.NewReader(""), stdout, stderr)
		},
		"brain-run": func(ctx context.Context, args []string, stdout, stderr *bytes.Buffer) int {
			return runcmd.Main(ctx, args, strings.NewReader(""), stdout, stderr)
		},
		"brain-trace-lint": func(ctx context.Context, args []string, stdout, stderr *bytes.Buffer) int {
			return tracelint.Main(ctx, args, strings.NewReader(""), stdout, stderr)
		},
	}
	sub := regexp.MustCompile(`(?m)^  ([a-z][a-z-]*)  `)
	for prog, main := range mains {
		run := func(args ...string) (int, string, string) {
			var out, errb bytes.Buffer
			code := main(context.Background(), args, &out, &errb)
			return code, out.String(), errb.String()
		}
		code, root, stderr := run("--help")
		if code != cli.ExitOK || stderr != "" || !strings.Contains(root, "SUBCOMMANDS") {
			t.Fatalf("%s --help: code %d, stderr %q, stdout %q", prog, code, stderr, root)
		}
		if code, stdout, _ := run("--version"); code != cli.ExitOK || !strings.HasPrefix(stdout, prog+" ") {
			t.Errorf("%s --version: code %d, stdout %q", prog, code, stdout)
		}
		_, subsText, _ := strings.Cut(root, "SUBCOMMANDS")
		subsText, _, _ = strings.Cut(subsText, "\n\n")
		subs := sub.FindAllStringSubmatch(subsText, -1)
		if len(subs) == 0 {
			t.Fatalf("%s --help lists no subcommand:\n%s", prog, root)
		}
		for _, m := range subs {
			name := m[1]
			code, help, stderr := run(name, "-h")
			if code != cli.ExitOK || stderr != "" || !strings.Contains(help, "USAGE") {
				t.Errorf("%s %s -h: code %d, stderr %q, stdout %q", prog, name, code, stderr, help)
				continue
			}
			for _, args := range [][]string{{name, "--help"}, {"help", name}} {
				if code, stdout, stderr := run(args...); code != cli.ExitOK || stdout != help || stderr != "" {
					t.Errorf("%s %q: code %d, stderr %q; stdout differs from %s -h", prog, args, code, stderr, name)
				}
			}
			bad := [][]string{{name, "--no-such-flag"}, {name, "x", "--no-such-flag"}}
			if prog == "brain-run" && name == "exec" {
				bad = bad[:1] // after the program's name, the flags are the program's
			}
			for _, args := range bad {
				code, stdout, stderr := run(args...)
				if code != cli.ExitUsage || stdout != "" || !strings.Contains(stderr, "flag provided but not defined: -no-such-flag") {
					t.Errorf("%s %q: code %d, stdout %q, stderr %q; want a usage error before any output", prog, args, code, stdout, stderr)
				}
			}
		}
	}
}
