package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/brain-dev/brain/internal/names"
)

// ExitCode is one row of the exit-code table every binary shares.
type ExitCode struct {
	Code    string // "0", "N" or "128+N"
	Meaning string // Markdown: `code` spans and *emphasis* only
}

// ExitCodes returns the table of exit codes, in the order the README lists
// them. `help exit-codes` prints it and a test holds the README's table to
// it, so that the two cannot drift.
func ExitCodes() []ExitCode {
	return []ExitCode{
		{"0", "success; verification PASS; every check passed; diff: identical"},
		{"1", "findings: verification FAIL, a check failed or errored, a task failed its checks, the state store differs from the audit chain or a record of the chain holds what BRAIN never writes (`status --chain`), lint violations (warnings alone pass), diff: different, repair refused, a drill deviated, was aborted or was not run (`brain-drill run`: not-run never counts as passed; `--allow-not-run` lets it by), a checkpoint refused (the chain does not verify or does not extend the last checkpoint), a proof that does not verify, a witness that refuses a checkpoint, an evidence bundle written with a FAIL in it or one that does not verify (`evidence verify`)"},
		{"2", "usage error: a bad flag, subcommand or argument, or a flag's value out of range; nothing was read or written"},
		{"3", "an input could not be read or is not valid (a missing file, a bad input line, spans that are not OTLP JSON, a bad tasks.yaml or one over `--max-plan-bytes` / `--max-plan-tasks`, a bad dictionary, config, drill file or audit chain, a missing or wrong state key, a signer key file others may read), an output could not be written, or a witness could not be reached"},
		{"4", "an audit record could not be written durably (disk full, I/O error, a torn chain tail): the operation was aborted and nothing partial was left"},
		{"5", "`brain-run plan`, `execute`: the model provider failed (key missing or revoked, rate limit, server error, network, timeout), its answer was over `--max-reply-bytes`, or its reply is not a valid plan (or one over `--max-plan-bytes` / `--max-plan-tasks`); nothing was written from it"},
		{"6", "`brain-run execute`: tasks.yaml is not the plan `brain-run plan` recorded (edited, or never planned); run it with `--accept-edited-plan` to record it as a new plan. Also: a check module file is not the one tasks.yaml pins (changed, a symbolic link, not a regular file, missing, not pinned), which no flag accepts"},
		{"70", "a crash (a panic: the root span and a `command.crashed` record say so, and stderr names the session and trace id) or an internal error, such as `brain-run` unable to hand a subcommand to `brain-run-full`"},
		{"128+N", "interrupted by signal N (Ctrl-C: 130, SIGTERM: 143) before the command could finish; `brain-run` still records what it did and ends with a `command.end` of class `interrupted`; `brain-drill` first runs the interrupted drill's rollback. A command that had already succeeded exits 0"},
		{"N", "`brain-run exec`: the program's own exit code (128+N when signal N killed it; 127 not found; 126 not executable)"},
	}
}

// HelpTopics returns the help topics every binary has.
func HelpTopics() []Topic {
	var b strings.Builder
	b.WriteString("EXIT CODES (the same for every BRAIN binary)\n")
	for _, c := range ExitCodes() {
		fmt.Fprintf(&b, "  %-6s %s\n", c.Code, Wrap(c.Meaning, 72, "         "))
	}
	exit := b.String()
	b.Reset()
	b.WriteString("ERROR CLASSES (error.type on spans, error in command.end records)\n")
	b.WriteString("A command that fails records its class; the class decides the exit code.\n")
	for _, c := range names.Classes() {
		code := "span"
		if n, ok := names.ExitCode(c); ok {
			code = strconv.Itoa(n)
			if c == names.ClassInterrupted {
				code = "128+N"
			}
		}
		fmt.Fprintf(&b, "  %-19s %-5s %s\n", c, code, Wrap(names.Doc(c), 52, strings.Repeat(" ", 28)))
	}
	topics := helpTopicHeads()
	topics[0].Text, topics[1].Text = exit, b.String()
	return topics
}

// helpTopicHeads returns HelpTopics without their texts: what the root's
// help lists, which every run builds (cli.Run), whereas wrapping the texts
// costs 0.2 ms of CPU that only 'help TOPIC' needs.
func helpTopicHeads() []Topic {
	return []Topic{
		{Name: "exit-codes", Short: "what each exit code means"},
		{Name: "error-classes", Short: "every error class, its exit code and what it means"},
	}
}

// Wrap breaks s into lines of at most width bytes at spaces, indenting
// every line but the first with indent.
func Wrap(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		if i > 0 && n+1+len(w) > width {
			b.WriteString("\n" + indent)
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
