package verifier

import "fmt"

// The bounds a module's declarations must keep before it is compiled: the
// implementation limits of the WebAssembly JavaScript API
// (https://webassembly.github.io/spec/js-api/#limits), which every browser
// enforces, so that no module written for the web is refused. wazero's own
// limits are far higher (2^27 functions, 2^32 locals) and let a small module
// declare structures that take gigabytes to build.
const (
	maxTypes         = 1_000_000
	maxFunctions     = 1_000_000
	maxImports       = 100_000
	maxExports       = 100_000
	maxGlobals       = 1_000_000
	maxDataSegments  = 100_000
	maxTables        = 100_000
	maxTableSize     = 10_000_000
	maxMemories      = 1
	maxParams        = 1_000
	maxResults       = 1_000
	maxFunctionBytes = 7_654_321
	maxLocals        = 50_000
)

// BoundError is a module declaration over one of the bounds checked before
// compiling.
type BoundError struct {
	What  string // what is counted, e.g. "functions" or "locals in function 3"
	Count uint64
	Limit uint64
}

func (e *BoundError) Error() string {
	return fmt.Sprintf("module declares %d %s, over the limit of %d", e.Count, e.What, e.Limit)
}

// MemoryLimitError is a module whose memory's declared minimum is over the
// check's memory limit: it could not be instantiated.
type MemoryLimitError struct {
	Declared, Limit uint32 // in 64 KiB pages
}

func (e *MemoryLimitError) Error() string {
	return fmt.Sprintf("module declares a memory of at least %d pages, over the limit of %d pages", e.Declared, e.Limit)
}

// staticBounds checks the counts and sizes that wasm declares against the
// bounds above, and its memory's declared minimum against memoryPages,
// reading only section headers, type entries, table and memory limits and
// function bodies' locals. It leaves a malformed module to wazero's
// validation: reads past the end give zeros.
func staticBounds(wasm []byte, memoryPages uint32) error {
	r := wasmReader{b: wasm[min(8, len(wasm)):]}
	over := func(what string, n, limit uint64) error {
		if n > limit {
			return &BoundError{what, n, limit}
		}
		return nil
	}
	for !r.done() {
		id, size := r.byte(), r.u32()
		sec := wasmReader{b: r.b[:min(int(size), len(r.b))]}
		r.skip(size)
		var err error
		switch id {
		case 1:
			err = typeBounds(&sec, over)
		case 2:
			err = over("imports", uint64(sec.u32()), maxImports)
		case 3:
			err = over("functions", uint64(sec.u32()), maxFunctions)
		case 4:
			n := sec.u32()
			if err = over("tables", uint64(n), maxTables); err != nil {
				break
			}
			for i := uint32(0); i < n && !sec.done(); i++ {
				sec.byte() // reftype
				min, _ := sec.limits()
				if err = over(fmt.Sprintf("elements in table %d", i), uint64(min), maxTableSize); err != nil {
					break
				}
			}
		case 5:
			n := sec.u32()
			if err = over("memories", uint64(n), maxMemories); err != nil || n == 0 {
				break
			}
			if min, _ := sec.limits(); min > memoryPages {
				err = &MemoryLimitError{Declared: min, Limit: memoryPages}
			}
		case 6:
			err = over("globals", uint64(sec.u32()), maxGlobals)
		case 7:
			err = over("exports", uint64(sec.u32()), maxExports)
		case 10:
			err = codeBounds(&sec, over)
		case 11:
			err = over("data segments", uint64(sec.u32()), maxDataSegments)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type overFunc func(what string, n, limit uint64) error

// typeBounds checks the type section r: the number of types and of each
// function type's parameters and results.
func typeBounds(r *wasmReader, over overFunc) error {
	n := r.u32()
	if err := over("types", uint64(n), maxTypes); err != nil {
		return err
	}
	for i := uint32(0); i < n && !r.done(); i++ {
		if r.byte() != 0x60 {
			return nil // not a function type: wazero refuses it
		}
		params := r.u32()
		if err := over(fmt.Sprintf("parameters in type %d", i), uint64(params), maxParams); err != nil {
			return err
		}
		r.skip(params)
		results := r.u32()
		if err := over(fmt.Sprintf("results in type %d", i), uint64(results), maxResults); err != nil {
			return err
		}
		r.skip(results)
	}
	return nil
}

// codeBounds checks the code section r: each function body's size and
// number of locals.
func codeBounds(r *wasmReader, over overFunc) error {
	n := r.u32()
	if err := over("function bodies", uint64(n), maxFunctions); err != nil {
		return err
	}
	for i := uint32(0); i < n && !r.done(); i++ {
		size := r.u32()
		if err := over(fmt.Sprintf("bytes in function body %d", i), uint64(size), maxFunctionBytes); err != nil {
			return err
		}
		body := wasmReader{b: r.b[:min(int(size), len(r.b))]}
		r.skip(size)
		var locals uint64
		for runs := body.u32(); runs > 0 && !body.done(); runs-- {
			locals += uint64(body.u32())
			body.byte() // the type
			if err := over(fmt.Sprintf("locals in function body %d", i), locals, maxLocals); err != nil {
				return err
			}
		}
	}
	return nil
}
