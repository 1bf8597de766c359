package main_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/testutil"
	"github.com/brain-dev/brain/internal/wasmgen"
	"github.com/brain-dev/brain/internal/workspace"
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
// the model clients, SQLite, the WebAssembly runtime, the Collector's pdata,
// protobuf and the OTLP protobuf types (exec's spans are encoded from the
// SDK's own, without the OTLP exporter's transform), the metrics SDK and its exporter
// (metrics are exported only with an endpoint, and a command with one is
// handed to brain-run-full) — is in brain-run-full,
// and linking it here would cost every exec its start-up time (BENCHMARKS.md).
func TestLinksOnlyTheCore(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, heavy := range []string{"google.golang.org/grpc", "google.golang.org/genai", "github.com/openai/", "github.com/ncruces/go-sqlite3", "github.com/tetratelabs/wazero", "go.opentelemetry.io/collector/pdata", "github.com/json-iterator/", "github.com/brain-dev/brain/internal/runcmd", "go.opentelemetry.io/otel/sdk/metric", "go.opentelemetry.io/otel/exporters/otlp/otlpmetric",
		"google.golang.org/protobuf", "go.opentelemetry.io/proto/otlp", "go.opentelemetry.io/otel/exporters/otlp/otlptrace",
		// CPU detection in package initialisation, with CPUID instructions
		// a hypervisor traps: 0.4 ms of every command's start (cpuid),
		// 0.04 ms (x/sys/cpu; chain/internal/fastpath detects what it
		// needs on first use).
		"github.com/klauspost/cpuid", "github.com/zeebo/blake3", "golang.org/x/sys/cpu"} {
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, heavy) {
				t.Errorf("brain-run links %s", dep)
				break
			}
		}
	}
}

// TestInitWork keeps the work brain-run's own packages do before main to
// the list below: every exec pays for it (BENCHMARKS.md, "Against the
// durable floor"). With GODEBUG=inittrace=1 the runtime names every package
// whose initialisation does any work; a table is written out as constants,
// a regular expression or a CPU feature is made or asked for on first use.
func TestInitWork(t *testing.T) {
	run, _ := build(t)
	// The packages allowed some work, and the allocations it may make.
	allowed := map[string]int{
		"github.com/brain-dev/brain/chain":                   0, // hexVal, a 256-byte table filled by a loop
		"github.com/brain-dev/brain/chain/internal/fastpath": 6, // hexPairs, the same; three sync.OnceValue self-checks
	}
	cmd := exec.Command(run, "exec", "--dir", t.TempDir(), "--", "true")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1", "OTEL_EXPORTER_OTLP_ENDPOINT=", "BRAIN_SESSION_ID=", "TRACEPARENT=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("brain-run exec -- true: %v\n%s", err, out)
	}
	traced := false
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "init" {
			continue
		}
		traced = traced || f[1] == "runtime"
		pkg := f[1]
		if !strings.HasPrefix(pkg, "github.com/brain-dev/brain/") && pkg != "golang.org/x/sys/cpu" {
			continue
		}
		most, ok := allowed[pkg]
		if allocs, err := strconv.Atoi(f[len(f)-2]); !ok || err != nil || allocs > most {
			t.Errorf("brain-run initialises %s before main: %s", pkg, line)
		}
	}
	if !traced {
		t.Fatalf("no init trace of the runtime in the output:\n%s", out)
	}
}

// TestOthersHashBLAKE3Fast: every executable but brain-run registers the
// SIMD BLAKE3 (chain/blake3fast), so a long BLAKE3 chain verifies at the
// library's speed; brain-run alone keeps the plain code and the faster start.
func TestOthersHashBLAKE3Fast(t *testing.T) {
	for _, cmd := range []string{"brain-audit", "brain-trace-lint", "brain-drill", "brain-run-full"} {
		out, err := exec.Command("go", "list", "-deps", "../"+cmd).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Fields(string(out)), "github.com/brain-dev/brain/chain/blake3fast") {
			t.Errorf("%s does not link chain/blake3fast", cmd)
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
	rep, err := chain.VerifyFile(context.Background(), filepath.Join(dir, workspace.AuditFile), chain.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Records != 5 {
		t.Fatalf("chain: %+v, %v; want PASS with the header and four records", rep, err)
	}
}

// countInts is a perl program for TestTerminalSignalOnce: it prints
// "ready", a line "int N" for every SIGINT it catches, and on SIGTERM the
// count, then exits 42.
const countInts = `$| = 1; my $n = 0;
$SIG{INT} = sub { $n++; print "int $n\n" };
$SIG{TERM} = sub { print "term $n\n"; exit 42 };
print "ready\n";
select(undef, undef, undef, 0.01) while 1;`

// execInGroup starts `run exec --dir dir -- argv...` in a process group
// of its own, with env added and no OTLP endpoint, and returns it with its
// stdout's lines; a watchdog kills the group after 20 s (a safety net, not
// synchronisation).
func execInGroup(t *testing.T, run, dir string, env []string, argv ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(run, append([]string{"exec", "--dir", dir, "--"}, argv...)...)
	cmd.Env = append(append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT="), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(20*time.Second, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	t.Cleanup(func() { watchdog.Stop() })
	return cmd, bufio.NewScanner(out)
}

// TestTerminalSignalOnce: a Ctrl-C reaches the program once. A terminal
// sends SIGINT to its whole foreground process group, brain-run and the
// program alike; brain-run must not forward it as well (a second Ctrl-C
// means "stop now" to many programs). Once the program is in a group of
// its own (setsid), a SIGINT sent to brain-run is forwarded. The SIGTERM
// sent after it is forwarded in both cases, after anything forwarded
// before it, so by then the program has counted every SIGINT it got.
func TestTerminalSignalOnce(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl")
	}
	run, _ := build(t)
	for _, tc := range []struct {
		name   string
		argv   []string
		signal func(brainRun int) error // the SIGINT
	}{
		{"group", []string{"perl", "-e", countInts}, func(pid int) error { return syscall.Kill(-pid, syscall.SIGINT) }},
		{"own group", []string{"setsid", "perl", "-e", countInts}, func(pid int) error { return syscall.Kill(pid, syscall.SIGINT) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, lines := execInGroup(t, run, t.TempDir(), nil, tc.argv...)
			next := func(want string) {
				t.Helper()
				if !lines.Scan() || lines.Text() != want {
					t.Fatalf("read %q (%v), want %q", lines.Text(), lines.Err(), want)
				}
			}
			next("ready")
			if err := tc.signal(cmd.Process.Pid); err != nil {
				t.Fatal(err)
			}
			next("int 1")
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			next("term 1")
			if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 42 {
				t.Fatalf("brain-run: %v, want exit 42", err)
			}
		})
	}
}

// TestSignalBeforeStart: a Ctrl-C that reaches brain-run's process group
// before the program has started (while brain-run makes its start records
// durable) is not lost: the program did not get it from the terminal, so
// brain-run passes it on once the program runs. The program is held back
// at its start by a delay fault; the SIGINT is sent once the start record is
// in the chain. The program then either dies of it (exit 130) or counts it
// before the SIGTERM that follows.
func TestSignalBeforeStart(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl")
	}
	run, _ := build(t)
	dir := t.TempDir()
	cmd, lines := execInGroup(t, run, dir, []string{"BRAIN_FAULTS=delay@exec.start=2s"}, "perl", "-e", countInts)
	// The start record is durable before the delay begins: brain-run is
	// then waiting to start the program.
	for deadline := time.Now().Add(20 * time.Second); ; {
		b, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
		if bytes.Contains(b, []byte(`"type":"exec.start"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no start record in the chain")
		}
		time.Sleep(time.Millisecond) // polling the chain, not waiting for it
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if lines.Scan() {
		if lines.Text() != "ready" {
			t.Fatalf("read %q", lines.Text())
		}
		// Alive: it caught the SIGINT, or never got it; the SIGTERM
		// says which.
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		var got []string
		for lines.Scan() {
			got = append(got, lines.Text())
		}
		if !slices.Contains(got, "term 1") {
			t.Errorf("the program printed %q after ready: it did not get the Ctrl-C sent before it started", got)
		}
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 && code != 42 {
		t.Errorf("brain-run exited %d, want 130 (the program died of the SIGINT) or 42", code)
	}
}

// TestSignalBeforeHandoff: a SIGTERM that brain-run exec caught before
// handing over to brain-run-full (an OTLP endpoint is set) is raised again
// and stops it as it would have, uncaught: the program never runs and no
// record is written. Without that, the signal was lost with the process
// image, and brain-run-full ran the program as if nothing had been sent.
func TestSignalBeforeHandoff(t *testing.T) {
	run, _ := build(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	cmd := exec.Command(run, "exec", "--dir", dir, "--otlp-endpoint", "127.0.0.1:1", "--", "touch", marker)
	cmd.Env = append(os.Environ(), "BRAIN_FAULTS=delay@exec.handoff=2s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The SIGTERM must come once brain-run catches it, or the runtime's
	// default (death by SIGTERM) would pass the test whatever exec does.
	for deadline := time.Now().Add(20 * time.Second); !notified(t, cmd.Process.Pid, syscall.SIGTERM); {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("brain-run never caught SIGTERM")
		}
		time.Sleep(time.Millisecond) // polling /proc, not waiting for it
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("brain-run still runs 30 s after the SIGTERM")
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("brain-run ended with %v, want killed by SIGTERM", cmd.ProcessState)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the program ran after the SIGTERM")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "audit.jsonl")); err == nil && len(b) > 0 {
		t.Errorf("records were written after the SIGTERM:\n%s", b)
	}
}

// notified reports whether process pid has asked the Go runtime for sig
// (os/signal.Notify): the runtime then unblocks it on the thread of its own
// that it keeps for such signals, the one thread with other signals
// blocked. Every Go program has a handler for every signal (/proc's
// SigCgt), so the handler says nothing. False once the process is gone.
func notified(t *testing.T, pid int, sig syscall.Signal) bool {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if hex, ok := strings.CutPrefix(line, "SigBlk:"); ok {
				mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
				if err != nil {
					t.Fatalf("%s: SigBlk %q: %v", task, hex, err)
				}
				if mask != 0 && mask&(1<<(uint(sig)-1)) == 0 {
					return true
				}
			}
		}
	}
	return false
}

// TestCheckInterrupted: SIGINT or SIGTERM to a brain-run check whose
// module takes minutes to compile stops it at once: brain-run exits with
// 128+N, having killed the sandbox process it started, and its audit chain
// verifies. SIGKILL to brain-run takes its sandbox with it (the sandbox's
// parent-death signal). Before the sandbox process, the compile ran to its
// end whatever the signal.
func TestCheckInterrupted(t *testing.T) {
	run, _ := build(t)
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.wasm")
	if err := os.WriteFile(bomb, wasmgen.NestedBlocks(200_000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "art"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			ws, cache := t.TempDir(), t.TempDir()
			cmd := exec.Command(run, "check", "--dir", ws, "--cache-dir", cache, "--timeout", "10m", "--artifact", filepath.Join(dir, "art"), "--check", bomb)
			cmd.Env = append(os.Environ(), "OTEL_EXPORTER_OTLP_ENDPOINT=", "NO_COLOR=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			sandbox := startCompiling(t, cmd, cache)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// A safety net, not synchronisation: a brain-run still
			// compiling after this is killed, and the test fails.
			watchdog := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill(); unix.Kill(sandbox.pid, unix.SIGKILL) })
			defer watchdog.Stop()
			cmd.Wait()
			if !watchdog.Stop() {
				t.Fatalf("brain-run was still running 20 s after %v", sig)
			}
			if !sandbox.gone(t, 20*time.Second) {
				t.Fatalf("the sandbox process %d outlived brain-run", sandbox.pid)
			}
			if sig == syscall.SIGKILL {
				return
			}
			if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
				t.Errorf("exit code %d, want %d; stderr: %s", code, 128+int(sig), stderr.String())
			}
			rep, err := chain.VerifyFile(context.Background(), filepath.Join(ws, workspace.AuditFile), chain.VerifyOptions{})
			if err != nil || !rep.OK() {
				t.Errorf("chain: %+v, %v; want PASS", rep, err)
			}
		})
	}
}

// sandboxProc is a check's sandbox process, held by a pidfd so that its end
// can be awaited although it is not the test's child.
type sandboxProc struct {
	pid, fd int
}

// gone reports whether the process has ended, waiting at most wait.
func (p sandboxProc) gone(t *testing.T, wait time.Duration) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(wait.Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
}

// startCompiling starts cmd, a brain-run check, and returns its sandbox
// process once that has begun compiling the module: when the sandbox
// creates the module's directory in the cache directory cache (watched
// with inotify).
func startCompiling(t *testing.T, cmd *exec.Cmd, cache string) sandboxProc {
	t.Helper()
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, cache, unix.IN_CREATE); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	created := make(chan error, 1)
	go func() {
		_, err := unix.Read(in, make([]byte, 4096))
		created <- err
	}()
	select {
	case err := <-created:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second): // a safety net
		t.Fatal("no sandbox began compiling within 20 s")
	}
	// The sandbox is the child of one of brain-run's threads.
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, task := range tasks {
		b, _ := os.ReadFile(task) // a thread may have ended
		pids = append(pids, strings.Fields(string(b))...)
	}
	if len(pids) != 1 {
		t.Fatalf("brain-run has children %v, want its one sandbox", pids)
	}
	pid, err := strconv.Atoi(pids[0])
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return sandboxProc{pid, fd}
}
