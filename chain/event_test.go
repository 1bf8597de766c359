package chain

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// eventLineSeeds are input lines of ParseEvent: plain ones its fast path
// reads, and ones just past what it reads (escapes, blanks, nesting, data,
// duplicates, reserved fields and types, bad JSON).
var eventLineSeeds = []string{
	`{"type":"a","session":"s","trace_id":"t","span_id":"p","x":1}`,
	`{"type":"llm.chat","model":"m","n":-0.5e+3,"ok":true,"no":false,"z":null}`,
	`{"x":"1","type":"a","y":2}`, `{"type":"a"}`, `{"type":""}`, `{}`, `{"type":"a",}`,
	`{"type":"a","x":01}`, `{"type":"a","x":1.}`, `{"type":"a","x":tru}`, `{"type":"a","x":nul}`,
	`{"type":"a","x":{"k":1}}`, `{"type":"a","x":[1]}`, `{"type":"a","data":{"k":1}}`,
	`{"type":"a","x":1,"x":2}`, `{"type":"a","type":"b"}`, `{"type":"chain.header"}`,
	`{"type":"a","seq":1}`, `{"type":"a","hash":"h"}`, `{"type":"a" ,"x":1}`, `{ "type":"a"}`,
	`{"type":"a\"b"}`, `{"type":"a\u0062"}`, `{"type":"é"}`, "{\"type\":\"a\x7f\"}", "{\"type\":\"a\x01\"}",
	`{"type":"a","session":1}`, `{"type":"a","b":"}"}`, `{"type":"a"}}`, `{"type":"a"`, `"type"`,
	`{"type":"a","1":1,"2":2,"3":3,"4":4,"5":5,"6":6,"7":7}`,
	`{"type":"a","1":1,"2":2,"3":3,"4":4,"5":5,"6":6,"7":7,"8":8}`,
	`{"type":"a","":1}`, `{"":"a"}`, `{"type":"a","x":"y":1}`, `{"type":"a","x"}`, `{"type":"a":1}`,
}

// checkParseEvent parses line with ParseEvent, its fast path and the
// reference, and fails t unless the fast path's event (when it reads the
// line) is the reference's, marked as checked, with its data in buf.
func checkParseEvent(t *testing.T, line string) (fast bool) {
	t.Helper()
	want, _, werr := parseEventRef([]byte(line), nil)
	// The event never aliases the line: overwritten after ParseEvent
	// returns, the event stays the reference's.
	reused := []byte(line)
	ev, _, err := ParseEvent(reused, nil)
	for i := range reused {
		reused[i] = 'x'
	}
	if err == nil && string(ev.Data) != string(want.Data) {
		t.Fatalf("ParseEvent(%q): data %q after the line was reused, want %q", line, ev.Data, want.Data)
	}
	buf := make([]byte, 3, 3+len(line)+2)
	got, out, ok := parsePlain([]byte(line), buf)
	if !ok {
		if !bytes.Equal(out, buf) {
			t.Fatalf("parsePlain(%q) gave up but changed buf: %q", line, out)
		}
		_, _, err := ParseEvent([]byte(line), nil)
		if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Fatalf("ParseEvent(%q): %v, the reference: %v", line, err, werr)
		}
		return false
	}
	if werr != nil {
		t.Fatalf("parsePlain(%q) read a line the reference refuses: %v", line, werr)
	}
	type fields struct{ Type, Session, TraceID, SpanID, Data string }
	f := func(ev Event) fields { return fields{ev.Type, ev.Session, ev.TraceID, ev.SpanID, string(ev.Data)} }
	if diff := cmp.Diff(f(want), f(got)); diff != "" {
		t.Fatalf("parsePlain(%q) (-reference +fast):\n%s", line, diff)
	}
	if got.checked != [4]string{got.Type, got.Session, got.TraceID, got.SpanID} || !bytes.Equal(got.compact, got.Data) {
		t.Fatalf("parsePlain(%q): the event is not marked checked", line)
	}
	if &out[0] != &buf[0] || len(got.Data) > 0 && &got.Data[0] != &out[3] {
		t.Fatalf("parsePlain(%q): the data is not in buf, or buf grew", line)
	}
	// The event is what Check passes, as it is.
	c := got
	c.checked, c.compact = [4]string{}, nil
	if err := c.Check(); err != nil || !bytes.Equal(c.Data, got.Data) {
		t.Fatalf("parsePlain(%q) read an event Check refuses or compacts: %v", line, err)
	}
	return true
}

func TestParseEventFastIsReference(t *testing.T) {
	fast := 0
	for _, line := range eventLineSeeds {
		if checkParseEvent(t, line) {
			fast++
		}
	}
	// The plain lines above are read by the fast path: a fast path that
	// always gave up would pass every other check.
	if fast < 5 {
		t.Errorf("the fast path read %d of the seeds, want the plain ones", fast)
	}
	// Lines made of plain and not so plain pieces, in every order.
	pieces := []string{
		`"type":"t"`, `"type":"chain.x"`, `"type":""`, `"session":"s"`, `"session":7`, `"trace_id":"x y"`,
		`"span_id":"\u0041"`, `"k":1`, `"k":"v"`, `"k2":-1.5E-2`, `"k3":true`, `"k4":null`, `"k5":false`,
		`"k6":{}`, `"k7":[]`, `"data":{"a":1}`, `"ts":"x"`, `"é":1`, `"k8" :1`, `"k9":0`, `"k10":-`, `"k11":1e`,
		`"k12":"a\"b"`, `"k13":"` + "\x1f" + `"`,
	}
	r := rand.New(rand.NewPCG(1, 2))
	fast = 0
	for range 20000 {
		var b strings.Builder
		b.WriteByte('{')
		for i := range r.IntN(7) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		b.WriteByte('}')
		if checkParseEvent(t, b.String()) {
			fast++
		}
	}
	if fast < 100 {
		t.Errorf("the fast path read %d of 20000 made lines", fast)
	}
}

// FuzzParseEvent holds ParseEvent's fast path to the reference parser:
// a line the fast path reads is one the reference accepts, as the same
// event; any other line gets the reference's answer.
func FuzzParseEvent(f *testing.F) {
	for _, s := range eventLineSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		checkParseEvent(t, line)
	})
}

// BenchmarkParseEvent reads a line of brain-audit append's benchmark
// input (a plain line of 8 fields), its data into a reused buffer.
func BenchmarkParseEvent(b *testing.B) {
	line := []byte(`{"type":"llm_provider.chat","session":"c0ffee00-1234-4abc-9def-0123456789ab","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","model":"gemini-2.5-flash","input_tokens":1234,"output_tokens":567,"n":42}`)
	buf := make([]byte, 0, len(line)+2)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, _, err := ParseEvent(line, buf); err != nil {
			b.Fatal(err)
		}
	}
}
