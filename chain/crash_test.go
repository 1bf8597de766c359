package chain

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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// appendLoop runs a helper process appending to the chain at path until it
// is killed or kills itself; it returns the seqs the helper acknowledged.
// kill, when set, is called once the helper has started; it must kill the
// helper.
// With deferred, the helper writes with WriteBatch and syncs every third
// batch, acknowledging the records after the sync.
func appendLoop(t *testing.T, path string, maxSize int64, killAt int, deferred bool, kill func(cmd *exec.Cmd, acks *bufio.Scanner) []uint64) []uint64 {
	t.Helper()
	env := []string{envPath + "=" + path, envMaxSize + "=" + strconv.FormatInt(maxSize, 10)}
	if deferred {
		env = append(env, envDeferred+"=1")
	}
	if killAt > 0 {
		env = append(env, envKillAt+"="+strconv.Itoa(killAt))
	}
	cmd := helperCmd(t, modeAppendLoop, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var acked []uint64
	if kill != nil {
		acked = kill(cmd, sc)
	}
	for sc.Scan() {
		acked = append(acked, parseAck(t, sc.Text()))
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper: want death by SIGKILL, got %v", err)
	}
	return acked
}

func parseAck(t *testing.T, s string) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("helper printed %q", s)
	}
	return n
}

// checkAfterCrash checks the chain at path after a writer died: it verifies
// or shows only a torn tail (or a final record without its newline), Repair
// restores PASS, and every acknowledged
// seq is present. It reports whether a repair was needed.
func checkAfterCrash(t *testing.T, path string, acked []uint64) (repaired bool) {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		// Only a kill before the chain's first header leaves no active
		// file: a rotation never does, wherever it is cut.
		if files := chainFiles(t, path); len(files) > 0 || len(acked) > 0 {
			t.Fatalf("no active file after a crash, but rotated files %v and acknowledged seqs %v", files, acked)
		}
		return false
	}
	rep := verifyPath(t, path, VerifyOptions{})
	// The directory holds one chain, whatever step of a rotation the crash
	// cut (one file under two names is one file).
	chains, _, err := Discover(filepath.Dir(path))
	if err != nil || len(chains) != 1 || len(chains[0].Duplicates) > 0 || len(chains[0].Missing) > 0 || chains[0].Files[len(chains[0].Files)-1] != path {
		t.Fatalf("Discover after a crash: %+v, %v; want one whole chain ending in %s", chains, err, path)
	}
	if drep, err := VerifyChain(context.Background(), chains[0], VerifyOptions{}); err != nil || !cmp.Equal(drep.Findings, rep.Findings) {
		t.Fatalf("VerifyChain after a crash: %v, findings:\n%s\nwant those of VerifyFile:\n%s", err, findingsText(drep), findingsText(rep))
	}
	switch {
	case rep.OK():
	case rep.OnlyTornTail(), rep.OnlyMissingNewline():
		// A kill can cut a write anywhere, just before a newline too.
		if _, err := Repair(context.Background(), path, RepairOptions{Now: fixedClock()}); err != nil {
			t.Fatalf("Repair: %v", err)
		}
		mustPass(t, path)
		repaired = true
	default:
		t.Fatalf("after a crash the chain must verify or show only a torn tail; findings:\n%s", findingsText(rep))
	}
	recs := readRecords(t, chainFiles(t, path), false)
	if miss := missingSeqs(acked, seqSet(recs, "")); len(miss) > 0 {
		t.Fatalf("acknowledged seqs missing after a crash: %v", miss)
	}
	return repaired
}

// TestCrashKill SIGKILLs a process appending in a loop at random moments:
// every acknowledged record survives, the chain verifies or shows only a
// torn tail, and Repair restores PASS. The writer rotates often, so kills
// also land inside rotations.
func TestCrashKill(t *testing.T) {
	t.Run("sync", func(t *testing.T) { testCrashKill(t, false) })
	// The bulk load's path (WriteBatch, then one Sync for several): a
	// process killed between them leaves whole records, unsynced or not,
	// and at most a torn tail.
	t.Run("deferred", func(t *testing.T) { testCrashKill(t, true) })
}

func testCrashKill(t *testing.T, deferred bool) {
	rounds := 100
	if testing.Short() {
		rounds = 25
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var all []uint64
	repairs := 0
	for round := range rounds {
		acked := appendLoop(t, path, 64<<10, 0, deferred, func(cmd *exec.Cmd, sc *bufio.Scanner) []uint64 {
			// Progress signal: wait for 0 to 3 acknowledged appends (0 kills
			// the helper while it starts or opens the chain), then kill it
			// after a random short delay.
			var acked []uint64
			for range rng.IntN(4) {
				if !sc.Scan() {
					break
				}
				acked = append(acked, parseAck(t, sc.Text()))
			}
			time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Millisecond))))
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			return acked
		})
		all = append(all, acked...)
		if checkAfterCrash(t, path, all) {
			repairs++
		}
		if t.Failed() {
			t.Fatalf("round %d", round)
		}
	}
	recs := readRecords(t, chainFiles(t, path), false)
	t.Logf("%d rounds, %d acknowledged appends, %d records in %d files, %d repairs",
		rounds, len(all), len(recs), len(chainFiles(t, path)), repairs)
}

// TestCrashPoints kills the writer at each of its writes and syncs in turn
// (through Options.Fault): while creating a chain, appending, and at each
// step of a rotation. After each crash the active file exists, the chain
// verifies (after a repair when the tail is torn), keeps every acknowledged
// record, and takes appends again.
func TestCrashPoints(t *testing.T) {
	// With MaxFileSize 1 every append rotates first, so the helper's
	// operations are: header write, sync; then per append: rotation link,
	// header write, sync (the new file is renamed into place after it),
	// record write, sync.
	// Deferred, the helper's operations per batch are: rotation sync (of
	// the unsynced records before the file is rotated), link, header
	// write, sync, record write; and a sync every third batch.
	for _, deferred := range []bool{false, true} {
		for k := 1; k <= 12; k++ {
			name := fmt.Sprint(k)
			if deferred {
				name = "deferred-" + name
			}
			t.Run(name, func(t *testing.T) { testCrashPoint(t, k, deferred) })
		}
	}
}

func testCrashPoint(t *testing.T, k int, deferred bool) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	acked := appendLoop(t, path, 1, k, deferred, nil)
	checkAfterCrash(t, path, acked)
	w := openTest(t, path, Options{MaxFileSize: 1})
	appendN(t, w, 2, "after.crash")
	w.Close()
	mustPass(t, path)
	recs := readRecords(t, chainFiles(t, path), false)
	if miss := missingSeqs(acked, seqSet(recs, "")); len(miss) > 0 {
		t.Fatalf("acknowledged seqs missing: %v", miss)
	}
}

// TestConcurrentProcesses has 4 processes append 2,000 records each to one
// chain: the result is one valid chain holding all 8,000 records.
func TestConcurrentProcesses(t *testing.T) {
	procs, per := 4, 2000
	if testing.Short() {
		per = 250
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	// Create the chain first so that every process finds it.
	openTest(t, path, Options{}).Close()
	var cmds []*exec.Cmd
	for i := range procs {
		cmd := helperCmd(t, modeAppendN, envPath+"="+path, envCount+"="+strconv.Itoa(per), envID+"="+strconv.Itoa(i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	checkInterleaved(t, path, procs, per, "proc.%d")
}

// TestConcurrentWriters has several Writers in one process append at once.
func TestConcurrentWriters(t *testing.T) {
	writers, per := 4, 300
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		w := openTest(t, path, Options{MaxFileSize: 16 << 10})
		wg.Add(1)
		go func() {
			defer wg.Done()
			typ := fmt.Sprintf("writer.%d", i)
			for j := range per {
				if _, err := w.Append(context.Background(), Event{Type: typ, Data: fmt.Appendf(nil, `{"i":%d}`, j)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkInterleaved(t, path, writers, per, "writer.%d")
}

// checkInterleaved checks that the chain at path verifies and holds, for
// each of n appenders, its per records of type fmt.Sprintf(typeFmt, i) in
// the order it appended them.
func checkInterleaved(t *testing.T, path string, n, per int, typeFmt string) {
	t.Helper()
	rep := mustPass(t, path)
	recs := readRecords(t, chainFiles(t, path), false)
	got := map[string][]string{}
	for _, r := range recs {
		if r.typ != HeaderType {
			got[r.typ] = append(got[r.typ], r.data)
		}
	}
	want := map[string][]string{}
	for i := range n {
		typ := fmt.Sprintf(typeFmt, i)
		for j := range per {
			want[typ] = append(want[typ], fmt.Sprintf(`{"i":%d}`, j))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records per appender (-want +got):\n%s", diff)
	}
	if rep.Head == nil || int(rep.Head.Seq) != len(recs)-1 {
		t.Errorf("head %+v after %d lines; want seq %d", rep.Head, len(recs), len(recs)-1)
	}
}
