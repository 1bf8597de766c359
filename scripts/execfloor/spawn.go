// Package execfloor is the floor of exec's overhead, for
// scripts/bench-exec.sh: Run runs a program the way brain-run exec does
// (syscall.ForkExec, wait4) with nothing else. The commands under it call
// it: bare links nothing more; linked links everything brain-run links (the
// OpenTelemetry SDK, the audit logger and the chain) without using any of
// it, so their difference is what those libraries cost a command before
// main and at exit; durable also makes two records durable around the
// program, as exec's audit trail must, and is the floor the issue sets
// exec's overhead against.
package execfloor

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// Spawn runs argv (Run) and exits with its status.
func Spawn(argv []string) { os.Exit(Run(argv)) }

// Run runs argv with the process's streams and environment, waits for it
// and returns its exit status (127 when it cannot be found, 126 when it
// cannot be started). An empty argv runs nothing and returns 0.
func Run(argv []string) int {
	if len(argv) == 0 {
		return 0
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 127
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 126
	}
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}
	return ws.ExitStatus()
}
