package telemetry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func statePathFor(spans string) string { return spans + ".flush" }

func TestFlush(t *testing.T) {
	rcv := startReceiver(t)
	spans := filepath.Join(t.TempDir(), "spans.jsonl")
	writeSpans(t, spans, 1000)

	check := func(wantSent, wantSkipped, wantTotal int) {
		t.Helper()
		sent, skipped, err := Flush(context.Background(), grpcNet, spans, rcv.addr, statePathFor(spans))
		if err != nil {
			t.Fatal(err)
		}
		if sent != wantSent || skipped != wantSkipped {
			t.Errorf("sent %d skipped %d, want %d %d", sent, skipped, wantSent, wantSkipped)
		}
		if got, dups := rcv.counts(); got != wantTotal || dups != 0 {
			t.Errorf("receiver has %d spans (%d repeated), want %d", got, dups, wantTotal)
		}
	}
	check(1000, 0, 1000)
	calls := rcv.callCount()
	check(0, 1000, 1000)
	if n := rcv.callCount() - calls; n != 0 {
		t.Errorf("a flush with nothing to send made %d requests", n)
	}
	writeSpans(t, spans, 10)
	check(10, 1000, 1010)

	fi, err := os.Stat(statePathFor(spans))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode())
	}
	st, err := ReadFlushState(statePathFor(spans))
	if err != nil {
		t.Fatal(err)
	}
	size, _ := os.Stat(spans)
	if st.Offset != size.Size() || st.Spans != 1010 || st.Endpoint != rcv.addr {
		t.Errorf("state = %+v, want offset %d, 1010 spans", st, size.Size())
	}
}

// TestFlushResume fails the third request: the first flush reports what it
// delivered before the failure, the next delivers the rest, and no span
// arrives twice.
func TestFlushResume(t *testing.T) {
	rcv := startReceiver(t)
	spans := filepath.Join(t.TempDir(), "spans.jsonl")
	for range 5 {
		writeSpans(t, spans, 7) // one line each
	}
	rcv.setFail(func(call int) error {
		if call == 3 {
			return status.Error(codes.Unavailable, "collector restarting")
		}
		return nil
	})
	fc := defaultFlush
	fc.maxSpans = 1 // one line per request
	sent, skipped, err := flush(context.Background(), grpcNet, spans, rcv.addr, statePathFor(spans), fc)
	if err == nil || !strings.Contains(err.Error(), "collector restarting") {
		t.Fatalf("err = %v, want the receiver's failure", err)
	}
	if sent != 14 || skipped != 0 {
		t.Errorf("first flush: sent %d skipped %d, want 14 0", sent, skipped)
	}
	rcv.setFail(nil)
	sent, skipped, err = flush(context.Background(), grpcNet, spans, rcv.addr, statePathFor(spans), fc)
	if err != nil {
		t.Fatal(err)
	}
	if sent != 21 || skipped != 14 {
		t.Errorf("second flush: sent %d skipped %d, want 21 14", sent, skipped)
	}
	if got, dups := rcv.counts(); got != 35 || dups != 0 {
		t.Errorf("receiver has %d spans (%d repeated), want 35", got, dups)
	}
}

// TestFlushDamaged passes over a line that does not parse, reports it, and
// leaves a torn last line for the flush after it is completed.
func TestFlushDamaged(t *testing.T) {
	rcv := startReceiver(t)
	spans := filepath.Join(t.TempDir(), "spans.jsonl")
	writeSpans(t, spans, 3)
	good, err := os.ReadFile(spans)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(spans, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("not json\n")
	f.Write(good)
	torn := len(good) / 2
	f.Write(good[:torn])
	f.Close()

	sent, _, err := Flush(context.Background(), grpcNet, spans, rcv.addr, statePathFor(spans))
	var de *DamagedLinesError
	if !errors.As(err, &de) || len(de.Offsets) != 1 || de.Offsets[0] != int64(len(good)) {
		t.Fatalf("err = %v, want one damaged line at %d", err, len(good))
	}
	if sent != 6 {
		t.Errorf("sent %d, want 6", sent)
	}

	f, _ = os.OpenFile(spans, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(good[torn:])
	f.Close()
	sent, skipped, err := Flush(context.Background(), grpcNet, spans, rcv.addr, statePathFor(spans))
	if err != nil || sent != 3 || skipped != 6 {
		t.Errorf("after completing the line: sent %d skipped %d err %v, want 3 6 nil", sent, skipped, err)
	}
	if st, _ := ReadFlushState(statePathFor(spans)); st.Damaged != 1 {
		t.Errorf("state records %d damaged lines, want 1", st.Damaged)
	}
}

// TestFlushReplacedFile sends a spans file that replaced a flushed one from
// its start.
func TestFlushReplacedFile(t *testing.T) {
	rcv := startReceiver(t)
	dir := t.TempDir()
	spans := filepath.Join(dir, "spans.jsonl")
	writeSpans(t, spans, 50)
	if _, _, err := Flush(context.Background(), grpcNet, spans, rcv.addr, statePathFor(spans)); err != nil {
		t.Fatal(err)
	}
	os.Remove(spans)
	writeSpans(t, spans, 4)
	sent, skipped, err := Flush(context.Background(), grpcNet, spans, rcv.addr, statePathFor(spans))
	if err != nil || sent != 4 || skipped != 0 {
		t.Errorf("sent %d skipped %d err %v, want 4 0 nil", sent, skipped, err)
	}
}

func TestFlushNothing(t *testing.T) {
	dir := t.TempDir()
	spans := filepath.Join(dir, "spans.jsonl")
	sent, skipped, err := Flush(context.Background(), grpcNet, spans, deadAddr(t), statePathFor(spans))
	if err != nil || sent != 0 || skipped != 0 {
		t.Errorf("missing file: sent %d skipped %d err %v", sent, skipped, err)
	}
	if _, _, err := Flush(context.Background(), grpcNet, spans, "", statePathFor(spans)); err == nil {
		t.Error("no endpoint: no error")
	}
}

// TestFlushDeadEndpoint fails without recording anything delivered.
func TestFlushDeadEndpoint(t *testing.T) {
	spans := filepath.Join(t.TempDir(), "spans.jsonl")
	writeSpans(t, spans, 5)
	sent, _, err := Flush(context.Background(), grpcNet, spans, deadAddr(t), statePathFor(spans))
	if err == nil || sent != 0 {
		t.Fatalf("sent %d err %v, want an error", sent, err)
	}
	if st, _ := ReadFlushState(statePathFor(spans)); st.Spans != 0 || st.Offset != 0 {
		t.Errorf("state after failure = %+v", st)
	}
}

func TestFlushLocked(t *testing.T) {
	spans := filepath.Join(t.TempDir(), "spans.jsonl")
	writeSpans(t, spans, 1)
	unlock, err := lockFile(statePathFor(spans) + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, _, err := Flush(context.Background(), grpcNet, spans, deadAddr(t), statePathFor(spans)); err == nil || !strings.Contains(err.Error(), "another flush") {
		t.Errorf("err = %v, want another flush", err)
	}
}

// TestFlushAfterLive is the outage drill: a command exports to a live
// receiver, a second one runs while the endpoint is down, then a flush
// sends the second command's spans and not the first's.
func TestFlushAfterLive(t *testing.T) {
	rcv := startReceiver(t)
	spans := filepath.Join(t.TempDir(), "spans.jsonl")
	run := func(endpoint string, n int) int32 {
		cfg := testConfig(t)
		cfg.SpansPath, cfg.OTLPEndpoint = spans, endpoint
		cfg.ExportTimeout = 5 * time.Second
		return command(t, cfg, n).n.Load()
	}
	if n := run(rcv.addr, 40); n != 0 {
		t.Fatalf("live run warned %d times", n)
	}
	if n := run(deadAddr(t), 25); n != 1 {
		t.Fatalf("dead run warned %d times, want 1", n)
	}
	sent, skipped, err := Flush(context.Background(), grpcNet, spans, rcv.addr, statePathFor(spans))
	if err != nil || sent != 25 || skipped != 40 {
		t.Errorf("sent %d skipped %d err %v, want 25 40 nil", sent, skipped, err)
	}
	if got, dups := rcv.counts(); got != 65 || dups != 0 {
		t.Errorf("receiver has %d spans (%d repeated), want 65", got, dups)
	}
}

// TestFlushAfterQueueFull bursts past the network path's queue: the spans it
// dropped are reported once and the next flush delivers every one of them.
func TestFlushAfterQueueFull(t *testing.T) {
	const n = 20000
	rcv := startReceiver(t)
	cfg := testConfig(t)
	cfg.OTLPEndpoint = rcv.addr
	cfg.ExportTimeout = 5 * time.Second
	w := command(t, cfg, n)
	live, _ := rcv.counts()
	t.Logf("delivered live: %d of %d; warnings: %d %s", live, n, w.n.Load(), w.message())
	if live < n && (w.n.Load() != 1 || !strings.Contains(w.message(), "export queue full")) {
		t.Errorf("%d spans dropped, warning %q", n-live, w.message())
	}
	if _, _, err := Flush(context.Background(), grpcNet, cfg.SpansPath, rcv.addr, statePathFor(cfg.SpansPath)); err != nil {
		t.Fatal(err)
	}
	got, dups := rcv.counts()
	t.Logf("after flush: %d received, %d of them repeats", got, dups)
	if got-dups != n {
		t.Errorf("receiver has %d distinct spans, want %d", got-dups, n)
	}
}
