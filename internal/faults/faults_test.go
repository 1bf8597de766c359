package faults

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestParse(t *testing.T) {
	for _, bad := range []string{"boom", "panic@", "ioerr@disk", "ioerr@disk=x", "ioerr@audit.write=", "delay@audit.write", "delay@x=soon", "crash@x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", bad)
		}
	}
	s, err := Parse("")
	if err != nil || s != nil {
		t.Fatalf("Parse(\"\") = %v, %v; want nil, nil", s, err)
	}
	if err := s.At("audit.write"); err != nil || s.AuditFault() != nil || s.Processor() != nil {
		t.Fatal("a nil Set must inject nothing")
	}
}

func TestIOErr(t *testing.T) {
	s, err := Parse("ioerr@audit.sync")
	if err != nil {
		t.Fatal(err)
	}
	f := s.AuditFault()
	if err := f("exec.start", "write"); err != nil {
		t.Fatalf("write: %v, want nil", err)
	}
	if err := f("exec.start", "sync"); !errors.Is(err, syscall.EIO) {
		t.Fatalf("sync: %v, want EIO", err)
	}
}

// TestIOErrByType: an ioerr with an event type fires only for records of
// that type.
func TestIOErrByType(t *testing.T) {
	s, err := Parse("ioerr@audit.write=task.state,ioerr@audit.sync=llm.call")
	if err != nil {
		t.Fatal(err)
	}
	f := s.AuditFault()
	for _, tc := range []struct {
		typ, op string
		fail    bool
	}{
		{"task.state", "write", true},
		{"task.state", "sync", false},
		{"llm.call", "write", false},
		{"llm.call", "sync", true},
		{"command.start", "write", false},
		{"command.start", "sync", false},
	} {
		if err := f(tc.typ, tc.op); (err != nil) != tc.fail || (err != nil && !errors.Is(err, syscall.EIO)) {
			t.Errorf("%s %s: %v, want failure %v (EIO)", tc.typ, tc.op, err, tc.fail)
		}
	}
}

func TestPanicAtSpan(t *testing.T) {
	s, err := Parse("panic@boom.span")
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.Processor()))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("t")
	_, ok := tr.Start(context.Background(), "calm.span")
	ok.End()
	defer func() {
		if r := recover(); r != PanicValue("injected panic at span boom.span") {
			t.Fatalf("recovered %v, want the injected panic", r)
		}
	}()
	tr.Start(context.Background(), "boom.span")
	t.Fatal("no panic")
}

func TestDelay(t *testing.T) {
	s, err := Parse("delay@audit.write=250ms,delay@slow.span=1s")
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	s.sleep = func(d time.Duration) { slept = append(slept, d) }
	if err := s.At("audit.write"); err != nil {
		t.Fatal(err)
	}
	s.At("audit.sync")
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(s.Processor()))
	defer tp.Shutdown(context.Background())
	_, sp := tp.Tracer("t").Start(context.Background(), "slow.span")
	sp.End()
	if want := []time.Duration{250 * time.Millisecond, time.Second}; !slices.Equal(slept, want) {
		t.Fatalf("slept %v, want %v", slept, want)
	}
}
