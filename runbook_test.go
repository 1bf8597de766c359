package brain_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// earlyExit finds a pipe into a reader that may stop before its input ends.
var earlyExit = regexp.MustCompile(`\|\s*head\b|\|\s*sed -n '[^']*q|\bexit\s*}`)

// runbookBlock is a fenced sh block of docs/runbook.md.
type runbookBlock struct {
	line   int
	script string
	exit   int
	fault  string
}

// runbookBlocks returns the sh blocks of a run-book. Every fenced block must
// be sh (a command, run) or text (output, not run): a command in a block of
// another kind would never be run, so it is an error.
func runbookBlocks(t *testing.T, doc string) []runbookBlock {
	t.Helper()
	var blocks []runbookBlock
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		info, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		fields := strings.Fields(info)
		if len(fields) == 0 || (fields[0] != "sh" && fields[0] != "text") {
			t.Fatalf("docs/runbook.md:%d: a fenced block must be sh (run by this test) or text, not %q", i+1, info)
		}
		b := runbookBlock{line: i + 1}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "exit":
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("docs/runbook.md:%d: exit=%q", i+1, v)
				}
				b.exit = n
			case "fault":
				b.fault = v
			default:
				t.Fatalf("docs/runbook.md:%d: unknown attribute %q", i+1, f)
			}
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("docs/runbook.md:%d: the block is not closed", b.line)
		}
		if fields[0] == "sh" {
			b.script = strings.Join(body, "\n") + "\n"
			// A reader that stops early (head, sed q, awk exit) kills
			// the command before it with SIGPIPE, now and then: under
			// pipefail a block that passes by luck.
			if m := earlyExit.FindString(b.script); m != "" {
				t.Fatalf("docs/runbook.md:%d: %q stops reading its pipe early: read it to the end", b.line, m)
			}
			blocks = append(blocks, b)
		}
	}
	return blocks
}

// TestRunbook runs every command of docs/runbook.md, in order, in the
// workspace of the golden scenario (run as make coverage-lint runs it,
// with a checkpoint key in the user's config directory) with the shipped
// drills beside it: the run-book cannot rot.
func TestRunbook(t *testing.T) {
	doc, err := os.ReadFile("docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := runbookBlocks(t, string(doc))
	if len(blocks) < 10 {
		t.Fatalf("docs/runbook.md has %d sh blocks: the test extracts too few", len(blocks))
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	scenario := filepath.Join(wd, "golden", "scenarios", "basic")
	home := t.TempDir()
	work := filepath.Join(home, "ws")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + binDir + string(filepath.ListSeparator) + os.Getenv("PATH"),
		"HOME=" + home, "TMPDIR=" + os.TempDir(), "NO_COLOR=1", "LC_ALL=C.UTF-8",
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		// what the scenario's run.sh uses: its commands replay the
		// scenario's cassette, so a rerun asks no model
		"BRAIN_STATE_KEY=golden-scenario-throwaway-key",
		"BRAIN_CASSETTE=" + filepath.Join(scenario, "cassette.jsonl"),
	}
	run := func(dir, script string, extra ...string) (string, int) {
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
		cmd.Dir, cmd.Env = dir, append(append([]string(nil), env...), extra...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &ee):
			return string(out), ee.ExitCode()
		}
		t.Fatalf("running bash: %v", err)
		return "", 0
	}
	setup := `brain-audit keygen -o "$XDG_CONFIG_HOME/brain/checkpoint" example.com/audit-log
SCENARIO_DIR=` + scenario + ` BRAIN_DIR="$PWD/.brain" sh ` + filepath.Join(scenario, "run.sh") + `
cp -R ` + filepath.Join(wd, "drills") + ` drills
`
	if out, code := run(work, setup); code != 0 {
		t.Fatalf("the golden scenario's workspace: exit %d\n%s", code, out)
	}
	for _, b := range blocks {
		var extra []string
		if b.fault != "" {
			extra = append(extra, "BRAIN_FAULTS="+b.fault)
		}
		out, code := run(work, b.script, extra...)
		t.Logf("docs/runbook.md:%d: exit %d\n%s", b.line, code, out)
		if code != b.exit {
			t.Errorf("docs/runbook.md:%d: exit %d, want %d\n%s\noutput:\n%s", b.line, code, b.exit, b.script, out)
		}
	}
}
