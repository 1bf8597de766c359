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
