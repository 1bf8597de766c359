// Package faults injects faults at named places in a running binary, for
// drills and tests. It is off unless BRAIN_FAULTS is set, and a nil *Set (the
// off state) costs one nil check per place.
//
// BRAIN_FAULTS is a comma-separated list of KIND@PLACE[=ARG]:
//
//	panic@SPAN          panic when a span of that name starts (e.g. panic@brain_cli.command)
//	ioerr@audit.write   the audit chain's write fails with EIO
//	ioerr@audit.sync    the audit chain's fdatasync fails with EIO
//	ioerr@audit.write=TYPE, ioerr@audit.sync=TYPE
//	                    the same, only for records of the event type TYPE (task.state, llm.call, ...)
//	delay@PLACE=DUR     sleep DUR (a Go duration) at PLACE: audit.write, audit.sync, exec.start,
//	                    exec.handoff, or a span name
//
// Unknown kinds or malformed entries are an error, so a typo never silently
// disables a drill.
package faults

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// EnvVar is the environment variable that configures faults.
const EnvVar = "BRAIN_FAULTS"

// Set is a parsed fault configuration. The nil *Set injects nothing.
type Set struct {
	panics map[string]bool
	ioerrs map[string]map[string]bool // place → event types ("" for every type)
	delays map[string]time.Duration
	sleep  func(time.Duration) // time.Sleep; a test hook
	mu     sync.Mutex
	fired  map[string]bool
}

// fire reports whether the panic at name has not fired yet, and marks it.
func (s *Set) fire(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fired[name] {
		return false
	}
	if s.fired == nil {
		s.fired = map[string]bool{}
	}
	s.fired[name] = true
	return true
}

// Parse parses a BRAIN_FAULTS value; "" gives nil.
func Parse(s string) (*Set, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	set := &Set{panics: map[string]bool{}, ioerrs: map[string]map[string]bool{}, delays: map[string]time.Duration{}, sleep: time.Sleep}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		kind, place, ok := strings.Cut(item, "@")
		if !ok || place == "" {
			return nil, fmt.Errorf("faults: %q: want KIND@PLACE", item)
		}
		switch kind {
		case "panic":
			set.panics[place] = true
		case "ioerr":
			p, typ, _ := strings.Cut(place, "=")
			if p != "audit.write" && p != "audit.sync" {
				return nil, fmt.Errorf("faults: %q: ioerr places are audit.write and audit.sync", item)
			}
			if strings.Contains(place, "=") && typ == "" {
				return nil, fmt.Errorf("faults: %q: want ioerr@%s=EVENT-TYPE", item, p)
			}
			if set.ioerrs[p] == nil {
				set.ioerrs[p] = map[string]bool{}
			}
			set.ioerrs[p][typ] = true
		case "delay":
			p, arg, ok := strings.Cut(place, "=")
			d, err := time.ParseDuration(arg)
			if !ok || err != nil || d < 0 {
				return nil, fmt.Errorf("faults: %q: want delay@PLACE=DURATION", item)
			}
			set.delays[p] = d
		default:
			return nil, fmt.Errorf("faults: %q: unknown kind %q (panic, ioerr, delay)", item, kind)
		}
	}
	return set, nil
}

// At runs the faults configured for place: a delay, then an injected error.
func (s *Set) At(place string) error { return s.at(place, "") }

// at is At for a write of an audit record of type typ ("" when there is
// none): an ioerr limited to other types does not fire.
func (s *Set) at(place, typ string) error {
	if s == nil {
		return nil
	}
	if d := s.delays[place]; d > 0 {
		s.sleep(d)
	}
	if m := s.ioerrs[place]; m[""] || (typ != "" && m[typ]) {
		return fmt.Errorf("injected fault at %s: %w", place, syscall.EIO)
	}
	return nil
}

// AuditFault adapts s to audit.Options.Fault: op "write" and "sync" of a
// record of type eventType map to the places audit.write and audit.sync. It
// returns nil for a nil Set.
func (s *Set) AuditFault() func(eventType, op string) error {
	if s == nil {
		return nil
	}
	return func(eventType, op string) error { return s.at("audit."+op, eventType) }
}

// Processor returns a span processor that delays and panics at span starts,
// or nil for a nil Set.
func (s *Set) Processor() sdktrace.SpanProcessor {
	if s == nil {
		return nil
	}
	return spanFaults{s}
}

// PanicValue is what an injected panic panics with.
type PanicValue string

// spanFaults fires each span panic once per process, so a command that
// recovers can still record what happened under a span of the same name.
type spanFaults struct{ s *Set }

func (f spanFaults) OnStart(ctx context.Context, sp sdktrace.ReadWriteSpan) {
	name := sp.Name()
	if d := f.s.delays[name]; d > 0 {
		f.s.sleep(d)
	}
	if f.s.panics[name] && f.s.fire(name) {
		panic(PanicValue("injected panic at span " + name))
	}
}
func (spanFaults) OnEnd(sdktrace.ReadOnlySpan)      {}
func (spanFaults) Shutdown(context.Context) error   { return nil }
func (spanFaults) ForceFlush(context.Context) error { return nil }
