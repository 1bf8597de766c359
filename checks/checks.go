// Package checks embeds BRAIN's stock checks, built for GOOS=wasip1
// GOARCH=wasm so that they run through the verifier's sandbox like any
// user's check: ./stock into stock.wasm (exists, match, nomatch, json) and
// ./jsonschema into jsonschema.wasm, a module of its own because its library
// costs every run about 120 ms of initialisation. "go generate ./checks"
// rebuilds both reproducibly and records the Go version that built each in
// its .wasm.goversion file.
package checks

import (
	_ "embed"
	"strings"
)

//go:generate go run gen.go

var (
	//go:embed stock.wasm
	stockWasm []byte
	//go:embed jsonschema.wasm
	jsonschemaWasm []byte
)

// Prefix marks a stock check in tasks.yaml and on the command line.
const Prefix = "stock:"

// Programs lists the directories of the stock check programs; each builds
// into the module DIR.wasm next to it.
func Programs() []string { return []string{"stock", "jsonschema"} }

// Names lists the stock checks; "stock:NAME" runs its module with NAME as
// its first argument.
func Names() []string {
	return []string{"exists", "match", "nomatch", "json", "jsonschema"}
}

// Lookup returns the module and the leading arguments of the stock check
// named module (e.g. "stock:exists"), and whether there is one. The returned
// bytes must not be modified.
func Lookup(module string) (wasm []byte, args []string, ok bool) {
	name, found := strings.CutPrefix(module, Prefix)
	if !found {
		return nil, nil, false
	}
	switch name {
	case "exists", "match", "nomatch", "json":
		return stockWasm, []string{name}, true
	case "jsonschema":
		return jsonschemaWasm, []string{name}, true
	}
	return nil, nil, false
}
