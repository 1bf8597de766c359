package runcore

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// files returns real files for the three standard streams, so that
// startProcess takes its ForkExec path; out collects stdout.
func files(t *testing.T) (in, out, errf *os.File) {
	t.Helper()
	dir := t.TempDir()
	var err error
	if in, err = os.Open(os.DevNull); err != nil {
		t.Fatal(err)
	}
	if out, err = os.Create(filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if errf, err = os.Create(filepath.Join(dir, "err")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); out.Close(); errf.Close() })
	return in, out, errf
}

func TestStartProcessPidfd(t *testing.T) {
	in, out, errf := files(t)
	env := append(os.Environ(), "BRAIN_PROC_TEST=first", "BRAIN_PROC_TEST=last")
	p, err := startProcess([]string{"sh", "-c", `echo "$BRAIN_PROC_TEST"; exit 3`}, env, in, out, errf)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*pidfdProcess); !ok {
		t.Fatalf("started as %T, want the pidfd path on this kernel", p)
	}
	ws, err := p.Wait()
	if err != nil || ws.ExitStatus() != 3 || ws.Signaled() {
		t.Fatalf("wait = %v, %v; want exit 3", ws, err)
	}
	got, _ := os.ReadFile(out.Name())
	if string(got) != "last\n" {
		t.Errorf("program saw %q, want the last of two values (as os/exec gives)", got)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("signal after wait = %v, want ErrProcessDone", err)
	}
}

func TestStartProcessSignal(t *testing.T) {
	in, _, errf := files(t)
	// The program reports that it runs, then waits for the signal.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := startProcess([]string{"sh", "-c", "echo up; exec sleep 60"}, os.Environ(), in, w, errf)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 3)
	if _, err := r.Read(line); err != nil || string(line) != "up\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	ws, err := p.Wait()
	if err != nil || !ws.Signaled() || ws.Signal() != syscall.SIGUSR1 {
		t.Fatalf("wait = %v, %v; want killed by SIGUSR1", ws, err)
	}
}

func TestStartProcessCannotRun(t *testing.T) {
	in, out, errf := files(t)
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badfmt := filepath.Join(dir, "badfmt")
	if err := os.WriteFile(badfmt, []byte{0x7f, 'E', 'L', 'F', 0, 0}, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		argv0 string
		is    error
	}{
		{"brain-no-such-program", exec.ErrNotFound},
		{filepath.Join(dir, "missing"), fs.ErrNotExist},
		{noexec, fs.ErrPermission},
		{badfmt, syscall.ENOEXEC},
	} {
		_, err := startProcess([]string{c.argv0}, os.Environ(), in, out, errf)
		if !errors.Is(err, c.is) {
			t.Errorf("%s: err = %v, want %v", filepath.Base(c.argv0), err, c.is)
		}
	}
}

// TestStartProcessBuffers: streams that are not files go through os/exec,
// which copies them.
func TestStartProcessBuffers(t *testing.T) {
	var out, errb bytes.Buffer
	p, err := startProcess([]string{"sh", "-c", "cat; echo e >&2; exit 2"}, os.Environ(), strings.NewReader("in\n"), &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(cmdProcess); !ok {
		t.Fatalf("started as %T, want os/exec", p)
	}
	ws, err := p.Wait()
	if err != nil || ws.ExitStatus() != 2 {
		t.Fatalf("wait = %v, %v", ws, err)
	}
	if out.String() != "in\n" || errb.String() != "e\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
}

// TestStartProcessNoPidfd: where clone(CLONE_PIDFD) is refused (an old
// kernel, a sandbox), the program is started by os/exec instead.
func TestStartProcessNoPidfd(t *testing.T) {
	in, out, errf := files(t)
	for _, refusal := range []syscall.Errno{syscall.EINVAL, syscall.ENOSYS, syscall.EPERM} {
		refuse := func(string, []string, *syscall.ProcAttr) (int, error) { return 0, refusal }
		p, err := startWith(refuse, []string{"sh", "-c", "exit 5"}, os.Environ(), in, out, errf)
		if err != nil {
			t.Fatalf("%v: %v", refusal, err)
		}
		if _, ok := p.(cmdProcess); !ok {
			t.Fatalf("%v: started as %T, want os/exec", refusal, p)
		}
		if ws, err := p.Wait(); err != nil || ws.ExitStatus() != 5 {
			t.Fatalf("%v: wait = %v, %v", refusal, ws, err)
		}
	}
	// Any other error is the program's: reported, not retried.
	fail := func(string, []string, *syscall.ProcAttr) (int, error) { return 0, syscall.ENOEXEC }
	if _, err := startWith(fail, []string{"sh"}, os.Environ(), in, out, errf); !errors.Is(err, syscall.ENOEXEC) {
		t.Errorf("err = %v, want ENOEXEC", err)
	}
}

func TestDedupEnv(t *testing.T) {
	got := dedupEnv([]string{"A=1", "B=2", "A=3", "C", "B=4"})
	want := []string{"A=3", "C", "B=4"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("dedupEnv = %v, want %v", got, want)
	}
}
