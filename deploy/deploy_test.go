// Package deploy_test checks the deployment files of the observability
// stack (docs/stack.md): the Prometheus configurations and rules with
// promtool, and deploy/compose.yaml's structure (docker compose cannot run
// where the tests do).
package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian's prometheus package: bash scripts/deps.sh prometheus)")
	}
	return p
}

// TestPromtool checks the alert rules, the price table and both Prometheus
// configurations (which load the rules) with promtool.
func TestPromtool(t *testing.T) {
	pt := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "prometheus/alerts.yaml", "prometheus/prices.yaml"},
		{"check", "config", "prometheus/prometheus.yml"},
		{"check", "config", "prometheus/prometheus.compose.yml"},
	} {
		out, err := exec.Command(pt, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

type promConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName string `yaml:"job_name"`
	} `yaml:"scrape_configs"`
}

// TestPrometheusConfigsAgree: the compose configuration scrapes the jobs
// the local stack's does and loads the same rules.
func TestPrometheusConfigsAgree(t *testing.T) {
	read := func(name string) (jobs, rules []string) {
		var c promConfig
		readYAML(t, filepath.Join("prometheus", name), &c)
		for _, sc := range c.ScrapeConfigs {
			jobs = append(jobs, sc.JobName)
		}
		return jobs, c.RuleFiles
	}
	jobs, rules := read("prometheus.yml")
	cjobs, crules := read("prometheus.compose.yml")
	if diff := cmp.Diff(jobs, cjobs); diff != "" {
		t.Errorf("jobs (-prometheus.yml +prometheus.compose.yml):\n%s", diff)
	}
	if diff := cmp.Diff(rules, crules); diff != "" {
		t.Errorf("rule files (-prometheus.yml +prometheus.compose.yml):\n%s", diff)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// compose is the part of a compose file checkCompose reads. Ports and
// volumes take the short ("127.0.0.1:4317:4317") and the long (a mapping)
// syntax.
type compose struct {
	Services map[string]struct {
		Image string `yaml:"image"`
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Ports   []yaml.Node `yaml:"ports"`
		Volumes []yaml.Node `yaml:"volumes"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// pinned is an image reference with a version tag or a digest: not
// untagged, not :latest.
var pinned = regexp.MustCompile(`^[a-z0-9./_-]+(:[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*|@sha256:[0-9a-f]{64})$`)

// checkCompose returns every problem of the compose file src, whose
// relative paths are relative to dir: an image not pinned by version, a
// published port not bound to a loopback address, a bind-mounted path or a
// build's context or Dockerfile that does not exist (and a Dockerfile
// whose base images are not pinned).
func checkCompose(src []byte, dir string) []string {
	var c compose
	if err := yaml.Unmarshal(src, &c); err != nil {
		return []string{fmt.Sprintf("does not parse: %v", err)}
	}
	if len(c.Services) == 0 {
		return []string{"no services"}
	}
	var bad []string
	names := make([]string, 0, len(c.Services))
	for n := range c.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		s := c.Services[name]
		badf := func(format string, args ...any) { bad = append(bad, name+": "+fmt.Sprintf(format, args...)) }
		if !pinned.MatchString(s.Image) {
			badf("image %q is not pinned by version", s.Image)
		}
		if s.Build != nil {
			ctx := filepath.Join(dir, s.Build.Context)
			if fi, err := os.Stat(ctx); err != nil || !fi.IsDir() {
				badf("build context %s does not exist", s.Build.Context)
			}
			df := filepath.Join(ctx, s.Build.Dockerfile)
			if s.Build.Dockerfile == "" {
				df = filepath.Join(ctx, "Dockerfile")
			}
			if err := checkDockerfile(df); err != nil {
				badf("%v", err)
			}
		}
		for _, p := range s.Ports {
			if err := checkPort(p); err != nil {
				badf("port %v", err)
			}
		}
		for _, v := range s.Volumes {
			src, err := volumeSource(v)
			if err != nil {
				badf("volume %v", err)
				continue
			}
			if _, named := c.Volumes[src]; named {
				continue
			}
			if !strings.HasPrefix(src, ".") && !filepath.IsAbs(src) {
				badf("volume %q is neither a path nor a volume declared at the top level", src)
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, src)); err != nil {
				badf("mounted path %s does not exist", src)
			}
		}
	}
	return bad
}

// checkPort accepts a published port only with a loopback host address.
func checkPort(n yaml.Node) error {
	var host string
	switch n.Kind {
	case yaml.ScalarNode:
		// [HOST:]HOSTPORT:CONTAINERPORT[/PROTO], or CONTAINERPORT alone
		// (published on every interface).
		s := strings.SplitN(n.Value, "/", 2)[0]
		i := strings.LastIndex(s, ":")
		if i < 0 {
			return fmt.Errorf("%q is published on every interface", n.Value)
		}
		s = s[:i]
		j := strings.LastIndex(s, ":")
		if j < 0 {
			return fmt.Errorf("%q is published on every interface", n.Value)
		}
		host = strings.Trim(s[:j], "[]")
	case yaml.MappingNode:
		var p struct {
			HostIP    string `yaml:"host_ip"`
			Published any    `yaml:"published"`
		}
		if err := n.Decode(&p); err != nil {
			return err
		}
		if p.Published == nil {
			return nil // not published
		}
		host = p.HostIP
	default:
		return errors.New("is neither a string nor a mapping")
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("bound to %q, not a loopback address", host)
	}
	return nil
}

// volumeSource is the source of a volume: a path or a named volume.
func volumeSource(n yaml.Node) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		src, _, ok := strings.Cut(n.Value, ":")
		if !ok {
			return "", fmt.Errorf("%q names no container path", n.Value)
		}
		return src, nil
	case yaml.MappingNode:
		var v struct {
			Source string `yaml:"source"`
		}
		if err := n.Decode(&v); err != nil {
			return "", err
		}
		return v.Source, nil
	}
	return "", errors.New("is neither a string nor a mapping")
}

// checkDockerfile: it exists and every FROM names a pinned image, an
// earlier stage or scratch (the empty image, which is not pulled).
func checkDockerfile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	stages := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.EqualFold(f[0], "FROM") {
			continue
		}
		if !stages[f[1]] && f[1] != "scratch" && !pinned.MatchString(f[1]) {
			return fmt.Errorf("%s: base image %q is not pinned by version", path, f[1])
		}
		if len(f) == 4 && strings.EqualFold(f[2], "AS") {
			stages[f[3]] = true
		}
	}
	return nil
}

// TestCompose checks deploy/compose.yaml.
func TestCompose(t *testing.T) {
	src, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range checkCompose(src, ".") {
		t.Errorf("compose.yaml: %s", b)
	}
	var c compose
	if err := yaml.Unmarshal(src, &c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"jaeger", "otelcol", "prometheus", "grafana"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("compose.yaml has no service %s", want)
		}
	}
}

// TestCheckCompose feeds checkCompose compose files that break each rule,
// in each syntax: every one is caught, and the good file passes.
func TestCheckCompose(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "conf"), 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile.ok"), []byte("FROM golang:1.26.0 AS build\nFROM scratch\nCOPY --from=build /x /x\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile.latest"), []byte("FROM golang:latest AS build\n"), 0o644)
	svc := func(body string) string { return "services:\n  a:\n" + body + "volumes:\n  data:\n" }
	good := "    image: prom/prometheus:v2.55.1\n"
	for _, tc := range []struct {
		name, src string
		bad       bool
	}{
		{"good", svc(good + "    ports: [\"127.0.0.1:9090:9090\", \"[::1]:9091:9091/tcp\", {target: 80, published: 8080, host_ip: 127.0.0.1}, {target: 81}]\n    volumes: [\"./conf:/etc/x:ro\", \"data:/var/lib/x\", {type: bind, source: ./conf, target: /y}]\n    build: {context: ., dockerfile: Dockerfile.ok}\n"), false},
		{"untagged image", svc("    image: prom/prometheus\n"), true},
		{"latest image", svc("    image: prom/prometheus:latest\n"), true},
		{"every interface, short", svc(good + "    ports: [\"9090:9090\"]\n"), true},
		{"container port alone", svc(good + "    ports: [\"9090\"]\n"), true},
		{"every interface, address", svc(good + "    ports: [\"0.0.0.0:9090:9090\"]\n"), true},
		{"a LAN address", svc(good + "    ports: [\"192.168.1.5:9090:9090\"]\n"), true},
		{"every interface, long", svc(good + "    ports: [{target: 80, published: 8080}]\n"), true},
		{"missing bind path", svc(good + "    volumes: [\"./nope:/etc/x\"]\n"), true},
		{"missing bind path, long", svc(good + "    volumes: [{type: bind, source: ./nope, target: /y}]\n"), true},
		{"undeclared volume", svc(good + "    volumes: [\"other:/var/lib/x\"]\n"), true},
		{"missing build context", svc(good + "    build: {context: ./nope}\n"), true},
		{"missing Dockerfile", svc(good + "    build: {context: ., dockerfile: Dockerfile.nope}\n"), true},
		{"unpinned base image", svc(good + "    build: {context: ., dockerfile: Dockerfile.latest}\n"), true},
		{"not YAML", "services: [", true},
	} {
		got := checkCompose([]byte(tc.src), dir)
		if (len(got) > 0) != tc.bad {
			t.Errorf("%s: problems %q, want bad=%v", tc.name, got, tc.bad)
		}
	}
}

// TestGrafanaProvisioning: the provisioned data source has the uid the
// dashboards query, and the dashboards directory compose mounts holds them.
func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yaml", &ds)
	uids := map[string]bool{}
	for _, d := range ds.Datasources {
		if d.Type == "prometheus" {
			uids[d.UID] = true
		}
	}
	files, _ := filepath.Glob("grafana/dashboards/*.json")
	if len(files) == 0 {
		t.Fatal("no dashboards in grafana/dashboards")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Datasource struct{ UID string } `json:"datasource"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				if !uids[tg.Datasource.UID] {
					t.Errorf("%s / %s queries data source %q, which is not provisioned", f, p.Title, tg.Datasource.UID)
				}
			}
		}
	}
}
