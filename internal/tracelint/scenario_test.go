package tracelint

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

const goldenDir = "../../golden/scenarios"

// TestBrokenVariants: every deliberately broken variant of a golden
// scenario (testdata/scenarios/NAME/VARIANT: a real recording edited in a
// targeted way) fails the lint against the scenario's expectations with
// exactly the findings its want.txt lists.
func TestBrokenVariants(t *testing.T) {
	dirs, err := filepath.Glob("../../testdata/scenarios/*/*/want.txt")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no broken variants (%v)", err)
	}
	scenarios := map[string]bool{}
	for _, want := range dirs {
		dir := filepath.Dir(want)
		scenario := filepath.Base(filepath.Dir(dir))
		scenarios[scenario] = true
		t.Run(scenario+"/"+filepath.Base(dir), func(t *testing.T) {
			sc, err := LoadScenario(filepath.Join(goldenDir, scenario), false)
			if err != nil {
				t.Fatal(err)
			}
			res := lintFiles(t, Options{Audit: filepath.Join(dir, "audit.jsonl"), Scenario: sc}, filepath.Join(dir, "spans.jsonl"))
			if res.OK() {
				t.Fatal("the broken variant passes")
			}
			if diff := cmp.Diff(readWant(t, want), countFindings(res)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
	// Every golden scenario has at least one broken variant.
	all, _ := filepath.Glob(filepath.Join(goldenDir, "*", ExpectFile))
	for _, e := range all {
		if name := filepath.Base(filepath.Dir(e)); !scenarios[name] {
			t.Errorf("scenario %s has no broken variant under testdata/scenarios/%s/", name, name)
		}
	}
}

// readWant reads a want.txt: "RULE SPAN COUNT" lines, # comments.
func readWant(t *testing.T, path string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]int{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 3 {
			t.Fatalf("%s: %q: want RULE SPAN COUNT", path, line)
		}
		n, err := strconv.Atoi(fs[2])
		if err != nil {
			t.Fatal(err)
		}
		want[fs[0]+" "+fs[1]] += n
	}
	return want
}

func countFindings(res *Result) map[string]int {
	got := map[string]int{}
	for _, f := range res.Findings {
		got[f.Rule+" "+or(f.Span, "-")]++
	}
	return got
}

// TestExpectationIgnoresIdsAndOrder: two recordings of the same session
// (other ids, timestamps, and spans ending in another order) give the same
// expectations, byte for byte.
func TestExpectationIgnoresIdsAndOrder(t *testing.T) {
	var files [][]byte
	for _, reverse := range []bool{false, true} {
		r := newRecording(t)
		r.command(context.Background(), "execute", func(ctx context.Context) {
			ids := []string{"t1", "t2", "t3"}
			if reverse {
				ids = []string{"t3", "t2", "t1"}
			}
			for _, id := range ids {
				ctx, task := r.span(ctx, "orchestrator.task_execution", trace.SpanKindInternal, attribute.Int("brain.plan.id", 1), attribute.Int("brain.task.attempt", 1), attribute.String("brain.task.id", id))
				r.record(ctx, "task")
				if id == "t2" {
					_, s := r.span(ctx, "sketch.generate_context", trace.SpanKindInternal, attribute.Int("brain.context.file_count", 1), attribute.Int("brain.context.bytes", 1))
					s.End()
				}
				task.End()
			}
		})
		r.close()
		sc := &Scenario{Name: "x", Path: filepath.Join(t.TempDir(), ExpectFile)}
		res := lintFiles(t, Options{Audit: r.chain(), Scenario: sc}, r.spans())
		files = append(files, res.Actual.Marshal())
	}
	if diff := cmp.Diff(string(files[0]), string(files[1])); diff != "" {
		t.Errorf("expectations differ (-first +second):\n%s", diff)
	}
	want := `tree:
  - span: brain_cli.command
    children:
      - span: audit_logger.write_event
        count: 2
      - span: orchestrator.task_execution
        count: 2
        children:
          - span: audit_logger.write_event
      - span: orchestrator.task_execution
        children:
          - span: audit_logger.write_event
          - span: sketch.generate_context
`
	if !strings.Contains(string(files[0]), want) {
		t.Errorf("expectations:\n%s\nwant the tree:\n%s", files[0], want)
	}
}

// TestScenarioMismatch: against recorded expectations, a run with another
// shape gives scenario findings that say where, and --update rewrites the
// file with a diff, after which the same run passes.
func TestScenarioMismatch(t *testing.T) {
	record := func(tasks []int) *recording {
		r := newRecording(t)
		r.command(context.Background(), "execute", func(ctx context.Context) {
			for i, calls := range tasks {
				ctx, task := r.span(ctx, "orchestrator.task_execution", trace.SpanKindInternal, attribute.Int("brain.plan.id", 1), attribute.Int("brain.task.attempt", 1), attribute.String("brain.task.id", fmt.Sprint(i)))
				r.record(ctx, "task")
				for range calls {
					cctx, c := r.span(ctx, "llm_provider.chat", trace.SpanKindClient, llmAttrs...)
					r.record(cctx, "llm.call")
					c.End()
				}
				task.End()
			}
		})
		r.close()
		return r
	}
	dir := t.TempDir()
	sc, err := LoadScenario(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	first := record([]int{1, 3})
	res := lintFiles(t, Options{Audit: first.chain(), Scenario: sc}, first.spans())
	d, err := sc.Update(res.Actual)
	if err != nil || d == nil {
		t.Fatalf("Update = %q, %v; want a diff creating the file", d, err)
	}
	if sc, err = LoadScenario(dir, false); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		tasks []int
		want  []string
	}{
		{[]int{1, 3}, nil},
		{[]int{3, 1}, nil}, // the order of siblings is not part of the shape
		{[]int{2, 2}, []string{"scenario-shape -: the spans are grouped under their parents differently than expected; --update shows the difference as a diff"}},
		{[]int{1, 3, 1}, []string{
			"scenario-audit -: llm.call: 5 records in the audit chain, 4 expected",
			"scenario-audit -: task: 3 records in the audit chain, 2 expected",
			"scenario-shape audit_logger.write_event: under brain_cli.command > orchestrator.task_execution > llm_provider.chat: 5 in the input, 4 expected",
			"scenario-shape audit_logger.write_event: under brain_cli.command > orchestrator.task_execution: 3 in the input, 2 expected",
			"scenario-shape llm_provider.chat: under brain_cli.command > orchestrator.task_execution: 5 in the input, 4 expected",
			"scenario-shape orchestrator.task_execution: under brain_cli.command: 3 in the input, 2 expected",
			"scenario-span-count audit_logger.write_event: 10 in the input, 8 expected",
			"scenario-span-count llm_provider.chat: 5 in the input, 4 expected",
			"scenario-span-count orchestrator.task_execution: 3 in the input, 2 expected",
		}},
	} {
		r := record(tt.tasks)
		res := lintFiles(t, Options{Audit: r.chain(), Scenario: sc}, r.spans())
		var got []string
		for _, f := range res.Findings {
			got = append(got, f.Rule+" "+or(f.Span, "-")+": "+f.Message)
		}
		sort.Strings(got)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("tasks %v: findings (-want +got):\n%s", tt.tasks, diff)
		}
		if c := res.Coverage.Scenario; len(tt.want) == 0 && (c.CriticalSeen != c.CriticalExpected || c.AuditSeen != c.AuditExpected || c.CriticalExpected != 7) {
			t.Errorf("tasks %v: coverage %+v, want 7/7 critical-path spans and every audit event", tt.tasks, c)
		}
	}
	// --update on the same run changes nothing.
	res = lintFiles(t, Options{Audit: first.chain(), Scenario: sc}, first.spans())
	if d, err := sc.Update(res.Actual); d != nil || err != nil {
		t.Errorf("Update of an unchanged run = %q, %v; want no diff", d, err)
	}
}

func TestParseExpectationStrict(t *testing.T) {
	for _, bad := range []string{
		"",
		"version: 2\n",
		"version: 1\nspans: {a: 0}\n",
		"version: 1\ntree: [{count: 2}]\n",
		"version: 1\ntree: [{span: a, colour: red}]\n",
		"version: 1\ntraces: one\n",
	} {
		if _, err := ParseExpectation([]byte(bad)); err == nil {
			t.Errorf("ParseExpectation(%q) succeeded", bad)
		}
	}
	b, err := os.ReadFile(filepath.Join(goldenDir, "exec-nested", ExpectFile))
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseExpectation(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Marshal(); string(got) != string(b) {
		t.Errorf("the golden file is not what Marshal writes: it was edited by hand?\n%s", cmp.Diff(string(b), string(got)))
	}
}
