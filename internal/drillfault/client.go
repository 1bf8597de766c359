package drillfault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/brain-dev/brain/internal/drill"
	"github.com/brain-dev/brain/internal/fsutil"
)

// startTimeout bounds how long Start waits for a server to listen.
const startTimeout = 10 * time.Second

// stopTimeout bounds how long Stop waits for a server to exit before it
// kills it.
const stopTimeout = 5 * time.Second

// Tools are the fault tools of one drill run.
type Tools struct {
	Reg     Registry
	Self    string // brain-drill's own executable, which runs the servers
	EnvFile string // $DRILL_ENV: where Start appends the variables that point BRAIN at a fault; "" for none
}

// StartOptions configure a fault server.
type StartOptions struct {
	Name     string
	TTL      time.Duration
	LLM      LLMSettings // llm
	Cassette string      // llm: answer from this cassette
	Provider string      // llm: the base URLs to export: gemini, openai or both
	OTLPMode string      // otlp
	Received string      // otlp: where the spans it receives go
}

// AlreadyError reports a fault name already in use.
type AlreadyError struct{ Name string }

func (e *AlreadyError) Error() string {
	return fmt.Sprintf("a fault named %q is already running", e.Name)
}

// Start starts a fault server of kind (KindLLM, KindOTLP) as a detached
// process, records it, and appends to EnvFile (and returns) the NAME=value
// lines that point BRAIN at it.
func (t *Tools) Start(ctx context.Context, kind string, o StartOptions) (*State, []string, error) {
	if err := CheckName(o.Name); err != nil {
		return nil, nil, err
	}
	switch st, err := t.Reg.Get(o.Name); {
	case err == nil && (st.alive() || st.Kind == KindDisk):
		return nil, nil, &AlreadyError{Name: o.Name}
	case err == nil:
		t.Reg.Remove(o.Name) // it exited (its time to live ran out): forget it
	}
	if err := fsutil.MkdirAllIn(t.Reg.Dir, drill.FaultsDir); err != nil {
		return nil, nil, err
	}
	var tok [16]byte
	rand.Read(tok[:])
	cfg := ServeConfig{Kind: kind, Name: o.Name, Token: hex.EncodeToString(tok[:]), TTL: o.TTL, LLM: o.LLM, Cassette: o.Cassette,
		OTLPMode: o.OTLPMode, Received: o.Received}
	st := &State{Name: o.Name, Kind: kind, Token: cfg.Token, Received: o.Received, Started: now(),
		Log: filepath.Join(t.Reg.dir(), o.Name+".log")}
	switch kind {
	case KindLLM:
		if err := CheckLLMSettings(o.LLM); err != nil {
			return nil, nil, err
		}
		st.Mode = o.LLM.Mode
	case KindOTLP:
		if !slices.Contains(OTLPModes, o.OTLPMode) {
			return nil, nil, fmt.Errorf("unknown mode %q for otlp (modes: %s)", o.OTLPMode, strings.Join(OTLPModes, ", "))
		}
		st.Mode = o.OTLPMode
	}
	logf, err := fsutil.OpenFile(st.Log, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|fsutil.NoFollow, 0o600)
	if err != nil {
		return nil, nil, err
	}
	defer logf.Close()
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		cfgW.Close()
		return nil, nil, err
	}
	defer readyR.Close()
	cmd := exec.Command(t.Self, ServeArg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{cfgR, readyW}
	// A session of its own: the end of the drill step that started it
	// (whose process group brain-drill kills) does not end it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	cfgR.Close()
	readyW.Close()
	if err != nil {
		cfgW.Close()
		return nil, nil, fmt.Errorf("starting the %s fault server: %v", kind, err)
	}
	json.NewEncoder(cfgW).Encode(cfg)
	cfgW.Close()
	readyR.SetReadDeadline(time.Now().Add(startTimeout))
	var rd ready
	if err := json.NewDecoder(readyR).Decode(&rd); err != nil || rd.Error != "" {
		cmd.Process.Kill()
		cmd.Wait()
		if rd.Error != "" {
			return nil, nil, fmt.Errorf("the %s fault server did not start: %s", kind, rd.Error)
		}
		return nil, nil, fmt.Errorf("the %s fault server did not start within %s (its log: %s)", kind, startTimeout, st.Log)
	}
	st.PID, st.Addr, st.Control = cmd.Process.Pid, rd.Addr, rd.Control
	st.StartTime, _ = procStartTime(st.PID)
	cmd.Process.Release()
	if err := t.Reg.Put(st); err != nil {
		t.stopServer(st)
		return nil, nil, err
	}
	lines := envLines(st, o.Provider)
	if err := t.appendEnv(lines); err != nil {
		return st, lines, err
	}
	return st, lines, nil
}

// envLines are the variables that point BRAIN at a fault server.
func envLines(st *State, provider string) []string {
	switch st.Kind {
	case KindLLM:
		var out []string
		if provider == "" || provider == "both" || provider == "gemini" {
			out = append(out, "BRAIN_GEMINI_BASE_URL=http://"+st.Addr+"/")
		}
		if provider == "" || provider == "both" || provider == "openai" {
			out = append(out, "BRAIN_OPENAI_BASE_URL=http://"+st.Addr+"/v1")
		}
		return out
	case KindOTLP:
		return []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + st.Addr}
	}
	return nil
}

// appendEnv appends lines to EnvFile, if there is one.
func (t *Tools) appendEnv(lines []string) error {
	if t.EnvFile == "" || len(lines) == 0 {
		return nil
	}
	f, err := fsutil.OpenFile(t.EnvFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE|fsutil.NoFollow, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// control calls a server's control address.
func control(st *State, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+st.Control+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+st.Token)
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fault %q does not answer (is it still running? its log: %s): %v", st.Name, st.Log, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("fault %q: %s", st.Name, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// Set changes the mode of the server name: settings is an LLMSettings for
// an llm fault, a mode for an otlp fault. It returns once the new mode is
// in force.
func (t *Tools) Set(name string, settings any) (map[string]any, error) {
	st, err := t.Reg.Get(name)
	if err != nil {
		return nil, err
	}
	if st.Kind == KindDisk {
		return nil, fmt.Errorf("fault %q is a disk: it has no modes", name)
	}
	out, err := control(st, http.MethodPost, "/mode", settings)
	if err != nil {
		return nil, err
	}
	var status map[string]any
	json.Unmarshal(out, &status)
	if m, ok := status["mode"].(string); ok {
		st.Mode = m
		t.Reg.Put(st)
	}
	return status, nil
}

// Status returns what the server name reports of itself, with its state.
func (t *Tools) Status(name string) (*State, map[string]any, error) {
	st, err := t.Reg.Get(name)
	if err != nil {
		return nil, nil, err
	}
	status := map[string]any{"name": st.Name, "kind": st.Kind}
	if st.Kind == KindDisk {
		status["mount"] = st.Mount
		return st, status, nil
	}
	out, err := control(st, http.MethodGet, "/status", nil)
	if err != nil {
		return st, nil, err
	}
	if err := json.Unmarshal(out, &status); err != nil {
		return st, nil, err
	}
	status["name"], status["kind"], status["addr"] = st.Name, st.Kind, st.Addr
	return st, status, nil
}

// Stop stops the fault name and forgets it.
func (t *Tools) Stop(name string) error {
	st, err := t.Reg.Get(name)
	if err != nil {
		return err
	}
	if err := t.stop(st); err != nil {
		return err
	}
	return t.Reg.Remove(name)
}

func (t *Tools) stop(st *State) error {
	if st.Kind == KindDisk {
		return unmount(st.Mount)
	}
	return t.stopServer(st)
}

// stopServer asks a server to exit, and kills it (if it is still the
// process it was) when it has not within stopTimeout.
func (t *Tools) stopServer(st *State) error {
	if !st.alive() {
		return nil
	}
	control(st, http.MethodPost, "/stop", nil)
	if waitExit(st.PID, st.StartTime, stopTimeout) {
		return nil
	}
	if st.alive() {
		syscall.Kill(st.PID, syscall.SIGKILL)
	}
	if !waitExit(st.PID, st.StartTime, stopTimeout) {
		return fmt.Errorf("fault %q (pid %d) does not exit", st.Name, st.PID)
	}
	return nil
}

// StopAll stops every fault recorded under the scratch directory dir and
// says what it stopped: brain-drill calls it after a drill's rollback, so
// that nothing a drill started outlives it.
func StopAll(_ context.Context, dir string) []string {
	reg := Registry{Dir: dir}
	sts, err := reg.List()
	if err != nil {
		return []string{fmt.Sprintf("cannot read the faults of %s: %v", dir, err)}
	}
	t := &Tools{Reg: reg}
	var notes []string
	for _, st := range sts {
		running := st.Kind == KindDisk || st.alive()
		if err := t.stop(st); err != nil {
			notes = append(notes, fmt.Sprintf("fault %s (%s) left running by the drill could not be stopped: %v", st.Name, st.Kind, err))
			continue
		}
		reg.Remove(st.Name)
		if running {
			notes = append(notes, fmt.Sprintf("fault %s (%s) was left running by the drill: stopped", st.Name, st.Kind))
		}
	}
	return notes
}

// waitExit waits up to timeout for the process (pid, start) to exit.
func waitExit(pid int, start uint64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	if waitPidfd(pid, start, timeout) {
		return true
	}
	// Without a pidfd (an old kernel), look at /proc until the deadline.
	for time.Now().Before(deadline) {
		if t, err := procStartTime(pid); err != nil || t != start {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
