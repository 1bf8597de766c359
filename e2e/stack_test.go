//go:build e2estack

// The stack test runs the local observability stack (scripts/stack.sh: the
// collector built from tools/otelcol, Jaeger, Prometheus), runs the golden
// scenarios, failing commands and a drill through brain-run and brain-drill
// with the endpoint set, and then runs every dashboard panel's and every
// alert rule's PromQL against the real Prometheus: every panel returns
// data, and every alert is quiet before its condition is provoked and
// fires after. Run it with `make e2e-stack`.
package e2e

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	promAPI      = "http://127.0.0.1:9090/api/v1/"
	stackOTLP    = "127.0.0.1:4317"
	promExporter = "http://127.0.0.1:9464/metrics"
)

// stackSh runs scripts/stack.sh CMD with the test's run directory.
func stackSh(t *testing.T, runDir, cmd string) {
	t.Helper()
	c := exec.Command("bash", filepath.Join(repo(t), "scripts", "stack.sh"), cmd)
	// Jaeger's batches are retried 5 s, not 5 min, so that a Jaeger
	// outage shows as send failures within the test.
	c.Env = append(os.Environ(), "STACK_RUN_DIR="+runDir,
		"OTELCOL_RETRY_INITIAL_INTERVAL=1s", "OTELCOL_RETRY_MAX_INTERVAL=1s", "OTELCOL_RETRY_MAX_ELAPSED=5s")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("stack.sh %s: %v\n%s", cmd, err, out)
	}
}

// sample is one value of an instant query's result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) float() float64 {
	str, _ := s.Value[1].(string)
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// query runs an instant PromQL query against the real Prometheus.
func query(t *testing.T, q string) []sample {
	t.Helper()
	resp, err := http.Get(promAPI + "query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer resp.Body.Close()
	var r struct {
		Status, Error string
		Data          struct {
			ResultType string   `json:"resultType"`
			Result     []sample `json:"result"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	if r.Status != "success" {
		t.Fatalf("query %s: %s", q, r.Error)
	}
	return r.Data.Result
}

// waitFor polls Prometheus until cond holds for the result of q, or fails
// after two minutes: scrapes are every 5 s, rules evaluated every 5 s.
func waitFor(t *testing.T, what, q string, cond func([]sample) bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res := query(t, q)
		if cond(res) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 2 minutes for %s (%s); last result %v", what, q, res)
		}
		time.Sleep(250 * time.Millisecond) // polling a remote state: nothing to wait on
	}
}

// waitIncrease waits until Prometheus has scraped a total of q above
// before: the commands run since reached it.
func waitIncrease(t *testing.T, q string, before float64) float64 {
	t.Helper()
	var now float64
	waitFor(t, "an increase of "+q, q, func(r []sample) bool {
		now = 0
		for _, s := range r {
			now += s.float()
		}
		return now > before
	})
	return now
}

type run struct {
	code   int
	stderr string
}

// runIn runs a program in dir with the endpoint set, and the extra
// environment.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) run {
	t.Helper()
	c := exec.Command(name, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), append([]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + stackOTLP, deliveryTimeout, "BRAIN_DIR=" + filepath.Join(dir, ".brain"), "NO_COLOR=1"}, env...)...)
	var errb bytes.Buffer
	c.Stderr = &errb
	err := c.Run()
	r := run{stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	switch {
	case strings.Contains(r.stderr, "failed (no answer within"):
		// The documented bound (docs/telemetry.md): on a loaded machine the
		// first export, which opens the connection, can take longer; the
		// command's spans are on disk and its metrics are not counted. The
		// checks below wait for totals, not for each command.
		t.Logf("%s %v: export over its bound: %s", name, args, r.stderr)
	case strings.Contains(r.stderr, "export to"):
		t.Errorf("%s %v warned about the export with the stack up: %s", name, args, r.stderr)
	}
	return r
}

// failingScenarios are the golden scenarios with failures in them: model
// errors (llm-errors) and failing checks (check-fails).
var failingScenarios = map[string]bool{"llm-errors": true, "check-fails": true}

// scenarios runs the golden scenarios' run.sh, as scripts/coverage-lint.sh
// does, with the endpoint set: every one, or without failing those that
// have failures in them.
func scenarios(t *testing.T, bin string, failing bool) {
	t.Helper()
	root := repo(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "golden", "scenarios", "*", "run.sh"))
	if len(dirs) < 4 {
		t.Fatalf("golden scenarios: %v", dirs)
	}
	for _, runSh := range dirs {
		if !failing && failingScenarios[filepath.Base(filepath.Dir(runSh))] {
			continue
		}
		work := t.TempDir()
		r := runIn(t, work, []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + work, "SCENARIO_DIR=" + filepath.Dir(runSh)}, "sh", runSh)
		if r.code != 0 {
			t.Fatalf("scenario %s: exit %d\n%s", filepath.Base(filepath.Dir(runSh)), r.code, r.stderr)
		}
	}
}

// drillFile is a drill whose fault is a file: it passes in milliseconds.
const drillFile = "---\nid: e2e-stack\ntitle: A fault that a file stands for\nseverity: low\ndetect_within: 30s\nrecover_within: 30s\n---\n" +
	"## Symptoms\n## Detect\n```sh drill=steady\ntest ! -e broken\n```\n```sh drill=inject\ntouch broken\n```\n```sh drill=detect\ntest -e broken\n```\n" +
	"## Investigate\n## Recover\n```sh drill=recover\nrm broken\n```\n```sh drill=rollback\nrm -f broken\n```\n"

// commands runs one round of everything the dashboards and alerts read:
// the golden scenarios and a drill; and, failing, the scenarios with model
// errors and failed checks, commands whose audit write fails and commands
// whose audit writes are slow.
func commands(t *testing.T, bin string, failing bool) {
	t.Helper()
	scenarios(t, bin, failing)
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "e2e.md"), []byte(drillFile), 0o644)
	if r := runIn(t, work, nil, filepath.Join(bin, "brain-drill"), "run", "--bin", bin, "e2e.md"); r.code != 0 {
		t.Fatalf("brain-drill: exit %d\n%s", r.code, r.stderr)
	}
	if !failing {
		return
	}
	for range 2 {
		if r := runIn(t, work, []string{"BRAIN_FAULTS=ioerr@audit.write"}, filepath.Join(bin, "brain-run"), "exec", "--", "true"); r.code != 4 {
			t.Fatalf("exec with a failing audit write: exit %d, want 4\n%s", r.code, r.stderr)
		}
		if r := runIn(t, work, []string{"BRAIN_FAULTS=delay@audit.sync=600ms"}, filepath.Join(bin, "brain-run"), "exec", "--", "true"); r.code != 0 {
			t.Fatalf("exec with slow audit writes: exit %d\n%s", r.code, r.stderr)
		}
	}
}

type panelQuery struct{ dashboard, panel, expr string }

// panelQueries reads every panel's queries from the committed dashboards.
func panelQueries(t *testing.T) []panelQuery {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(repo(t), "deploy", "grafana", "dashboards", "*.json"))
	var out []panelQuery
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Title  string
			Panels []struct {
				Title   string
				Targets []struct{ Expr string }
			}
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				out = append(out, panelQuery{d.Title, p.Title, tg.Expr})
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no panel queries")
	}
	return out
}

type rule struct{ Alert, Expr string }

func alertRules(t *testing.T) []rule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo(t), "deploy", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Groups []struct{ Rules []rule } }
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// grafanaVars gives Grafana's range variables values that cover the test.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$__range", "1h")

// provoked is how an alert's expression is evaluated once its condition
// was provoked: as shipped, but for the LLM latency bound, which no
// replayed call comes near (30 s): its threshold is lowered to 0 there,
// and only there.
func provoked(r rule) string {
	if r.Alert == "BrainLLMLatencyHigh" {
		return regexp.MustCompile(`> 30\s*$`).ReplaceAllString(strings.TrimSpace(r.Expr), "> 0")
	}
	return r.Expr
}

func finite(res []sample) bool {
	for _, s := range res {
		if f := s.float(); !math.IsNaN(f) && !math.IsInf(f, 0) {
			return true
		}
	}
	return false
}

func TestStack(t *testing.T) {
	root := repo(t)
	bin := filepath.Join(root, "bin")
	runDir := t.TempDir()
	t.Cleanup(func() { stackSh(t, runDir, "stop") })
	stackSh(t, runDir, "start")
	rules := alertRules(t)
	if len(rules) == 0 {
		t.Fatal("no alert rules")
	}

	// Round one: commands that fail nothing. Prometheus scrapes them.
	commands(t, bin, false)
	cmds := waitIncrease(t, `sum(brain_commands_total)`, 0)
	drills := waitIncrease(t, `sum(brain_drill_runs_total)`, 0)
	rulesHealthy(t, len(rules))

	// Quiet: nothing provoked, no alert's condition holds.
	for _, r := range rules {
		if res := query(t, r.Expr); len(res) != 0 {
			t.Errorf("alert %s fires before anything provoked it: %v", r.Alert, res)
		}
	}

	// Rounds two and three provoke: llm-errors' model failures are in the
	// scenarios; audit writes fail and are slow. Two rounds, each scraped,
	// so that every new series (the first failure of a kind) has a sample
	// before its increase: rate() needs two.
	for range 2 {
		commands(t, bin, true)
		cmds = waitIncrease(t, `sum(brain_commands_total)`, cmds)
		drills = waitIncrease(t, `sum(brain_drill_runs_total)`, drills)
	}

	// Jaeger down: the collector's exporter fails after its retries
	// (5 s here). Two commands, a scrape apart.
	jaegerEnv := append(os.Environ(), "JAEGER_RUN_DIR="+filepath.Join(runDir, "jaeger"))
	stop := exec.Command("bash", filepath.Join(root, "scripts", "jaeger.sh"), "stop")
	stop.Env = jaegerEnv
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("stopping Jaeger: %v\n%s", err, out)
	}
	failed := 0.0
	for range 2 {
		if r := runIn(t, t.TempDir(), nil, filepath.Join(bin, "brain-run"), "exec", "--", "true"); r.code != 0 {
			t.Fatalf("exec: exit %d\n%s", r.code, r.stderr)
		}
		failed = waitIncrease(t, `sum(otelcol_exporter_send_failed_spans)`, failed)
	}

	// The metric names the panels and rules use are those the real
	// exporter produced.
	resp, err := http.Get(promExporter)
	if err != nil {
		t.Fatal(err)
	}
	exposed, _ := readAll(resp)
	for _, name := range []string{"gen_ai_client_token_usage_bucket", "gen_ai_client_operation_duration_seconds_bucket", "brain_commands_total", "brain_audit_write_duration_seconds_bucket", "brain_spans_exported_total", "brain_drill_ttd_seconds_bucket"} {
		if !strings.Contains(exposed, "\n"+name+"{") {
			t.Errorf("the collector's Prometheus exporter has no %s", name)
		}
	}

	// Every panel returns data.
	for _, pq := range panelQueries(t) {
		res := query(t, grafanaVars.Replace(pq.expr))
		if !finite(res) {
			t.Errorf("%s / %s: no data: %s -> %v", pq.dashboard, pq.panel, pq.expr, res)
		}
	}

	// Every alert fires now, but the collector's: stop it, and Prometheus
	// sees it down.
	for _, r := range rules {
		if r.Alert == "BrainCollectorDown" {
			continue
		}
		if res := query(t, provoked(r)); len(res) == 0 {
			t.Errorf("alert %s does not fire once provoked: %s", r.Alert, provoked(r))
		}
	}
	// An alert without `for` goes firing in the real rule evaluation.
	waitFor(t, "BrainAuditWriteFailures firing", `ALERTS{alertname="BrainAuditWriteFailures",alertstate="firing"}`, func(r []sample) bool { return len(r) > 0 })

	pid, err := os.ReadFile(filepath.Join(runDir, "otelcol.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("kill", "-TERM", strings.TrimSpace(string(pid))).Run(); err != nil {
		t.Fatalf("stopping the collector: %v", err)
	}
	for _, r := range rules {
		if r.Alert == "BrainCollectorDown" {
			waitFor(t, "the collector seen down", r.Expr, func(res []sample) bool { return len(res) > 0 })
		}
	}
	t.Logf("%d panel queries returned data, %d alert rules quiet then fired", len(panelQueries(t)), len(rules))
}

func readAll(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err := b.ReadFrom(resp.Body)
	return "\n" + b.String(), err
}

// rulesHealthy waits until Prometheus has evaluated every alert rule (n of
// them, in the groups of alerts.yaml) and fails if one does not evaluate.
func rulesHealthy(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(promAPI + "rules?type=alert")
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Data struct {
				Groups []struct {
					Rules []struct{ Name, Health, LastError string }
				}
			}
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		ok, seen := 0, 0
		for _, g := range r.Data.Groups {
			for _, rl := range g.Rules {
				seen++
				switch rl.Health {
				case "ok":
					ok++
				case "err":
					t.Fatalf("alert rule %s does not evaluate: %s", rl.Name, rl.LastError)
				}
			}
		}
		if seen != n {
			t.Fatalf("Prometheus has %d alert rules, alerts.yaml %d", seen, n)
		}
		if ok == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes %d of %d alert rules evaluated", ok, n)
		}
		time.Sleep(250 * time.Millisecond) // polling a remote state
	}
}
