// Command stock holds BRAIN's stock checks, one subcommand each, except
// jsonschema (../jsonschema). It is built for GOOS=wasip1 GOARCH=wasm into
// checks/stock.wasm and runs only inside the verifier's sandbox, where the
// artifact directory is mounted at /artifact. FILE arguments are relative to
// the artifact directory.
//
//	exists FILE               FILE exists, is a regular file and is not empty
//	match FILE REGEX          some line of FILE matches REGEX (Go RE2 syntax)
//	nomatch FILE REGEX        no line of FILE matches REGEX
//	json FILE                 FILE is one valid JSON value
//
// Exit status: 0 pass, 1 fail, 2 usage error; the reason is on stdout.
//
// Every run starts this program afresh, so it does no work at package init
// and links nothing it does not need: the regular expression is compiled
// only for match and nomatch.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/brain-dev/brain/checks/internal/checkmain"
)

func main() { checkmain.Run(run) }

// run runs the subcommand in args and reports whether the check passed.
func run(args []string) (bool, string, error) {
	want := map[string]int{"exists": 1, "match": 2, "nomatch": 2, "json": 1}
	if len(args) == 0 || want[args[0]] == 0 {
		return false, "", checkmain.Usagef("first argument must be one of exists, match, nomatch, json")
	}
	if err := checkmain.Args(args, want[args[0]]); err != nil {
		return false, "", err
	}
	file := args[1]
	switch args[0] {
	case "exists":
		return exists(file)
	case "json":
		if _, err := checkmain.ReadJSON(file); err != nil {
			return false, "", err
		}
		return true, file + " is valid JSON", nil
	}
	re, err := regexp.Compile(args[2])
	if err != nil {
		return false, "", checkmain.Usagef("bad regular expression: %v", err)
	}
	line, found, err := firstMatch(file, re)
	if err != nil {
		return false, "", err
	}
	if args[0] == "match" {
		if found {
			return true, fmt.Sprintf("%s matches %q", file, args[2]), nil
		}
		return false, fmt.Sprintf("%s does not match %q", file, args[2]), nil
	}
	if found {
		return false, fmt.Sprintf("%s:%d matches %q", file, line, args[2]), nil
	}
	return true, fmt.Sprintf("%s does not match %q", file, args[2]), nil
}

func exists(file string) (bool, string, error) {
	st, err := os.Stat(checkmain.Path(file))
	switch {
	case err != nil:
		return false, file + " does not exist", nil
	case !st.Mode().IsRegular():
		return false, file + " is not a regular file", nil
	case st.Size() == 0:
		return false, file + " is empty", nil
	}
	return true, fmt.Sprintf("%s exists (%d bytes)", file, st.Size()), nil
}

// firstMatch returns the number of the first line of file that re matches.
func firstMatch(file string, re *regexp.Regexp) (int, bool, error) {
	f, err := os.Open(checkmain.Path(file))
	if err != nil {
		return 0, false, fmt.Errorf("%s: %v", file, err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if re.Match(bytes.TrimSuffix(line, []byte("\n"))) {
			return n, true, nil
		}
		if err == io.EOF {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, fmt.Errorf("%s: %v", file, err)
		}
	}
}
