package verifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/tetratelabs/wazero"

	"github.com/brain-dev/brain/internal/fsutil"
)

// wasiModule is the only module a check may import from.
const wasiModule = "wasi_snapshot_preview1"

// allowedWASI reports whether a check may import the WASI preview 1 function
// name: all of wazero's implementation except the sock_* functions, since a
// check has no network.
func allowedWASI(name string) bool {
	switch name {
	case "args_get", "args_sizes_get",
		"clock_res_get", "clock_time_get",
		"environ_get", "environ_sizes_get",
		"fd_advise", "fd_allocate", "fd_close", "fd_datasync",
		"fd_fdstat_get", "fd_fdstat_set_flags", "fd_fdstat_set_rights",
		"fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times",
		"fd_pread", "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite",
		"fd_read", "fd_readdir", "fd_renumber", "fd_seek", "fd_sync", "fd_tell", "fd_write",
		"path_create_directory", "path_filestat_get", "path_filestat_set_times",
		"path_link", "path_open", "path_readlink", "path_remove_directory",
		"path_rename", "path_symlink", "path_unlink_file",
		"poll_oneoff", "proc_exit", "proc_raise", "random_get", "sched_yield":
		return true
	}
	return false
}

// ForbiddenImportError names the first import of a module outside the
// allow-list.
type ForbiddenImportError struct {
	Module, Name string
	Kind         string // "function", "memory", "table" or "global"
}

func (e *ForbiddenImportError) Error() string {
	return fmt.Sprintf("forbidden import %q.%q (%s)", e.Module, e.Name, e.Kind)
}

// checkImports returns a *ForbiddenImportError for the first import, in
// (module, name) order, that is not an allowed WASI function. Imported
// memories, tables and globals are never allowed. Requires wasm to be the
// module cm was compiled from, so that it is known to be well formed.
func checkImports(cm wazero.CompiledModule, wasm []byte) error {
	var bad []*ForbiddenImportError
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod != wasiModule || !allowedWASI(name) {
			bad = append(bad, &ForbiddenImportError{Module: mod, Name: name, Kind: "function"})
		}
	}
	for _, m := range cm.ImportedMemories() {
		mod, name, _ := m.Import()
		bad = append(bad, &ForbiddenImportError{Module: mod, Name: name, Kind: "memory"})
	}
	bad = append(bad, tableAndGlobalImports(wasm)...)
	if len(bad) == 0 {
		return nil
	}
	sort.Slice(bad, func(i, j int) bool {
		if bad[i].Module != bad[j].Module {
			return bad[i].Module < bad[j].Module
		}
		return bad[i].Name < bad[j].Name
	})
	return bad[0]
}

// tableAndGlobalImports returns the table and global imports of wasm, which
// wazero's CompiledModule does not list. It reads only the import section
// and stops at the first malformed byte, since wazero has validated wasm.
func tableAndGlobalImports(wasm []byte) []*ForbiddenImportError {
	r := wasmReader{b: wasm[min(8, len(wasm)):]}
	for !r.done() {
		id, size := r.byte(), r.u32()
		if id != 2 {
			r.skip(size)
			continue
		}
		var found []*ForbiddenImportError
		for n := r.u32(); n > 0 && !r.done(); n-- {
			mod, name, kind := r.name(), r.name(), r.byte()
			switch kind {
			case 0: // function: type index
				r.u32()
			case 1: // table: reftype, limits
				r.byte()
				r.limits()
				found = append(found, &ForbiddenImportError{Module: mod, Name: name, Kind: "table"})
			case 2: // memory: limits
				r.limits()
			case 3: // global: valtype, mutability
				r.byte()
				r.byte()
				found = append(found, &ForbiddenImportError{Module: mod, Name: name, Kind: "global"})
			default:
				return found
			}
		}
		return found
	}
	return nil
}

// wasmReader decodes the WebAssembly binary format; reads past the end
// return zero values and leave it done.
type wasmReader struct{ b []byte }

func (r *wasmReader) done() bool { return len(r.b) == 0 }

func (r *wasmReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *wasmReader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35 && !r.done(); shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			break
		}
	}
	return v
}

func (r *wasmReader) skip(n uint32) { r.b = r.b[min(int(n), len(r.b)):] }

func (r *wasmReader) name() string {
	n := min(int(r.u32()), len(r.b))
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// limits reads a table's or memory's limits and returns their minimum and
// maximum (0 when absent).
func (r *wasmReader) limits() (min, max uint32) {
	hasMax := r.byte()&1 != 0
	min = r.u32()
	if hasMax {
		max = r.u32()
	}
	return min, max
}

// cappedWriter keeps the first max bytes written to it. A write past max
// marks it overflowed, cancels the check and fails, so a flooding module is
// stopped at once.
type cappedWriter struct {
	mu       sync.Mutex
	max      int64
	buf      []byte
	overflow bool
	cancel   context.CancelCauseFunc
}

var errOutputLimit = errors.New("verifier: output limit reached")

func (w *cappedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	room := w.max - int64(len(w.buf))
	if int64(len(p)) <= room {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	w.buf = append(w.buf, p[:max(room, 0)]...)
	w.overflow = true
	if w.cancel != nil {
		w.cancel(errOutputLimit)
	}
	return int(max(room, 0)), errOutputLimit
}

// captured returns the bytes kept and whether more were written.
func (w *cappedWriter) captured() ([]byte, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf, w.overflow
}

// OpenModuleFile opens the check module file at path for reading. It never
// follows a symbolic link at path, never blocks (a named pipe with no writer
// would block an open for reading forever) and accepts only a regular file
// (fsutil.OpenFile with NoFollow): a *fsutil.SymlinkError or a
// *fsutil.NotRegularError says what else is there.
func OpenModuleFile(path string) (*os.File, error) {
	return fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0)
}

// readModuleFile reads the module file at path (OpenModuleFile), failing
// when it is longer than max bytes without reading more than max+1 of them.
func readModuleFile(path string, max int64) ([]byte, error) {
	f, err := OpenModuleFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("module is over the size limit of %d bytes", max)
	}
	return b, nil
}
