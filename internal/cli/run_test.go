package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// testTool is a small tree: a root with a bool and a string flag that takes
// files itself, a "show" subcommand with flags, and a verbatim "exec".
func testTool(got *[]string, gotCmd *string) Tool {
	leaf := func(name string, fs *flag.FlagSet) *ffcli.Command {
		return &ffcli.Command{Name: name, ShortUsage: "prog " + name + " [flags] ARG...", ShortHelp: name + " things", FlagSet: fs,
			Exec: func(_ context.Context, args []string) error { *got, *gotCmd = args, name; return nil }}
	}
	showFS := flag.NewFlagSet("show", flag.ContinueOnError)
	showFS.String("type", "", "record `type`")
	showFS.Bool("json", false, "JSON lines")
	execFS := flag.NewFlagSet("exec", flag.ContinueOnError)
	execFS.String("dir", "", "workspace")
	execFS.Bool("v", false, "verbose")
	rootFS := flag.NewFlagSet("prog", flag.ContinueOnError)
	rootFS.String("format", "text", "output `format`")
	rootFS.Bool("q", false, "quiet")
	show, ex := leaf("show", showFS), leaf("exec", execFS)
	root := &ffcli.Command{Name: "prog", ShortUsage: "prog [flags] FILE...", FlagSet: rootFS,
		Subcommands: []*ffcli.Command{show, ex},
		Exec:        func(_ context.Context, args []string) error { *got, *gotCmd = args, "prog"; return nil }}
	return Tool{Root: root, Verbatim: []*ffcli.Command{ex}}
}

func TestIntersperse(t *testing.T) {
	for _, c := range []struct{ args, want []string }{
		{[]string{"show", "f.jsonl", "--type", "llm.call"}, []string{"show", "--type", "llm.call", "--", "f.jsonl"}},
		{[]string{"show", "--json", "a", "b", "--type=x"}, []string{"show", "--json", "--type=x", "--", "a", "b"}},
		{[]string{"show", "a", "--", "--type", "b"}, []string{"show", "--", "a", "--type", "b"}},
		{[]string{"show", "-", "--json"}, []string{"show", "--json", "--", "-"}},
		{[]string{"spans.jsonl", "--format", "json"}, []string{"--format", "json", "--", "spans.jsonl"}},
		{[]string{"--format", "json", "show", "x"}, []string{"--format", "json", "show", "--", "x"}},
		{[]string{"x", "show"}, []string{"--", "x", "show"}}, // a file named like a subcommand, after a file
		{[]string{"exec", "--dir", "d", "ls", "-la", "--dir"}, []string{"exec", "--dir", "d", "--", "ls", "-la", "--dir"}},
		{[]string{"exec", "--", "ls", "-v"}, []string{"exec", "--", "ls", "-v"}},
		{[]string{"show", "a", "--bogus", "b"}, []string{"show", "--bogus", "--", "a", "b"}}, // parsed later: an error
		{[]string{"show", "a", "--type"}, []string{"show", "--type", "--", "a"}},             // missing value: an error later
		{nil, nil},
	} {
		var got []string
		var cmd string
		tool := testTool(&got, &cmd)
		v := map[*ffcli.Command]bool{}
		for _, c := range tool.Verbatim {
			v[c] = true
		}
		if d := cmp.Diff(c.want, Intersperse(tool.Root, c.args, v)); d != "" {
			t.Errorf("Intersperse(%q) (-want +got):\n%s", c.args, d)
		}
	}
}

func runTool(t *testing.T, args ...string) (code int, stdout, stderr, cmd string, got []string) {
	t.Helper()
	var out, errb bytes.Buffer
	tool := testTool(&got, &cmd)
	code = Run(context.Background(), tool, args, &out, &Printer{Prog: "prog", W: &errb}, ExitInternal)
	return code, out.String(), errb.String(), cmd, got
}

// TestRunFlagsAnywhere: a flag after a positional argument is a flag, and an
// unknown one is a usage error before the command runs.
func TestRunFlagsAnywhere(t *testing.T) {
	code, _, stderr, cmd, got := runTool(t, "show", "a.jsonl", "--type", "llm.call", "b.jsonl")
	if code != ExitOK || cmd != "show" || stderr != "" || !cmp.Equal(got, []string{"a.jsonl", "b.jsonl"}) {
		t.Errorf("code %d cmd %q args %q stderr %q", code, cmd, got, stderr)
	}
	code, _, stderr, cmd, _ = runTool(t, "show", "a.jsonl", "--tpye", "x")
	if code != ExitUsage || cmd != "" || !strings.Contains(stderr, "flag provided but not defined: -tpye") || !strings.Contains(stderr, "run 'prog show -h'") {
		t.Errorf("misspelt flag: code %d cmd %q stderr %q", code, cmd, stderr)
	}
	code, _, _, cmd, got = runTool(t, "exec", "ls", "-v")
	if code != ExitOK || cmd != "exec" || !cmp.Equal(got, []string{"ls", "-v"}) {
		t.Errorf("exec: code %d cmd %q args %q: the program's flags must stay its own", code, cmd, got)
	}
}

// TestRunHelp: -h, --help and help [SUB|TOPIC] print on stdout and succeed;
// an unknown help subject is a usage error.
func TestRunHelp(t *testing.T) {
	_, want, _, _, _ := runTool(t, "show", "-h")
	if !strings.Contains(want, "prog show [flags] ARG...") || !strings.Contains(want, "-type") {
		t.Fatalf("show -h printed %q", want)
	}
	for _, args := range [][]string{{"show", "--help"}, {"help", "show"}, {"show", "x", "-h"}} {
		code, stdout, stderr, cmd, _ := runTool(t, args...)
		if code != ExitOK || stdout != want || stderr != "" || cmd != "" {
			t.Errorf("%q: code %d cmd %q stderr %q, stdout differs from show -h: %v", args, code, cmd, stderr, cmp.Diff(want, stdout))
		}
	}
	code, stdout, stderr, _, _ := runTool(t, "help")
	if code != ExitOK || !strings.Contains(stdout, "SUBCOMMANDS") || !strings.Contains(stdout, "exit-codes") || stderr != "" {
		t.Errorf("help: code %d stdout %q stderr %q", code, stdout, stderr)
	}
	code, stdout, _, _, _ = runTool(t, "help", "exit-codes")
	if code != ExitOK || !strings.Contains(stdout, "128+N") {
		t.Errorf("help exit-codes: code %d stdout %q", code, stdout)
	}
	code, stdout, stderr, _, _ = runTool(t, "help", "nosuch")
	if code != ExitUsage || stdout != "" || !strings.Contains(stderr, `no help for "nosuch"`) {
		t.Errorf("help nosuch: code %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func TestRunVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"-q", "--version"}} {
		code, stdout, stderr, cmd, _ := runTool(t, args...)
		if code != ExitOK || !strings.HasPrefix(stdout, "prog ") || stderr != "" || cmd != "" {
			t.Errorf("%q: code %d stdout %q stderr %q cmd %q", args, code, stdout, stderr, cmd)
		}
	}
	// A subcommand's --version is its own (here: not defined).
	if code, _, _, _, _ := runTool(t, "show", "--version"); code != ExitUsage {
		t.Errorf("show --version: code %d, want %d", code, ExitUsage)
	}
	// No environment variable turns it on.
	t.Setenv("BRAIN_VERSION", "1")
	if code, stdout, _, cmd, _ := runTool(t, "f"); code != ExitOK || cmd != "prog" || stdout != "" {
		t.Errorf("with BRAIN_VERSION set: code %d cmd %q stdout %q", code, cmd, stdout)
	}
}

func TestVersionLine(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	got := versionLine("brain-audit", bi)
	if !strings.HasPrefix(got, "brain-audit v1.2.3 (revision 0123456789ab+modified, 2026-12-01T10:00:00Z) go1.26.8 ") {
		t.Errorf("versionLine = %q", got)
	}
	if got := versionLine("x", &debug.BuildInfo{GoVersion: "go1.26.8"}); !strings.HasPrefix(got, "x (devel) (no VCS revision) go1.26.8") {
		t.Errorf("versionLine without VCS = %q", got)
	}
}

// TestBashCompletion loads the generated script into a real bash and asks
// it to complete words as readline would.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	_, script, _, _, _ := runTool(t, "completion", "bash")
	f := filepath.Join(t.TempDir(), "prog.bash")
	if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	complete := func(line string) string {
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := "source " + f + "; COMP_WORDS=(" + strings.Join(quoted, " ") + "); COMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "; _prog; printf '%s\\n' \"${COMPREPLY[@]}\""
		out, err := exec.Command(bash, "--norc", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", line, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for line, want := range map[string]string{
		"prog s":               "show",
		"prog ":                "completion\nexec\nhelp\nshow",
		"prog show --t":        "--type",
		"prog show x --j":      "--json",
		"prog --format json s": "show",
		"prog show --type ":    "", // a value: readline's default (files)
		"prog exec ls -":       "", // the program's own arguments
		"prog exec --d":        "--dir",
		"prog --v":             "--version",
	} {
		if got := complete(line); got != want {
			t.Errorf("complete %q = %q, want %q", line, got, want)
		}
	}
}

// TestOtherShells: the zsh script loads in a real zsh, and fish, asked to
// complete a command line (complete -C), offers what the tree has. Where a
// shell is not installed (scripts/deps.sh installs both) the script is
// only checked for content.
func TestOtherShells(t *testing.T) {
	script := func(shell string) string {
		_, s, _, _, _ := runTool(t, "completion", shell)
		if !strings.Contains(s, "show") {
			t.Errorf("%s script lists no subcommand:\n%s", shell, s)
		}
		f := filepath.Join(t.TempDir(), "prog."+shell)
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	zf, ff := script("zsh"), script("fish")
	if zsh, err := exec.LookPath("zsh"); err != nil {
		t.Log("zsh not installed: script not loaded")
	} else if out, err := exec.Command(zsh, "-f", "-c", "source "+zf+" && print -r -- ${_comps[prog]}").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) == "" {
		t.Errorf("zsh: %v\n%s", err, out)
	}
	if fish, err := exec.LookPath("fish"); err != nil {
		t.Log("fish not installed: script not loaded")
	} else {
		for line, want := range map[string]string{"prog sh": "show", "prog show --t": "--type", "prog --f": "--format"} {
			out, err := exec.Command(fish, "--no-config", "-c", "source "+ff+"; complete -C '"+line+"'").CombinedOutput()
			if err != nil || !strings.Contains(string(out), want) {
				t.Errorf("fish completes %q: %v\n%s", line, err, out)
			}
		}
	}
	if code, _, stderr, _, _ := runTool(t, "completion", "tcsh"); code != ExitUsage || !strings.Contains(stderr, "want bash, zsh or fish") {
		t.Errorf("completion tcsh: code %d stderr %q", code, stderr)
	}
}
