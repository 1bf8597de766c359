package brain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"os"

	"github.com/rogpeppe/go-internal/testscript"
)

// drillScriptCmds check what brain-drill writes, for the drill scripts.
var drillScriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// sha256 FILE VAR: set VAR to the hex SHA-256 of FILE.
	"sha256": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: sha256 FILE VAR")
		}
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		sum := sha256.Sum256(b)
		ts.Setenv(args[1], hex.EncodeToString(sum[:]))
	},
	// junit FILE: parse FILE as a JUnit report (failing if it does not
	// parse) and print its suite's counts and its cases' outcomes, counted
	// from the cases themselves: "tests N failures N errors N skipped N"
	// then "cases: passed N failure N error N skipped N".
	"junit": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: junit FILE")
		}
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		type problem struct {
			Message string `xml:"message,attr"`
		}
		var doc struct {
			XMLName  xml.Name `xml:"testsuites"`
			Tests    int      `xml:"tests,attr"`
			Failures int      `xml:"failures,attr"`
			Errors   int      `xml:"errors,attr"`
			Skipped  int      `xml:"skipped,attr"`
			Suites   []struct {
				Cases []struct {
					Failure *problem `xml:"failure"`
					Error   *problem `xml:"error"`
					Skipped *problem `xml:"skipped"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(b, &doc); err != nil {
			ts.Fatalf("%s is not a JUnit report: %v", args[0], err)
		}
		var pass, fail, errs, skip int
		for _, s := range doc.Suites {
			for _, c := range s.Cases {
				switch {
				case c.Failure != nil:
					fail++
				case c.Error != nil:
					errs++
				case c.Skipped != nil:
					skip++
				default:
					pass++
				}
			}
		}
		fmt.Fprintf(ts.Stdout(), "tests %d failures %d errors %d skipped %d\ncases: passed %d failure %d error %d skipped %d\n",
			doc.Tests, doc.Failures, doc.Errors, doc.Skipped, pass, fail, errs, skip)
	},
}
