package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// TestScriptCopy checks that the testscript that builds and runs this
// example holds an exact copy of main.go.
func TestScriptCopy(t *testing.T) {
	ar, err := txtar.ParseFile("../../testdata/script/run_check_example.txtar")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		if f.Name == "main.go" {
			if string(f.Data) != string(want) {
				t.Fatal("main.go in run_check_example.txtar differs from examples/check-go/main.go; copy it over")
			}
			return
		}
	}
	t.Fatal("run_check_example.txtar has no main.go")
}
