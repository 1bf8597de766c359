package tracelint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"html"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/brain-dev/brain/internal/spandict"
)

// hostileValues are strings that would run script, load a resource or
// break out of the page's JSON block if any reached the page unescaped.
var hostileValues = []string{
	`<script>window.__pwned = "script"</script>`,
	`"><img src=x onerror="window.__pwned='img'">`,
	`</script><script>window.__pwned = "close"</script>`,
	`<!--<script>`,
	`' onmouseover='window.__pwned=1' x='`,
	"\u2028\u2029</ScRiPt >",
	`{{.CSP}} ]]> &amp; &#60;`,
}

// hostileCommand is the hostile recording's brain.command, which the
// page's header shows (drawn by html/template, not by the script).
const hostileCommand = `</td><script>__pwned="head"</script>`

// writeReport renders the report of files with opts.
func writeReport(t *testing.T, opts ReportOptions, files ...string) (string, *ReportResult) {
	t.Helper()
	return writeReportTB(t, opts, files...)
}

func writeReportTB(t testing.TB, opts ReportOptions, files ...string) (string, *ReportResult) {
	t.Helper()
	ins, err := OpenInputs(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseInputs(ins)
	if opts.Lint.Dict == nil {
		opts.Lint.Dict = spandict.Default()
	}
	opts.Generated = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var b bytes.Buffer
	res, err := Report(context.Background(), ins, opts, &b)
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), res
}

// hostileRecording records a command whose spans hold every hostile value
// in every place the report shows a string: span names, attribute keys
// and values, a status message, an event's name and attributes, the
// resource, and an audit record's data.
func hostileRecording(t *testing.T) *recording {
	r := newRecording(t)
	r.command(context.Background(), hostileCommand, func(ctx context.Context) {
		for i, v := range hostileValues {
			_, s := r.span(ctx, "sketch.generate_context", trace.SpanKindInternal,
				attribute.String("hostile", v), attribute.String(v, "key"), attribute.StringSlice("list", []string{v}))
			s.AddEvent(v, trace.WithAttributes(attribute.String("event.attr", v)))
			s.SetStatus(codes.Error, v)
			s.End()
			_, n := r.span(ctx, v, trace.SpanKindInternal, attribute.Int("i", i))
			n.End()
			if _, err := r.log.Record(ctx, event{Type: "note", Note: v}); err != nil {
				t.Fatal(err)
			}
		}
	})
	r.close()
	return r
}

// scriptBlocks returns the contents of the page's <script> elements.
var scriptRE = regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script`)

// TestReportEscapesHostileStrings: whatever the spans and records hold, the
// page has exactly its own two script elements and its own markup; the
// hostile strings reach the script's data intact, as data.
func TestReportEscapesHostileStrings(t *testing.T) {
	r := hostileRecording(t)
	out, _ := writeReport(t, ReportOptions{Lint: Options{Audit: r.chain()}}, r.spans())
	low := strings.ToLower(out)
	if n := strings.Count(low, "<script"); n != 2 {
		t.Errorf("the page has %d <script elements, want 2 (the data block and the page's script)", n)
	}
	if n := strings.Count(low, "</script"); n != 2 {
		t.Errorf("the page has %d </script, want 2", n)
	}
	for _, bad := range []string{"<img", "<!--", "\u2028"} {
		if strings.Contains(low, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	blocks := scriptRE.FindAllStringSubmatch(out, -1)
	if len(blocks) != 2 || !strings.Contains(blocks[0][1], `type="application/json"`) {
		t.Fatalf("script blocks: %q", blocks)
	}
	var data pageData
	if err := json.Unmarshal([]byte(blocks[0][2]), &data); err != nil {
		t.Fatalf("the data block is not JSON: %v", err)
	}
	strs := map[string]bool{}
	for _, s := range data.S {
		strs[s] = true
	}
	for _, v := range hostileValues {
		if !strs[v] {
			t.Errorf("%q is not in the page's strings as it is", v)
		}
	}
	recs := 0
	for _, tr := range data.Traces {
		for _, rec := range tr.Audit {
			if strings.Contains(rec.Data, "note") {
				recs++
				var ev event
				if err := json.Unmarshal([]byte(rec.Data), &ev); err != nil {
					t.Errorf("record %d's data %q: %v", rec.Seq, rec.Data, err)
				}
			}
		}
	}
	if recs != len(hostileValues) {
		t.Errorf("%d hostile records in the page, want %d", recs, len(hostileValues))
	}
	// The trace list, drawn without the script, escapes too.
	if want := "<td>" + html.EscapeString(hostileCommand) + "</td>"; !strings.Contains(out, want) {
		t.Errorf("the trace list lacks the command escaped: %s", want)
	}
}

// TestReportCSP: the Content-Security-Policy allows the page's own script
// and style sheet, by their SHA-256 as they are in the file, and nothing
// else: no source of scripts, styles, images, fonts or connections.
func TestReportCSP(t *testing.T) {
	r := hostileRecording(t)
	out, _ := writeReport(t, ReportOptions{}, r.spans())
	m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no Content-Security-Policy meta tag")
	}
	csp := html.UnescapeString(m[1])
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	blocks := scriptRE.FindAllStringSubmatch(out, -1)
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(out, -1)
	if len(blocks) != 2 || len(style) != 1 {
		t.Fatalf("%d scripts and %d style sheets, want 2 and 1", len(blocks), len(style))
	}
	want := fmt.Sprintf("default-src 'none'; script-src %s; style-src %s; img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'",
		hash(blocks[1][2]), hash(style[0][1]))
	if csp != want {
		t.Errorf("CSP\n got %s\nwant %s", csp, want)
	}
	if strings.Contains(out, " style=") || strings.Contains(out, "http://") || strings.Contains(out, "https://") {
		t.Errorf("the page holds an inline style attribute or a URL")
	}
}

// TestReportCollapses: an input over --max-rows is drawn in at most that
// many rows, every span accounted for (drawn or in a collapsed row), the
// spans of erroring subtrees drawn first; nothing fails.
func TestReportCollapses(t *testing.T) {
	r := newRecording(t)
	r.planExecute(newOpenAIServer(t, 200, 200, 500), 40)
	r.close()
	for _, maxRows := range []int{1, 2, 7, 50, 100, 1000} {
		out, res := writeReport(t, ReportOptions{MaxRows: maxRows}, r.spans())
		rows := 0
		blocks := scriptRE.FindAllStringSubmatch(out, -1)
		var data pageData
		if err := json.Unmarshal([]byte(blocks[0][2]), &data); err != nil {
			t.Fatal(err)
		}
		errorsDrawn := 0
		for _, tr := range data.Traces {
			rows += len(tr.Rows)
			for _, row := range tr.Rows {
				errorsDrawn += row.X
			}
		}
		if res.Rows+res.Hidden != res.Spans {
			t.Errorf("max %d: %d rows + %d hidden != %d spans", maxRows, res.Rows, res.Hidden, res.Spans)
		}
		if want := max(maxRows, res.Traces); rows > 2*want {
			t.Errorf("max %d: %d rows (with aggregates)", maxRows, rows)
		}
		if res.Rows > max(maxRows, res.Traces) {
			t.Errorf("max %d: %d spans drawn", maxRows, res.Rows)
		}
		if maxRows >= res.Spans && res.Hidden != 0 {
			t.Errorf("max %d: %d hidden, want every span drawn", maxRows, res.Hidden)
		}
		if maxRows >= 50 && errorsDrawn == 0 {
			t.Errorf("max %d: no error span drawn", maxRows)
		}
	}
}

// TestReportSize: a session of 10,000 recorded spans (real SDK spans of
// plan and execute commands, with their audit chain) makes a report under
// 5 MB, every span drawn as a row.
func TestReportSize(t *testing.T) {
	if testing.Short() {
		t.Skip("records 10,000 spans")
	}
	r := newRecording(t)
	r.planExecute(newOpenAIServer(t), 1250)
	r.close()
	out, res := writeReport(t, ReportOptions{Lint: Options{Audit: r.chain()}, Session: "sess-test"}, r.spans())
	if res.Spans < 10000 || res.Hidden != 0 {
		t.Fatalf("%d spans, %d hidden; want at least 10,000 spans, all drawn", res.Spans, res.Hidden)
	}
	if len(out) >= 5<<20 {
		t.Errorf("the report of %d spans is %d bytes, want under 5 MB", res.Spans, len(out))
	}
	t.Logf("%d spans: %d bytes", res.Spans, len(out))
}

// TestReportGenAI: the GenAI summary counts, per provider and model, the
// calls, the failed ones and the tokens of those that report them, and
// the failures by error.type; each trace has its own, and the page one
// over every trace.
func TestReportGenAI(t *testing.T) {
	r := newRecording(t)
	r.planExecute(newOpenAIServer(t, 200, 200, 401, 429, 500), 5)
	r.close()
	out, _ := writeReport(t, ReportOptions{}, r.spans())
	traces := pageTraces(t, out)
	noLatency := cmpopts.IgnoreFields(GenAIModel{}, "LatencyTotal", "LatencyP50", "LatencyMax")
	plan := &GenAISummary{Models: []GenAIModel{{Provider: "openai", Model: "pro", Calls: 1, InputTokens: 120, OutputTokens: 40}}, Errors: nil}
	execute := &GenAISummary{
		Models: []GenAIModel{{Provider: "openai", Model: "flash", Calls: 5, Failed: 3, InputTokens: 240, OutputTokens: 80}},
		Errors: []GenAIError{{Type: "auth", Calls: 1, Models: []string{"flash"}}, {Type: "rate_limit", Calls: 1, Models: []string{"flash"}}, {Type: "server", Calls: 1, Models: []string{"flash"}}},
	}
	if len(traces) != 2 {
		t.Fatalf("%d traces, want 2", len(traces))
	}
	if d := cmp.Diff(plan, traces[0].GenAI, noLatency); d != "" {
		t.Errorf("plan's summary (-want +got):\n%s", d)
	}
	if d := cmp.Diff(execute, traces[1].GenAI, noLatency); d != "" {
		t.Errorf("execute's summary (-want +got):\n%s", d)
	}
	for _, m := range traces[1].GenAI.Models {
		if m.LatencyP50 == 0 || m.LatencyMax < m.LatencyP50 || m.LatencyTotal < m.LatencyMax {
			t.Errorf("latencies p50 %d, max %d, total %d", m.LatencyP50, m.LatencyMax, m.LatencyTotal)
		}
	}
	// The page's own table, over both traces.
	for _, want := range []string{"<td>openai</td><td>pro</td><td>1</td><td>0</td><td>120</td><td>40</td>",
		"<td>openai</td><td>flash</td><td>5</td><td>3</td><td>240</td><td>80</td>",
		"<td>auth</td><td>1</td><td>flash</td>", "<td>rate_limit</td><td>1</td><td>flash</td>"} {
		if !strings.Contains(out, want) {
			t.Errorf("the page's GenAI table lacks %s", want)
		}
	}
}

// pageTraces returns the traces of a page's data: id and spans.
func pageTraces(t testing.TB, page string) []jsTrace {
	t.Helper()
	blocks := scriptRE.FindAllStringSubmatch(page, -1)
	if len(blocks) != 2 {
		t.Fatalf("%d script blocks", len(blocks))
	}
	var data pageData
	if err := json.Unmarshal([]byte(blocks[0][2]), &data); err != nil {
		t.Fatal(err)
	}
	return data.Traces
}

// TestReportReadTwice: with --trace or --session and input files, report
// lints (spilling past --spill-after spans) and reads the files again for
// the selected traces only. The page is the one a single reading holding
// every span gives, byte for byte — broken inputs (duplicates, orphans,
// findings on the traces' spans), with and without an audit chain — and
// the second reading holds the selected traces' spans and no other.
func TestReportReadTwice(t *testing.T) {
	files, chain := brokenCorpus(t, 300, 13)
	traces := readTreeFiles(t, TreeOptions{}, files...).traces()
	one := traces[len(traces)/3]
	session := ""
	for s := range traces[len(traces)/2].sessions {
		session = s
	}
	inSession := 0
	for _, tr := range traces {
		if tr.sessions[session] {
			inSession += len(tr.spans)
		}
	}
	for _, sel := range []struct {
		opts  ReportOptions
		spans int // of the selected traces
	}{
		{ReportOptions{Trace: strings.ToUpper(one.id)}, len(one.spans)}, // a fraction of the input
		{ReportOptions{Session: session}, inSession},
	} {
		for _, audit := range []string{"", chain} {
			opts := sel.opts
			opts.Lint = Options{Audit: audit, MaxFindings: DefaultMaxFindings}
			want := reportReadOnce(t, opts, files...)
			if !strings.Contains(want, `"Row"`) && !strings.Contains(want, `"r":`) {
				t.Fatalf("%+v: the page has no rows", sel.opts)
			}
			for _, after := range []int{1, 500, DefaultSpillAfter} {
				opts.Lint.SpillAfter, opts.Lint.TmpDir = after, t.TempDir()
				got, _ := writeReport(t, opts, files...)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("%+v, audit %v, spill after %d: the page differs (-one reading +two):\n%s", sel.opts, audit != "", after, d)
				}
			}
		}
		// What the second reading holds.
		ins, err := OpenInputs(files, nil)
		if err != nil {
			t.Fatal(err)
		}
		l, first := lintSelecting(t, sel.opts, ins)
		if l.spill == nil {
			t.Fatal("the lint did not spill")
		}
		page, err := readSelected(context.Background(), l, ins, sel.opts, first)
		l.closeSpill()
		CloseInputs(ins)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.nodes) != sel.spans || sel.spans == 0 {
			t.Errorf("%+v: the second reading holds %d spans; the selected traces have %d", sel.opts, len(page.nodes), sel.spans)
		}
	}
}

// TestReportGrouped: the report of every trace of input files past
// --spill-after spans lints them spilling, then reads them again a group
// of traces at a time, holding a group, not the input. The page is the
// one a single reading holding every span gives, byte for byte: broken
// inputs (duplicates, orphans, traces over two files, findings), with and
// without an audit chain, every trace drawn whole or collapsed into
// --max-rows or left out past --max-rows traces, groups of one trace and
// of many.
func TestReportGrouped(t *testing.T) {
	files, chain := brokenCorpus(t, 40, 13)
	traces := readTreeFiles(t, TreeOptions{}, files...).traces()
	total, biggest := 0, 0
	for _, tr := range traces {
		total += len(tr.spans)
		biggest = max(biggest, len(tr.spans))
	}
	if len(traces) < 10 || biggest*4 > total {
		t.Fatalf("%d traces, the biggest of %d spans in %d: want many small traces", len(traces), biggest, total)
	}
	for _, audit := range []string{"", chain} {
		for _, maxRows := range []int{0, total / 5, len(traces) / 2} {
			opts := ReportOptions{MaxRows: maxRows}
			opts.Lint = Options{Audit: audit, MaxFindings: DefaultMaxFindings}
			want := reportReadOnce(t, opts, files...)
			if !strings.Contains(want, `"r":`) {
				t.Fatal("the page has no rows")
			}
			afters := []int{biggest + 1, total / 3, DefaultSpillAfter}
			if maxRows == 0 {
				afters = append(afters, 1) // a group per trace
			}
			for _, after := range afters {
				opts.Lint.SpillAfter, opts.Lint.TmpDir = after, t.TempDir()
				got, res := writeReport(t, opts, files...)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("audit %v, max rows %d, spill after %d: the page differs (-one reading +by groups):\n%s", audit != "", maxRows, after, d)
				}
				switch {
				case after >= total && res.Held != total:
					t.Errorf("spill after %d: held %d spans, want all %d (read once)", after, res.Held, total)
				case after < total && res.Held > max(after, biggest):
					t.Errorf("spill after %d: held %d spans at once, over the group's %d (the biggest trace %d)", after, res.Held, after, biggest)
				}
			}
		}
	}
}

// TestReportLeftOut: a report holds at most --max-rows traces (each takes
// a row at least): those with error spans first, then the earliest, in
// the page's order; the others are counted in its header and left out of
// its data.
func TestReportLeftOut(t *testing.T) {
	files, chain := brokenCorpus(t, 40, 13)
	traces := readTreeFiles(t, TreeOptions{}, files...).traces()
	withErrs := 0
	for _, tr := range traces {
		if tr.errors > 0 {
			withErrs++
		}
	}
	if withErrs == 0 || withErrs >= len(traces)-2 {
		t.Fatalf("%d of %d traces with error spans: want some of each", withErrs, len(traces))
	}
	max := withErrs + 2
	var want []string
	others := 0
	left := leftOut{}
	for _, tr := range traces {
		switch {
		case tr.errors > 0:
			want = append(want, tr.id)
		case others < 2:
			others++
			want = append(want, tr.id)
		default:
			left.Traces, left.Spans, left.Errors = left.Traces+1, left.Spans+len(tr.spans), left.Errors+tr.errors
		}
	}
	page, res := writeReport(t, ReportOptions{MaxRows: max, Lint: Options{Audit: chain}}, files...)
	var got []string
	for _, jt := range pageTraces(t, page) {
		got = append(got, jt.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("the page holds traces\n%v\nwant\n%v", got, want)
	}
	if res.Left != left.Traces || res.Traces != max {
		t.Errorf("%d traces in the page, %d left out; want %d and %d", res.Traces, res.Left, max, left.Traces)
	}
	line := fmt.Sprintf("Not in this report: %d traces more (%d spans, ", left.Traces, left.Spans)
	if !strings.Contains(page, line) {
		t.Errorf("the header does not say %q", line)
	}
}

// TestReportGroupBatches: reading a group of traces again parses only the
// batches of lines that held their spans at the first reading, and reads
// all of the group's spans.
func TestReportGroupBatches(t *testing.T) {
	files, _ := brokenCorpus(t, 300, 13)
	ins, err := OpenInputs(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseInputs(ins)
	l := newLinter(Options{SpillAfter: 500, TmpDir: t.TempDir()}, ins)
	l.reportEvery(DefaultMaxRows)
	first := digestInputs(ins, maphash.MakeSeed(), nil)
	defer restoreInputs(ins, first)
	ctx := context.Background()
	if err := l.run(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.finish(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.closeSpill()
	if l.spill == nil {
		t.Fatal("the lint did not spill")
	}
	sums, _ := l.pick.result()
	batches := int64(0)
	for _, s := range sums {
		batches = max(batches, s.batches[1]+1)
	}
	if batches < 4 {
		t.Fatalf("%d batches: want an input of several", batches)
	}
	for _, s := range []pickedTrace{sums[0], sums[len(sums)/2], sums[len(sums)-1]} {
		r := s.batches
		g, err := readAgain(ctx, l, ins, ReportOptions{}, first, map[pcommon.TraceID]bool{s.id: true}, newBatchSet([][2]int64{r}))
		if err != nil {
			t.Fatal(err)
		}
		if len(g.nodes) != s.spans || g.parsed.Load() != r[1]-r[0]+1 {
			t.Errorf("trace %x (batches %d to %d of %d): read %d spans of its %d, parsing %d batches", s.id, r[0], r[1], batches, len(g.nodes), s.spans, g.parsed.Load())
		}
	}
}

// TestPagePick: offered every trace in any order, holding at most max of
// them, pagePick keeps the traces shownTraces picks from the list of every
// trace in the page's order, and counts the others the same.
func TestPagePick(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range 200 {
		n, max := rng.IntN(60), 1+rng.IntN(20)
		all := make([]pickedTrace, n)
		for i := range all {
			all[i] = pickedTrace{start: uint64(rng.IntN(10)), first: int64(i), spans: 1 + rng.IntN(5)}
			all[i].id[0], all[i].id[1] = byte(i), byte(round)
			if rng.IntN(3) == 0 {
				all[i].errs = 1 + rng.IntN(all[i].spans)
			}
		}
		ordered := slices.Clone(all)
		sort.Slice(ordered, func(i, j int) bool { return ordered[i].pageBefore(&ordered[j]) })
		want, wantLeft := ordered, leftOut{}
		if keep, left := shownTraces(n, max, func(i int) (int, int) { return ordered[i].spans, ordered[i].errs }); keep != nil {
			want = nil
			for _, i := range keep {
				want = append(want, ordered[i])
			}
			wantLeft = left
		}
		p := newPagePick(max)
		for _, i := range rng.Perm(n) {
			p.add(all[i])
		}
		got, left := p.result()
		if len(got) > max || !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) || left != wantLeft {
			t.Fatalf("round %d, %d traces, max %d: picked %v, left %+v; want %v, %+v", round, n, max, got, left, want, wantLeft)
		}
	}
}

// TestBatchSet: the union of batch ranges.
func TestBatchSet(t *testing.T) {
	s := newBatchSet([][2]int64{{7, 9}, {0, 0}, {3, 4}, {5, 5}, {8, 12}, {20, 20}})
	if want := [][2]int64{{0, 0}, {3, 5}, {7, 12}, {20, 20}}; !slices.Equal(s.ranges, want) {
		t.Errorf("ranges %v, want %v", s.ranges, want)
	}
	for seq := int64(-1); seq <= 21; seq++ {
		want := seq == 0 || 3 <= seq && seq <= 12 && seq != 6 || seq == 20
		if s.has(seq) != want {
			t.Errorf("has(%d) = %v", seq, !want)
		}
	}
}

// TestMayHoldTrace: a reading for a few traces (the report's, or tree
// --trace's prefix of an id) passes over a line only when no span of
// theirs can be in it: every way the parser takes a trace
// id (either case, the snake_case key, blanks, an escaped key; it takes no
// escape in the id itself) keeps the line, and on a real input each line
// with a span of the trace is kept while most others are passed over.
func TestMayHoldTrace(t *testing.T) {
	id := pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	other := pcommon.TraceID{1}
	hexID := "4bf92f3577b34da6a3ce929d0e0e4736"
	span := func(key, value string) string {
		return `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{` + key + value +
			`,"spanId":"00f067aa0ba902b7","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}`
	}
	for _, line := range []string{
		span(`"traceId":`, `"`+hexID+`"`),
		span(`"traceId":`, `"`+strings.ToUpper(hexID)+`"`),
		span(`"traceId":`, `"`+strings.ToUpper(hexID[:7])+hexID[7:]+`"`),
		span(`"trace_id":`, `"`+hexID+`"`),
		span(`"traceId" :`+"\t ", `"`+hexID+`"`),
		span(`"trace\u0049d":`, `"`+hexID+`"`),
	} {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(line))
		if err != nil || td.SpanCount() != 1 || td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID() != id {
			t.Fatalf("%s: not a span of trace %s (%v)", line, hexID, err)
		}
		if !mayHoldTrace([]byte(line), wants(map[pcommon.TraceID]bool{id: true})) {
			t.Errorf("%s: passed over, but it holds a span of the trace", line)
		}
		if mayHoldTrace([]byte(line), wants(map[pcommon.TraceID]bool{other: true})) && !strings.Contains(line, `\`) {
			t.Errorf("%s: kept for another trace", line)
		}
	}
	if !mayHoldTrace([]byte(span(`"traceId":`, `""`)), wants(map[pcommon.TraceID]bool{{}: true})) {
		t.Error("a span of the empty trace id passed over")
	}

	files, _ := brokenCorpus(t, 10, 5)
	traces := readTreeFiles(t, TreeOptions{}, files...).traces()
	for n, tr := range traces[:min(len(traces), 8)] {
		// The report's set of traces, or tree --trace's prefix of an id.
		keep := wants(map[pcommon.TraceID]bool{tr.key: true})
		if n%2 == 1 {
			keep = func(id pcommon.TraceID) bool { return hexPrefix(id, tr.id[:4]) }
		}
		passed := 0
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range splitLines(b) {
				if mayHoldTrace(line, keep) {
					continue
				}
				passed++
				lineSpans(line, func(s ptrace.Span) {
					if keep(s.TraceID()) {
						t.Fatalf("trace %s: a line holding its span %s was passed over", tr.id, s.SpanID())
					}
				})
			}
		}
		if passed == 0 {
			t.Errorf("trace %s: no line passed over", tr.id)
		}
	}
}

// lineSpans calls fn with each span the parser reads from line (none when
// it refuses the line).
func lineSpans(line []byte, fn func(ptrace.Span)) {
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(line)
	if err != nil {
		return
	}
	for i := range td.ResourceSpans().Len() {
		for j := range td.ResourceSpans().At(i).ScopeSpans().Len() {
			spans := td.ResourceSpans().At(i).ScopeSpans().At(j).Spans()
			for k := range spans.Len() {
				fn(spans.At(k))
			}
		}
	}
}

// wants is the predicate of a set of traces.
func wants(set map[pcommon.TraceID]bool) func(pcommon.TraceID) bool {
	return func(id pcommon.TraceID) bool { return set[id] }
}

// FuzzMayHoldTrace: a line the parser reads a span from is never passed
// over when that span's trace is wanted.
func FuzzMayHoldTrace(f *testing.F) {
	f.Add(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"x"}]}]}]}`)
	f.Add(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"trace_id" : "4BF92F3577B34DA6A3CE929D0E0E4736","spanId":"00f067aa0ba902b7"}]}]}]}`)
	f.Add(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"trace\u0049d":"4bf92f3577b34da6a3ce929d0e0e4736"},{"traceId":""}]}]}]}`)
	f.Fuzz(func(t *testing.T, line string) {
		lineSpans([]byte(line), func(s ptrace.Span) {
			if id := s.TraceID(); !mayHoldTrace([]byte(line), wants(map[pcommon.TraceID]bool{id: true})) {
				t.Fatalf("a span of trace %s passed over", id)
			}
		})
	})
}

// TestReportSelectionFirst: read twice, a --trace prefix of several traces
// or a selection of none is the same error as read once, found by the
// first reading.
func TestReportSelectionFirst(t *testing.T) {
	files, _ := brokenCorpus(t, 30, 19)
	traces := readTreeFiles(t, TreeOptions{}, files...).traces()
	// The first hex digit most traces share: more than 16 traces share
	// one.
	count := map[string]int{}
	prefix, n := "", 0
	for _, tr := range traces {
		if count[tr.id[:1]]++; count[tr.id[:1]] > n {
			prefix, n = tr.id[:1], count[tr.id[:1]]
		}
	}
	for _, tc := range []struct {
		opts ReportOptions
		want string
	}{
		{ReportOptions{Trace: prefix}, fmt.Sprintf("%d traces start with it", n)},
		{ReportOptions{Trace: "ffffffffffffffffffffffffffffffff0"}, "not in the input"},
		{ReportOptions{Session: "no-such-session"}, "not in the input"},
	} {
		if n < 2 {
			t.Fatalf("prefix %q of %d traces", prefix, n)
		}
		ins, err := OpenInputs(files, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Report(context.Background(), ins, tc.opts, io.Discard)
		CloseInputs(ins)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.opts, err, tc.want)
		}
	}
}

// reportReadOnce renders the report of files with opts from one reading:
// the inputs cannot be read again, so every span is held.
func reportReadOnce(t *testing.T, opts ReportOptions, files ...string) string {
	t.Helper()
	ins, err := OpenInputs(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseInputs(ins)
	for _, in := range ins {
		in.r = struct{ io.Reader }{in.r}
	}
	opts.Lint.Dict = spandict.Default()
	opts.Generated = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var b bytes.Buffer
	if _, err := Report(context.Background(), ins, opts, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// lintSelecting is the report's first reading of ins (spilling past 50
// spans), noting the traces opts selects.
func lintSelecting(t *testing.T, opts ReportOptions, ins []*Input) (*linter, []*digestReader) {
	t.Helper()
	l := newLinter(Options{SpillAfter: 50, TmpDir: t.TempDir()}, ins)
	l.selectTrace, l.selectSession = strings.ToLower(opts.Trace), opts.Session
	l.selected = map[pcommon.TraceID]bool{}
	first := digestInputs(ins, maphash.MakeSeed(), nil)
	if err := l.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l, first
}

// TestReportInputChanged: the report's second reading reads what the first
// read. A file appended to between them (a command still writing its
// spans) is read up to where the first reading stopped; one rewritten or
// cut is an error naming it, not a page of spans the lint did not read.
func TestReportInputChanged(t *testing.T) {
	files, _ := brokenCorpus(t, 20, 17)
	traces := readTreeFiles(t, TreeOptions{}, files...).traces()
	opts := ReportOptions{Trace: traces[0].id}
	orig, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(path string) error
		ok     bool
	}{
		{"appended", func(p string) error {
			return os.WriteFile(p, append(bytes.Clone(orig), orig...), 0o600)
		}, true},
		{"a byte changed", func(p string) error {
			b := bytes.Clone(orig)
			b[len(b)/2] ^= 1
			return os.WriteFile(p, b, 0o600)
		}, false},
		{"cut", func(p string) error { return os.Truncate(p, int64(len(orig)/2)) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(files[0], orig, 0o600); err != nil {
				t.Fatal(err)
			}
			ins, err := OpenInputs(files, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer CloseInputs(ins)
			l, first := lintSelecting(t, opts, ins)
			defer l.closeSpill()
			if err := tc.change(files[0]); err != nil {
				t.Fatal(err)
			}
			page, err := readSelected(context.Background(), l, ins, opts, first)
			switch {
			case tc.ok && (err != nil || len(page.nodes) != len(traces[0].spans)):
				t.Errorf("read again: %v; %d spans, the trace has %d", err, len(page.nodes), len(traces[0].spans))
			case !tc.ok && (err == nil || !strings.Contains(err.Error(), files[0]) || !strings.Contains(err.Error(), "changed while the report read it")):
				t.Errorf("read again: %v, want an error naming %s", err, files[0])
			}
		})
	}
}
