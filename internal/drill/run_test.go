package drill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// newRunner returns a Runner whose scratch directories are under the
// test's temporary directory and kept, with a bin directory holding a
// program of its own.
func newRunner(t *testing.T) *Runner {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "brain-fake"), []byte("#!/bin/sh\necho fake brain tool\n"), 0o755)
	return &Runner{Bash: bash, Bin: bin, WorkDir: t.TempDir(), Keep: true,
		Env:  append(os.Environ(), "GEMINI_API_KEY=real-key-never-in-a-drill", "BRAIN_FAULTS=panic@brain_cli.command", "KEEP_ME=yes"),
		Host: Host{EUID: os.Geteuid(), GOOS: "linux"}}
}

// drillOf parses a drill with the given steps, each "PHASE[ ATTRS]: SCRIPT".
func drillOf(t *testing.T, within string, steps ...string) *Drill {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "---\nid: t\ntitle: T\nseverity: low\ndetect_within: %s\nrecover_within: %s\n---\n## Symptoms\n## Detect\n## Investigate\n## Recover\n", within, within)
	for _, s := range steps {
		info, script, _ := strings.Cut(s, ": ")
		ph, attrs, _ := strings.Cut(info, " ")
		fmt.Fprintf(&b, "```sh drill=%s %s\n%s\n```\n", ph, attrs, script)
	}
	file := filepath.Join(t.TempDir(), "t.md")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Parse(file, []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func phasesRun(r *Result) []string {
	var out []string
	for _, b := range r.Blocks {
		out = append(out, fmt.Sprintf("%s/%d:%d", b.Name, b.Round, b.ExitCode))
	}
	return out
}

func reasons(r *Result) []string {
	var out []string
	for _, rs := range r.Reasons {
		out = append(out, rs.Code)
	}
	return out
}

// TestLifeCycle runs drills through each verdict with real shells.
func TestLifeCycle(t *testing.T) {
	rn := newRunner(t)
	for _, tt := range []struct {
		name    string
		within  string
		steps   []string
		verdict Verdict
		reasons []string
		blocks  []string
		files   []string // files the scratch directory must hold at the end
		absent  []string // and must not
	}{
		{
			name:   "passed, detected on the third round",
			within: "5s",
			steps: []string{"setup: touch setup-ran", "steady: test ! -e broken", "inject: touch broken",
				"detect: n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; test $((n+1)) -ge 3",
				"investigate: test -e broken", "recover: rm broken", "rollback: touch rolled-back"},
			verdict: Passed,
			blocks:  []string{"setup-1/1:0", "steady-1/1:0", "inject-1/1:0", "detect-1/1:1", "detect-1/3:0", "investigate-1/1:0", "recover-1/1:0", "steady-1/1:0", "rollback-1/1:0"},
			files:   []string{"setup-ran", "rolled-back"},
		},
		{
			name:    "a detect that never fires: deviated, rollback ran",
			within:  "100ms",
			steps:   []string{"steady: true", "inject: touch broken", "detect: false", "recover: touch recovered", "rollback: touch rolled-back"},
			verdict: Deviated, reasons: []string{ReasonNotDetected},
			files: []string{"broken", "rolled-back"}, absent: []string{"recovered"},
		},
		{
			name:    "a failing steady state: aborted, inject never ran, no rollback",
			within:  "1s",
			steps:   []string{"steady: echo 'no quorum' >&2; exit 3", "inject: touch injected", "detect: true", "rollback: touch rolled-back"},
			verdict: Aborted, reasons: []string{ReasonSteadyFailed},
			blocks: []string{"steady-1/1:3"},
			absent: []string{"injected", "rolled-back"},
		},
		{
			name:    "a failing setup: aborted",
			within:  "1s",
			steps:   []string{"setup: exit 1", "steady: touch probed", "inject: touch injected", "detect: true"},
			verdict: Aborted, reasons: []string{ReasonSetupFailed},
			absent: []string{"probed", "injected"},
		},
		{
			name:    "an inject step fails: deviated, rollback runs",
			within:  "1s",
			steps:   []string{"steady: true", "inject: exit 9", "detect: true", "rollback: touch rolled-back"},
			verdict: Deviated, reasons: []string{ReasonInjectFailed},
			files: []string{"rolled-back"},
		},
		{
			name:   "investigate fails, recovery still measured",
			within: "5s",
			steps: []string{"steady: test ! -e broken", "inject: touch broken", "detect: test -e broken",
				"investigate: brain-audit no-such-subcommand", "recover: rm broken"},
			verdict: Deviated, reasons: []string{ReasonInvestigateFailed},
		},
		{
			name:    "the steady state never comes back",
			within:  "100ms",
			steps:   []string{"steady: test ! -e broken", "inject: touch broken", "detect: test -e broken", "recover: true", "rollback: rm broken"},
			verdict: Deviated, reasons: []string{ReasonNotRecovered},
			absent: []string{"broken"},
		},
		{
			name:    "every rollback step runs, and a failing one deviates",
			within:  "5s",
			steps:   []string{"steady: true", "inject: true", "detect: true", "rollback: exit 4", "rollback name=second: touch second-ran"},
			verdict: Deviated, reasons: []string{ReasonRollbackFailed},
			files: []string{"second-ran"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := drillOf(t, tt.within, tt.steps...)
			r := rn.Run(context.Background(), d, 1)
			if r.Verdict != tt.verdict || !cmp.Equal(reasons(r), tt.reasons) {
				t.Fatalf("verdict %s %v (%s), want %s %v; blocks %v", r.Verdict, reasons(r), r.Reason(), tt.verdict, tt.reasons, phasesRun(r))
			}
			if tt.blocks != nil {
				if diff := cmp.Diff(tt.blocks, phasesRun(r)); diff != "" {
					t.Errorf("blocks (-want +got):\n%s", diff)
				}
			}
			for _, f := range tt.files {
				if _, err := os.Stat(filepath.Join(r.Scratch, f)); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			for _, f := range tt.absent {
				if _, err := os.Stat(filepath.Join(r.Scratch, f)); err == nil {
					t.Errorf("%s exists", f)
				}
			}
			ttd, hasTTD := r.TTD()
			ttr, hasTTR := r.TTR()
			if tt.verdict == Passed && (!hasTTD || !hasTTR || ttd <= 0 || ttr < ttd) {
				t.Errorf("TTD %v %v, TTR %v %v", ttd, hasTTD, ttr, hasTTR)
			}
		})
	}
}

// TestHangingBlock: a block that hangs is stopped at its limit, with the
// whole process group (a background child included), and says so.
func TestHangingBlock(t *testing.T) {
	rn := newRunner(t)
	for _, tt := range []struct {
		name, step, want string
		reason           string
	}{
		{"inject's timeout", "inject timeout=200ms: sleep 1000 & echo $! > bg.pid; sleep 1000", "stopped at its timeout=200ms (its whole process group was killed)", ReasonInjectFailed},
		{"the detect window", "detect: sleep 1000 & echo $! > bg.pid; sleep 1000", "stopped at the end of the detect window (3 × detect_within 100ms) (its whole process group was killed)", ReasonNotDetected},
		{"a shell that ignores SIGTERM", "inject timeout=200ms: trap '' TERM; sleep 1000 & echo $! > bg.pid; while :; do sleep 1; done", "stopped at its timeout=200ms (its whole process group was killed)", ReasonInjectFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			steps := []string{"steady: true", "inject: true", "detect: true", "rollback: touch rolled-back"}
			ph, _, _ := strings.Cut(tt.step, " ")
			ph, _, _ = strings.Cut(ph, ":")
			for i, s := range steps {
				if strings.HasPrefix(s, ph+":") {
					steps[i] = tt.step
				}
			}
			d := drillOf(t, "100ms", steps...)
			r := rn.Run(context.Background(), d, 1)
			if r.Verdict != Deviated || reasons(r)[0] != tt.reason {
				t.Fatalf("verdict %s %v, want deviated %s", r.Verdict, reasons(r), tt.reason)
			}
			var hung *BlockResult
			for _, b := range r.Blocks {
				if b.TimedOut {
					hung = b
				}
			}
			if hung == nil || hung.Stopped != tt.want {
				t.Fatalf("no block stopped with %q: %+v", tt.want, r.Blocks)
			}
			if !strings.Contains(r.Reason(), tt.want) && tt.reason != ReasonNotDetected {
				t.Errorf("reason %q does not say how the block was stopped", r.Reason())
			}
			checkDead(t, filepath.Join(r.Scratch, "bg.pid"))
			if _, err := os.Stat(filepath.Join(r.Scratch, "rolled-back")); err != nil {
				t.Error("rollback did not run")
			}
		})
	}
}

// TestPhaseLimit: a phase's limit (limits: in the front matter) bounds all
// of its steps together, and a step still running at it is stopped; an
// aborted drill runs no rollback.
func TestPhaseLimit(t *testing.T) {
	rn := newRunner(t)
	d := drillOf(t, "1s", "setup: sleep 1000 & echo $! > bg.pid; exec sleep 1000", "steady: true", "inject: true", "detect: true", "rollback: touch rolled-back")
	d.Limits = map[Phase]time.Duration{Setup: 200 * time.Millisecond}
	r := rn.Run(context.Background(), d, 1)
	want := "setup failed: nothing was injected: step setup-1 at " + d.File + ":12: stopped at the setup phase's limit of 200ms (its whole process group was killed)"
	if r.Verdict != Aborted || r.Reason() != want {
		t.Fatalf("verdict %s %q, want aborted %q", r.Verdict, r.Reason(), want)
	}
	checkDead(t, filepath.Join(r.Scratch, "bg.pid"))
	if _, err := os.Stat(filepath.Join(r.Scratch, "rolled-back")); err == nil {
		t.Error("rollback ran, though nothing was injected")
	}
}

// checkDead fails unless the process whose pid is in file is gone (or a
// zombie waiting for its new parent).
func checkDead(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// SIGKILL has been sent to the group when the block returns; on a busy
	// machine the process may not have been scheduled to die yet, so its
	// state is polled (yielding the CPU it needs to die) until it is gone or
	// a zombie, within a bound.
	state := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return // gone
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) == 0 || f[0] == "Z" {
			return
		}
		state = f[0]
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("process %d of the block is still running (state %s)", pid, state)
}

// TestLeftovers: what a block leaves running in its group ends with it,
// and a process that escaped the group with the block's output does not
// hold brain-drill.
func TestLeftovers(t *testing.T) {
	rn := newRunner(t)
	d := drillOf(t, "5s", "steady: true", "inject: sleep 1000 & echo $! > bg.pid",
		// The escaped process has a session of its own before the block ends.
		`detect: setsid sleep 1000 & echo $! > escaped.pid; while [ "$(cut -d' ' -f6 /proc/$!/stat)" != $! ]; do :; done`, "rollback: true")
	r := rn.Run(context.Background(), d, 1)
	checkDead(t, filepath.Join(r.Scratch, "bg.pid"))
	b, _ := os.ReadFile(filepath.Join(r.Scratch, "escaped.pid"))
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if r.Verdict != Passed {
		t.Fatalf("verdict %s: %s", r.Verdict, r.Reason())
	}
}

// TestInterrupted: a canceled context stops the running block, rollback
// still runs, and the verdict is interrupted.
func TestInterrupted(t *testing.T) {
	rn := newRunner(t)
	sync := filepath.Join(t.TempDir(), "sync")
	if err := syscall.Mkfifo(sync, 0o600); err != nil {
		t.Fatal(err)
	}
	rn.Env = append(rn.Env, "SYNC="+sync)
	d := drillOf(t, "10s", "steady: true", `inject: echo "$DRILL_DIR" > "$SYNC"; exec sleep 1000`, "detect: true", "rollback: touch rolled-back")
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan *Result)
	go func() { done <- rn.Run(ctx, d, 1) }()
	// The inject step says it started through the FIFO, then never ends
	// on its own: the read returns once it runs.
	b, err := os.ReadFile(sync)
	if err != nil {
		t.Fatal(err)
	}
	scratch := strings.TrimSpace(string(b))
	cancel(errors.New("interrupted by signal 2 (interrupt)"))
	r := <-done
	if r.Verdict != Interrupted || r.Reason() != "interrupted by signal 2 (interrupt) during inject" {
		t.Fatalf("verdict %s %q", r.Verdict, r.Reason())
	}
	if r.SteadyBefore == nil || !*r.SteadyBefore || r.SteadyAfter != nil {
		t.Errorf("steady before %v, after %v; want true, not probed", r.SteadyBefore, r.SteadyAfter)
	}
	if _, err := os.Stat(filepath.Join(scratch, "rolled-back")); err != nil {
		t.Error("rollback did not run after the interrupt")
	}
	last := r.Blocks[len(r.Blocks)-2]
	if !last.Interrupted || last.Stopped != "stopped: interrupted by signal 2 (interrupt) (its whole process group was killed)" {
		t.Errorf("inject block: %+v", last)
	}
}

// TestEnvironment: what a block sees: its scratch directory, a fresh
// workspace, the bin directory first on PATH, the variables earlier
// blocks appended to $DRILL_ENV, and none of the caller's BRAIN settings
// or API keys.
func TestEnvironment(t *testing.T) {
	rn := newRunner(t)
	d := drillOf(t, "5s",
		"setup: echo 'FROM_SETUP=a value with spaces=and equals' >> \"$DRILL_ENV\"; echo '# a comment' >> \"$DRILL_ENV\"",
		"steady: test \"$FROM_SETUP\" = 'a value with spaces=and equals'",
		`inject: test "$PWD" = "$DRILL_DIR" && test "$BRAIN_DIR" = "$DRILL_DIR/.brain" && test -d "$BRAIN_DIR" && test "$(brain-fake)" = "fake brain tool" && test "$XDG_CONFIG_HOME" = "$DRILL_DIR/.config" && test "$DRILL_PHASE" = inject && test "$DRILL_ID" = t && test "$DRILL_RUN" = 1 && test "$KEEP_ME" = yes && test -f "$DRILL_SOURCE"`,
		`detect: test -z "${GEMINI_API_KEY:-}" && test -z "${BRAIN_FAULTS:-}" && test "$(stat -c %a "$DRILL_DIR")" = 700`,
		"investigate: echo 'BRAIN_DIR=elsewhere' >> \"$DRILL_ENV\"",
		`recover: test "$BRAIN_DIR" = elsewhere`)
	r := rn.Run(context.Background(), d, 1)
	if r.Verdict != Passed {
		for _, b := range r.Blocks {
			t.Logf("%s: %s %q", b.Name, b.Describe(), b.Tail)
		}
		t.Fatalf("verdict %s: %s", r.Verdict, r.Reason())
	}

	for _, bad := range []struct{ line, want string }{
		{"export X=1", "$DRILL_ENV line 1: want NAME=value (no spaces around '=', no 'export')"},
		{"DRILL_DIR=/", "$DRILL_ENV line 1: DRILL_DIR is brain-drill's own and cannot be set"},
	} {
		d := drillOf(t, "5s", "steady: echo '"+bad.line+"' >> \"$DRILL_ENV\"", "inject: true", "detect: true")
		r := rn.Run(context.Background(), d, 1)
		if r.Verdict != Deviated || len(r.Blocks) != 2 || r.Blocks[1].Error != bad.want {
			t.Errorf("%q: verdict %s, blocks %+v; want the inject step failed with %q", bad.line, r.Verdict, r.Blocks, bad.want)
		}
	}
}

// TestEnvFileLink: a $DRILL_ENV a step replaced with a link (to a file of
// settings elsewhere) is not followed: the next step fails and says why.
func TestEnvFileLink(t *testing.T) {
	rn := newRunner(t)
	elsewhere := filepath.Join(t.TempDir(), "settings")
	os.WriteFile(elsewhere, []byte("PATH=/nowhere\n"), 0o600)
	d := drillOf(t, "5s", `steady: ln -sf `+elsewhere+` "$DRILL_ENV"`, "inject: true", "detect: true")
	r := rn.Run(context.Background(), d, 1)
	if r.Verdict != Deviated || len(r.Blocks) != 2 || !strings.Contains(r.Blocks[1].Error, "is a symbolic link, which is not followed") {
		t.Errorf("verdict %s, blocks %+v; want the inject step refused", r.Verdict, r.Blocks)
	}
}

// TestRelativeWorkDir: with a relative --work, $DRILL_DIR is still an
// absolute path, valid after a step changes directory.
func TestRelativeWorkDir(t *testing.T) {
	rn := newRunner(t)
	t.Chdir(rn.WorkDir)
	rn.WorkDir = "."
	d := drillOf(t, "5s", `steady: cd / && test -f "$DRILL_DIR/.drill/env" && test -d "$BRAIN_DIR"`, "inject: true", "detect: true")
	if r := rn.Run(context.Background(), d, 1); r.Verdict != Passed || !filepath.IsAbs(r.Scratch) {
		t.Errorf("verdict %s (%s), scratch %q", r.Verdict, r.Reason(), r.Scratch)
	}
}

// TestOutputTail: the journal keeps the last TailBytes of a block's
// output, and counts it all.
func TestOutputTail(t *testing.T) {
	rn := newRunner(t)
	d := drillOf(t, "5s", "steady: head -c 1000000 /dev/zero | tr '\\0' a; echo; echo THE-END >&2", "inject: true", "detect: true")
	r := rn.Run(context.Background(), d, 1)
	b := r.Blocks[0]
	if b.OutputBytes != 1000009 || len(b.Tail) != TailBytes || !strings.HasSuffix(b.Tail, "a\nTHE-END\n") {
		t.Errorf("output %d bytes, tail %d bytes ending %q", b.OutputBytes, len(b.Tail), b.Tail[max(0, len(b.Tail)-20):])
	}
}

// TestNotRun: a drill whose requirement is not met runs nothing.
func TestNotRun(t *testing.T) {
	rn := newRunner(t)
	rn.Host = Host{EUID: 1000, GOOS: "linux", LookPath: func(string) (string, error) { return "", exec.ErrNotFound }}
	src := strings.Replace(minimal, "recover_within: 10s\n", "recover_within: 10s\nrequires: [root, \"command:tcpdump\"]\n", 1)
	d, err := Parse("n.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := rn.Run(context.Background(), d, 1)
	want := []Reason{{ReasonRequires, "requires root (running as uid 1000)"}, {ReasonRequires, "requires tcpdump on PATH (not found)"}}
	if r.Verdict != NotRun || !cmp.Equal(r.Reasons, want) || len(r.Blocks) != 0 || r.Scratch != "" {
		t.Errorf("result %+v", r)
	}
}

// TestRemoveScratch: a passed run's scratch directory is removed, even
// where a step took its permissions away, but never across a mount point.
func TestRemoveScratch(t *testing.T) {
	rn := newRunner(t)
	rn.Keep = false
	d := drillOf(t, "5s", "steady: mkdir -p locked/in && touch locked/in/f && chmod 0 locked/in locked", "inject: true", "detect: true")
	r := rn.Run(context.Background(), d, 1)
	if r.Verdict != Passed || r.Kept {
		t.Fatalf("verdict %s, kept %v: %v", r.Verdict, r.Kept, r.Notes)
	}
	if _, err := os.Stat(r.Scratch); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("scratch directory still there: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	d = drillOf(t, "5s", "setup: mkdir mnt && mount -t tmpfs -o size=4k tmpfs mnt && touch mnt/precious", "steady: true", "inject: true", "detect: true")
	r = rn.Run(context.Background(), d, 1)
	defer syscall.Unmount(filepath.Join(r.Scratch, "mnt"), syscall.MNT_DETACH)
	if r.Verdict != Passed {
		t.Skipf("cannot mount here: %s %q", r.Reason(), r.Blocks[0].Tail)
	}
	if !r.Kept || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "is still mounted there") {
		t.Errorf("kept %v, notes %v; want the directory kept because of the mount", r.Kept, r.Notes)
	}
	if _, err := os.Stat(filepath.Join(r.Scratch, "mnt", "precious")); err != nil {
		t.Errorf("the mounted file system was touched: %v", err)
	}
}
