package checks

import (
	"bytes"
	"testing"
)

func TestLookup(t *testing.T) {
	for _, name := range Names() {
		wasm, args, ok := Lookup(Prefix + name)
		if !ok || len(wasm) == 0 || len(args) != 1 || args[0] != name {
			t.Errorf("Lookup(%q) = %d bytes, %q, %v; want a module and [%q]", Prefix+name, len(wasm), args, ok, name)
		}
		if want := name == "jsonschema"; bytes.Equal(wasm, jsonschemaWasm) != want {
			t.Errorf("Lookup(%q): jsonschema.wasm = %v, want %v", Prefix+name, !want, want)
		}
	}
	for _, m := range []string{"exists", "stock:", "stock:nope", "stock:stock"} {
		if _, _, ok := Lookup(m); ok {
			t.Errorf("Lookup(%q) found a check", m)
		}
	}
}

// TestStockWithoutJSONSchema guards the split: the jsonschema library
// initialises for about 120 ms on every run of a module that links it, so
// only jsonschema.wasm may.
func TestStockWithoutJSONSchema(t *testing.T) {
	const lib = "santhosh-tekuri/jsonschema"
	if bytes.Contains(stockWasm, []byte(lib)) {
		t.Errorf("stock.wasm links %s; jsonschema checks belong in jsonschema.wasm", lib)
	}
	if !bytes.Contains(jsonschemaWasm, []byte(lib)) {
		t.Errorf("jsonschema.wasm does not link %s: is the guard above still meaningful?", lib)
	}
}
