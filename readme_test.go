package brain_test

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/internal/cli"
)

// TestReadmeExitCodes holds the README's exit-code table to the one the
// binaries print with `help exit-codes`, row for row.
func TestReadmeExitCodes(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Exit codes\n")
	if !ok {
		t.Fatal("README.md has no '## Exit codes' section")
	}
	var got []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| code ") {
			got = append(got, line)
		}
	}
	var want []string
	for _, c := range cli.ExitCodes() {
		want = append(want, "| "+strings.ReplaceAll(c.Code, "N", "*N*")+" | "+c.Meaning+" |")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("README.md's exit codes differ from cli.ExitCodes (-want +got):\n%s", d)
	}
}
