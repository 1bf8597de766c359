// Package auditcmd is brain-audit: it verifies, diffs, repairs, inspects and
// appends to audit chains (package chain).
package auditcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/cli"
)

const prog = "brain-audit"

// env is what every subcommand gets.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	p      *cli.Printer
}

// Main runs brain-audit with args (without the program name) and returns its
// exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, p: cli.NewPrinter(prog, stderr)}
	root := &ffcli.Command{
		Name:       prog,
		ShortUsage: "brain-audit <subcommand> [flags] [args]",
		LongHelp:   "brain-audit verifies, diffs, repairs and inspects BRAIN audit chains.",
		FlagSet:    flag.NewFlagSet(prog, flag.ContinueOnError),
		Subcommands: []*ffcli.Command{
			newVerify(e),
			newAppend(e),
			newDiff(e),
			newRepair(e),
			newShow(e),
			newKeygen(e),
			newCheckpoint(e),
			newProve(e),
			newVerifyProof(e),
			newConsistency(e),
			newWitness(e),
		},
	}
	return cli.Run(ctx, cli.Tool{Root: root, Topics: []cli.Topic{findingsTopic()}}, args, stdout, e.p, cli.ExitInternal)
}

// findingsTopic is 'brain-audit help findings': every class of finding
// verify-log reports (docs/chain-format.md, section 7, and
// docs/checkpoints.md).
func findingsTopic() cli.Topic {
	classes := []struct{ class, meaning string }{
		{string(chain.Tampered), "a record's hash does not match its bytes: the record was modified"},
		{string(chain.BrokenLink), "a record's prev is not the previous record's hash: records deleted, inserted or reordered"},
		{string(chain.SeqGap), "the link holds but seq does not follow the previous record's"},
		{string(chain.Duplicate), "a record repeats the previous one"},
		{string(chain.TornTail), "the chain's final line is part of a record: a write was interrupted (repairable)"},
		{string(chain.MissingNewline), "the final record verifies but lacks its newline (repairable, nothing lost)"},
		{string(chain.Malformed), "a line that is not a record, or a record not in the canonical form"},
		{string(chain.HeaderProblem), "a file's header is missing, damaged or inconsistent with the chain"},
		{string(chain.MissingFile), "a file of a rotated chain is missing"},
		{string(chain.HeadMismatch), "(--head) the recorded head is not in the chain: a tail cut or a rewrite"},
		{string(checkpoint.Mismatch), "(--vkey) a checkpoint's Merkle root is not the chain's at its size: records it covers were changed (rewritten and rehashed, or tampered with)"},
		{string(checkpoint.Truncated), "(--vkey) the chain has fewer records than a checkpoint: its tail was cut"},
		{string(checkpoint.Fork), "(--vkey) two checkpoints signed by the key that cannot be of one log: the same size with different roots, or a later one that does not extend an earlier one"},
		{string(checkpoint.BadSignature), "(--vkey) a checkpoint not signed by the key given (another key), or changed after it was signed"},
		{string(checkpoint.Malformed), "(--vkey) a line of the checkpoint file that is not a signed checkpoint, or a checkpoint of another log"},
		{string(checkpoint.Torn), "(--vkey) the checkpoint file's last line is torn: a write was interrupted (repairable)"},
		{string(checkpoint.Missing), "(--vkey) the chain has no checkpoint file, or an empty one"},
		{string(checkpoint.Stale), "(--vkey --max-uncovered N) more than N records follow the latest checkpoint"},
	}
	var b strings.Builder
	b.WriteString("FINDINGS (verify-log; docs/chain-format.md and docs/checkpoints.md)\n")
	for _, c := range classes {
		fmt.Fprintf(&b, "  %-21s %s\n", c.class, cli.Wrap(c.meaning, 56, strings.Repeat(" ", 24)))
	}
	return cli.Topic{Name: "findings", Short: "the finding classes of verify-log", Text: b.String()}
}

// newFlags returns a flag set for a subcommand whose flags also read
// BRAIN_-prefixed environment variables.
func newFlags(name string) (*flag.FlagSet, []ff.Option) {
	return flag.NewFlagSet(prog+" "+name, flag.ContinueOnError), []ff.Option{ff.WithEnvVarPrefix("BRAIN")}
}
