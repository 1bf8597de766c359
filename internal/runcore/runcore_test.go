package runcore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/testutil"
	"github.com/brain-dev/brain/internal/workspace"
)

// run runs the fast brain-run in process. The test binary has no
// brain-run-full beside it, so every hand-off fails, visibly.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestExecInProcess: exec runs in the fast binary itself, traced and
// audited, with the program's exit code.
func TestExecInProcess(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	dir := filepath.Join(t.TempDir(), "ws")
	code, stdout, stderr := run(t, "exec", "--dir", dir, "--", "sh", "-c", "echo hi; exit 3")
	if code != 3 || stdout != "hi\n" || stderr != "" {
		t.Fatalf("code %d stdout %q stderr %q, want 3 \"hi\\n\" \"\"", code, stdout, stderr)
	}
	rep, err := chain.VerifyFile(context.Background(), filepath.Join(dir, workspace.AuditFile), chain.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Records != 5 {
		t.Fatalf("chain: %v, ok %v, %d records, want 5 (the header, command and exec start and end)", err, err == nil && rep.OK(), rep.Records)
	}
	if fi, err := os.Stat(filepath.Join(dir, workspace.SpansFile)); err != nil || fi.Size() == 0 {
		t.Fatalf("spans file: %v", err)
	}
}

// TestHandoffFails: a subcommand of brain-run-full, or an exec that exports
// over OTLP, is handed off; with no brain-run-full beside the executable
// that is a clear error naming it, and nothing is written.
func TestHandoffFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	for _, args := range [][]string{
		{"status", "--dir", dir},
		{"--version"},
		{"plan", "-h"},
		{"exec", "--dir", dir, "--otlp-endpoint", "127.0.0.1:4317", "--", "true"},
	} {
		code, _, stderr := run(t, args...)
		if code != cli.ExitInternal || !strings.Contains(stderr, FullBinary) || !strings.Contains(stderr, `"`+args[0]+`"`) {
			t.Errorf("%v: code %d, stderr %q; want %d naming %s", args, code, stderr, cli.ExitInternal, FullBinary)
		}
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:4317")
	if code, _, stderr := run(t, "exec", "--dir", dir, "--", "true"); code != cli.ExitInternal || !strings.Contains(stderr, FullBinary) {
		t.Errorf("exec with OTEL_EXPORTER_OTLP_ENDPOINT: code %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a failed hand-off wrote the workspace: %v", err)
	}
}

// TestOnlyExecInProcess: the fast binary knows exec alone; help, the
// version, completion, an unknown subcommand and no subcommand at all are
// brain-run-full's to answer, so they are handed off.
func TestOnlyExecInProcess(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help", "exec"}, {"--version"}, {"completion", "bash"}, {"nosuch"}, {}} {
		code, stdout, stderr := run(t, args...)
		if code != cli.ExitInternal || stdout != "" || !strings.Contains(stderr, FullBinary) {
			t.Errorf("%q: code %d, stdout %q, stderr %q; want a hand-off", args, code, stdout, stderr)
		}
	}
	code, stdout, stderr := run(t, "exec", "-h")
	if code != cli.ExitOK || !strings.Contains(stdout, "brain-run exec [flags] -- CMD") || stderr != "" {
		t.Errorf("exec -h: code %d, stdout %q, stderr %q; want its usage on stdout", code, stdout, stderr)
	}
}

// TestOnCommandLine: a flag counts as given on the command line only when
// the flag parser takes it as that flag: not as another flag's value, not
// after "--", not as a positional argument, not from the environment.
func TestOnCommandLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"plan", "--dev-log-unsafe-io"}, true},
		{[]string{"plan", "-dev-log-unsafe-io"}, true},
		{[]string{"plan", "--dev-log-unsafe-io=true"}, true},
		{[]string{"plan", "--goal", "x", "--dev-log-unsafe-io"}, true},
		{[]string{"plan", "--goal", "--dev-log-unsafe-io"}, false}, // the goal's value
		{[]string{"plan", "--goal=--dev-log-unsafe-io"}, false},
		{[]string{"plan", "-o", "--dev-log-unsafe-io", "--goal", "x"}, false},
		{[]string{"plan", "--", "--dev-log-unsafe-io"}, false}, // after "--"
		{[]string{"plan", "x", "--dev-log-unsafe-io"}, true},   // after an argument: still a flag
		{[]string{"--", "plan", "--dev-log-unsafe-io"}, true},
		{[]string{"plan", "--dev-log-unsafe-iox"}, false},
		{[]string{"plan", "dev-log-unsafe-io"}, false},
		{nil, false},
	} {
		t.Setenv("BRAIN_DEV_LOG_UNSAFE_IO", "1")
		fs, rf := NewFlags("plan")
		fs.String("goal", "", "")
		fs.String("o", "", "")
		e := &Env{Args: c.args}
		root := NewRoot(e, []*ffcli.Command{{Name: "plan", FlagSet: fs, Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
			Exec: func(context.Context, []string) error { return nil }}})
		root.Parse(cli.Intersperse(root, c.args, nil)) // the flags as the command sees them; errors leave rf unset
		if got := e.OnCommandLine(rf.fs, unsafeIOFlag); got != c.want {
			t.Errorf("OnCommandLine(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

// TestSpansWriteFailureWarns: on a real full file system, a command never
// loses its spans silently. Each exec either fails, or has its spans on
// disk (a whole line of the spans file holds its trace), or says on stderr
// that they could not be written: the audit records of a command can still
// fit in a block the chain file has while its spans need a new one.
func TestSpansWriteFailureWarns(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	mnt := testutil.Tmpfs(t, "64k")
	dir := filepath.Join(mnt, "ws")
	if code, _, stderr := run(t, "exec", "--dir", dir, "--", "true"); code != 0 {
		t.Fatalf("first exec: %d %s", code, stderr)
	}
	defer testutil.Fill(t, mnt)()
	warned := false
	for i := 0; i < 4; i++ {
		code, _, stderr := run(t, "exec", "--dir", dir, "--print-session", "--", "true")
		if code != 0 {
			continue
		}
		if strings.Contains(stderr, "brain-run: warning: telemetry: writing "+filepath.Join(dir, workspace.SpansFile)) {
			warned = true
			continue
		}
		_, trace, _ := strings.Cut(strings.SplitN(stderr, "\n", 2)[0], " trace ")
		b, _ := os.ReadFile(filepath.Join(dir, workspace.SpansFile))
		whole := b[:bytes.LastIndexByte(b, '\n')+1]
		if trace == "" || !bytes.Contains(whole, []byte(`"traceId":"`+trace+`"`)) {
			t.Fatalf("exec %d succeeded without a warning, but its trace %q is not on disk; stderr:\n%s", i, trace, stderr)
		}
	}
	t.Logf("a warning was given: %v", warned)
}
