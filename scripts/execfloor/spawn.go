// Package execfloor is the floor of exec's overhead, for
// scripts/bench-exec.sh: Spawn runs a program the way brain-run exec does
// (syscall.ForkExec, wait4) with nothing else. The two commands under it
// call it, one linking nothing more, the other linking everything
// brain-run links (the OpenTelemetry SDK, the OTLP transform, the audit
// logger and the chain) without using any of it: their difference is what
// those libraries cost a command before main and at exit.
package execfloor

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// Spawn runs argv with the process's streams and environment, waits for it
// and exits with its status.
func Spawn(argv []string) {
	if len(argv) == 0 {
		os.Exit(0)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(127)
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(126)
	}
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			break
		}
	}
	os.Exit(ws.ExitStatus())
}
