package drill

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// minimal is the smallest drill the format accepts, with every run-book
// section.
const minimal = `---
id: tiny
title: A tiny drill
severity: low
detect_within: 2s
recover_within: 10s
---
# Tiny

## Symptoms
Nothing.

## Detect

` + "```sh drill=steady\ntrue\n```\n\n```sh drill=inject\ntouch broken\n```\n\n```sh drill=detect\ntest -e broken\n```\n" + `
## Investigate
## Recover

` + "```sh drill=recover\nrm broken\n```\n"

func TestParseMinimal(t *testing.T) {
	d, err := Parse("tiny.md", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	type blk struct {
		Phase  Phase
		Name   string
		Line   int
		Script string
	}
	var got []blk
	for _, b := range d.Blocks {
		got = append(got, blk{b.Phase, b.Name, b.Line, b.Script})
	}
	want := []blk{
		{Steady, "steady-1", 15, "true\n"},
		{Inject, "inject-1", 19, "touch broken\n"},
		{Detect, "detect-1", 23, "test -e broken\n"},
		{Recover, "recover-1", 30, "rm broken\n"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	if d.ID != "tiny" || d.Severity != "low" || d.DetectWithin != 2*time.Second || d.RecoverWithin != 10*time.Second || d.Title != "A tiny drill" {
		t.Errorf("front matter: %+v", d)
	}
	if len(d.Warnings) != 0 {
		t.Errorf("warnings: %v", d.Warnings)
	}
	if d.Limit(Detect) != 6*time.Second || d.Limit(Recover) != 30*time.Second || d.Limit(Inject) != DefaultLimits[Inject] {
		t.Errorf("limits: detect %s recover %s inject %s", d.Limit(Detect), d.Limit(Recover), d.Limit(Inject))
	}
}

func TestParseRicher(t *testing.T) {
	src := strings.Replace(minimal, "recover_within: 10s\n", "recover_within: 10s\nformat: brain-drill/1\nrequires: [root, \"command:df\"]\nlimits: {setup: 5s, rollback: 3m}\n", 1) +
		"\n  ~~~~ bash drill=rollback name=clean-up timeout=4s\n  rm -f broken\n    indented\n  ~~~~~\n" +
		"\n```sh\necho a documentation block, not a step\n```\n" +
		"\n````\n```sh drill=inject\nnot a step: inside another fence\n```\n````\n"
	d, err := Parse("rich.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	last := d.Blocks[len(d.Blocks)-1]
	if last.Phase != Rollback || last.Name != "clean-up" || last.Timeout != 4*time.Second || last.Script != "rm -f broken\n  indented\n" {
		t.Errorf("last block: %+v", last)
	}
	if len(d.Blocks) != 5 {
		t.Errorf("%d blocks, want 5", len(d.Blocks))
	}
	if diff := cmp.Diff([]Requirement{{"root", 8}, {"command:df", 8}}, d.Requires); diff != "" {
		t.Errorf("requires (-want +got):\n%s", diff)
	}
	if d.Limit(Setup) != 5*time.Second || d.Limit(Rollback) != 3*time.Minute || d.Limit(Steady) != DefaultLimits[Steady] {
		t.Errorf("limits: %v", d.Limits)
	}
}

// TestParseErrors: each malformed file is refused with every problem,
// each at its line.
func TestParseErrors(t *testing.T) {
	fm := func(extra string) string {
		return "---\nid: x\ntitle: X\nseverity: low\ndetect_within: 1s\nrecover_within: 1s\n" + extra + "---\n" +
			"```sh drill=steady\ntrue\n```\n```sh drill=inject\ntrue\n```\n```sh drill=detect\ntrue\n```\n"
	}
	for _, tt := range []struct {
		name, src string
		want      []string
	}{
		{"no front matter", "# hello\n", []string{"f.md:1: no front matter: a drill starts with a '---' line, then YAML (id, title, severity, detect_within, recover_within), then '---'"}},
		{"unclosed front matter", "---\nid: x\n", []string{"f.md:1: the front matter that starts here is never closed by a '---' line"}},
		{"bad yaml", "---\nid: x\ntitle: a: b\n---\n", []string{"f.md:3: front matter: mapping values are not allowed in this context"}},
		{"not a mapping", "---\n- a\n---\n", []string{"f.md:2: the front matter must be a YAML mapping of keys to values"}},
		{"unknown key", fm("colour: red\n"), []string{`f.md:7: front matter: unknown key "colour" (keys: format, id, title, severity, detect_within, recover_within, requires, limits)`}},
		{"duplicate key", fm("id: y\n"), []string{"f.md:7: front matter: id is given twice (first at line 2)"}},
		{"missing keys", "---\nid: x\n---\n```sh drill=steady\ntrue\n```\n```sh drill=inject\ntrue\n```\n```sh drill=detect\ntrue\n```\n", []string{
			"f.md:1: front matter: title is missing", "f.md:1: front matter: severity is missing",
			"f.md:1: front matter: detect_within is missing", "f.md:1: front matter: recover_within is missing"}},
		{"bad values", "---\nid: Big_ID\ntitle: 3\nseverity: urgent\ndetect_within: 2\nrecover_within: soon\nformat: brain-drill/9\n---\n", []string{
			`f.md:2: id "Big_ID": use 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit`,
			"f.md:3: title: want a string",
			`f.md:4: severity "urgent": want one of low, medium, high, critical`,
			"f.md:5: detect_within: want a duration such as 2s, 500ms or 15m",
			`f.md:6: recover_within: "soon" is not a duration such as 2s, 500ms or 15m`,
			`f.md:7: format "brain-drill/9" is not one this brain-drill reads (brain-drill/1)`}},
		{"zero and huge durations", "---\nid: x\ntitle: X\nseverity: low\ndetect_within: 0s\nrecover_within: 100h\n---\n", []string{
			"f.md:5: detect_within: 0s is not positive", "f.md:6: recover_within: 100h is over the limit of 24h0m0s"}},
		{"bad requires", fm("requires: [root, wings, \"command:a/b\"]\n"), []string{
			`f.md:7: requires: unknown requirement "wings" (root, tmpfs, linux, command:PROGRAM)`,
			`f.md:7: requires: "command:a/b": want command:PROGRAM, a program name looked up on PATH`}},
		{"bad limits", fm("limits:\n  detect: 5s\n  recover: 5s\n  lunch: 1h\n  setup: forever\n"), []string{
			"f.md:8: limits: detect is polled for 3 × detect_within: set detect_within",
			"f.md:9: limits: recover and the steady probes after it have 3 × recover_within: set recover_within",
			`f.md:10: limits: unknown phase "lunch" (setup, steady, inject, investigate, rollback)`,
			`f.md:11: limits.setup: "forever" is not a duration such as 2s, 500ms or 15m`}},
		{"unknown phase", fm("") + "\n```sh drill=detetc\ntrue\n```\n", []string{
			`f.md:18: unknown phase "detetc" (phases: setup, steady, inject, detect, investigate, recover, rollback)`}},
		{"unterminated fence", fm("") + "\n```sh drill=recover\nrm -rf broken\n", []string{
			"f.md:18: the code fence opened here (```) is never closed"}},
		{"shorter closing fence", fm("") + "\n````sh drill=recover\nrm -rf broken\n```\n", []string{
			"f.md:18: the code fence opened here (````) is never closed"}},
		{"not bash", fm("") + "\n```python drill=inject\nprint(1)\n```\n", []string{
			`f.md:18: a step runs under bash: its info string starts with sh (or bash), not "python"`}},
		{"unknown attribute", fm("") + "\n```sh drill=inject retries=3\ntrue\n```\n", []string{
			`f.md:18: unknown attribute "retries=" in the info string (drill=, name=, timeout=)`}},
		{"attributes without drill", fm("") + "\n```sh phase=inject\ntrue\n```\n", []string{
			"f.md:18: this block has attributes but no drill=PHASE: a step's info string is 'sh drill=PHASE'"}},
		{"word without value", fm("") + "\n```sh drill=inject quickly\ntrue\n```\n", []string{
			`f.md:18: "quickly" in the info string: want key=value (drill=, name=, timeout=)`}},
		{"bad timeout", fm("") + "\n```sh drill=inject timeout=-1s\ntrue\n```\n", []string{
			"f.md:18: timeout=-1s: want a positive duration of at most 24h0m0s, such as 5s"}},
		{"duplicate name", fm("") + "\n```sh drill=inject name=steady-1\ntrue\n```\n", []string{
			`f.md:18: a step named "steady-1" is already at line 8`}},
		{"empty step", fm("") + "\n```sh drill=inject\n\n```\n", []string{"f.md:18: the inject step is empty"}},
		{"no detect step", "---\nid: x\ntitle: X\nseverity: low\ndetect_within: 1s\nrecover_within: 1s\n---\n```sh drill=steady\ntrue\n```\n```sh drill=inject\ntrue\n```\n", []string{
			"f.md: no detect step: a drill needs at least one 'sh drill=detect' block (steady, inject and detect are required)"}},
		{"invalid UTF-8", fm("") + "caf\xe9\n", []string{"f.md:17: the line is not valid UTF-8"}},
		{"NUL", fm("") + "a\x00b\n", []string{"f.md:17: the line holds a NUL byte"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse("f.md", []byte(tt.src))
			var fe *FileError
			if !errors.As(err, &fe) || d != nil {
				t.Fatalf("Parse = %v, %v; want a *FileError", d, err)
			}
			var got []string
			for _, pe := range fe.Errors {
				got = append(got, pe.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseBounds: what a hostile file may hold is bounded, and going over
// a bound is an error naming it.
func TestParseBounds(t *testing.T) {
	head := "---\nid: x\ntitle: X\nseverity: low\ndetect_within: 1s\nrecover_within: 1s\n---\n"
	steps := "```sh drill=steady\ntrue\n```\n```sh drill=inject\ntrue\n```\n```sh drill=detect\ntrue\n```\n"
	for _, tt := range []struct {
		name, src, want string
	}{
		{"file", head + steps + strings.Repeat("x", MaxFileBytes), "the file is"},
		{"front matter", "---\nid: x\n# " + strings.Repeat("x", MaxFrontMatterBytes) + "\n---\n", "the front matter is"},
		{"block", head + steps + "```sh drill=rollback\n" + strings.Repeat("echo x\n", MaxBlockBytes/7+1) + "```\n", "over the limit of 65536"},
		{"blocks", head + steps + strings.Repeat("```sh drill=rollback\ntrue\n```\n", MaxBlocks), "more than 256 steps in one drill"},
		{"errors", head + steps + strings.Repeat("```sh drill=nope\ntrue\n```\n", 100), "80 more problems"},
	} {
		_, err := Parse("f.md", []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Parse = %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	src := "---\nid: x\ntitle: X\nseverity: low\ndetect_within: 1s\nrecover_within: 1s\n---\n## Symptoms and impact\n" +
		"```sh drill=steady\ntrue\n```\n```sh drill=inject\ntrue\n```\n```sh drill=detect\ntrue\n```\n"
	d, err := Parse("f.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range d.Warnings {
		got = append(got, w.Error())
	}
	want := []string{
		`f.md: no "Detect" section: a responder reading the run-book during an incident looks for it`,
		`f.md: no "Investigate" section: a responder reading the run-book during an incident looks for it`,
		`f.md: no "Recover" section: a responder reading the run-book during an incident looks for it`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestLoadDirectory: a directory's *.md files are its drills, by name; a
// symbolic link planted among them (to a drill or elsewhere), a named pipe
// or a directory named *.md is refused, never followed or opened, and
// nothing is returned; a file named on the command line may be a link.
func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, id string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Replace(minimal, "id: tiny", "id: "+id, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("b.md", "bee")
	write("a.md", "ay")
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a drill"), 0o644)
	ds, err := Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].ID != "ay" || ds[1].ID != "bee" {
		t.Fatalf("Load = %v", ds)
	}

	outside := filepath.Join(t.TempDir(), "elsewhere.md")
	os.WriteFile(outside, []byte(strings.Replace(minimal, "id: tiny", "id: planted", 1)), 0o644)
	for name, plant := range map[string]func(p string) error{
		"link to a drill outside": func(p string) error { return os.Symlink(outside, p) },
		"link to a missing file":  func(p string) error { return os.Symlink(filepath.Join(dir, "gone.md"), p) },
		"named pipe":              func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"directory":               func(p string) error { return os.Mkdir(p, 0o700) },
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, "c.md")
			if err := plant(p); err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(p)
			ds, err := Load([]string{dir})
			var le *LoadError
			if !errors.As(err, &le) || ds != nil || len(le.Errs) != 1 || !strings.HasPrefix(le.Errs[0].Error(), p+": ") {
				t.Fatalf("Load = %v, %v; want one error naming %s", ds, err, p)
			}
		})
	}
	link := filepath.Join(t.TempDir(), "mine.md")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	if ds, err := Load([]string{link}); err != nil || len(ds) != 1 || ds[0].ID != "planted" {
		t.Errorf("Load(a link named on the command line) = %v, %v", ds, err)
	}
	fifo := filepath.Join(t.TempDir(), "pipe.md")
	syscall.Mkfifo(fifo, 0o600)
	if _, err := Load([]string{fifo}); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Errorf("Load(a named pipe named on the command line) = %v, want a refusal", err)
	}
	if _, err := Load([]string{filepath.Join(dir, "a.md"), filepath.Join(dir, "a.md")}); err == nil || !strings.Contains(err.Error(), `id "ay" is also the id of`) {
		t.Errorf("Load(the same drill twice) = %v, want a duplicate id", err)
	}
}

// TestDocExample: the complete example of docs/drill-format.md is the
// drill the test suite runs (testdata/drills/audit-sync-fails.md), byte for
// byte, and it parses without a warning.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/drill-format.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "````markdown\n")
	example, _, ok2 := strings.Cut(rest, "\n````\n")
	if !ok || !ok2 {
		t.Fatal("docs/drill-format.md has no ````markdown example")
	}
	file, err := os.ReadFile("../../testdata/drills/audit-sync-fails.md")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(file), example+"\n"); diff != "" {
		t.Errorf("the example differs from testdata/drills/audit-sync-fails.md (-file +doc):\n%s", diff)
	}
	d, err := Parse("audit-sync-fails.md", file)
	if err != nil || len(d.Warnings) > 0 {
		t.Errorf("Parse = %v, warnings %v", err, d.Warnings)
	}
}
