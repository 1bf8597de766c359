package runcmd

import (
	"github.com/brain-dev/brain/internal/testutil"
	"github.com/brain-dev/brain/internal/workspace"

	"bytes"
	"context"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/auditschema"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/spandict"
	"github.com/brain-dev/brain/internal/verifier"
)

// run runs brain-run in-process with the given environment additions.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// readSpans parses a spans file with the OpenTelemetry Collector's own
// OTLP JSON parser.
func readSpans(t *testing.T, path string) []ptrace.Span {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spans []ptrace.Span
	var u ptrace.JSONUnmarshaler
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		td, err := u.UnmarshalTraces(line)
		if err != nil {
			t.Fatalf("spans line does not parse as OTLP JSON: %v", err)
		}
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			ss := td.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < ss.Len(); j++ {
				for k := 0; k < ss.At(j).Spans().Len(); k++ {
					spans = append(spans, ss.At(j).Spans().At(k))
				}
			}
		}
	}
	return spans
}

// TestSecretsCanary: a recognisable fake API key in the environment and in the
// arguments of an exec'd command appears in no file of the workspace.
func TestSecretsCanary(t *testing.T) {
	const canary = "sk-canary-7f3a9c1e5b2d4f6a8c0e"
	dir := t.TempDir()
	code, _, stderr := run(t, map[string]string{"OPENAI_API_KEY": canary, "GEMINI_API_KEY": canary},
		"exec", "--dir", dir, "--", "sh", "-c", "echo $OPENAI_API_KEY >/dev/null", "--api-key="+canary)
	if code != 0 {
		t.Fatalf("exec: code %d: %s", code, stderr)
	}
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s contains the canary secret", p)
		}
		if fi, _ := d.Info(); fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group or other access", p, fi.Mode().Perm())
		}
		return nil
	})
	if n < 2 {
		t.Fatalf("the workspace holds %d files, want the chain and the spans", n)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 && fi.Mode().Perm() != 0o755 {
		t.Logf("workspace mode %v (pre-existing directory)", fi.Mode().Perm())
	}
}

// TestWorkspaceModes: a new workspace is 0700 and its files 0600.
func TestWorkspaceModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	if code, _, stderr := run(t, nil, "exec", "--dir", dir, "--", "true"); code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("workspace mode %v, want 0700", fi.Mode().Perm())
	}
	for _, f := range []string{workspace.AuditFile, workspace.SpansFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", f, err, fi.Mode().Perm())
		}
	}
}

// TestNestedTrace: a brain-run started by brain-run exec joins its trace and
// session, and every audit record names a span of that trace.
func TestNestedTrace(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	t.Setenv("BRAIN_RUN_TEST_MAIN", "1")
	code, _, stderr := run(t, nil, "exec", "--dir", dir, "--", self, "exec", "--dir", dir, "--", "true")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	spans := readSpans(t, filepath.Join(dir, workspace.SpansFile))
	var roots []ptrace.Span
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID().String()] = true
		if s.Name() == runcore.RootSpan {
			roots = append(roots, s)
		}
	}
	if len(roots) != 2 {
		t.Fatalf("%d brain_cli.command spans, want 2", len(roots))
	}
	if roots[0].TraceID() != roots[1].TraceID() {
		t.Fatalf("nested command has trace %s, parent %s: want one trace", roots[0].TraceID(), roots[1].TraceID())
	}
	var child, parent ptrace.Span
	for _, r := range roots {
		if r.ParentSpanID().IsEmpty() {
			parent = r
		} else {
			child = r
		}
	}
	if child.ParentSpanID() != parent.SpanID() {
		t.Fatalf("nested root's parent is %s, want the outer root %s", child.ParentSpanID(), parent.SpanID())
	}
	s := chain.NewScanner(mustOpen(t, filepath.Join(dir, workspace.AuditFile)))
	sessions := map[string]bool{}
	for s.Scan() {
		r := s.Record()
		if r.Type == chain.HeaderType {
			continue
		}
		if r.TraceID != parent.TraceID().String() || !ids[r.SpanID] {
			t.Errorf("record %s names trace %s span %s, not a span of the run", r.Type, r.TraceID, r.SpanID)
		}
		sessions[r.Session] = true
	}
	if len(sessions) != 1 {
		t.Errorf("records carry sessions %v, want one session", sessions)
	}
	// Every record the product wrote matches golden/audit.schema.json.
	if n, err := auditschema.ValidateFile(filepath.Join(dir, workspace.AuditFile)); err != nil || n < 9 {
		t.Errorf("schema: %d records checked: %v", n, err)
	}
}

// TestTraceparentHonoured: TRACEPARENT from the environment is the parent of
// the command's root span.
func TestTraceparentHonoured(t *testing.T) {
	dir := t.TempDir()
	const tid = "4bf92f3577b34da6a3ce929d0e0e4736"
	code, _, stderr := run(t, map[string]string{"TRACEPARENT": "00-" + tid + "-00f067aa0ba902b7-01"}, "exec", "--dir", dir, "--", "true")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	for _, s := range readSpans(t, filepath.Join(dir, workspace.SpansFile)) {
		if s.TraceID().String() != tid {
			t.Errorf("span %s has trace %s, want %s", s.Name(), s.TraceID(), tid)
		}
		if s.Name() == runcore.RootSpan && s.ParentSpanID().String() != "00f067aa0ba902b7" {
			t.Errorf("root's parent is %s, want the TRACEPARENT span", s.ParentSpanID())
		}
	}
}

// TestAuditDiskFull: on a real full filesystem the command is not run, the
// exit code is "audit write failed", the message is plain, and the chain has
// no partial record. Needs root to mount a tmpfs.
func TestAuditDiskFull(t *testing.T) {
	dir := testutil.Tmpfs(t, "16k")
	ws := filepath.Join(dir, "ws")
	if code, _, stderr := run(t, nil, "exec", "--dir", ws, "--", "true"); code != 0 {
		t.Fatalf("first run: code %d: %s", code, stderr)
	}
	fillChain(t, dir, filepath.Join(ws, workspace.AuditFile))
	marker := filepath.Join(t.TempDir(), "ran")
	code, _, stderr := run(t, nil, "exec", "--dir", ws, "--", "touch", marker)
	if code != cli.ExitAuditWrite {
		t.Fatalf("code %d, want %d (audit write failed): %s", code, cli.ExitAuditWrite, stderr)
	}
	if !strings.Contains(stderr, "audit write failed, operation aborted") || !strings.Contains(stderr, "no space left on device") {
		t.Errorf("stderr %q does not say the audit write failed for lack of space", stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran although its audit record could not be written")
	}
	rep, err := chain.VerifyFile(context.Background(), filepath.Join(ws, workspace.AuditFile), chain.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("chain after disk full: %+v, %v; want PASS", rep, err)
	}
}

func mustOpen(t *testing.T, p string) *os.File {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestMain lets the test binary act as brain-run for nested runs and as
// the check sandbox, and gives the tests one compilation cache for the
// checks, so that each module is compiled once per test binary.
func TestMain(m *testing.M) {
	verifier.ServeSandbox()
	if os.Getenv("BRAIN_RUN_TEST_MAIN") == "1" && len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-test.") {
		// As cmd/brain-run-full does.
		ctx, stop := cli.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	cache := ""
	if os.Getenv("BRAIN_CACHE_DIR") == "" {
		d, err := os.MkdirTemp("", "runcmd-test-cache-")
		if err != nil {
			panic(err)
		}
		cache = d
		os.Setenv("BRAIN_CACHE_DIR", d)
	}
	// The user key file of the tests' own (docs/state.md), never the
	// real user's.
	config, err := os.MkdirTemp("", "runcmd-test-config-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", config)
	code := m.Run()
	os.RemoveAll(config)
	if cache != "" {
		os.RemoveAll(cache)
	}
	os.Exit(code)
}

// TestDeadEndpoints: with a closed port or a black hole (accepts, never
// answers) as the OTLP endpoint, exec still succeeds with the program's exit
// code, prints exactly one warning naming the endpoint and the spans file,
// and the spans are on disk.
func TestDeadEndpoints(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	for name, ep := range map[string]string{"closed port": closedAddr, "black hole": hole.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			code, stdout, stderr := run(t, nil, "exec", "--dir", dir, "--otlp-endpoint", ep, "--", "sh", "-c", "echo out; exit 5")
			if code != 5 || stdout != "out\n" {
				t.Fatalf("code %d stdout %q, want 5 and the program's output", code, stdout)
			}
			warnings := strings.Count(stderr, "warning:")
			if warnings != 1 || !strings.Contains(stderr, ep) || !strings.Contains(stderr, filepath.Join(dir, workspace.SpansFile)) {
				t.Fatalf("stderr %q: want exactly one warning naming %s and the spans file", stderr, ep)
			}
			if n := len(readSpans(t, filepath.Join(dir, workspace.SpansFile))); n < 5 {
				t.Fatalf("%d spans on disk, want the command's spans", n)
			}
		})
	}
}

// TestSignalForwarded: a signal sent to brain-run exec reaches the program,
// and brain-run exits with what the program made of it.
func TestSignalForwarded(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(self, "exec", "--dir", t.TempDir(), "--", "sh", "-c", testutil.TrapTerm)
	cmd.Env = append(os.Environ(), "BRAIN_RUN_TEST_MAIN=1")
	testutil.ForwardsTerm(t, cmd)
}

// TestSpansMatchDictionary: every span brain-run exec writes (a success, a
// failing program, an audit failure) follows golden/spans.yaml.
func TestSpansMatchDictionary(t *testing.T) {
	dir := t.TempDir()
	run(t, nil, "exec", "--dir", dir, "--", "true")
	run(t, nil, "exec", "--dir", dir, "--", "sh", "-c", "exit 2")
	run(t, nil, "exec", "--dir", dir, "--", "no-such-program-xyz")
	run(t, map[string]string{"BRAIN_FAULTS": "ioerr@audit.write"}, "exec", "--dir", dir, "--", "true")
	spans := readSpans(t, filepath.Join(dir, workspace.SpansFile))
	checkDictionary(t, spans)
	if len(spans) < 15 {
		t.Fatalf("%d spans, want those of four commands", len(spans))
	}
}

// checkDictionary fails the test for every way a span departs from
// golden/spans.yaml.
func checkDictionary(t *testing.T, spans []ptrace.Span) {
	t.Helper()
	names := map[string]string{}
	for _, s := range spans {
		names[s.SpanID().String()] = s.Name()
	}
	d := spandict.Default()
	for _, s := range spans {
		v := spandict.SpanView{Name: s.Name(), Kind: strings.ToLower(strings.TrimPrefix(s.Kind().String(), "Span_Kind_")),
			Parent: names[s.ParentSpanID().String()], ParentRemote: s.Flags()&0x300 == 0x300,
			Error: s.Status().Code() == ptrace.StatusCodeError, Attributes: spandict.MapAttrs(s.Attributes().AsRaw())}
		for _, viol := range d.Check(v) {
			t.Errorf("%s", viol)
		}
	}
}
