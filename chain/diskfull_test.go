package chain

import (
	"github.com/brain-dev/brain/internal/testutil"

	"bufio"
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
)

// TestDiskFull appends on a real, tiny tmpfs until the disk is full: the
// append fails with a *WriteError wrapping ENOSPC, and the chain still
// verifies with every acknowledged record. It needs root (to mount).
func TestDiskFull(t *testing.T) {
	dir := testutil.Tmpfs(t, "64k")
	path := filepath.Join(dir, "audit.jsonl")
	w := openTest(t, path, Options{})
	var acked []uint64
	var err error
	for i := 0; ; i++ {
		var h Head
		// Mix single appends and batches, so that the failing write is
		// sometimes one that fills the disk part of the way.
		evs := make([]Event, 1+i%7)
		for j := range evs {
			evs[j] = Event{Type: "t", Data: fmt.Appendf(nil, `{"i":%d,"pad":"%0300d"}`, i, j)}
		}
		h, err = w.AppendBatch(context.Background(), evs)
		if err != nil {
			break
		}
		for s := h.Seq + 1 - uint64(len(evs)); s <= h.Seq; s++ {
			acked = append(acked, s)
		}
		if i > 10000 {
			t.Fatal("the disk never filled up")
		}
	}
	var we *WriteError
	if !errors.As(err, &we) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("want a *WriteError wrapping ENOSPC, got %T: %v", err, err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "chain: ") || !strings.Contains(msg, path) || !strings.Contains(msg, "no space left on device") {
		t.Errorf("error message %q should name the package, the file and the cause", msg)
	}
	t.Logf("%d records acknowledged, then: %v", len(acked), err)
	if len(acked) < 10 {
		t.Fatalf("only %d appends before the disk was full", len(acked))
	}
	if w.Head().Seq != acked[len(acked)-1] {
		t.Errorf("Head() = %v after the failure, want seq %d", w.Head(), acked[len(acked)-1])
	}
	checkAcked(t, path, acked, "t")
	// Appending still fails cleanly, and works again once there is space.
	if _, err := w.Append(context.Background(), Event{Type: "t", Data: []byte(`{"pad":"` + strings.Repeat("z", 8000) + `"}`)}); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("second append on a full disk: %v, want ENOSPC", err)
	}
	mustPass(t, path)
	if out, err := exec.Command("mount", "-o", "remount,size=1m", dir).CombinedOutput(); err != nil {
		t.Fatalf("growing the tmpfs: %v: %s", err, out)
	}
	h, err := w.Append(context.Background(), Event{Type: "t"})
	if err != nil || h.Seq != acked[len(acked)-1]+1 {
		t.Fatalf("append after space was freed: head %v, err %v; want seq %d", h, err, acked[len(acked)-1]+1)
	}
	mustPass(t, path)
}

// TestFileSizeLimit appends in a child process whose RLIMIT_FSIZE is small:
// the append that would cross it fails with EFBIG (Go ignores SIGXFSZ) and
// is rolled back, leaving a valid chain with every acknowledged record.
func TestFileSizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	const limit = 8 << 10
	cmd := helperCmd(t, modeFileLimit, envPath+"="+path, envLimit+"="+strconv.Itoa(limit))
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
			t.Skipf("skipping: the helper was killed by %v; SIGXFSZ is not ignored here", ee.Sys().(syscall.WaitStatus).Signal())
		}
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			t.Skip("skipping: cannot lower RLIMIT_FSIZE")
		}
		t.Fatalf("helper: %v", err)
	}
	var acked []uint64
	var result string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if s, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			acked = append(acked, parseAck(t, s))
		} else {
			result = sc.Text()
		}
	}
	if !strings.HasPrefix(result, "err op=write writeError=true efbig=true ") {
		t.Fatalf("helper result %q; want a *WriteError for write wrapping EFBIG", result)
	}
	if !strings.Contains(result, "file too large") {
		t.Errorf("error message %q does not say the file is too large", result)
	}
	if len(acked) == 0 {
		t.Fatal("no append succeeded")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > limit {
		t.Errorf("file is %d bytes, over the %d-byte limit", fi.Size(), limit)
	}
	checkAcked(t, path, acked, "efbig.test")
}
