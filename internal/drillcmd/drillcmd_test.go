package drillcmd

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brain-dev/brain/internal/testutil"
)

const quickDrill = "---\nid: quick\ntitle: Quick\nseverity: low\ndetect_within: 1s\nrecover_within: 1s\n---\n" +
	"## Symptoms\n## Detect\n## Investigate\n## Recover\n" +
	"```sh drill=steady\ntrue\n```\n```sh drill=inject\ntrue\n```\n```sh drill=detect\ntrue\n```\n"

// fakeBin returns a directory with the BRAIN binaries brain-drill wants
// beside it (these drills never call them).
func fakeBin(t *testing.T) string {
	dir := t.TempDir()
	for _, b := range binaries {
		os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	}
	return dir
}

// TestSummaryColour: on a terminal the verdicts are coloured, unless
// NO_COLOR is set; into a file or pipe, never.
func TestSummaryColour(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "quick.md")
	os.WriteFile(file, []byte(quickDrill), 0o644)
	args := []string{"run", "--dir", filepath.Join(dir, "ws"), "--bin", fakeBin(t), file}
	for _, tt := range []struct {
		name     string
		noColor  bool
		terminal bool
		want     bool
	}{
		{"terminal", false, true, true},
		{"terminal, NO_COLOR", true, true, false},
		{"pipe", false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noColor {
				t.Setenv("NO_COLOR", "1")
			} else {
				os.Unsetenv("NO_COLOR")
			}
			var out []byte
			if tt.terminal {
				ctl, term := testutil.Pty(t)
				if code := Main(context.Background(), args, strings.NewReader(""), term, io.Discard); code != 0 {
					t.Fatalf("exit %d", code)
				}
				term.Close()
				out, _ = io.ReadAll(ctl) // up to the terminal's EIO once it is drained
			} else {
				var b bytes.Buffer
				if code := Main(context.Background(), args, strings.NewReader(""), &b, io.Discard); code != 0 {
					t.Fatalf("exit %d", code)
				}
				out = b.Bytes()
			}
			if got := bytes.Contains(out, []byte("\x1b[")); got != tt.want || !bytes.Contains(out, []byte("passed")) {
				t.Errorf("colour %v, want %v:\n%q", got, tt.want, out)
			}
		})
	}
}

// TestBinDir: the steps' BRAIN binaries must be where --bin (or
// brain-drill's own directory) says; a directory without them is an error
// naming it, before anything runs.
func TestBinDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "quick.md")
	os.WriteFile(file, []byte(quickDrill), 0o644)
	var stderr bytes.Buffer
	code := Main(context.Background(), []string{"run", "--dir", filepath.Join(dir, "ws"), "--bin", dir, file}, strings.NewReader(""), io.Discard, &stderr)
	if code != 3 || !strings.Contains(stderr.String(), "brain-drill: error: no brain-run in "+dir+": drill steps run the BRAIN binaries from there") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "ws")); err == nil {
		t.Error("the workspace was created: something ran")
	}
}
