package brain_test

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// lintScriptCmds edit recorded spans the way a lost batch, a bug or a leak
// would, for the brain-trace-lint scripts.
var lintScriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// sedline FILE N REGEXP REPLACEMENT: replace the first match of REGEXP
	// (RE2; $1 in REPLACEMENT names a group) in line N (1-based), or with
	// N "*" in the first line that matches: a process that runs for over
	// a second writes its spans in several lines.
	"sedline": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 4 {
			ts.Fatalf("usage: sedline FILE N|* REGEXP REPLACEMENT")
		}
		lines := readLines(ts, args[0])
		re, err := regexp.Compile(args[2])
		ts.Check(err)
		n := 0
		if args[1] == "*" {
			for i, l := range lines {
				if re.Match(l) {
					n = i + 1
					break
				}
			}
			if n == 0 {
				ts.Fatalf("no line of %s matches %q", args[0], args[2])
			}
		} else {
			n = atoi(ts, args[1])
		}
		loc := re.FindSubmatchIndex(lines[n-1])
		if loc == nil {
			ts.Fatalf("line %d of %s does not match %q", n, args[0], args[2])
		}
		line := lines[n-1]
		var repl []byte
		repl = re.Expand(repl, []byte(args[3]), line, loc)
		lines[n-1] = append(append(append([]byte(nil), line[:loc[0]]...), repl...), line[loc[1]:]...)
		writeLines(ts, args[0], lines)
	},
}

// allScriptCmds is every script command (testdata/script/README.md lists
// them). Each one edits a file or sets a variable, which cannot fail in a
// way a script would test, so `! cmd` is refused rather than silently
// meaning the same as `cmd`.
func allScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	all := maps.Clone(scriptCmds)
	maps.Copy(all, lintScriptCmds)
	maps.Copy(all, ckptScriptCmds)
	maps.Copy(all, drillScriptCmds)
	for name, cmd := range all {
		all[name] = func(ts *testscript.TestScript, neg bool, args []string) {
			if neg {
				ts.Fatalf("%s cannot be negated: it prepares a file or a variable and does not test anything", name)
			}
			cmd(ts, neg, args)
		}
	}
	return all
}

// TestScriptREADME holds testdata/script/README.md's table of commands to
// the commands the scripts have.
func TestScriptREADME(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "script", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9]+)[ `]").FindAllSubmatch(b, -1) {
		listed[string(m[1])] = true
	}
	cmds := allScriptCmds()
	for name := range cmds {
		if !listed[name] {
			t.Errorf("script command %s is not in testdata/script/README.md", name)
		}
	}
	for name := range listed {
		if cmds[name] == nil {
			t.Errorf("testdata/script/README.md lists %s, which is not a script command", name)
		}
	}
}
