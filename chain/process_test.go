package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Helper processes: the test binary re-executes itself with helperEnv set to
// one of these modes; TestMain hands over to runHelper. Parameters travel in
// environment variables.
const (
	// modeAppendLoop appends forever, printing each acknowledged seq on its
	// own line after AppendBatch returns, until it is killed.
	modeAppendLoop = "append-loop"
	// modeAppendN appends envCount records of type "proc.<envID>".
	modeAppendN = "append-n"
	// modeFileLimit lowers RLIMIT_FSIZE to envLimit and appends until an
	// append fails, then prints one report line (see TestFileSizeLimit).
	modeFileLimit = "file-limit"
	// modeDiff diffs the files envPath and envPath2 and prints the result
	// as JSON (see TestDiffMemoryBound).
	modeDiff = "diff"
	// modeVerify verifies the chain file at envPath (stdin for "-"; for a
	// directory, its one chain), with at most envNoFile open files when
	// set, and prints its report as JSON (see TestVerifyMemoryBound).
	modeVerify = "verify"
)

const (
	envPath    = "BRAIN_CHAIN_TEST_PATH"
	envMaxSize = "BRAIN_CHAIN_TEST_MAX_FILE_SIZE"
	envCount   = "BRAIN_CHAIN_TEST_COUNT"
	envID      = "BRAIN_CHAIN_TEST_ID"
	envLimit   = "BRAIN_CHAIN_TEST_LIMIT"
	envNoFile  = "BRAIN_CHAIN_TEST_NOFILE"
	envPath2   = "BRAIN_CHAIN_TEST_PATH2"
	// envKillAt makes the helper SIGKILL itself at its n-th write or sync
	// (counted through Options.Fault): a crash at an exact point.
	envKillAt = "BRAIN_CHAIN_TEST_KILL_AT"
	// envDeferred makes modeAppendLoop write with WriteBatch and Sync every
	// third batch, acknowledging records once synced.
	envDeferred = "BRAIN_CHAIN_TEST_DEFERRED"
)

// helperCmd returns a command that runs the test binary as helper mode.
func helperCmd(t testing.TB, mode string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}

func envInt(name string) int64 {
	n, _ := strconv.ParseInt(os.Getenv(name), 10, 64)
	return n
}

// runHelper runs a helper mode and returns the exit code.
func runHelper(mode string) int {
	ctx := context.Background()
	opts := Options{ChainID: testChainID, MaxFileSize: envInt(envMaxSize)}
	if k := envInt(envKillAt); k > 0 {
		n := int64(0)
		opts.Fault = func(op string) error {
			if n++; n == k {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
			return nil
		}
	}
	path := os.Getenv(envPath)
	if mode == modeDiff {
		res, err := DiffFiles(ctx, path, os.Getenv(envPath2))
		return printResult("diff", diffResult{Result: res, PeakKiB: peakRSS()}, err)
	}
	if mode == modeVerify {
		if n := uint64(envInt(envNoFile)); n > 0 {
			var lim syscall.Rlimit
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: lim.Max}); err != nil {
				fmt.Fprintln(os.Stderr, "setrlimit:", err)
				return 3
			}
		}
		var rep *Report
		var err error
		fi, _ := os.Stat(path)
		switch {
		case path == "-":
			rep, err = VerifyReader(ctx, "-", os.Stdin, VerifyOptions{})
		case fi != nil && fi.IsDir():
			var chains []Chain
			if chains, _, err = Discover(path); err == nil && len(chains) != 1 {
				err = fmt.Errorf("%d chains under %s", len(chains), path)
			}
			if err == nil {
				rep, err = VerifyChain(ctx, chains[0], VerifyOptions{})
			}
		default:
			rep, err = VerifyFile(ctx, path, VerifyOptions{})
		}
		return printResult("verify", verifyResult{Report: rep, PeakKiB: peakRSS()}, err)
	}
	if mode == modeFileLimit {
		lim := uint64(envInt(envLimit))
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
			fmt.Fprintln(os.Stderr, "setrlimit:", err)
			return 3
		}
	}
	w, err := Open(path, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open:", err)
		return 2
	}
	defer w.Close()
	switch mode {
	case modeAppendLoop:
		// Every fourth append is a batch of 100 records (a multi-page write
		// that a kill can tear).
		deferred := os.Getenv(envDeferred) != ""
		var unsynced []uint64
		for i := 0; ; i++ {
			evs := make([]Event, 1+99*min(i%4/3, 1))
			for j := range evs {
				evs[j] = Event{Type: "crash.test", Data: fmt.Appendf(nil, `{"i":%d,"j":%d,"pad":"%0200d"}`, i, j, i)}
			}
			appendBatch := w.AppendBatch
			if deferred {
				appendBatch = w.WriteBatch
			}
			h, err := appendBatch(ctx, evs)
			if err != nil {
				fmt.Fprintln(os.Stderr, "helper: append:", err)
				return 2
			}
			for seq := h.Seq + 1 - uint64(len(evs)); seq <= h.Seq; seq++ {
				unsynced = append(unsynced, seq)
			}
			if deferred && i%3 != 2 {
				continue
			}
			if err := w.Sync(); err != nil {
				fmt.Fprintln(os.Stderr, "helper: sync:", err)
				return 2
			}
			for _, seq := range unsynced {
				fmt.Fprintf(os.Stdout, "%d\n", seq)
			}
			unsynced = unsynced[:0]
		}
	case modeAppendN:
		typ := "proc." + os.Getenv(envID)
		for i := range envInt(envCount) {
			if _, err := w.Append(ctx, Event{Type: typ, Data: fmt.Appendf(nil, `{"i":%d}`, i)}); err != nil {
				fmt.Fprintln(os.Stderr, "helper: append:", err)
				return 2
			}
		}
		return 0
	case modeFileLimit:
		for i := 0; ; i++ {
			h, err := w.Append(ctx, Event{Type: "efbig.test", Data: fmt.Appendf(nil, `{"i":%d}`, i)})
			if err != nil {
				var we *WriteError
				fmt.Printf("err op=%s writeError=%t efbig=%t msg=%s\n", opOf(err), errors.As(err, &we), errors.Is(err, syscall.EFBIG), err)
				return 0
			}
			fmt.Printf("ack %d\n", h.Seq)
		}
	}
	fmt.Fprintln(os.Stderr, "helper: unknown mode", mode)
	return 2
}

// printResult prints v as JSON for the test that runs the helper, or, when
// err is set, the error; it returns the helper's exit code.
func printResult(what string, v any, err error) int {
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper: %s: %v\n", what, err)
		return 2
	}
	json.NewEncoder(os.Stdout).Encode(v)
	return 0
}

// verifyResult is what modeVerify prints.
type verifyResult struct {
	Report *Report `json:"report"`
	// PeakKiB is the process's peak resident memory after its exec
	// (VmHWM). getrusage's Maxrss of a child would not do: it keeps the
	// peak of the memory the child shared with its parent before exec, and
	// the parent is the test binary.
	PeakKiB int64 `json:"peak_kib"`
}

// diffResult is what modeDiff prints.
type diffResult struct {
	Result  *DiffResult `json:"result"`
	PeakKiB int64       `json:"peak_kib"`
}

// peakRSS returns this process's VmHWM in KiB, or -1.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

func opOf(err error) string {
	var we *WriteError
	if errors.As(err, &we) {
		return we.Op
	}
	return "none"
}
