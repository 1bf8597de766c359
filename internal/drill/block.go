package drill

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/workspace"
)

// TailBytes is how much of a block's output (stdout and stderr together, in
// the order written) the journal keeps: the last TailBytes bytes.
const TailBytes = 4 << 10

// MaxEnvFileBytes bounds the file $DRILL_ENV names.
const MaxEnvFileBytes = 64 << 10

// KillGrace is how long a block's process group has between SIGTERM and
// SIGKILL when it is stopped, and how long brain-drill waits for a block's
// output to end once its shell has exited and its group been killed.
const KillGrace = time.Second

// The names of brain-drill's own files in a drill's scratch directory.
const (
	PrivateDir = ".drill"             // brain-drill's own files
	EnvFile    = ".drill/env"         // $DRILL_ENV
	FaultsDir  = ".drill/faults"      // the state of the faults started by brain-drill fault
	Workspace  = workspace.DefaultDir // $BRAIN_DIR, the drill's own BRAIN workspace
	ConfigDir  = ".config"            // $XDG_CONFIG_HOME: a state key made by a step lands here
	envVarName = "[A-Za-z_][A-Za-z0-9_]*"
)

// BlockResult is one run of one block.
type BlockResult struct {
	Phase       Phase
	Name        string
	Line        int
	Round       int // the polling round (detect, steady after recover); 1 otherwise
	Start, End  time.Time
	ExitCode    int    // -1 when the shell could not start
	Signal      string // the signal that ended the shell, if one did
	TimedOut    bool   // stopped at its phase's limit or its timeout=
	Interrupted bool   // stopped because brain-drill was interrupted
	Stopped     string // why brain-drill stopped it, in words
	Error       string // why it could not start
	Tail        string // the last TailBytes of its output
	OutputBytes int64  // all the output it wrote
}

// OK reports whether the block passed: it exited 0.
func (b *BlockResult) OK() bool {
	return b.ExitCode == 0 && !b.TimedOut && !b.Interrupted && b.Error == ""
}

// Describe says how the block ended, in words.
func (b *BlockResult) Describe() string {
	switch {
	case b.Error != "":
		return "could not start: " + b.Error
	case b.Stopped != "":
		return b.Stopped
	case b.Signal != "":
		return fmt.Sprintf("killed by %s (exit %d)", b.Signal, b.ExitCode)
	}
	return fmt.Sprintf("exit %d", b.ExitCode)
}

// tail keeps the last TailBytes bytes written to it, and counts them all.
type tail struct {
	buf []byte
	n   int64
}

func (t *tail) Write(p []byte) (int, error) {
	t.n += int64(len(p))
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*TailBytes {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-TailBytes:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	b := t.buf
	if len(b) > TailBytes {
		b = b[len(b)-TailBytes:]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// runBlock runs b's script with bash -euo pipefail in dir with env, in a
// process group of its own, until it exits, ctx is done (interrupted) or
// limit passes (timed out, with limitMsg saying which limit). A block
// stopped either way gets SIGTERM, then SIGKILL KillGrace later, to its
// whole group. When the shell has exited, whatever it left running in its
// group is killed, so a block never outlives itself (a fault server that
// must outlive it detaches, as brain-drill fault start does).
func runBlock(ctx context.Context, bash string, b Block, dir string, env []string, limit time.Time, limitMsg string) *BlockResult {
	res := &BlockResult{Phase: b.Phase, Name: b.Name, Line: b.Line, Round: 1, Start: time.Now(), ExitCode: -1}
	defer func() { res.End = time.Now() }()
	pr, pw, err := os.Pipe()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer pr.Close()
	cmd := exec.Command(bash, "--noprofile", "--norc", "-euo", "pipefail", "-c", b.Script, "drill:"+b.Name)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	pgid := cmd.Process.Pid
	out := &tail{}
	readDone := make(chan struct{})
	go func() {
		io.Copy(out, pr)
		close(readDone)
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	timer := time.NewTimer(time.Until(limit))
	defer timer.Stop()
	var werr error
	select {
	case werr = <-waited:
	case <-timer.C:
		res.TimedOut = true
		res.Stopped = limitMsg + " (its whole process group was killed)"
		werr = stopGroup(pgid, waited)
	case <-ctx.Done():
		res.Interrupted = true
		res.Stopped = "stopped: " + interruptCause(ctx) + " (its whole process group was killed)"
		werr = stopGroup(pgid, waited)
	}
	// Leftovers of the block in its group end with it.
	syscall.Kill(-pgid, syscall.SIGKILL)
	grace := time.NewTimer(KillGrace)
	select {
	case <-readDone:
	case <-grace.C:
		// A process that left the group still holds the output pipe:
		// stop reading, the block is over.
		pr.Close()
		<-readDone
	}
	grace.Stop()
	res.Tail, res.OutputBytes = out.String(), out.n
	var xe *exec.ExitError
	switch {
	case werr == nil:
		res.ExitCode = 0
	case errors.As(werr, &xe):
		ws := xe.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			res.Signal = ws.Signal().String()
			res.ExitCode = 128 + int(ws.Signal())
		} else {
			res.ExitCode = ws.ExitStatus()
		}
	default:
		res.Error = werr.Error()
	}
	return res
}

// stopGroup sends SIGTERM to the process group, then SIGKILL KillGrace
// later if its shell has not exited, and returns the shell's Wait error.
func stopGroup(pgid int, waited chan error) error {
	syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(KillGrace)
	defer t.Stop()
	select {
	case err := <-waited:
		return err
	case <-t.C:
		syscall.Kill(-pgid, syscall.SIGKILL)
		return <-waited
	}
}

// interruptCause says why ctx is done.
func interruptCause(ctx context.Context) string {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return c.Error()
	}
	return "brain-drill was interrupted"
}

var envLine = regexp.MustCompile(`^(` + envVarName + `)=(.*)$`)

// EnvFileError is a bad line in $DRILL_ENV.
type EnvFileError struct {
	Line int
	Msg  string
}

func (e *EnvFileError) Error() string {
	if e.Line == 0 {
		return "$DRILL_ENV: " + e.Msg
	}
	return fmt.Sprintf("$DRILL_ENV line %d: %s", e.Line, e.Msg)
}

// readEnvFile reads the NAME=value lines a drill's blocks appended to
// $DRILL_ENV. Blank lines and lines starting with # are skipped; a value
// is everything after the first '=', as written (no quotes, no expansion);
// a later line for a name wins. The file is opened without following a
// link and read up to MaxEnvFileBytes; names starting with DRILL_ are
// brain-drill's own and may not be set.
func readEnvFile(path string) (map[string]string, error) {
	f, err := fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return nil, &EnvFileError{Msg: fsutil.WithoutPath(err).Error()}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxEnvFileBytes+1))
	if err != nil {
		return nil, &EnvFileError{Msg: err.Error()}
	}
	if len(data) > MaxEnvFileBytes {
		return nil, &EnvFileError{Msg: fmt.Sprintf("over the limit of %d bytes", MaxEnvFileBytes)}
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, MaxEnvFileBytes+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		m := envLine.FindStringSubmatch(line)
		if m == nil {
			return nil, &EnvFileError{Line: n, Msg: "want NAME=value (no spaces around '=', no 'export')"}
		}
		if strings.HasPrefix(m[1], "DRILL_") {
			return nil, &EnvFileError{Line: n, Msg: m[1] + " is brain-drill's own and cannot be set"}
		}
		vars[m[1]] = m[2]
	}
	return vars, nil
}

// droppedEnv reports whether a variable of brain-drill's environment is
// kept from a drill's steps: BRAIN's own settings (its workspace, session,
// faults, state key), the trace context, the OTLP exporter's settings, the
// providers' API keys (a drill never uses a real key) and the user's
// configuration directory. A drill sets what it needs in $DRILL_ENV.
func droppedEnv(name string) bool {
	switch {
	case name == "BRAIN_CACHE_DIR": // a compilation cache: kept, for speed
		return false
	case strings.HasPrefix(name, "BRAIN_"), strings.HasPrefix(name, "OTEL_"), strings.HasPrefix(name, "DRILL_"):
		return true
	}
	switch name {
	case "TRACEPARENT", "TRACESTATE", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "XDG_CONFIG_HOME":
		return true
	}
	return false
}

// blockEnv builds the environment of a block: base without droppedEnv,
// then the $DRILL_ENV variables, then PATH with bin first and the DRILL_
// variables.
func blockEnv(base []string, fileVars map[string]string, own map[string]string, bin string) []string {
	vars := map[string]string{}
	for _, kv := range base {
		k, v, ok := strings.Cut(kv, "=")
		if ok && !droppedEnv(k) {
			vars[k] = v
		}
	}
	for k, v := range fileVars {
		vars[k] = v
	}
	path := vars["PATH"]
	if _, set := fileVars["PATH"]; !set {
		path = bin + string(os.PathListSeparator) + path
	}
	vars["PATH"] = path
	for k, v := range own {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// makeScratch creates a drill run's scratch directory under parent (the
// system's temporary directory when empty): 0700, with brain-drill's own
// directory, an empty $DRILL_ENV, a fresh BRAIN workspace and a
// configuration directory.
func makeScratch(parent, id string, run int) (string, error) {
	dir, err := os.MkdirTemp(parent, fmt.Sprintf("brain-drill-%s-%d-", id, run))
	if err != nil {
		return "", err
	}
	// $DRILL_DIR must name it from wherever a step changes directory.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	for _, d := range []string{PrivateDir, FaultsDir, Workspace, ConfigDir} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			return dir, err
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, EnvFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return dir, err
	}
	return dir, f.Close()
}
