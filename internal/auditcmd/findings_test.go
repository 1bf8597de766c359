package auditcmd

import (
	"strings"
	"testing"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/chain/checkpoint"
)

// TestHelpFindings checks that 'brain-audit help findings' names every
// finding class verify-log can report, the chain's and the checkpoints'.
func TestHelpFindings(t *testing.T) {
	code, stdout, stderr := run(t, "", "help", "findings")
	if code != 0 || stderr != "" {
		t.Fatalf("help findings: exit %d\n%s", code, stderr)
	}
	all := append([]chain.Class{chain.Tampered, chain.BrokenLink, chain.SeqGap, chain.Duplicate, chain.TornTail, chain.MissingNewline,
		chain.Malformed, chain.HeaderProblem, chain.MissingFile, chain.HeadMismatch}, checkpoint.Classes...)
	for _, c := range all {
		if !strings.Contains(stdout, "\n  "+string(c)+" ") {
			t.Errorf("help findings does not list %s:\n%s", c, stdout)
		}
	}
}
