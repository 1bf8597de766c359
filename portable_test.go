package brain_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPortableBuilds builds the read-only tools, brain-audit and
// brain-trace-lint, for every target the Makefile's PORTABLE_TARGETS lists
// (macOS, Windows, FreeBSD, Linux on ARM: the laptops and servers an
// auditor verifies a chain on), as make lint does. Their verify and lint
// paths are tested on this system; the builds are the check that they
// still build on the others.
func TestPortableBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("cross builds take minutes on a cold cache; make test-full and make lint run them")
	}
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string][]string{}
	for _, line := range strings.Split(string(mk), "\n") {
		if name, val, ok := strings.Cut(line, ":="); ok && strings.HasPrefix(name, "PORTABLE_") {
			vars[strings.TrimSpace(name)] = strings.Fields(val)
		}
	}
	targets, cmds := vars["PORTABLE_TARGETS"], vars["PORTABLE_CMDS"]
	for _, want := range []string{"darwin/", "windows/"} {
		if !strings.Contains(strings.Join(targets, " "), want) {
			t.Errorf("the Makefile's PORTABLE_TARGETS %v has no %s target", targets, want)
		}
	}
	if len(cmds) == 0 {
		t.Fatal("the Makefile has no PORTABLE_CMDS")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to cross-build: %v", err)
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			goos, goarch, _ := strings.Cut(target, "/")
			cmd := exec.Command(goBin, append([]string{"build", "-o", os.DevNull}, cmds...)...)
			cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=%s GOARCH=%s go build %s: %v\n%s", goos, goarch, strings.Join(cmds, " "), err, out)
			}
		})
	}
}
