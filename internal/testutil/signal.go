package testutil

import (
	"errors"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TrapTerm is a shell program for ForwardsTerm: it prints "ready", then
// waits for SIGTERM, on which it prints "got-term" and exits 42.
const TrapTerm = `trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.01; done`

// ForwardsTerm starts cmd, a brain-run exec of sh -c TrapTerm, sends it
// SIGTERM once the program is ready, and fails t unless brain-run exits 42
// after the program caught the signal.
func ForwardsTerm(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A safety net, not synchronisation: if the signal is lost, end the
	// whole process group so the test fails instead of hanging.
	watchdog := time.AfterFunc(20*time.Second, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer watchdog.Stop()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("read %q, %v; want the program's ready line", buf, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(out)
	err = cmd.Wait()
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 42 || !strings.Contains(string(rest), "got-term") {
		t.Fatalf("brain-run exited %v with output %q; want 42 after the program caught SIGTERM", err, rest)
	}
}
