package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// served is set once ServeSandbox has returned: this process is not a
// sandbox, and a Verifier may start it again as one.
var served atomic.Bool

// ServeSandbox makes this process a check sandbox if a Verifier started it
// as one: it serves the checks it is sent and exits, never returning.
// Otherwise it returns at once. A program that runs checks with the default
// Options.Sandbox calls it first thing in main (and a test binary in
// TestMain), before it does anything else.
func ServeSandbox() {
	v, ok := os.LookupEnv(sandboxEnv)
	if !ok {
		served.Store(true)
		return
	}
	if v != protocolVersion {
		fmt.Fprintf(os.Stderr, "brain check sandbox: error: protocol %q, this program speaks %q\n", v, protocolVersion)
		os.Exit(2)
	}
	in, out := os.NewFile(3, "request"), os.NewFile(4, "answer")
	if err := serveSandbox(in, out); err != nil {
		fmt.Fprintf(os.Stderr, "brain check sandbox: error: %v\n", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// serveSandbox serves the checks of one module: it reads a request from in,
// runs it and writes the answer to out, until in ends or a check leaves the
// sandbox unfit for another. The first request carries the module, which is
// compiled once; later ones carry none and run the same module again, each
// in an instance of its own.
func serveSandbox(in io.Reader, out io.Writer) error {
	var current atomic.Pointer[answer]
	var guest atomic.Int64 // the guests' linear memory made writable
	ctx := context.Background()
	var comp *compiled
	var after uint64 // the runtime's memory once the module was compiled
	for first := true; ; first = false {
		tag, b, err := readFrame(in, maxJSONFrame)
		if err == io.EOF && comp != nil {
			return nil // the parent is done with this sandbox
		}
		if err != nil || tag != tagRequest {
			return fmt.Errorf("reading the request: tag %q: %v", tag, err)
		}
		var req request
		if err := json.Unmarshal(b, &req); err != nil {
			return fmt.Errorf("reading the request: %w", err)
		}
		// The parent sent at most MaxModuleBytes; the memory limit bounds this.
		tag, wasm, err := readFrame(in, 1<<32)
		if err != nil || tag != tagModule || (comp == nil) != (len(wasm) > 0) {
			return fmt.Errorf("reading the module: tag %q, %d bytes: %v", tag, len(wasm), err)
		}
		deadline := time.Now().Add(req.Timeout)
		if first {
			// The sandbox serves one memory limit: the first request's.
			limit := sandboxMemory(req.MemoryPages) - watchMargin
			// Keep the Go heap well under it, so that the collector works
			// harder before the watch gives up.
			debug.SetMemoryLimit(int64(limit / 4 * 3))
			go watchMemory(&current, &guest, limit)
		}
		a := newAnswer(out, req.MaxOutputBytes)
		current.Store(a)
		var rep report
		if comp == nil {
			if comp, rep = prepare(ctx, req, wasm, a); comp != nil {
				after = runtimeMemory()
			}
		}
		if comp != nil {
			rep = runInstance(ctx, req, comp, deadline, a, &guest)
			// Serve another check only as this one found the sandbox:
			// a verdict must not depend on what ran before it.
			rep.Reusable = runtimeMemory() <= after+reuseSlack
		}
		if err := a.give(rep); err != nil || !rep.Reusable {
			return err
		}
	}
}

// reuseSlack is how much more memory than right after compiling the Go
// runtime may have mapped after a check for its sandbox to serve another.
const reuseSlack = 16 << 20

// The sandbox watches its memory every memoryPoll and gives up, with a
// memory_limit verdict, watchMargin short of the kernel's limit; the
// margin is for what it does not count: compiled code being written,
// threads' stacks.
const (
	watchMargin = 128 << 20
	memoryPoll  = 5 * time.Millisecond
)

// runtimeMemory is the memory the Go runtime has mapped, released pages
// included: what the kernel counts toward RLIMIT_DATA.
func runtimeMemory() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// watchMemory gives the current check a memory_limit verdict and ends the
// sandbox when the memory the Go runtime has mapped and the guests' linear
// memory pass limit together. Polling is enough, since growing the Go heap
// takes many allocations and a guest's memory grows within its own limit;
// an allocation that jumps past the kernel's limit at once gets the
// runtime's own "out of memory" crash. Reaching the kernel's limit in
// smaller steps would be no safer: it can crash the runtime in the middle
// of a garbage collection, with a nil dereference that does not say why.
func watchMemory(current *atomic.Pointer[answer], guest *atomic.Int64, limit uint64) {
	for range time.Tick(memoryPoll) {
		rt, g := runtimeMemory(), uint64(guest.Load())
		if rt+g > limit {
			err := fmt.Errorf("the sandbox's memory reached %d MiB (its runtime %d MiB, the guest's %d MiB), over the %d MiB it may use", (rt+g)>>20, rt>>20, g>>20, limit>>20)
			if a := current.Load(); a == nil || a.give(report{Verdict: Error, Class: ClassMemoryLimit, Error: err.Error()}) == nil {
				os.Exit(0)
			}
			os.Exit(2)
		}
	}
}

// answer is the sandbox's answer to its parent about one check: the
// compiled mark, then one report with the check's output. The first report
// given is the answer; later ones are dropped.
type answer struct {
	mu             sync.Mutex
	w              io.Writer
	given          bool
	stdout, stderr *cappedWriter
}

func newAnswer(w io.Writer, maxOutput int64) *answer {
	return &answer{w: w, stdout: &cappedWriter{max: maxOutput}, stderr: &cappedWriter{max: maxOutput}}
}

// compiled tells the parent that the module is compiled.
func (a *answer) compiled() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.given {
		writeFrame(a.w, tagCompiled, nil) // a failed write fails the report too
	}
}

// give writes rep, with the output captured so far, unless a report was
// given already.
func (a *answer) give(rep report) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.given {
		return nil
	}
	a.given = true
	rep.PeakRSS = selfPeakRSS()
	j, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	out, _ := a.stdout.captured()
	errOut, _ := a.stderr.captured()
	for _, f := range []struct {
		tag byte
		b   []byte
	}{{tagReport, j}, {tagStdout, out}, {tagStderr, errOut}} {
		if err := writeFrame(a.w, f.tag, f.b); err != nil {
			return err
		}
	}
	return nil
}

// runCheck runs the check req of module wasm, in this process, until
// deadline, and classifies how it ended. The module's output goes to a's
// writers, and a is told when the module is compiled.
func runCheck(req request, wasm []byte, deadline time.Time, a *answer) report {
	ctx := context.Background()
	comp, rep := prepare(ctx, req, wasm, a)
	if comp == nil {
		return rep
	}
	defer comp.Close(ctx)
	var guest atomic.Int64
	return runInstance(ctx, req, comp, deadline, a, &guest)
}

// prepare checks wasm's declarations, compiles it and checks that it is a
// WASI command with allowed imports. It returns the compiled module, or nil
// and the verdict that refuses it.
func prepare(ctx context.Context, req request, wasm []byte, a *answer) (*compiled, report) {
	fail := func(class Class, err error) (*compiled, report) {
		return nil, report{Verdict: Error, Class: class, Error: firstLine(err.Error())}
	}
	var mle *MemoryLimitError
	switch err := staticBounds(wasm, req.MemoryPages); {
	case errors.As(err, &mle):
		return fail(ClassMemoryLimit, err)
	case err != nil:
		return fail(ClassInvalidModule, err)
	}
	comp, err := compile(ctx, req.CacheDir, wasm, req.MemoryPages)
	var enomem *outOfMemoryError
	switch {
	case errors.As(err, &enomem):
		return fail(ClassMemoryLimit, err)
	case err != nil:
		return fail(ClassInvalidModule, err)
	}
	a.compiled()
	if err := checkImports(comp.cm, wasm); err != nil {
		comp.Close(ctx)
		return fail(ClassForbiddenImport, err)
	}
	if _, ok := comp.cm.ExportedFunctions()["_start"]; !ok {
		comp.Close(ctx)
		return fail(ClassInvalidModule, errors.New("module exports no _start function: not a WASI command"))
	}
	return comp, report{}
}

// runInstance runs req in a new instance of comp's module until deadline,
// closes the instance and classifies how it ended. guest counts the bytes of
// linear memory the instance has made writable.
func runInstance(ctx context.Context, req request, comp *compiled, deadline time.Time, a *answer, guest *atomic.Int64) (rep report) {
	stdout, stderr := a.stdout, a.stderr
	fail := func(class Class, err error) report {
		return report{Verdict: Error, Class: class, Error: firstLine(err.Error())}
	}
	root, err := os.OpenRoot(req.ArtifactDir)
	if err != nil {
		return fail(ClassInvalidModule, fmt.Errorf("opening artifact directory: %w", err))
	}
	defer root.Close()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	runCtx, stop := context.WithDeadlineCause(runCtx, deadline, errTimeout)
	defer stop()
	stdout.cancel, stderr.cancel = cancel, cancel

	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{req.Name}, req.Args...)...).
		WithStdin(strings.NewReader("")).
		WithStdout(stdout).
		WithStderr(stderr).
		WithFSConfig(wazero.NewFSConfig().WithFSMount(root.FS(), GuestArtifactDir)).
		WithStartFunctions() // _start is called below, so memory stays inspectable after a trap
	var refused atomic.Bool // the kernel refused the guest's linear memory
	mod, err := instantiate(experimental.WithMemoryAllocator(runCtx, memoryAllocator(&refused, guest)), comp.rt, comp.cm, cfg, &refused)
	if err == nil {
		defer mod.Close(ctx)
		_, err = mod.ExportedFunction("_start").Call(runCtx)
	}
	_, outOver := stdout.captured()
	_, errOver := stderr.captured()
	var exit *sys.ExitError
	var enomem *outOfMemoryError
	switch {
	case outOver || errOver:
		return fail(ClassOutputLimit, fmt.Errorf("output over the limit of %d bytes", req.MaxOutputBytes))
	case errors.Is(context.Cause(runCtx), errTimeout):
		return fail(ClassTimeout, fmt.Errorf("no verdict within %v", req.Timeout))
	case errors.As(err, &enomem):
		return fail(ClassMemoryLimit, err)
	case err == nil || errors.As(err, &exit):
		code := uint32(0)
		if exit != nil {
			code = exit.ExitCode()
		}
		rep.ExitCode = &code
		rep.Verdict = Pass
		if code != 0 {
			rep.Verdict = Fail
		}
		return rep
	case mod != nil && atMemoryLimit(mod.Memory(), req.MemoryPages):
		return fail(ClassMemoryLimit, fmt.Errorf("memory at its limit of %d pages: %w", req.MemoryPages, err))
	case refused.Load():
		return fail(ClassMemoryLimit, fmt.Errorf("the sandbox refused memory.grow, out of memory: %w", err))
	}
	return fail(ClassTrap, err)
}

// instantiate instantiates cm in rt. When the kernel refuses the module's
// minimum memory (refused is set), wazero panics; that is an
// *outOfMemoryError.
func instantiate(ctx context.Context, rt wazero.Runtime, cm wazero.CompiledModule, cfg wazero.ModuleConfig, refused *atomic.Bool) (mod api.Module, err error) {
	defer func() {
		if p := recover(); p != nil {
			if !refused.Load() {
				panic(p)
			}
			mod, err = nil, &outOfMemoryError{fmt.Errorf("allocating the module's memory: %v", p)}
		}
	}()
	return rt.InstantiateModule(ctx, cm, cfg)
}

// atMemoryLimit reports whether mem has grown to within one sixteenth of
// limit pages, where a guest's next allocation is likely to fail.
func atMemoryLimit(mem api.Memory, limit uint32) bool {
	if mem == nil {
		return false
	}
	pages := uint64(mem.Size()) / 65536
	return pages+uint64(limit)/16 >= uint64(limit)
}

// compiled is a runtime with the WASI host module and a check's module
// compiled in it.
type compiled struct {
	rt    wazero.Runtime
	cache wazero.CompilationCache
	cm    wazero.CompiledModule
}

// Close releases c's runtime and cache.
func (c *compiled) Close(ctx context.Context) {
	c.rt.Close(ctx)
	c.cache.Close(ctx)
}

// compile returns wasm compiled under a memory limit of pages, through the
// compilation cache in cacheDir. A cache entry that cannot be loaded is
// deleted and the module compiled afresh.
func compile(ctx context.Context, cacheDir string, wasm []byte, pages uint32) (*compiled, error) {
	c, err := compileWith(ctx, cacheDir, wasm, pages)
	var enomem *outOfMemoryError
	if err != nil && !errors.As(err, &enomem) {
		// The entry may be corrupted or truncated: drop it and compile again.
		// An invalid module fails again, at the cost of a second decode.
		if rmErr := os.RemoveAll(cacheDir); rmErr != nil {
			return nil, fmt.Errorf("removing invalid cache entry: %w", rmErr)
		}
		c, err = compileWith(ctx, cacheDir, wasm, pages)
	}
	return c, err
}

func compileWith(ctx context.Context, cacheDir string, wasm []byte, pages uint32) (c *compiled, err error) {
	// wazero panics when the kernel refuses memory for compiled code.
	defer func() {
		if p := recover(); p != nil {
			perr, ok := p.(error)
			if !ok || !errors.Is(perr, syscall.ENOMEM) {
				panic(p)
			}
			c, err = nil, &outOfMemoryError{perr}
		}
	}()
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return nil, fmt.Errorf("opening compilation cache: %w", err)
	}
	cfg := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(pages).
		WithCompilationCache(cache)
	c = &compiled{rt: wazero.NewRuntimeWithConfig(ctx, cfg), cache: cache}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, c.rt); err != nil {
		c.Close(ctx)
		return nil, fmt.Errorf("instantiating wasi: %w", err)
	}
	if c.cm, err = c.rt.CompileModule(ctx, wasm); err != nil {
		c.Close(ctx)
		return nil, err
	}
	return c, nil
}

// outOfMemoryError is a refusal of memory by the kernel, under the sandbox's
// limit.
type outOfMemoryError struct{ err error }

func (e *outOfMemoryError) Error() string {
	return fmt.Sprintf("the sandbox ran out of memory: %v", e.err)
}

func (e *outOfMemoryError) Unwrap() error { return e.err }
