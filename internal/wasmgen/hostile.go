package wasmgen

import "bytes"

// OversizedPadding is the size of the custom section that makes the
// "oversized" module larger than the limit its test sets.
const OversizedPadding = 300 << 10

// Hostile returns the raw-WebAssembly part of BRAIN's hostile module suite,
// keyed by file name (testdata/hostile/NAME). Each is a WASI command exporting
// _start; the attacks that need a real guest language live in the Go attacker
// program instead.
func Hostile() map[string][]byte {
	void := FuncType{}
	i32 := FuncType{Params: []byte{I32}}
	fdWrite := FuncType{Params: []byte{I32, I32, I32, I32}, Results: []byte{I32}}
	mem := &Limits{Min: 1}
	start := func(idx uint32) []Export {
		return []Export{{Name: "_start", Kind: 0, Index: idx}, {Name: "memory", Kind: 2, Index: 0}}
	}
	command := func(body ...byte) []byte {
		m := Module{Types: []FuncType{void}, Funcs: []Func{{Type: 0, Body: body}}, Memory: mem, Exports: start(0)}
		return m.Encode()
	}
	exit := func(code int32) []byte {
		body := append(S32([]byte{OpI32Const}, code), OpCall, 0, OpEnd)
		m := Module{
			Types:   []FuncType{void, i32},
			Imports: []Import{{Module: "wasi_snapshot_preview1", Name: "proc_exit", Type: 1}},
			Funcs:   []Func{{Type: 0, Body: body}},
			Memory:  mem,
			Exports: start(1),
		}
		return m.Encode()
	}

	out := map[string][]byte{
		// A check that does nothing and returns: it passes.
		"benign.wasm": command(OpEnd),
		// An infinite loop: only the wall-time limit stops it.
		"loop.wasm": command(OpLoop, BlockVoid, OpBr, 0, OpEnd, OpEnd),
		// Grows memory one page at a time until memory.grow fails, then traps,
		// as a language runtime that ran out of memory would.
		"grow.wasm": command(
			OpLoop, BlockVoid,
			OpI32Const, 1, OpMemoryGrow, 0x00,
			OpI32Const, 0x7f, // -1
			OpI32Ne, OpBrIf, 0,
			OpEnd,
			OpUnreachable, OpEnd),
		// Traps at once.
		"unreachable.wasm": command(OpUnreachable, OpEnd),
		// Exits through WASI with codes that do not fit a shell's byte.
		"exit_255.wasm":        exit(255),
		"exit_2147483648.wasm": exit(-1 << 31),
		"exit_minus1.wasm":     exit(-1),
		// Not a module: a valid header followed by a truncated type section.
		"malformed.wasm": {0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00, 0x01, 0x64, 0x01, 0x60},
	}

	// Declares a 4 GiB memory (65536 pages) as its minimum.
	huge := Module{Types: []FuncType{void}, Funcs: []Func{{Body: []byte{OpEnd}}}, Memory: &Limits{Min: 65536}, Exports: start(0)}
	out["hugemem.wasm"] = huge.Encode()

	// Calls itself without end. recurse_fat.wasm does the same with 1000 i64
	// locals per frame, so each frame costs the host more.
	for file, locals := range map[string][]Local{"recurse.wasm": nil, "recurse_fat.wasm": {{Count: 50000, Type: I64}}} {
		m := Module{
			Types:   []FuncType{void},
			Funcs:   []Func{{Body: []byte{OpCall, 1, OpEnd}}, {Locals: locals, Body: []byte{OpCall, 1, OpEnd}}},
			Memory:  mem,
			Exports: start(0),
		}
		out[file] = m.Encode()
	}

	// Writes 4 KiB to stdout in a loop and ignores every error.
	iov := []byte{16, 0, 0, 0, 0x00, 0x10, 0, 0} // {buf: 16, len: 4096}
	flood := Module{
		Types:   []FuncType{void, fdWrite},
		Imports: []Import{{Module: "wasi_snapshot_preview1", Name: "fd_write", Type: 1}},
		Funcs: []Func{{Type: 0, Body: []byte{
			OpLoop, BlockVoid,
			OpI32Const, 1, OpI32Const, 0, OpI32Const, 1, OpI32Const, 8, OpCall, 0, OpDrop,
			OpBr, 0,
			OpEnd, OpEnd}}},
		Memory:  mem,
		Exports: start(1),
		Data:    []Data{{Offset: 0, Bytes: iov}, {Offset: 16, Bytes: bytes.Repeat([]byte{'A'}, 4096)}},
	}
	out["flood.wasm"] = flood.Encode()

	// Imports a host function the sandbox does not provide.
	evil := Module{
		Types:   []FuncType{void},
		Imports: []Import{{Module: "env", Name: "evil", Type: 0}},
		Funcs:   []Func{{Type: 0, Body: []byte{OpCall, 0, OpEnd}}},
		Memory:  mem,
		Exports: start(1),
	}
	out["import_func.wasm"] = evil.Encode()

	// Imports its memory from the host instead of declaring it.
	memImport := Module{
		Types:   []FuncType{void},
		Imports: []Import{{Module: "env", Name: "memory", Kind: 2, Mem: Limits{Min: 1}}},
		Funcs:   []Func{{Type: 0, Body: []byte{OpEnd}}},
		Exports: []Export{{Name: "_start", Kind: 0, Index: 0}},
	}
	out["import_memory.wasm"] = memImport.Encode()

	// A benign module padded with a custom section, for the module-size limit.
	big := Module{
		Types:   []FuncType{void},
		Funcs:   []Func{{Body: []byte{OpEnd}}},
		Memory:  mem,
		Exports: start(0),
		Customs: []Custom{{Name: "padding", Payload: make([]byte, OversizedPadding)}},
	}
	out["oversized.wasm"] = big.Encode()
	return out
}

// Bomb is a module that attacks the sandbox's resource limits rather than its
// walls: it makes the host compile, allocate or run without end. Bombs are
// generated when a test needs them, not committed: some are megabytes.
type Bomb struct {
	// Name says what the module does.
	Name string
	// Module returns the module's bytes, built on each call.
	Module func() []byte
}

// Bombs returns the resource bombs of BRAIN's hostile suite, one per class:
// each takes an unbounded host seconds to minutes, or gigabytes, to compile,
// instantiate or run (measured numbers are in docs/verifier.md).
func Bombs() []Bomb {
	void := FuncType{}
	start := []Export{{Name: "_start", Kind: 0, Index: 0}, {Name: "memory", Kind: 2, Index: 0}}
	spin := []byte{OpLoop, BlockVoid, OpBr, 0, OpEnd}
	// command is a WASI command of one page of memory whose _start is f.
	command := func(f Func, more ...Func) Module {
		return Module{Types: []FuncType{void}, Funcs: append([]Func{f}, more...), Memory: &Limits{Min: 1}, Exports: start}
	}
	// growTable is the body of a function that grows table 0 of type typ by
	// delta entries and leaves table.grow's result on the stack.
	growTable := func(typ byte, delta int32) []byte {
		b := append(S32([]byte{OpRefNull, typ, OpI32Const}, delta), OpPrefixFC)
		return append(U32(b, FCTableGrow), 0)
	}
	withTable := func(m Module, t Table) Module {
		m.Tables = []Table{t}
		return m
	}
	return []Bomb{
		// table.grow by 300 million entries at once, then a spin: 2.4 GB
		// of references if the grow succeeds.
		{"table_grow_funcref", func() []byte {
			body := append(append(growTable(FuncRef, 300_000_000), OpDrop), spin...)
			m := withTable(command(Func{Body: append(body, OpEnd)}), Table{Type: FuncRef})
			return m.Encode()
		}},
		{"table_grow_externref", func() []byte {
			body := append(append(growTable(ExternRef, 300_000_000), OpDrop), spin...)
			m := withTable(command(Func{Body: append(body, OpEnd)}), Table{Type: ExternRef})
			return m.Encode()
		}},
		// table.grow by 1<<20 entries at a time for as long as it succeeds,
		// then a spin: a bound on one grow is not enough.
		{"table_grow_loop", func() []byte {
			body := append([]byte{OpLoop, BlockVoid}, growTable(FuncRef, 1<<20)...)
			body = append(body, OpI32Const, 0x7f, OpI32Ne, OpBrIf, 0, OpEnd)
			m := withTable(command(Func{Body: append(append(body, spin...), OpEnd)}), Table{Type: FuncRef})
			return m.Encode()
		}},
		// A table whose declared minimum is 100 million entries.
		{"table_huge_min", func() []byte {
			m := withTable(command(Func{Body: []byte{OpEnd}}), Table{Type: FuncRef, Limits: Limits{Min: 100_000_000}})
			return m.Encode()
		}},
		// An element segment of 8 million entries into a table of that size.
		{"big_elem", func() []byte {
			const n = 8_000_000
			m := withTable(command(Func{Body: []byte{OpEnd}}), Table{Type: FuncRef, Limits: Limits{Min: n}})
			m.Elems = []Elem{{Funcs: make([]uint32, n)}}
			return m.Encode()
		}},
		// Memory grown one page at a time to its limit, each new page
		// filled, then a spin: the guest holds all the memory it may have
		// for as long as it may run.
		{"memory_spin", func() []byte {
			body := []byte{OpBlock, BlockVoid, OpLoop, BlockVoid,
				OpI32Const, 1, OpMemoryGrow, 0x00, OpLocalTee, 0,
				OpI32Const, 0x7f, OpI32Eq, OpBrIf, 1, // -1: at the limit
				OpLocalGet, 0, OpI32Const, 16, OpI32Shl, // the new page's address
				OpI32Const, 1, OpI32Const}
			body = append(S32(body, 65536), OpPrefixFC, byte(FCMemoryFill), 0x00, OpBr, 0, OpEnd, OpEnd)
			m := command(Func{Locals: []Local{{Count: 1, Type: I32}}, Body: append(append(body, spin...), OpEnd)})
			return m.Encode()
		}},
		// 60,000 nested blocks in one function (180 KB).
		{"nested_blocks", func() []byte { return NestedBlocks(60_000) }},
		// Three straight-line functions of 7 MB (a million additions)
		// each, just under the size a browser accepts for one function.
		{"straight_line", func() []byte {
			body := bytes.Repeat([]byte{OpLocalGet, 0, OpI32Const, 1, OpI32Add, OpLocalSet, 0}, 1_000_000)
			f := Func{Locals: []Local{{Count: 1, Type: I32}}, Body: append(body, OpEnd)}
			m := command(f, f, f)
			return m.Encode()
		}},
		// 20 br_tables of 20,000 targets each into 100 nested blocks (400
		// KB): every target is an edge of the compiler's control-flow graph.
		{"br_table_wide", func() []byte {
			const depth, width, tables = 100, 20_000, 20
			body := bytes.Repeat([]byte{OpBlock, BlockVoid}, depth)
			for t := range tables {
				// Each br_table in a block of its own, so that the next
				// is reachable; label 0 is that block.
				body = append(body, OpBlock, BlockVoid, OpI32Const, byte(t), OpLocalSet, 0, OpLocalGet, 0, OpBrTable)
				body = U32(body, width)
				for i := range width {
					body = U32(body, uint32(1+(i+t)%depth))
				}
				body = append(U32(body, 0), OpEnd)
			}
			m := command(Func{Locals: []Local{{Count: 1, Type: I32}}, Body: append(body, bytes.Repeat([]byte{OpEnd}, depth+1)...)})
			return m.Encode()
		}},
		// A million functions that do nothing, as many as a browser accepts.
		{"many_funcs", func() []byte {
			fs := make([]Func, 1_000_000)
			for i := range fs {
				fs[i] = Func{Body: []byte{OpEnd}}
			}
			m := command(fs[0], fs[1:]...)
			return m.Encode()
		}},
		// One-byte data segments, one more than a browser accepts.
		{"many_data", func() []byte {
			m := command(Func{Body: []byte{OpEnd}})
			m.Data = make([]Data, 100_001)
			for i := range m.Data {
				m.Data[i] = Data{Offset: int32(i % 65536), Bytes: []byte{1}}
			}
			return m.Encode()
		}},
		// Globals, one more than a browser accepts.
		{"many_globals", func() []byte {
			m := command(Func{Body: []byte{OpEnd}})
			m.Globals = make([]Global, 1_000_001)
			for i := range m.Globals {
				m.Globals[i] = Global{Type: I32, Init: []byte{OpI32Const, 0}}
			}
			return m.Encode()
		}},
		// A function with 50 million i64 locals that reads the last one: a
		// thousand times what a browser accepts.
		{"huge_locals", func() []byte {
			const n = 50_000_000
			body := append(U32([]byte{OpLocalGet}, n-1), OpDrop, OpEnd)
			m := command(Func{Locals: []Local{{Count: n, Type: I64}}, Body: body})
			return m.Encode()
		}},
	}
}

// NestedBlocks returns a WASI command whose _start is depth nested empty
// blocks (3 bytes each): the compiler's time grows with the square of the
// depth, from seconds for 60,000 to minutes for 200,000.
func NestedBlocks(depth int) []byte {
	body := bytes.Repeat([]byte{OpBlock, BlockVoid}, depth)
	m := Module{
		Types:   []FuncType{{}},
		Funcs:   []Func{{Body: append(body, bytes.Repeat([]byte{OpEnd}, depth+1)...)}},
		Memory:  &Limits{Min: 1},
		Exports: []Export{{Name: "_start", Kind: 0, Index: 0}, {Name: "memory", Kind: 2, Index: 0}},
	}
	return m.Encode()
}
