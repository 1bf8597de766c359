package verifier

import (
	"bytes"
	"context"
	"crypto/sha256"
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
// stdout on /dev/null, and two pipes: it writes requests on fd 3 and reads
// answers on fd 4, one check at a time. Every message on either pipe is a
// frame: a tag byte, the payload's length (8 bytes, little-endian), the
// payload.
//
//	request (fd 3):  'Q' request JSON, 'M' module bytes (the first request
//	                 only; later ones send an empty 'M': the same module)
//	answer  (fd 4):  'C' (empty: the module is compiled; first answer only),
//	                 then 'R' report JSON, 'O' stdout bytes, 'E' stderr bytes
//
// A sandbox serves the checks of one module under one memory limit; after
// a report that is not Reusable it exits, and when fd 3 ends it exits. The
// parent reads at most the size it expects of each frame, so a sandbox that
// a module subverted cannot make it allocate more.
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
	// Reusable says that the sandbox will serve another check of its
	// module: the check left it as it was after compiling.
	Reusable bool `json:"reusable,omitempty"`
	stdout   []byte
	stderr   []byte
}

// SandboxExit is how a check's sandbox served it, as the parent saw it.
type SandboxExit struct {
	// Pid is the sandbox process's id; 0 when it never started.
	Pid int
	// Reused is set when the sandbox had served an earlier check.
	Reused bool
	// Compiled is set when the sandbox had compiled the module or said it
	// had.
	Compiled bool
	// Killed is set when the parent killed it: at the deadline, or because
	// the caller's context ended.
	Killed bool
	// State is the process's exit state when the check ended it; nil when
	// it never started or serves on.
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

// worker is a sandbox process serving the checks of one module under one
// memory limit, one check at a time.
type worker struct {
	key    workerKey
	pid    int
	proc   *os.Process
	reqW   *os.File // the request pipe
	ansR   *os.File // the answer pipe
	waited chan struct{}
	state  *os.ProcessState // set before waited is closed
	crash  *headWriter
	memory uint64
}

// workerKey is what a sandbox may serve: checks of one module (by its
// SHA-256) under one memory limit.
type workerKey struct {
	sum   [32]byte
	pages uint32
}

// startWorker starts a sandbox for key, under its limits. The process is
// started, limited and later waited for by a goroutine locked to its
// thread: the kernel sends the parent-death signal when the thread that
// started a child ends, so that thread must live as long as the sandbox;
// and the limits are set before the process can be reaped, so that its
// pid cannot belong to another process by then.
func (v *Verifier) startWorker(key workerKey) (*worker, error) {
	w := &worker{key: key, crash: &headWriter{max: sandboxStderrBytes}, memory: sandboxMemory(key.pages), waited: make(chan struct{})}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ansR, ansW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, err
	}
	cmd := exec.Command(v.sandbox[0], v.sandbox[1:]...)
	if v.self {
		cmd.Args[0] = "brain-check-sandbox" // what ps shows
	}
	cmd.Env = []string{sandboxEnv + "=" + protocolVersion}
	cmd.ExtraFiles = []*os.File{reqR, ansW}
	cmd.Stderr = w.crash
	cmd.WaitDelay = killGrace // for its stderr, should anything else hold it
	cmd.SysProcAttr = sandboxProcAttr()
	started := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		if err := limitSandbox(cmd.Process.Pid, w.memory); err != nil {
			// Never run a module in a sandbox without its limits.
			cmd.Process.Kill()
			err = fmt.Errorf("limiting the sandbox: %w", err)
			started <- err
		} else {
			started <- nil
		}
		cmd.Wait()
		w.state = cmd.ProcessState
		close(w.waited)
	}()
	err = <-started
	reqR.Close()
	ansW.Close()
	w.reqW, w.ansR = reqW, ansR
	if cmd.Process != nil {
		w.pid, w.proc = cmd.Process.Pid, cmd.Process
	}
	if err != nil {
		if w.proc != nil {
			<-w.waited
		}
		reqW.Close()
		ansR.Close()
		return nil, err
	}
	return w, nil
}

// alive reports whether w's process has not ended.
func (w *worker) alive() bool {
	select {
	case <-w.waited:
		return false
	default:
		return true
	}
}

// kill kills w's process, waits for it and closes its pipes.
func (w *worker) kill() {
	w.proc.Kill()
	<-w.waited
	w.reqW.Close()
	w.ansR.Close()
}

// takeWorker returns an idle sandbox for key, or nil.
func (v *Verifier) takeWorker(key workerKey) *worker {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := len(v.idle) - 1; i >= 0; i-- {
		w := v.idle[i]
		if w.key != key {
			continue
		}
		v.idle = append(v.idle[:i], v.idle[i+1:]...)
		if w.alive() {
			return w
		}
		go w.kill() // it ended while idle: reap it
	}
	return nil
}

// putWorker keeps w for another check of its module. At most maxIdle
// (twice the concurrency) sandboxes wait; beyond that, the one idle the
// longest is ended.
func (v *Verifier) putWorker(w *worker) {
	v.mu.Lock()
	v.idle = append(v.idle, w)
	var old *worker
	if len(v.idle) > v.maxIdle {
		old, v.idle = v.idle[0], v.idle[1:]
	}
	v.mu.Unlock()
	if old != nil {
		old.kill()
	}
}

// runSandbox runs req, check c's request, on wasm in a sandbox and returns
// how it served it: a sandbox that served an earlier check of the same
// module under the same memory limit, or a new one. The sandbox is killed
// killGrace after deadline, or at once when ctx ends. compiled is called
// when the sandbox has compiled the module or says it has.
func (v *Verifier) runSandbox(ctx context.Context, c Check, req request, wasm []byte, deadline time.Time, compiled func(bool)) (exit SandboxExit) {
	key := workerKey{sha256.Sum256(wasm), req.MemoryPages}
	exit.MemoryBytes = sandboxMemory(req.MemoryPages)
	w := v.takeWorker(key)
	if w != nil {
		exit.Reused, exit.Compiled = true, true
		compiled(true)
		wasm = nil // it has the module
	} else {
		var err error
		if w, err = v.startWorker(key); err != nil {
			exit.startErr = err
			return exit
		}
	}
	exit.Pid = w.pid
	if v.sandboxStarted != nil {
		v.sandboxStarted(c)
	}
	go func() {
		// A write error means the sandbox died, which its end says.
		if b, err := json.Marshal(req); err == nil && writeFrame(w.reqW, tagRequest, b) == nil {
			writeFrame(w.reqW, tagModule, wasm)
		}
	}()
	answered := make(chan *report, 1)
	var compiledOnce sync.Once
	go func() {
		answered <- readAnswer(w.ansR, req.MaxOutputBytes, func() {
			compiledOnce.Do(func() {
				exit.Compiled = true
				compiled(true)
			})
		})
	}()

	timer := time.NewTimer(time.Until(deadline) + killGrace)
	defer timer.Stop()
	select {
	case exit.report = <-answered:
	case <-w.waited:
		// It ended: what it wrote before is still in the pipe, and only
		// a process it started itself could hold the pipe open after it.
		select {
		case exit.report = <-answered:
		case <-time.After(killGrace):
			w.ansR.Close()
			exit.report = <-answered
		}
	case <-timer.C:
		exit.Killed, exit.killedFor = true, errTimeout
	case <-ctx.Done():
		exit.Killed, exit.killedFor = true, context.Cause(ctx)
	}
	if exit.Killed {
		w.kill()
		exit.report = <-answered // the pipe is closed
	}
	if exit.report != nil && exit.report.Reusable && w.alive() {
		v.putWorker(w)
		return exit
	}
	if !exit.Killed {
		// A sandbox that is done exits by itself once it has answered;
		// one that does not, or did not answer, is ended.
		if exit.report != nil {
			select {
			case <-w.waited:
			case <-time.After(killGrace):
			}
		}
		w.kill()
	}
	exit.State = w.state
	exit.MaxRSS = maxRSS(w.state)
	exit.stderr = w.crash.bytes()
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

// readAnswer reads a sandbox's answer about one check from r: the compiled
// mark, on which it calls compiled, then the report with stdout and stderr,
// each at most maxOutput bytes. It returns nil unless the whole report
// arrived in order.
func readAnswer(r io.Reader, maxOutput int64, compiled func()) *report {
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
