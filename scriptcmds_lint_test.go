package brain_test

import (
	"maps"
	"regexp"

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

// allScriptCmds is every script command.
func allScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	all := maps.Clone(scriptCmds)
	maps.Copy(all, lintScriptCmds)
	maps.Copy(all, ckptScriptCmds)
	maps.Copy(all, drillScriptCmds)
	return all
}
