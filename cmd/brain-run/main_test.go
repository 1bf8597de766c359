package main_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/testutil"
)

// binDir holds the binaries build builds, once per test process.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "brain-run-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	out, err := exec.Command("go", "build", "-o", dir+"/", ".", "../brain-run-full").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, nil
})

// build returns brain-run and brain-run-full, built into one directory as
// make build and go install do, linked into a directory of the test's own
// (which a test may change).
func build(t *testing.T) (run, full string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds both binaries")
	}
	dir, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, name := range []string{"brain-run", runcore.FullBinary} {
		if err := os.Link(filepath.Join(dir, name), filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(bin, "brain-run"), filepath.Join(bin, runcore.FullBinary)
}

type result struct {
	pid            int
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, dir, bin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT=", "BRAIN_SESSION_ID=", "TRACEPARENT=", "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return result{cmd.Process.Pid, cmd.ProcessState.ExitCode(), out.String(), errb.String()}
}

// TestFastAndFull: exec runs in brain-run itself; an exec that exports over
// OTLP, and every other subcommand, run in brain-run-full, which replaces
// brain-run in the same process (same pid, same streams, its exit code);
// without brain-run-full the hand-off is a clear error.
func TestFastAndFull(t *testing.T) {
	run, full := build(t)
	dir := t.TempDir()
	// $PPID of the program exec starts is the brain-run process: its
	// executable says which binary ran exec.
	const who = `readlink /proc/$PPID/exe; echo $PPID; exit 7`

	r := runBin(t, dir, run, "exec", "--", "sh", "-c", who)
	if r.code != 7 || r.stdout != run+"\n"+strconv.Itoa(r.pid)+"\n" || r.stderr != "" {
		t.Errorf("disk-only exec: code %d stdout %q stderr %q; want 7, run by %s itself", r.code, r.stdout, r.stderr, run)
	}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := closed.Addr().String()
	closed.Close()
	r = runBin(t, dir, run, "exec", "--otlp-endpoint", endpoint, "--", "sh", "-c", who)
	if r.code != 7 || r.stdout != full+"\n"+strconv.Itoa(r.pid)+"\n" {
		t.Errorf("exec with an endpoint: code %d stdout %q; want 7, run by %s in the same process", r.code, r.stdout, full)
	}
	if n := strings.Count(r.stderr, "warning:"); n != 1 || !strings.Contains(r.stderr, endpoint) {
		t.Errorf("exec with a dead endpoint: want one warning naming %s, got %q", endpoint, r.stderr)
	}

	// Every other subcommand behaves exactly as brain-run-full's own.
	for _, args := range [][]string{
		{"status", "--dir", "ws"},
		{"flush", "--dir", "ws"},
		{"plan", "-h"},
		{"check", "--artifact", "nowhere"},
	} {
		got, want := runBin(t, dir, run, args...), runBin(t, dir, full, args...)
		if got.code != want.code || got.stdout != want.stdout || got.stderr != want.stderr {
			t.Errorf("brain-run %v: code %d stdout %q stderr %q; brain-run-full: %d %q %q", args, got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
		}
	}

	if err := os.Remove(full); err != nil {
		t.Fatal(err)
	}
	r = runBin(t, dir, run, "plan", "--goal", "x")
	if r.code != 70 || !strings.Contains(r.stderr, full) || !strings.Contains(r.stderr, "make build") {
		t.Errorf("without %s: code %d stderr %q; want 70 naming it and how to install it", full, r.code, r.stderr)
	}
	if r = runBin(t, dir, run, "exec", "--", "true"); r.code != 0 {
		t.Errorf("exec without %s: code %d stderr %q; want 0", full, r.code, r.stderr)
	}
}

// TestLinksOnlyTheCore keeps brain-run small: what exec does not need — gRPC,
// the model clients, SQLite, the WebAssembly runtime, the Collector's pdata
// (exec's spans are encoded without it) — is in brain-run-full,
// and linking it here would cost every exec its start-up time (BENCHMARKS.md).
func TestLinksOnlyTheCore(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, heavy := range []string{"google.golang.org/grpc", "google.golang.org/genai", "github.com/openai/", "github.com/ncruces/go-sqlite3", "github.com/tetratelabs/wazero", "go.opentelemetry.io/collector/pdata", "github.com/json-iterator/", "github.com/brain-dev/brain/internal/runcmd"} {
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, heavy) {
				t.Errorf("brain-run links %s", dep)
				break
			}
		}
	}
}

// TestSignalForwarded: brain-run, which installs no handler at start-up,
// forwards a SIGTERM sent to it to the program, exits with the program's
// code, and writes both end records.
func TestSignalForwarded(t *testing.T) {
	run, _ := build(t)
	dir := t.TempDir()
	cmd := exec.Command(run, "exec", "--dir", dir, "--", "sh", "-c", testutil.TrapTerm)
	cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT=")
	testutil.ForwardsTerm(t, cmd)
	rep, err := chain.VerifyFile(context.Background(), filepath.Join(dir, runcore.AuditFile), chain.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Records != 5 {
		t.Fatalf("chain: %+v, %v; want PASS with the header and four records", rep, err)
	}
}
