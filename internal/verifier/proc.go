package verifier

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"
)

// The sandbox protocol. A Verifier starts the sandbox program with an
// environment of one variable, sandboxEnv=protocolVersion, its stdin and
// stdout on /dev/null, and two pipes: it writes the request on fd 3 and
// reads the answer on fd 4. Every message on either pipe is a frame: a tag
// byte, the payload's length (8 bytes, little-endian), the payload.
//
//	request (fd 3):  'Q' request JSON, 'M' module bytes
//	answer  (fd 4):  'C' (empty: the module is compiled), then
//	                 'R' report JSON, 'O' stdout bytes, 'E' stderr bytes
//
// The parent reads at most the size it expects of each frame, so a sandbox
// that a module subverted cannot make it allocate more.
const (
	sandboxEnv      = "BRAIN_CHECK_SANDBOX"
	protocolVersion = "1"

	tagRequest  = 'Q'
	tagModule   = 'M'
	tagCompiled = 'C'
	tagReport   = 'R'
	tagStdout   = 'O'
	tagStderr   = 'E'

	// maxJSONFrame bounds a request or report frame.
	maxJSONFrame = 1 << 20
)

// killGrace is how long after a check's deadline its sandbox may still
// answer (with its own timeout verdict and the output captured so far)
// before the parent kills it.
const killGrace = 200 * time.Millisecond

// sandboxStderrBytes is how much of the sandbox process's own stderr (a Go
// runtime crash report) the parent keeps to explain its death.
const sandboxStderrBytes = 4 << 10

// request is what the sandbox is asked to do.
type request struct {
	Name        string   `json:"name"`
	Args        []string `json:"args"`
	ArtifactDir string   `json:"artifact_dir"`
	// CacheDir is the module's own compilation cache directory.
	CacheDir       string        `json:"cache_dir"`
	Timeout        time.Duration `json:"timeout"`
	MemoryPages    uint32        `json:"memory_pages"`
	MaxOutputBytes int64         `json:"max_output_bytes"`
}

// report is the sandbox's verdict on a check; stdout and stderr travel in
// frames of their own.
type report struct {
	Verdict  Verdict `json:"verdict"`
	Class    Class   `json:"class,omitempty"`
	ExitCode *uint32 `json:"exit_code,omitempty"`
	Error    string  `json:"error,omitempty"`
	// PeakRSS is the sandbox's own peak resident memory when it answered,
	// in bytes; 0 where unknown.
	PeakRSS int64 `json:"peak_rss,omitempty"`
	stdout  []byte
	stderr  []byte
}

// SandboxExit is how a check's sandbox process ended, as the parent saw it.
type SandboxExit struct {
	// Compiled is set when the sandbox said it had compiled the module.
	Compiled bool
	// Killed is set when the parent killed it: at the deadline, or because
	// the caller's context ended.
	Killed bool
	// State is the process's exit state; nil when it never started.
	State *os.ProcessState
	// MaxRSS is the process's peak resident memory, in bytes (getrusage's
	// ru_maxrss). It is an upper bound: the kernel also counts the
	// parent's own peak, whose memory the child shared until it started
	// the program. Peak is exact when the sandbox answered.
	MaxRSS int64
	// MemoryBytes is the memory limit (RLIMIT_DATA) it ran under.
	MemoryBytes uint64

	report    *report
	stderr    []byte
	startErr  error
	killedFor error // context.Cause of the kill: errTimeout or the caller's
}

// Peak is the sandbox's peak resident memory in bytes: its own count when
// it answered, else MaxRSS.
func (e *SandboxExit) Peak() int64 {
	if e.report != nil && e.report.PeakRSS > 0 {
		return e.report.PeakRSS
	}
	return e.MaxRSS
}

var errTimeout = errors.New("verifier: check timed out")

// runSandbox runs req, check c's request, on wasm in a new sandbox process
// and returns how it ended. The process is killed killGrace after deadline,
// or at once when ctx ends. compiled is called when the sandbox says it has
// compiled the module.
func (v *Verifier) runSandbox(ctx context.Context, c Check, req request, wasm []byte, deadline time.Time, compiled func(bool)) (exit SandboxExit) {
	exit.MemoryBytes = sandboxMemory(req.MemoryPages)
	reqR, reqW, err := os.Pipe()
	if err != nil {
		exit.startErr = err
		return exit
	}
	ansR, ansW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		exit.startErr = err
		return exit
	}
	defer ansR.Close()
	crash := &headWriter{max: sandboxStderrBytes}
	cmd := exec.Command(v.sandbox[0], v.sandbox[1:]...)
	if v.self {
		cmd.Args[0] = "brain-check-sandbox" // what ps shows
	}
	cmd.Env = []string{sandboxEnv + "=" + protocolVersion}
	cmd.ExtraFiles = []*os.File{reqR, ansW}
	cmd.Stderr = crash
	cmd.WaitDelay = killGrace // for its stderr, should anything else hold it
	cmd.SysProcAttr = sandboxProcAttr()

	// The kernel sends the parent-death signal when the thread that
	// started the child ends; keep this one until the child is reaped.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err = cmd.Start()
	reqR.Close()
	ansW.Close()
	if err != nil {
		reqW.Close()
		exit.startErr = err
		return exit
	}
	waited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(waited)
	}()
	defer func() {
		exit.State = cmd.ProcessState
		exit.MaxRSS = maxRSS(cmd.ProcessState)
		exit.stderr = crash.bytes()
	}()
	if err := limitSandbox(cmd.Process.Pid, exit.MemoryBytes); err != nil {
		// Never run a module in a sandbox without its limits.
		reqW.Close()
		cmd.Process.Kill()
		<-waited
		exit.startErr = fmt.Errorf("limiting the sandbox: %w", err)
		return exit
	}
	if v.sandboxStarted != nil {
		v.sandboxStarted(c)
	}
	go func() {
		defer reqW.Close()
		// A write error means the sandbox died, which its exit says.
		if b, err := json.Marshal(req); err == nil && writeFrame(reqW, tagRequest, b) == nil {
			writeFrame(reqW, tagModule, wasm)
		}
	}()
	answered := make(chan *report, 1)
	var compiledOnce sync.Once
	go func() {
		answered <- readAnswer(ansR, req.MaxOutputBytes, func() {
			compiledOnce.Do(func() {
				exit.Compiled = true
				compiled(true)
			})
		})
	}()

	timer := time.NewTimer(time.Until(deadline) + killGrace)
	defer timer.Stop()
	select {
	case <-waited:
	case <-timer.C:
		exit.Killed, exit.killedFor = true, errTimeout
	case <-ctx.Done():
		exit.Killed, exit.killedFor = true, context.Cause(ctx)
	}
	if exit.Killed {
		cmd.Process.Kill()
		<-waited
	}
	// The sandbox wrote its whole answer before it exited, but for what
	// the pipe still holds; only a process it started itself could keep
	// the pipe open after that, and that wait is bounded too.
	select {
	case exit.report = <-answered:
	case <-time.After(killGrace):
		ansR.Close()
		exit.report = <-answered
	}
	return exit
}

// classify returns the class and message of a sandbox that ended without a
// report.
func (e *SandboxExit) classify(ctx context.Context, lim Limits) (Class, string) {
	switch {
	case e.startErr != nil:
		return ClassSandboxDied, fmt.Sprintf("starting the sandbox: %v", e.startErr)
	case e.Killed && errors.Is(e.killedFor, errTimeout) && !e.Compiled:
		return ClassTimeout, fmt.Sprintf("no verdict within %v: the module was still compiling", lim.Timeout)
	case e.Killed && errors.Is(e.killedFor, errTimeout):
		return ClassTimeout, fmt.Sprintf("no verdict within %v", lim.Timeout)
	case e.Killed:
		return ClassCanceled, e.killedFor.Error()
	case outOfMemory(e.stderr):
		return ClassMemoryLimit, fmt.Sprintf("the sandbox ran out of its %d MiB of memory (memory_pages %d)", e.MemoryBytes>>20, lim.MemoryPages)
	}
	how := "without a verdict"
	if e.State != nil {
		how = "without a verdict (" + e.State.String() + ")"
	}
	if line := firstLine(strings.TrimSpace(string(e.stderr))); line != "" {
		how += ": " + line
	}
	return ClassSandboxDied, "the sandbox process ended " + how
}

// outOfMemory reports whether a sandbox's crash report says that it ran out
// of memory: the Go runtime's "fatal error: out of memory" when the heap
// cannot grow, or "cannot allocate memory" when a mapping (a stack, a
// code segment) was refused.
func outOfMemory(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("out of memory")) || bytes.Contains(stderr, []byte("cannot allocate memory"))
}

// readAnswer reads the sandbox's answer from r: the compiled mark, on which
// it calls compiled, then the report with stdout and stderr, each at most
// maxOutput bytes. It returns nil unless the whole report arrived in order.
func readAnswer(r io.Reader, maxOutput int64, compiled func()) *report {
	defer io.Copy(io.Discard, r) // never leave the sandbox blocked on a write
	tag, b, err := readFrame(r, maxJSONFrame)
	if err == nil && tag == tagCompiled {
		compiled()
		tag, b, err = readFrame(r, maxJSONFrame)
	}
	if err != nil || tag != tagReport {
		return nil
	}
	var rep report
	if json.Unmarshal(b, &rep) != nil || !rep.valid() {
		return nil
	}
	if tag, rep.stdout, err = readFrame(r, maxOutput); err != nil || tag != tagStdout {
		return nil
	}
	if tag, rep.stderr, err = readFrame(r, maxOutput); err != nil || tag != tagStderr {
		return nil
	}
	return &rep
}

// valid reports whether r is a verdict the sandbox may give: the verdict
// and the exit code agree, and an error has a class.
func (r *report) valid() bool {
	switch r.Verdict {
	case Pass:
		return r.ExitCode != nil && *r.ExitCode == 0 && r.Class == ""
	case Fail:
		return r.ExitCode != nil && *r.ExitCode != 0 && r.Class == ""
	case Error:
		return r.ExitCode == nil && r.Class != ""
	}
	return false
}

// writeFrame writes payload as one frame tagged tag.
func writeFrame(w io.Writer, tag byte, payload []byte) error {
	var head [9]byte
	head[0] = tag
	binary.LittleEndian.PutUint64(head[1:], uint64(len(payload)))
	if _, err := w.Write(head[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readFrame reads one frame whose payload is at most max bytes. Memory
// grows with the bytes that arrive, not with the length the frame claims.
func readFrame(r io.Reader, max int64) (tag byte, payload []byte, err error) {
	var head [9]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint64(head[1:])
	if n > uint64(max) {
		return 0, nil, fmt.Errorf("frame of %d bytes, over the limit of %d", n, max)
	}
	if payload, err = io.ReadAll(io.LimitReader(r, int64(n))); err != nil {
		return 0, nil, err
	}
	if uint64(len(payload)) != n {
		return 0, nil, io.ErrUnexpectedEOF
	}
	return head[0], payload, nil
}

// headWriter keeps the first max bytes written to it and discards the rest.
type headWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *headWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p[:min(len(p), w.max-len(w.buf))]...)
	return len(p), nil
}

func (w *headWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf
}

// firstLine drops everything after the first line of s (wazero's stack
// traces, a crash report's goroutines).
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
