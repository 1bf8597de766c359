// Command jsonschema is BRAIN's stock check jsonschema, a program of its own
// because santhosh-tekuri/jsonschema compiles every draft's meta-schema at
// package init (about 120 ms in the sandbox), which the other stock checks
// (../stock) should not pay for. It is built for GOOS=wasip1 GOARCH=wasm into
// checks/jsonschema.wasm and runs only inside the verifier's sandbox, where
// the artifact directory is mounted at /artifact. Like stock, it takes the
// check's name as its first argument:
//
//	jsonschema FILE SCHEMA    FILE is JSON valid against SCHEMA, a file in the
//	                          artifact or inline JSON starting with "{"
//
// Exit status: 0 pass, 1 fail, 2 usage error; the reason is on stdout.
package main

import (
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/brain-dev/brain/checks/internal/checkmain"
)

func main() { checkmain.Run(run) }

// run runs the check in args and reports whether it passed.
func run(args []string) (bool, string, error) {
	if len(args) == 0 || args[0] != "jsonschema" {
		return false, "", checkmain.Usagef("first argument must be jsonschema")
	}
	if err := checkmain.Args(args, 2); err != nil {
		return false, "", err
	}
	file, schema := args[1], args[2]
	var doc any
	var err error
	if strings.HasPrefix(strings.TrimSpace(schema), "{") {
		doc, err = checkmain.UnmarshalJSON([]byte(schema))
		if err != nil {
			return false, "", checkmain.Usagef("inline schema: %v", err)
		}
	} else if doc, err = checkmain.ReadJSON(schema); err != nil {
		return false, "", checkmain.Usagef("schema %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		return false, "", checkmain.Usagef("schema: %v", err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		return false, "", checkmain.Usagef("schema: %v", err)
	}
	inst, err := checkmain.ReadJSON(file)
	if err != nil {
		return false, "", err
	}
	if err := sch.Validate(inst); err != nil {
		return false, file + " does not match the schema: " + err.Error(), nil
	}
	return true, file + " matches the schema", nil
}
