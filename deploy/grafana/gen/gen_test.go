package main

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDashboardsFresh fails when the committed dashboards are not what the
// generator writes: one was edited by hand, or the generator changed and
// `go generate ./deploy/grafana/gen` was not run. A JSON file there that
// the generator does not write fails it too.
func TestDashboardsFresh(t *testing.T) {
	files, err := render()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "dashboards")
	committed, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, f := range committed {
		got = append(got, filepath.Base(f))
	}
	for name, b := range files {
		want = append(want, name)
		on, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%v: run go generate ./deploy/grafana/gen", err)
			continue
		}
		if diff := cmp.Diff(string(b), string(on)); diff != "" {
			t.Errorf("%s is stale: run go generate ./deploy/grafana/gen (-generated +committed):\n%s", name, diff)
		}
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dashboard files (-generated +committed):\n%s", diff)
	}
}

// TestDashboardsQueryPrometheus: every panel queries the provisioned
// Prometheus data source with at least one expression.
func TestDashboardsQueryPrometheus(t *testing.T) {
	for _, b := range boards() {
		if len(b.panels) == 0 {
			t.Errorf("%s has no panel", b.title)
		}
		for _, p := range b.panels {
			if len(p.queries) == 0 {
				t.Errorf("%s / %s has no query", b.title, p.title)
			}
			for _, q := range p.queries {
				if q.expr == "" || q.legend == "" {
					t.Errorf("%s / %s: a query without expression or legend", b.title, p.title)
				}
			}
		}
	}
}
