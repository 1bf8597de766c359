package brain_test

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/brain-dev/brain/internal/scenario"
)

// scriptCmds are test-only commands the scripts use to damage chains the way
// an attacker or a crash would, and to build replay cassettes.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// cassette: write cassette.jsonl, the replay cassette of the scenario in
	// the script's directory: goal.txt, replies/plan.yaml and
	// replies/TASK.txt, the workspace .brain (internal/scenario).
	"cassette": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 0 {
			ts.Fatalf("usage: cassette")
		}
		goal, err := scenario.ReadGoal(ts.MkAbs(scenario.GoalFile))
		ts.Check(err)
		b, err := scenario.BuildCassette(ts.MkAbs("."), goal, os.DirFS(ts.MkAbs("replies")), "", "", ".brain")
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(scenario.CassetteFile), b, 0o600))
	},
	// editline FILE N OLD NEW: replace OLD by NEW in line N (1-based).
	"editline": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 4 {
			ts.Fatalf("usage: editline FILE N OLD NEW")
		}
		lines := readLines(ts, args[0])
		n := atoi(ts, args[1])
		if !bytes.Contains(lines[n-1], []byte(args[2])) {
			ts.Fatalf("line %d of %s has no %q", n, args[0], args[2])
		}
		lines[n-1] = bytes.Replace(lines[n-1], []byte(args[2]), []byte(args[3]), 1)
		writeLines(ts, args[0], lines)
	},
	// crlf FILE N: end line N with CR LF.
	"crlf": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: crlf FILE N")
		}
		lines := readLines(ts, args[0])
		n := atoi(ts, args[1])
		lines[n-1] = append(bytes.TrimSuffix(lines[n-1], []byte("\n")), '\r')
		writeLines(ts, args[0], lines)
	},
	// dropline FILE N: delete line N.
	"dropline": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: dropline FILE N")
		}
		lines := readLines(ts, args[0])
		n := atoi(ts, args[1])
		writeLines(ts, args[0], append(lines[:n-1], lines[n:]...))
	},
	// swaplines FILE N M: exchange lines N and M.
	"swaplines": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: swaplines FILE N M")
		}
		lines := readLines(ts, args[0])
		n, m := atoi(ts, args[1]), atoi(ts, args[2])
		lines[n-1], lines[m-1] = lines[m-1], lines[n-1]
		writeLines(ts, args[0], lines)
	},
	// keeplines FILE N: keep the first N lines (a clean tail cut).
	"keeplines": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: keeplines FILE N")
		}
		lines := readLines(ts, args[0])
		writeLines(ts, args[0], lines[:atoi(ts, args[1])])
	},
	// tear FILE TEXT: append TEXT without a newline, as a crash mid-write leaves.
	"tear": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: tear FILE TEXT")
		}
		f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_WRONLY|os.O_APPEND, 0)
		ts.Check(err)
		_, err = f.WriteString(args[1])
		ts.Check(err)
		ts.Check(f.Close())
	},
	// headof FILE VAR: set VAR to SEQ:HASH of the last line of FILE.
	// mkfifo NAME...: make named pipes, the file a reader that does not
	// check would wait on forever.
	"mkfifo": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) == 0 {
			ts.Fatalf("usage: mkfifo NAME...")
		}
		for _, a := range args {
			ts.Check(syscall.Mkfifo(ts.MkAbs(a), 0o600))
		}
	},
	"headof": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: headof FILE VAR")
		}
		lines := readLines(ts, args[0])
		last := string(lines[len(lines)-1])
		seq := last[len(`{"seq":`):strings.Index(last, ",")]
		hash := last[len(last)-66 : len(last)-2]
		ts.Setenv(args[1], seq+":"+hash)
	},
}

func readLines(ts *testscript.TestScript, name string) [][]byte {
	b, err := os.ReadFile(ts.MkAbs(name))
	ts.Check(err)
	return bytes.SplitAfter(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func writeLines(ts *testscript.TestScript, name string, lines [][]byte) {
	var b []byte
	for _, l := range lines {
		b = append(b, bytes.TrimSuffix(l, []byte("\n"))...)
		b = append(b, '\n')
	}
	ts.Check(os.WriteFile(ts.MkAbs(name), b, 0o600))
}

func atoi(ts *testscript.TestScript, s string) int {
	n, err := strconv.Atoi(s)
	ts.Check(err)
	return n
}
