package checkpoint

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/brain-dev/brain/chain"
)

// The crash test runs this test binary as a writer that appends records and
// signs a checkpoint after each batch, until it is killed with SIGKILL:
// at a random moment, or by itself at a chosen step of a checkpoint.
const (
	helperEnv    = "BRAIN_CHECKPOINT_TEST_HELPER"
	helperPath   = "BRAIN_CHECKPOINT_TEST_PATH"
	helperKillAt = "BRAIN_CHECKPOINT_TEST_KILL_AT" // a step of Make, and after how many checkpoints
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(runWriter())
	}
	os.Exit(m.Run())
}

// runWriter is the helper: it appends 1 to 3 records, prints "r SEQ" once
// they are durable, signs a checkpoint and prints "c SIZE" once it is, in
// a loop.
func runWriter() int {
	path := os.Getenv(helperPath)
	s, _ := testKey(nil, "brain-audit/crash", 1)
	w, err := chain.Open(path, chain.Options{ChainID: testChainID, MaxFileSize: 6000})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	opts := Options{Signer: s}
	if k := os.Getenv(helperKillAt); k != "" {
		step, after, _ := strings.Cut(k, "@")
		n, _ := strconv.Atoi(after)
		opts.fault = func(at string) {
			if at == step {
				if n--; n < 0 {
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {}
				}
			}
		}
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		evs := make([]chain.Event, 1+i%3)
		for j := range evs {
			evs[j] = chain.Event{Type: "crash.test", Data: fmt.Appendf(nil, `{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", i%40))}
		}
		h, err := w.AppendBatch(context.Background(), evs)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 4
		}
		fmt.Fprintf(out, "r %d\n", h.Seq)
		out.Flush()
		m, err := Make(context.Background(), path, opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 5
		}
		fmt.Fprintf(out, "c %d\n", m.Checkpoint.Size)
		out.Flush()
	}
}

// TestCrashKill kills the writer with SIGKILL between a record and its
// checkpoint, inside Make (after signing, after the checkpoint is appended
// and before the writer's state is, after both) and at random moments,
// then restarts it on the same chain, many times. After every kill the
// chain verifies (or shows only a torn tail, which repair handles), the
// checkpoint file is valid or has a torn last line, which repair handles,
// every checkpoint acknowledged is there and matches, and the writer goes
// on.
func TestCrashKill(t *testing.T) {
	rounds := 60
	if testing.Short() {
		rounds = 20
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	_, v := testKey(t, "brain-audit/crash", 1)
	var lastAck uint64
	steps := []string{"signed", "appended", "state", ""}
	torn := 0
	for round := range rounds {
		step := steps[round%len(steps)]
		env := []string{helperEnv + "=1", helperPath + "=" + path}
		if step != "" {
			env = append(env, fmt.Sprintf("%s=%s@%d", helperKillAt, step, rng.IntN(4)))
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		// A random kill: after a number of acknowledgements, while the
		// writer goes on to its next record or checkpoint.
		killAfter := -1
		if step == "" {
			killAfter = 1 + rng.IntN(12)
		}
		for n := 0; sc.Scan(); n++ {
			kind, num, _ := strings.Cut(sc.Text(), " ")
			size, _ := strconv.ParseUint(num, 10, 64)
			if kind == "c" {
				lastAck = max(lastAck, size)
			}
			if n == killAfter {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d (%s): the writer did not die by SIGKILL: %v\n%s", round, step, err, stderr.String())
		}
		torn += checkAfterKill(t, path, v, lastAck)
	}
	t.Logf("%d rounds, %d torn lines repaired", rounds, torn)
}

// checkAfterKill checks a chain and its checkpoint file after its writer was
// killed, repairing a torn tail of either; it returns the repairs made.
func checkAfterKill(t *testing.T, path string, v note.Verifier, lastAck uint64) int {
	t.Helper()
	repairs := 0
	res, err := VerifyFile(context.Background(), path, VerifyOptions{Verifiers: note.VerifierList(v), MaxUncovered: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		switch f.Class {
		case chain.TornTail, chain.MissingNewline:
			if _, err := chain.Repair(context.Background(), path, chain.RepairOptions{}); err != nil {
				t.Fatalf("chain.Repair: %v", err)
			}
			repairs++
		case Missing:
			if lastAck > 0 {
				t.Fatalf("after a kill: %s, though a checkpoint was acknowledged", f)
			}
		case Torn:
			if _, err := RepairStore(StorePath(path), false, time.Now()); err != nil {
				t.Fatalf("RepairStore: %v", err)
			}
			repairs++
		default:
			t.Fatalf("after a kill: %s", f)
		}
	}
	if repairs > 0 || lastAck == 0 {
		res, err = VerifyFile(context.Background(), path, VerifyOptions{Verifiers: note.VerifierList(v), MaxUncovered: -1})
		if err != nil || !res.OK() && !(lastAck == 0 && len(res.Findings) == 1 && res.Findings[0].Class == Missing) {
			t.Fatalf("after the repairs: %v %v", err, res.Findings)
		}
	}
	if lastAck > 0 && (res.Latest == nil || res.Latest.Size < lastAck) {
		t.Fatalf("the checkpoint of size %d was acknowledged, the latest matched is %v", lastAck, res.Latest)
	}
	return repairs
}
