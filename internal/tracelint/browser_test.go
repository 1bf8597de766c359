//go:build browser

// The report in a real browser: Debian's chromium, driven headless through
// the Chrome DevTools Protocol (chromedp). make e2e-report runs these tests
// (and installs chromium through scripts/deps.sh); make screenshots renders
// the pictures of docs/viewing-traces.md; make bench-report measures the
// load of a 10,000-span report against an empty one.

package tracelint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// browser is a headless chromium with one tab, recording every request
// the tab makes and every console message, exception and log entry of
// level warning or error.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	requests []string
	messages []string
}

// chromiumFlags are the flags chromium runs with: headless, as root in a
// container (no sandbox, no GPU), and nothing of its own on the network.
var chromiumFlags = []chromedp.ExecAllocatorOption{
	chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
	chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
}

func newBrowser(t testing.TB, width, height int) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("no chromium on PATH (%v): install it with bash scripts/deps.sh chromium", err)
	}
	opts := append(slices.Clone(chromiumFlags), chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b.ctx = ctx
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			b.messages = append(b.messages, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		b.messages = append(b.messages, "exception: "+text)
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
			b.messages = append(b.messages, fmt.Sprintf("log %s %s: %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text))
		}
	}
}

// open loads the report at path (fragment: "" or "#trace=ID") and waits
// for its script to have drawn it.
func (b *browser) open(t testing.TB, path, fragment string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	url := "file://" + abs
	b.mu.Lock()
	b.requests, b.messages = nil, nil
	b.mu.Unlock()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url+fragment)); err != nil {
		t.Fatal(err)
	}
	if ready := eval[string](t, b, `document.body.getAttribute('data-ready')`); ready != "true" {
		t.Fatalf("the page's script did not finish: data-ready=%q; console: %q", ready, b.messages)
	}
	return url
}

// quiet checks that the page made exactly one request, for itself, and
// wrote no warning or error to the console or the browser's log.
func (b *browser) quiet(t testing.TB, url string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.requests) != 1 || b.requests[0] != url {
		t.Errorf("requests %q, want only the page's own %q", b.requests, url)
	}
	if len(b.messages) > 0 {
		t.Errorf("console and log: %q, want nothing", b.messages)
	}
}

func eval[T any](t testing.TB, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func click(t testing.TB, b *browser, sel string) {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Click(sel)); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// repoRoot is the repository's root, two levels up from this package.
func repoRoot(t testing.TB) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// runScenario runs golden scenario name as scripts/coverage-lint.sh does
// (its run.sh with sh, in a new directory, with only PATH, HOME, TMPDIR,
// NO_COLOR, SCENARIO_DIR and BRAIN_DIR set) with the brain-run on PATH,
// and returns its workspace (DIR/.brain).
func runScenario(t testing.TB, name string) string {
	t.Helper()
	if _, err := exec.LookPath("brain-run"); err != nil {
		t.Fatalf("no brain-run on PATH: run through make e2e-report, which builds bin/ and puts it first")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	c := exec.Command("sh", filepath.Join(root, "golden", "scenarios", name, "run.sh"))
	c.Dir = dir
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + os.TempDir(), "NO_COLOR=1",
		"SCENARIO_DIR=" + filepath.Join(root, "golden", "scenarios", name), "BRAIN_DIR=" + filepath.Join(dir, ".brain")}
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("scenario %s: %v\n%s", name, err, out)
	}
	return filepath.Join(dir, ".brain")
}

// reportCmd runs the brain-trace-lint on PATH: report -o out args...
func reportCmd(t testing.TB, out string, args ...string) {
	t.Helper()
	reportIn(t, "", out, args...)
}

// reportIn runs brain-trace-lint report -o out args... in dir.
func reportIn(t testing.TB, dir, out string, args ...string) {
	t.Helper()
	c := exec.Command("brain-trace-lint", append([]string{"report", "-o", out}, args...)...)
	c.Dir = dir
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("brain-trace-lint report %q: %v\n%s", args, err, stderr.String())
	}
}

// traceCounts counts, read independently of the report, the spans and the
// error spans of each trace in a spans file, and the audit records naming
// each trace in a chain.
type traceCounts struct{ spans, errors, records int }

func countTraces(t testing.TB, spans, chain string) map[string]*traceCounts {
	t.Helper()
	out := map[string]*traceCounts{}
	at := func(id string) *traceCounts {
		if out[id] == nil {
			out[id] = &traceCounts{}
		}
		return out[id]
	}
	fileSpans(t, spans, func(s ptrace.Span) {
		c := at(s.TraceID().String())
		c.spans++
		if s.Status().Code() == ptrace.StatusCodeError {
			c.errors++
		}
	})
	if chain == "" {
		return out
	}
	b, err := os.ReadFile(chain)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range splitLines(b) {
		var rec struct {
			TraceID string `json:"trace_id"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.TraceID != "" {
			at(rec.TraceID).records++
		}
	}
	return out
}

// scenarios are the golden scenarios, by name.
func scenarios(t testing.TB) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(repoRoot(t), "golden", "scenarios", "*", "run.sh"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden scenario: %v", err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	return names
}

// TestBrowserGoldenScenarios: the report of every golden scenario, made by
// the brain-trace-lint binary from the spans and chain brain-run wrote,
// loads from file:// with no request but its own and no console message;
// each trace's waterfall has one row per span of the input, its error rows
// and its audit records; clicking a row shows its attributes.
func TestBrowserGoldenScenarios(t *testing.T) {
	b := newBrowser(t, 1280, 900)
	for _, name := range scenarios(t) {
		t.Run(name, func(t *testing.T) {
			ws := runScenario(t, name)
			spans, chain := filepath.Join(ws, "spans.jsonl"), filepath.Join(ws, "audit.jsonl")
			page := filepath.Join(t.TempDir(), "report.html")
			reportCmd(t, page, "--audit", chain, spans)
			want := countTraces(t, spans, chain)
			url := b.open(t, page, "")
			if n := eval[int](t, b, `document.querySelectorAll('.trace-item').length`); n != len(want) {
				t.Errorf("%d traces listed, want %d", n, len(want))
			}
			if v := eval[string](t, b, `document.querySelector('#chain-verdict .word').textContent`); v != "PASS" {
				t.Errorf("chain verdict %q, want PASS", v)
			}
			for id, c := range want {
				eval[bool](t, b, `(location.hash = 'trace=`+id+`', true)`)
				if got := eval[string](t, b, `document.querySelector('.trace-head h2').textContent`); got != "Trace "+id {
					t.Fatalf("trace %s: the page shows %q", id, got)
				}
				if n := countRows(t, b, ".span-row"); n != c.spans {
					t.Errorf("trace %s: %d rows, want one per span: %d", id, n, c.spans)
				}
				if n := countRows(t, b, ".span-row.error"); n != c.errors {
					t.Errorf("trace %s: %d error rows, want %d", id, n, c.errors)
				}
				if n := eval[int](t, b, `document.querySelectorAll('.trace-audit tr.record').length`); n != c.records {
					t.Errorf("trace %s: %d audit records, want %d", id, n, c.records)
				}
				// The root span: its attributes show when its row is clicked.
				click(t, b, `.waterfall .span-row[data-row="0"] .name`)
				keys := eval[[]string](t, b, `[...document.querySelectorAll('.details[data-row="0"] .span-attrs .attr-key')].map(e => e.textContent)`)
				if !slices.Contains(keys, "brain.command") {
					t.Errorf("trace %s: the root's details show attributes %q, want brain.command among them", id, keys)
				}
				click(t, b, `.waterfall .span-row[data-row="0"] .name`)
				if n := eval[int](t, b, `document.querySelectorAll('.details').length`); n != 0 {
					t.Errorf("trace %s: %d details open after a second click, want 0", id, n)
				}
			}
			b.quiet(t, url)
		})
	}
}

// TestBrowserHostile: span names, attribute keys and values, status
// messages, event names and audit record data that hold markup and script
// render as text: no element of theirs is made, nothing runs, nothing is
// requested, and the text shown is the value as it was recorded.
func TestBrowserHostile(t *testing.T) {
	r := hostileRecording(t)
	out, res := writeReport(t, ReportOptions{Lint: Options{Audit: r.chain()}}, r.spans())
	page := filepath.Join(t.TempDir(), "hostile.html")
	if err := os.WriteFile(page, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 1280, 900)
	url := b.open(t, page, "")
	// Open every row's details and every record's data, and read what
	// they show.
	var shown struct {
		Rows                                      int
		Names, Keys, Values, Events, Status, Data []string
	}
	if err := json.Unmarshal([]byte(eval[string](t, b, hostileReadJS)), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Rows != res.Spans {
		t.Fatalf("%d rows, want %d", shown.Rows, res.Spans)
	}
	if v := eval[string](t, b, `document.querySelector('.trace-item td:nth-child(3)').textContent`); v != hostileCommand {
		t.Errorf("the trace list shows the command as %q, want %q", v, hostileCommand)
	}
	if v := eval[string](t, b, `typeof window.__pwned`); v != "undefined" {
		t.Errorf("a hostile value ran: window.__pwned is %s", v)
	}
	if n := eval[int](t, b, `document.querySelectorAll('img, iframe, object, embed, svg, link, base, form, meta[http-equiv="refresh"]').length`); n != 0 {
		t.Errorf("the page holds %d elements made from hostile values", n)
	}
	if n := eval[int](t, b, `document.scripts.length`); n != 2 {
		t.Errorf("%d scripts, want the page's 2", n)
	}
	values, names, events, keys, status := shown.Values, shown.Names, shown.Events, shown.Keys, shown.Status
	records := strings.Join(shown.Data, "\n")
	for _, v := range hostileValues {
		if !slices.Contains(values, v) {
			t.Errorf("attribute value %q is not shown as text", v)
		}
		if !slices.Contains(keys, v) {
			t.Errorf("attribute key %q is not shown as text", v)
		}
		if !slices.Contains(names, v) {
			t.Errorf("span name %q is not shown as text", v)
		}
		if !slices.Contains(status, v) {
			t.Errorf("status message %q is not shown as text", v)
		}
		if !slices.ContainsFunc(events, func(e string) bool { return strings.HasSuffix(e, "  "+v) }) {
			t.Errorf("event %q is not shown as text", v)
		}
		js, _ := json.Marshal(v)
		if !strings.Contains(records, strings.Trim(string(js), `"`)) && !strings.Contains(records, v) {
			t.Errorf("record data holding %q is not shown as text", v)
		}
	}
	b.quiet(t, url)
}

// hostileReadJS opens each row of the waterfall in turn (the rows of a
// small trace are all drawn), opens its records' data, reads the texts
// its row and details show, and closes it; it returns them as JSON.
const hostileReadJS = `(async () => {
  const out = {Rows: 0, Names: [], Keys: [], Values: [], Events: [], Status: [], Data: []};
  const texts = (root, sel) => [...root.querySelectorAll(sel)].map(e => e.textContent);
  out.Rows = Number(document.querySelector('.waterfall').getAttribute('data-rows'));
  for (let ri = 0; ri < out.Rows; ri++) {
    const row = document.querySelector('.span-row[data-row="' + ri + '"]');
    if (!row) throw new Error('row ' + ri + ' is not drawn');
    out.Names.push(row.querySelector('.name').textContent);
    row.querySelector('.name').click();
    const d = document.querySelector('.details[data-row="' + ri + '"]');
    if (!d) throw new Error('row ' + ri + ' has no details after a click');
    d.querySelectorAll('tr.record').forEach(r => r.click());
    out.Keys.push(...texts(d, '.span-attrs .attr-key'));
    out.Values.push(...texts(d, '.span-attrs .attr-value'));
    out.Events.push(...texts(d, '.event'));
    out.Status.push(...texts(d, '.kv tr.bad td'));
    out.Data.push(...texts(d, '.record-json'));
    row.querySelector('.name').click();
  }
  return JSON.stringify(out);
})()`

// countRowsJS scrolls through the waterfall, which draws only the rows
// near the viewport, and counts the distinct rows matching a selector.
const countRowsJS = `(async sel => {
  const body = document.querySelector('.wf-body');
  const top = body.getBoundingClientRect().top + scrollY;
  const seen = new Set();
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  for (let y = Math.max(0, top - innerHeight); ; y += innerHeight / 2) {
    scrollTo(0, y);
    await frame();
    document.querySelectorAll('.waterfall ' + sel).forEach(e => seen.add(e.getAttribute('data-row')));
    if (y > top + body.offsetHeight) break;
  }
  scrollTo(0, 0);
  await frame();
  return seen.size;
})`

func countRows(t testing.TB, b *browser, sel string) int {
	t.Helper()
	return eval[int](t, b, countRowsJS+`(`+jsString(sel)+`)`)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowserCollapsed: traces over --max-rows are drawn in their rows,
// collapsed subtrees and aggregate rows included, with no console message,
// and an aggregate row opens to the spans it stands for.
func TestBrowserCollapsed(t *testing.T) {
	r := newRecording(t)
	r.planExecute(newOpenAIServer(t, 200, 200, 500), 40)
	r.close()
	out, res := writeReport(t, ReportOptions{MaxRows: 40}, r.spans())
	if res.Hidden == 0 {
		t.Fatalf("nothing collapsed: %+v", res)
	}
	page := filepath.Join(t.TempDir(), "collapsed.html")
	if err := os.WriteFile(page, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 1280, 900)
	url := b.open(t, page, "")
	opened := 0
	for _, tr := range pageTraces(t, out) {
		eval[bool](t, b, `(location.hash = 'trace=`+tr.ID+`', true)`)
		if got := eval[string](t, b, `document.querySelector('.trace-head h2').textContent`); got != "Trace "+tr.ID {
			t.Fatalf("trace %s: the page shows %q", tr.ID, got)
		}
		if n := countRows(t, b, ".span-row, .agg-row"); n != len(tr.Rows) {
			t.Errorf("trace %s: %d rows drawn, want %d", tr.ID, n, len(tr.Rows))
		}
		aggs := 0
		for _, row := range tr.Rows {
			aggs += row.G
		}
		if aggs == 0 {
			continue
		}
		agg := eval[string](t, b, `(() => {
		  const row = document.querySelector('.waterfall .agg-row');
		  if (!row) return 'no aggregate row drawn';
		  row.querySelector('.name').click();
		  const d = document.querySelector('.details[data-row="' + row.getAttribute('data-row') + '"]');
		  return d ? d.textContent : 'no details';
		})()`)
		if !strings.Contains(agg, "The spans this row stands for") {
			t.Errorf("trace %s: an aggregate row opens to %q", tr.ID, agg)
		}
		opened++
	}
	if opened == 0 {
		t.Error("no trace has an aggregate row")
	}
	b.quiet(t, url)
}

// TestBrowserConsoleProbe: the checks above can fail: a console error, an
// exception, a blocked resource and a request are all seen.
func TestBrowserConsoleProbe(t *testing.T) {
	r := newRecording(t)
	r.command(context.Background(), "exec", func(context.Context) {})
	r.close()
	out, _ := writeReport(t, ReportOptions{}, r.spans())
	page := filepath.Join(t.TempDir(), "probe.html")
	if err := os.WriteFile(page, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 800, 600)
	url := b.open(t, page, "")
	// An address edited by hand is no error of the page.
	eval[bool](t, b, `(location.hash = 'trace=%E0%A4%A&span=%', true)`)
	eval[bool](t, b, `new Promise(r => setTimeout(() => r(true), 0))`)
	b.mu.Lock()
	if len(b.messages) > 0 {
		t.Errorf("a malformed address: %q", b.messages)
	}
	b.mu.Unlock()
	eval[bool](t, b, `(console.error('probe'), setTimeout(() => { throw new Error('probe') }), true)`)
	eval[bool](t, b, `new Promise(r => setTimeout(() => r(true), 0))`)
	// Script may not make an element load anything: the policy blocks it,
	// and the browser says so.
	eval[bool](t, b, `(() => { const i = document.createElement('img'); i.src = 'https://example.invalid/x.png'; document.body.append(i); return new Promise(r => { i.onerror = () => r(true); }); })()`)
	b.mu.Lock()
	msgs := strings.Join(b.messages, "\n")
	b.mu.Unlock()
	for _, want := range []string{"console.error: \"probe\"", "exception: Uncaught", "Content Security Policy"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the browser's messages lack %q:\n%s", want, msgs)
		}
	}
	b.mu.Lock()
	reqs := b.requests
	b.mu.Unlock()
	if len(reqs) == 0 || reqs[0] != url {
		t.Errorf("requests %q: the page's own request was not seen", reqs)
	}
}

// BenchmarkBrowserReport times Chromium loading a report from file:// until
// its script has drawn the waterfall, its layout is done and a frame is
// painted: a session of 10,000 recorded spans (plan and execute commands
// of 1,250 tasks, their audit chain, the execute trace selected: 10,003
// rows), and one of 48,010 spans (6,000 tasks) collapsed into the default
// rows, against an empty report (the same page with no span), in one run.
// ms-in-page is the page's own clock at that point (from the start of the
// navigation); MB is the file's size.
func BenchmarkBrowserReport(b *testing.B) {
	dir := b.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	r := newRecording(b)
	r.planExecute(newOpenAIServer(b), 1250)
	r.close()
	bigOut, res := writeReportTB(b, ReportOptions{Lint: Options{Audit: r.chain()}, Session: "sess-test"}, r.spans())
	if res.Spans < 10000 || res.Hidden > 0 {
		b.Fatalf("%d spans, %d hidden: want 10,000 drawn", res.Spans, res.Hidden)
	}
	biggest := slices.MaxFunc(pageTraces(b, bigOut), func(x, y jsTrace) int { return x.Spans - y.Spans })
	// A session past the default rows: 6,000 tasks, collapsed.
	r = newRecording(b)
	r.planExecute(newOpenAIServer(b), 6000)
	r.close()
	hugeOut, res := writeReportTB(b, ReportOptions{Lint: Options{Audit: r.chain()}, Session: "sess-test"}, r.spans())
	if res.Rows > DefaultMaxRows || res.Hidden == 0 {
		b.Fatalf("%d spans: %d rows, %d hidden; want them collapsed into at most %d rows", res.Spans, res.Rows, res.Hidden, DefaultMaxRows)
	}
	hugest := slices.MaxFunc(pageTraces(b, hugeOut), func(x, y jsTrace) int { return x.Spans - y.Spans })
	emptyOut, _ := writeReportTB(b, ReportOptions{}, empty)
	br := newBrowser(b, 1280, 900)
	for _, c := range []struct {
		name, page, fragment string
		rows                 int
	}{
		{"empty", emptyOut, "", 0},
		{"10000-spans", bigOut, "#trace=" + biggest.ID, biggest.Spans},
		{"48000-spans-collapsed", hugeOut, "#trace=" + hugest.ID, len(hugest.Rows)},
	} {
		path := filepath.Join(dir, c.name+".html")
		if err := os.WriteFile(path, []byte(c.page), 0o600); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			var inPage float64
			for b.Loop() {
				url := br.open(b, path, c.fragment)
				inPage += eval[float64](b, br, `new Promise(r => { document.body.offsetHeight; requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))); })`)
				b.StopTimer()
				if n := eval[int](b, br, `Number((document.querySelector('.waterfall') || {getAttribute: () => 0}).getAttribute('data-rows'))`); n != c.rows {
					b.Fatalf("%d rows, want %d", n, c.rows)
				}
				br.quiet(b, url)
				// The next load starts from a blank tab.
				if err := chromedp.Do(br.ctx, chromedp.Navigate("about:blank")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(inPage/float64(b.N), "ms-in-page")
			b.ReportMetric(float64(len(c.page))/1e6, "MB")
		})
	}
}

// TestScreenshots renders the pictures of docs/viewing-traces.md into the
// directory BRAIN_SCREENSHOTS names (make screenshots): the report of each
// golden scenario, as brain-trace-lint makes it in the scenario's
// directory from what brain-run wrote there (its trace with errors, or its
// last, selected); the failing model call of llm-errors opened on its
// attributes and audit records; and the header of a report whose chain was
// tampered with.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("BRAIN_SCREENSHOTS")
	if dir == "" {
		t.Skip("make screenshots sets BRAIN_SCREENSHOTS to the directory of the pictures")
	}
	b := newBrowser(t, 1280, 1000)
	save := func(name string, png []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", filepath.Join(dir, name), len(png))
	}
	viewport := func(name string) {
		t.Helper()
		eval[bool](t, b, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
		png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		save(name, png, err)
	}
	for _, name := range scenarios(t) {
		ws := runScenario(t, name)
		work := filepath.Dir(ws)
		reportIn(t, work, "report.html", "--audit", ".brain/audit.jsonl", ".brain/spans.jsonl")
		page := filepath.Join(work, "report.html")
		out, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		traces := pageTraces(t, string(out))
		pick := traces[len(traces)-1]
		for _, tr := range traces {
			if tr.Errors > 0 {
				pick = tr
				break
			}
		}
		url := b.open(t, page, "#trace="+pick.ID)
		viewport("report-" + name + ".png")
		if name == "llm-errors" {
			// The first failed model call, opened, at the top of the view.
			found := eval[bool](t, b, `(() => {
			  const row = [...document.querySelectorAll('.span-row.error')].find(r => r.querySelector('.name').textContent === 'llm_provider.chat');
			  if (!row) return false;
			  row.querySelector('.name').click();
			  document.querySelector('.details').querySelectorAll('tr.record').forEach(r => r.click());
			  scrollTo(0, row.getBoundingClientRect().top + scrollY - 120);
			  return true;
			})()`)
			if !found {
				t.Fatal("llm-errors: no failed llm_provider.chat row")
			}
			viewport("report-llm-errors-failed-call.png")
		}
		b.quiet(t, url)
		if name == "basic" {
			// A record of the chain edited: the banner says FAIL.
			chain := filepath.Join(ws, "audit.jsonl")
			raw, err := os.ReadFile(chain)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(string(raw), "\n")
			i := strings.Index(lines[3], `Z","type"`)
			if i < 0 {
				t.Fatalf("record 3 has no ts before its type: %s", lines[3])
			}
			d := lines[3][i-1]
			lines[3] = lines[3][:i-1] + string('0'+(d-'0'+1)%10) + lines[3][i:]
			if err := os.WriteFile(chain, []byte(strings.Join(lines, "")), 0o600); err != nil {
				t.Fatal(err)
			}
			c := exec.Command("brain-trace-lint", "report", "-o", "tampered.html", "--audit", ".brain/audit.jsonl", ".brain/spans.jsonl")
			c.Dir = work
			if err := c.Run(); err == nil {
				t.Fatal("report of a tampered chain exited 0, want 1")
			}
			b.open(t, filepath.Join(work, "tampered.html"), "")
			png, err := chromedp.Run(b.ctx, chromedp.Screenshot("#report-head"))
			save("report-tampered-chain.png", png, err)
		}
	}
}
