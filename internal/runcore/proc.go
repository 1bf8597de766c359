package runcore

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// process is a program exec started: signal it, wait for it.
type process interface {
	Pid() int
	Signal(sig os.Signal) error
	// Wait waits for the program to end and returns how it ended.
	Wait() (syscall.WaitStatus, error)
}

// startProcess starts argv with env, and stdin, stdout and stderr as the
// program's own. When all three are files (a command line's case), it forks
// with syscall.ForkExec and holds the child by a pidfd from clone(2): the
// os package would first fork a throw-away child to learn whether pidfds
// work, which a short command pays for in full (BENCHMARKS.md). Signals go
// through the pidfd, so they cannot reach another process that reused the
// pid. Otherwise, or where the kernel refuses clone(CLONE_PIDFD), os/exec
// does it; where the kernel ignores the flag, the os package holds the
// child by its pid.
func startProcess(argv, env []string, stdin io.Reader, stdout, stderr io.Writer) (process, error) {
	return startWith(syscall.ForkExec, argv, env, stdin, stdout, stderr)
}

// forkExecFunc is syscall.ForkExec's signature; tests pass one that fails.
type forkExecFunc func(path string, argv []string, attr *syscall.ProcAttr) (int, error)

func startWith(forkExec forkExecFunc, argv, env []string, stdin io.Reader, stdout, stderr io.Writer) (process, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, err
	}
	in, okIn := stdin.(*os.File)
	out, okOut := stdout.(*os.File)
	errf, okErr := stderr.(*os.File)
	if !okIn || !okOut || !okErr {
		return startCmd(path, argv, env, stdin, stdout, stderr)
	}
	pidfd := -1
	pid, err := forkExec(path, argv, &syscall.ProcAttr{
		Env:   dedupEnv(env),
		Files: []uintptr{in.Fd(), out.Fd(), errf.Fd()},
		Sys:   &syscall.SysProcAttr{PidFD: &pidfd},
	})
	switch {
	case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ENOSYS), errors.Is(err, syscall.EPERM):
		// A kernel or sandbox that refuses clone(CLONE_PIDFD): nothing
		// started, and os/exec knows how to do without it (or gives the
		// same error, if the program itself is refused).
		return startCmd(path, argv, env, stdin, stdout, stderr)
	case err != nil:
		return nil, &os.PathError{Op: "fork/exec", Path: path, Err: err}
	}
	if pidfd < 0 {
		// No pidfd from this kernel: the child is ours and not yet
		// reaped, so os.FindProcess holds it safely by its pid.
		p, err := os.FindProcess(pid)
		if err != nil {
			return nil, err
		}
		return osProcess{p}, nil
	}
	return &pidfdProcess{pid: pid, fd: pidfd}, nil
}

// dedupEnv keeps the last of several values of a variable, as os/exec does:
// a program's getenv would see the first.
func dedupEnv(env []string) []string {
	seen := make(map[string]bool, len(env))
	out := make([]string, len(env))
	n := len(env)
	for i := len(env) - 1; i >= 0; i-- {
		k, _, _ := strings.Cut(env[i], "=")
		if seen[k] {
			continue
		}
		seen[k] = true
		n--
		out[n] = env[i]
	}
	return out[n:]
}

func startCmd(path string, argv, env []string, stdin io.Reader, stdout, stderr io.Writer) (process, error) {
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Stdin: stdin, Stdout: stdout, Stderr: stderr}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmdProcess{cmd}, nil
}

// pidfdProcess is a child held by its pid for reaping (it is ours, and its
// pid cannot be reused before we reap it) and by a pidfd for signals (which
// cannot reach another process once it is reaped).
type pidfdProcess struct {
	pid int
	mu  sync.Mutex // guards fd
	fd  int        // -1 once reaped
}

func (p *pidfdProcess) Pid() int { return p.pid }

func (p *pidfdProcess) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return errors.New("unsupported signal type")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fd < 0 {
		return os.ErrProcessDone
	}
	return unix.PidfdSendSignal(p.fd, s, nil, 0)
}

func (p *pidfdProcess) Wait() (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(p.pid, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		p.mu.Lock()
		unix.Close(p.fd)
		p.fd = -1
		p.mu.Unlock()
		if err != nil {
			return 0, os.NewSyscallError("wait4", err)
		}
		return ws, nil
	}
}

type osProcess struct{ p *os.Process }

func (o osProcess) Pid() int                   { return o.p.Pid }
func (o osProcess) Signal(sig os.Signal) error { return o.p.Signal(sig) }
func (o osProcess) Wait() (syscall.WaitStatus, error) {
	st, err := o.p.Wait()
	if err != nil {
		return 0, err
	}
	return st.Sys().(syscall.WaitStatus), nil
}

type cmdProcess struct{ c *exec.Cmd }

func (c cmdProcess) Pid() int                   { return c.c.Process.Pid }
func (c cmdProcess) Signal(sig os.Signal) error { return c.c.Process.Signal(sig) }
func (c cmdProcess) Wait() (syscall.WaitStatus, error) {
	err := c.c.Wait()
	var xe *exec.ExitError
	switch {
	case err == nil:
		return c.c.ProcessState.Sys().(syscall.WaitStatus), nil
	case errors.As(err, &xe):
		return xe.Sys().(syscall.WaitStatus), nil
	default:
		return 0, err
	}
}

// processAge returns how long ago this process was forked, from
// /proc/self/stat (in clock ticks of 10 ms since boot; an execve, as the
// hand-off to brain-run-full, keeps it), so that the export timeout can
// leave out what a slow start already spent (telemetry.ExportTimeoutAfter).
// ok is false where it cannot be read.
func processAge() (age time.Duration, ok bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	start, ok := statStartTime(stat)
	var now unix.Timespec
	if !ok || unix.ClockGettime(unix.CLOCK_BOOTTIME, &now) != nil {
		return 0, false
	}
	age = time.Duration(now.Nano()) - start
	return age, age >= 0
}

// statStartTime returns the start time in a /proc/PID/stat line, as time
// since boot. The command name, in parentheses, may itself hold spaces and
// parentheses: the fields are counted from the last ')'.
func statStartTime(stat []byte) (time.Duration, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	// After the name: state is field 3, starttime field 22.
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return 0, false
	}
	ticks, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil || ticks > math.MaxInt64/uint64(clockTick) {
		return 0, false
	}
	return time.Duration(ticks) * clockTick, true
}

// clockTick is the unit of /proc's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond
