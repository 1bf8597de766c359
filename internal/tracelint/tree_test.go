package tracelint

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func drawTree(t *testing.T, opts TreeOptions, files ...string) (string, TreeResult, error) {
	t.Helper()
	ins, err := OpenInputs(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseInputs(ins)
	var b bytes.Buffer
	res, err := Tree(context.Background(), ins, opts, &b)
	return b.String(), res, err
}

// readTreeFiles reads files as tree does; the caller closes its spill, if
// any.
func readTreeFiles(t *testing.T, opts TreeOptions, files ...string) *linter {
	t.Helper()
	ins, err := OpenInputs(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseInputs(ins)
	l, err := readTree(context.Background(), ins, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestTreeLLMErrors: the waterfall of a session whose model calls failed
// with 401 and 429 shows the tree, the errors with their status and
// error.type, and the key attributes.
func TestTreeLLMErrors(t *testing.T) {
	r := newRecording(t)
	r.planExecute(newOpenAIServer(t, 200, 200, 401, 429), 3)
	r.close()
	out, res, err := drawTree(t, TreeOptions{Session: "sess-test"}, r.spans())
	if err != nil || res.Drawn != 2 {
		t.Fatalf("Tree = %+v, %v; want the session's 2 traces drawn", res, err)
	}
	for _, want := range []string{
		"trace ", "session sess-test", "0 errors", "4 errors",
		"brain_cli.command  ", "│  ", "plan", "execute",
		"├─ orchestrator.plan_generation", "tasks=3",
		"model=pro tokens=120/40",
		"✗ orchestrator.task_execution", "task=t1", "verdict=error", "error.type=auth", "error.type=rate_limit",
		"✗ llm_provider.chat", "http=401", "http=429", `ERROR "llm: openai: `,
		"checks=2 failed=0", "verdict=passed", "command.start #1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the tree lacks %q:\n%s", want, out)
		}
	}
	// Every line of a trace has its bar between the same columns.
	var col = -1
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, "│"); i >= 0 && !strings.HasPrefix(l, "trace") && strings.Count(l, "│") >= 2 {
			rs := []rune(l[:strings.LastIndex(l, "│")])
			if col >= 0 && len(rs) != col {
				t.Errorf("bars misaligned at %q", l)
			}
			col = len(rs)
		}
		if strings.HasPrefix(l, "trace") {
			col = -1
		}
	}
}

func TestTreeSelect(t *testing.T) {
	r := newRecording(t)
	r.planExecute(newOpenAIServer(t), 1)
	r.close()
	out, res, err := drawTree(t, TreeOptions{}, r.spans())
	if err != nil || res.Drawn != 0 || res.Traces != 2 || !strings.HasPrefix(out, "TRACE ") || strings.Count(out, "\n") != 3 {
		t.Fatalf("with two traces and no selection: %+v, %v, %q; want the list", res, err, out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	out, res, err = drawTree(t, TreeOptions{Trace: id[:8]}, r.spans())
	if err != nil || res.Drawn != 1 || !strings.HasPrefix(out, "trace "+id) {
		t.Fatalf("--trace %s: %+v, %v, %q", id[:8], res, err, out)
	}
	for _, opts := range []TreeOptions{{Trace: "ffffffff"}, {Session: "nobody"}} {
		if _, _, err := drawTree(t, opts, r.spans()); !errors.Is(err, ErrNoTrace) {
			t.Errorf("%+v: %v, want ErrNoTrace", opts, err)
		}
	}
}

func TestBar(t *testing.T) {
	d := &drawer{width: 10}
	for _, tt := range []struct {
		from, to, total uint64
		want            string
	}{
		{0, 100, 100, "██████████"},
		{0, 50, 100, "█████     "},
		{50, 100, 100, "     █████"},
		{0, 1, 1000, "▏         "},
		{25, 75, 100, "  ▐████▌  "},
		{0, 0, 0, "▏         "},
	} {
		if got := d.bar(tt.from, tt.to, tt.total); got != tt.want {
			t.Errorf("bar(%d, %d, %d) = %q, want %q", tt.from, tt.to, tt.total, got, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for ns, want := range map[uint64]string{999: "999ns", 431_000: "431µs", 16_400_000: "16.4ms", 1_204_000_000: "1.20s", 4_670_000: "4.67ms"} {
		if got := duration(ns); got != want {
			t.Errorf("duration(%d) = %q, want %q", ns, got, want)
		}
	}
}

// TestTreeTraceKeepsOneTrace: tree --trace keeps only the spans of that
// trace, however many other traces the input holds, and draws it as
// before.
func TestTreeTraceKeepsOneTrace(t *testing.T) {
	files, _ := brokenCorpus(t, 200, 5)
	all := readTreeFiles(t, TreeOptions{}, files...)
	traces := all.traces()
	want := traces[len(traces)/2]
	one := readTreeFiles(t, TreeOptions{Trace: strings.ToUpper(want.id)}, files...)
	if len(one.nodes) != len(want.spans) || len(all.nodes) <= len(want.spans) {
		t.Errorf("--trace kept %d spans; the trace has %d, the input %d", len(one.nodes), len(want.spans), len(all.nodes))
	}
	a, _, errA := drawTree(t, TreeOptions{Trace: want.id}, files...)
	var b bytes.Buffer
	dr := &drawer{l: all, w: &b, width: 40}
	dr.trace(want)
	if errA != nil || a != b.String() {
		t.Errorf("--trace drew (%v):\n%s\nwant:\n%s", errA, a, b.String())
	}
}

// TestTreeSpillSameOutput holds tree over spilled spans to tree in memory:
// the list of a broken input's traces, a session's traces, an input's only
// trace and a session not in the input come out the same, byte for byte,
// spilled from the first span on or part-way; and spilled, tree holds at
// most --spill-after spans at once, or the biggest trace's.
func TestTreeSpillSameOutput(t *testing.T) {
	files, _ := brokenCorpus(t, 300, 11)
	r := newRecording(t)
	r.planExecute(newOpenAIServer(t, 200, 500, 200), 3)
	r.close()
	b, err := os.ReadFile(r.spans())
	if err != nil {
		t.Fatal(err)
	}
	one := writeFile(t, filepath.Join(t.TempDir(), "one.jsonl"), string(b))
	var only pcommon.TraceID
	editSpans(t, one, func(s ptrace.Span) bool {
		if only.IsEmpty() {
			only = s.TraceID()
		}
		return s.TraceID() == only
	})

	traces := readTreeFiles(t, TreeOptions{}, files...).traces()
	session := ""
	for s := range traces[len(traces)/2].sessions {
		session = s
	}
	most := 0
	for _, tr := range traces {
		most = max(most, len(tr.spans))
	}
	if session == "" || len(traces) < 100 {
		t.Fatalf("the corpus has %d traces, session %q", len(traces), session)
	}
	for _, c := range []struct {
		name  string
		opts  TreeOptions
		files []string
	}{
		{"list", TreeOptions{}, files},
		{"session", TreeOptions{Session: session, Color: true}, files},
		{"only trace", TreeOptions{Width: 20}, []string{one}},
		{"no such session", TreeOptions{Session: "no-such-session"}, files},
	} {
		want, wres, werr := drawTree(t, c.opts, c.files...)
		if c.name != "no such session" && (werr != nil || want == "") {
			t.Fatalf("%s: in memory: %v", c.name, werr)
		}
		for _, after := range []int{1, 7, 500} {
			opts := c.opts
			opts.SpillAfter, opts.TmpDir = after, t.TempDir()
			got, gres, gerr := drawTree(t, opts, c.files...)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || gres != wres {
				t.Errorf("%s, spill after %d: %+v, %v; in memory %+v, %v", c.name, after, gres, gerr, wres, werr)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s, spill after %d: the output differs (-memory +spilled):\n%s", c.name, after, d)
			}
		}
	}
	// What is held at once, spilled.
	for _, after := range []int{1, 50, 400} {
		l := readTreeFiles(t, TreeOptions{SpillAfter: after, TmpDir: t.TempDir()}, files...)
		if l.spill == nil {
			t.Fatalf("--spill-after %d: not spilled", after)
		}
		if _, err := treeSpilled(context.Background(), l, TreeOptions{}, io.Discard); err != nil {
			t.Fatal(err)
		}
		l.closeSpill()
		if l.held > max(after, most) {
			t.Errorf("--spill-after %d: %d spans held at once (biggest trace %d)", after, l.held, most)
		}
	}
}

// TestHexPrefix holds hexPrefix to encoding the id: every prefix of random
// ids, and prefixes that differ in their last digit, are longer than the
// id or are empty.
func TestHexPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		var id pcommon.TraceID
		for i := range id {
			id[i] = byte(r.IntN(256))
		}
		h := hex.EncodeToString(id[:])
		for n := 0; n <= len(h); n++ {
			if !hexPrefix(id, h[:n]) {
				t.Fatalf("hexPrefix(%s, %q) = false", h, h[:n])
			}
			if n > 0 {
				other := h[:n-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", h[n-1])+1)%16])
				if hexPrefix(id, other) {
					t.Fatalf("hexPrefix(%s, %q) = true", h, other)
				}
			}
		}
		if hexPrefix(id, h+"0") {
			t.Fatalf("hexPrefix(%s, a longer prefix) = true", h)
		}
	}
}

// TestListRuns: a spilled tree's list of many traces, in runs of one,
// merges listFanIn runs of a level into one of the next as it goes, so
// that few files are open, and writes the list in the order the list held
// in memory has.
func TestListRuns(t *testing.T) {
	s, err := newSpiller(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	rng := rand.New(rand.NewPCG(3, 3))
	var all traceList
	tl := traceList{spill: s, runSize: 1}
	defer tl.closeRuns()
	most := 0
	for i := range 5000 {
		sum := traceSum{start: uint64(rng.IntN(300)), end: 400, first: int64(i), spans: 1 + rng.IntN(9), root: 0, drawing: -1}
		sum.id[0], sum.id[1] = byte(i), byte(i>>8)
		for _, l := range []*traceList{&all, &tl} {
			l.roots, l.sums, l.n = []string{fmt.Sprintf("root %d", i%7)}, append(l.sums, sum), l.n+1
		}
		if err := tl.flush(false); err != nil {
			t.Fatal(err)
		}
		most = max(most, len(tl.runs))
	}
	// 5000 runs of one: levels 0, 1 and 2 (64² = 4096), at most 63 each.
	if most > 3*(listFanIn-1)+1 {
		t.Errorf("%d runs open at once", most)
	}
	var want, got bytes.Buffer
	for i := range all.sums {
		all.sums[i].root = int32(len(all.roots))
		all.roots = append(all.roots, fmt.Sprintf("root %d", all.sums[i].first%7))
	}
	all.sort()
	all.list(&want)
	if err := tl.listRuns(&got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want.String(), got.String()); d != "" {
		t.Errorf("the list differs (-in memory +runs):\n%s", d)
	}
}
