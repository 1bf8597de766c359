package telemetry

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestNetworkLive exports to a real OTLP receiver: every span arrives once,
// also on disk, and nothing is warned.
func TestNetworkLive(t *testing.T) {
	rcv := startReceiver(t)
	cfg := testConfig(t)
	cfg.OTLPEndpoint = rcv.addr
	cfg.ExportTimeout = 5 * time.Second // a loaded test machine must not turn this into a failure
	w := command(t, cfg, 100)
	if n := w.n.Load(); n != 0 {
		t.Errorf("warned %d times: %s", n, w.message())
	}
	if spans, dups := rcv.counts(); spans != 100 || dups != 0 {
		t.Errorf("receiver got %d spans (%d repeated), want 100", spans, dups)
	}
	if spans, _ := spanCount(t, cfg.SpansPath); spans != 100 {
		t.Errorf("disk has %d spans, want 100", spans)
	}
}

// TestUnreachableEndpoint covers every way an endpoint can be dead: a
// closed port, a listener that never accepts (its queue full, so the
// connect is never answered) and one that accepts and never answers. With
// the default export timeout, Shutdown gives up and succeeds, Warn is
// called exactly once naming the endpoint and the spans file, every span
// is on disk, and a later flush to a live receiver delivers every one of
// them once. More spans than one batch make the network path try more than
// once.
func TestUnreachableEndpoint(t *testing.T) {
	for name, addr := range map[string]func(testing.TB) string{"dead": deadAddr, "unaccepted": unaccepted, "blackhole": blackHole} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			endpoint := addr(t)
			cfg := testConfig(t)
			cfg.OTLPEndpoint = endpoint
			w := command(t, cfg, 2000)
			if n := w.n.Load(); n != 1 {
				t.Fatalf("warned %d times, want 1", n)
			}
			msg := w.message()
			for _, want := range []string{"trace export to " + endpoint + " failed", "spans kept in " + cfg.SpansPath, "brain-run flush"} {
				if !strings.Contains(msg, want) {
					t.Errorf("warning %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("warning is more than one line: %q", msg)
			}
			t.Logf("warning: %s", msg)
			if spans, dups := spanCount(t, cfg.SpansPath); spans != 2000 || dups != 0 {
				t.Errorf("disk has %d spans (%d repeated), want 2000", spans, dups)
			}
			rcv := startReceiver(t)
			sent, skipped, err := Flush(context.Background(), grpcNet, cfg.SpansPath, rcv.addr, statePathFor(cfg.SpansPath))
			if err != nil || sent != 2000 || skipped != 0 {
				t.Errorf("flush: sent %d skipped %d err %v, want 2000 0 nil", sent, skipped, err)
			}
			if got, dups := rcv.counts(); got != 2000 || dups != 0 {
				t.Errorf("receiver has %d spans (%d repeated), want 2000", got, dups)
			}
		})
	}
}

// TestShutdownDeadline gives Shutdown a context that ends before the export
// timeout: the black hole costs no more than the caller allows.
func TestShutdownDeadline(t *testing.T) {
	var w warnCounter
	cfg := testConfig(t)
	cfg.OTLPEndpoint = blackHole(t)
	cfg.ExportTimeout = time.Minute
	cfg.Warn = w.warn
	p, err := Setup(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	burst(context.Background(), p, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	p.Shutdown(context.Background()) // a second call warns no more
	if n := w.n.Load(); n != 1 {
		t.Errorf("warned %d times, want 1", n)
	}
	if spans, _ := spanCount(t, cfg.SpansPath); spans != 10 {
		t.Errorf("disk has %d spans, want 10", spans)
	}
}
