// Package verifier runs BRAIN's acceptance checks: WebAssembly (WASI preview 1)
// command modules, each run in a wazero sandbox against an artifact directory,
// one verdict per check.
//
// A check sees only the artifact directory, mounted read-only at GuestArtifactDir
// through an os.Root (so symbolic links cannot lead out of it), its own
// arguments, wazero's fake clock and deterministic random source, and capped
// stdout and stderr. It gets no host environment, no network and no other
// file. docs/verifier.md describes the sandbox, the limits and the verdicts.
package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// GuestArtifactDir is where a check finds the artifact directory.
const GuestArtifactDir = "/artifact"

// Verdict is a check's outcome.
type Verdict string

// The three verdicts.
const (
	Pass  Verdict = "pass"  // the module exited with code 0
	Fail  Verdict = "fail"  // the module exited with a non-zero code
	Error Verdict = "error" // the module could not run to an exit; Class says why
)

// Class says why a check's verdict is Error.
type Class string

// The error classes. docs/verifier.md says which attack leads to which.
const (
	ClassTimeout         Class = "timeout"          // the wall-time limit ran out
	ClassMemoryLimit     Class = "memory_limit"     // the module needed more memory than its limit
	ClassTrap            Class = "trap"             // a WebAssembly trap (unreachable, stack overflow, ...)
	ClassInvalidModule   Class = "invalid_module"   // not a loadable WASI command, or over the size limit
	ClassForbiddenImport Class = "forbidden_import" // the module imports something outside the allow-list
	ClassOutputLimit     Class = "output_limit"     // stdout or stderr went over its cap
	ClassCanceled        Class = "canceled"         // the caller's context ended before the check did
)

// Check is one check to run: a module with its arguments and limits.
type Check struct {
	// Name identifies the check in results, e.g. "stock:exists" or a path.
	Name string
	// Wasm is the module's bytes. When nil, the module is read from Path.
	Wasm []byte
	// Path is the module's file, read when Wasm is nil. It must be a
	// regular file, named directly: a symbolic link, a named pipe or a
	// device is refused (OpenModuleFile).
	Path string
	// Args are the arguments after the program name (argv[1:]).
	Args []string
	// Limits override the verifier's defaults field by field; zero fields
	// keep the default.
	Limits Limits
}

// Result is one check's verdict with what the audit log and the
// verifier.run_checks span record about it. It is also the JSON verdict line
// that "brain-run check" prints.
//
// Stdout and Stderr are the captured bytes (at most the output limit each);
// the SHA-256 fields hash exactly those bytes, while the JSON strings replace
// invalid UTF-8.
type Result struct {
	Check        string   `json:"check"`
	Args         []string `json:"args"`
	ModuleSHA256 string   `json:"module_sha256"`
	Verdict      Verdict  `json:"verdict"`
	Class        Class    `json:"class,omitempty"`
	ExitCode     *uint32  `json:"exit_code,omitempty"`
	Error        string   `json:"error,omitempty"`
	DurationNS   int64    `json:"duration_ns"`
	StdoutSHA256 string   `json:"stdout_sha256"`
	StderrSHA256 string   `json:"stderr_sha256"`
	Stdout       string   `json:"stdout"`
	Stderr       string   `json:"stderr"`
}

// Options configure a Verifier.
type Options struct {
	// CacheDir holds compiled modules between runs. It is created with mode
	// 0700 and is never visible to a check. Empty means an in-memory cache.
	CacheDir string
	// Concurrency bounds how many checks run at once; 0 means GOMAXPROCS.
	Concurrency int
	// Defaults are the limits of a check that does not override them; zero
	// fields take DefaultLimits.
	Defaults Limits
}

// Verifier runs checks. It is safe for concurrent use; Close releases it.
type Verifier struct {
	cacheDir string
	defaults Limits
	sem      chan struct{}
	// inFlight, when set (by tests), is called with +1 when a check starts
	// running and -1 when it ends.
	inFlight func(delta int)

	mu       sync.Mutex
	runtimes map[runtimeKey]*sandboxRuntime
}

// runtimeKey names a runtime: one per module and memory limit, so that a
// module's compiled code has a cache directory of its own.
type runtimeKey struct {
	sum   [32]byte
	pages uint32
}

// sandboxRuntime is a wazero runtime with the WASI host module and one
// compiled check module.
type sandboxRuntime struct {
	mu       sync.Mutex
	rt       wazero.Runtime
	compiled wazero.CompiledModule
}

// New returns a Verifier.
func New(opts Options) (*Verifier, error) {
	if opts.CacheDir != "" {
		if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("verifier: creating cache: %w", err)
		}
		if err := os.Chmod(opts.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("verifier: securing cache: %w", err)
		}
	}
	n := opts.Concurrency
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Verifier{
		cacheDir: opts.CacheDir,
		defaults: opts.Defaults.Or(DefaultLimits()),
		sem:      make(chan struct{}, n),
		runtimes: make(map[runtimeKey]*sandboxRuntime),
	}, nil
}

// Close releases the runtimes and their compiled modules.
func (v *Verifier) Close(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var errs []error
	for k, r := range v.runtimes {
		if r.rt != nil {
			errs = append(errs, r.rt.Close(ctx))
		}
		delete(v.runtimes, k)
	}
	return errors.Join(errs...)
}

// Run runs checks against artifactDir, at most Options.Concurrency at a time,
// and returns one Result per check in the order given. It returns an error
// only when artifactDir cannot be opened or ctx ends; a check's own failure
// is its Result.
func (v *Verifier) Run(ctx context.Context, artifactDir string, checks []Check) ([]Result, error) {
	st, err := os.Stat(artifactDir)
	if err != nil {
		return nil, fmt.Errorf("verifier: artifact directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("verifier: artifact directory: %s is not a directory", artifactDir)
	}
	results := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		select {
		case v.sem <- struct{}{}:
		case <-ctx.Done():
			results[i] = canceled(c, ctx)
			continue
		}
		wg.Go(func() {
			defer func() { <-v.sem }()
			if v.inFlight != nil {
				v.inFlight(+1)
				defer v.inFlight(-1)
			}
			results[i] = v.runOne(ctx, artifactDir, c)
		})
	}
	wg.Wait()
	return results, ctx.Err()
}

func canceled(c Check, ctx context.Context) Result {
	return Result{Check: c.Name, Args: nonNil(c.Args), Verdict: Error, Class: ClassCanceled,
		Error: context.Cause(ctx).Error(), StdoutSHA256: hashHex(nil), StderrSHA256: hashHex(nil)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// runOne runs a single check and classifies how it ended.
func (v *Verifier) runOne(ctx context.Context, artifactDir string, c Check) (res Result) {
	start := time.Now()
	lim := c.Limits.Or(v.defaults)
	res = Result{Check: c.Name, Args: nonNil(c.Args)}
	stdout, stderr := &cappedWriter{max: lim.MaxOutputBytes}, &cappedWriter{max: lim.MaxOutputBytes}
	defer func() {
		res.DurationNS = time.Since(start).Nanoseconds()
		out, _ := stdout.captured()
		errOut, _ := stderr.captured()
		res.Stdout, res.StdoutSHA256 = string(out), hashHex(out)
		res.Stderr, res.StderrSHA256 = string(errOut), hashHex(errOut)
	}()
	fail := func(class Class, err error) Result {
		res.Verdict, res.Class, res.Error = Error, class, firstLine(err.Error())
		return res
	}

	wasm, err := loadModule(c, lim.MaxModuleBytes)
	if err != nil {
		return fail(ClassInvalidModule, err)
	}
	sum := sha256.Sum256(wasm)
	res.ModuleSHA256 = hex.EncodeToString(sum[:])

	sr, err := v.compile(ctx, sum, wasm, lim.MemoryPages)
	if err != nil {
		if strings.Contains(err.Error(), "over limit of") {
			return fail(ClassMemoryLimit, err)
		}
		return fail(ClassInvalidModule, err)
	}
	compiled := sr.compiled
	if err := checkImports(compiled, wasm); err != nil {
		return fail(ClassForbiddenImport, err)
	}
	if _, ok := compiled.ExportedFunctions()["_start"]; !ok {
		return fail(ClassInvalidModule, errors.New("module exports no _start function: not a WASI command"))
	}

	root, err := os.OpenRoot(artifactDir)
	if err != nil {
		return fail(ClassInvalidModule, fmt.Errorf("opening artifact directory: %w", err))
	}
	defer root.Close()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	runCtx, stop := context.WithTimeoutCause(runCtx, lim.Timeout, errTimeout)
	defer stop()
	stdout.cancel, stderr.cancel = cancel, cancel

	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(append([]string{c.Name}, c.Args...)...).
		WithStdin(strings.NewReader("")).
		WithStdout(stdout).
		WithStderr(stderr).
		WithFSConfig(wazero.NewFSConfig().WithFSMount(root.FS(), GuestArtifactDir)).
		WithStartFunctions() // _start is called below, so memory stays inspectable after a trap
	mod, err := sr.rt.InstantiateModule(runCtx, compiled, cfg)
	if err == nil {
		defer mod.Close(context.WithoutCancel(ctx))
		_, err = mod.ExportedFunction("_start").Call(runCtx)
	}
	_, outOver := stdout.captured()
	_, errOver := stderr.captured()
	switch {
	case outOver || errOver:
		return fail(ClassOutputLimit, fmt.Errorf("output over the limit of %d bytes", lim.MaxOutputBytes))
	case errors.Is(context.Cause(runCtx), errTimeout):
		return fail(ClassTimeout, fmt.Errorf("no verdict within %v", lim.Timeout))
	case ctx.Err() != nil:
		return fail(ClassCanceled, context.Cause(ctx))
	}
	var exit *sys.ExitError
	if err == nil || errors.As(err, &exit) {
		code := uint32(0)
		if exit != nil {
			code = exit.ExitCode()
		}
		res.ExitCode = &code
		res.Verdict = Pass
		if code != 0 {
			res.Verdict = Fail
		}
		return res
	}
	if mod != nil && atMemoryLimit(mod.Memory(), lim.MemoryPages) {
		return fail(ClassMemoryLimit, fmt.Errorf("memory at its limit of %d pages: %w", lim.MemoryPages, err))
	}
	return fail(ClassTrap, err)
}

var errTimeout = errors.New("verifier: check timed out")

// atMemoryLimit reports whether mem has grown to within one sixteenth of
// limit pages, where a guest's next allocation is likely to fail.
func atMemoryLimit(mem api.Memory, limit uint32) bool {
	if mem == nil {
		return false
	}
	pages := uint64(mem.Size()) / 65536
	return pages+uint64(limit)/16 >= uint64(limit)
}

// compile returns a runtime holding the compiled module for wasm, whose
// SHA-256 is sum, under a memory limit of pages. The first call per module and
// limit compiles it or loads it from the cache directory; a cache entry that
// cannot be loaded is deleted and the module compiled afresh.
func (v *Verifier) compile(ctx context.Context, sum [32]byte, wasm []byte, pages uint32) (*sandboxRuntime, error) {
	v.mu.Lock()
	key := runtimeKey{sum, pages}
	r, ok := v.runtimes[key]
	if !ok {
		r = &sandboxRuntime{}
		v.runtimes[key] = r
	}
	v.mu.Unlock()

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.compiled != nil {
		return r, nil
	}
	err := r.init(ctx, v.moduleCacheDir(sum), wasm, pages)
	if err != nil && v.cacheDir != "" {
		// The entry may be corrupted or truncated: drop it and compile again.
		// An invalid module fails again, at the cost of a second decode.
		if rmErr := os.RemoveAll(v.moduleCacheDir(sum)); rmErr != nil {
			return nil, fmt.Errorf("removing invalid cache entry: %w", rmErr)
		}
		err = r.init(ctx, v.moduleCacheDir(sum), wasm, pages)
	}
	return r, err
}

// moduleCacheDir is the cache directory of the module whose SHA-256 is sum,
// or "" when the verifier has no cache directory.
func (v *Verifier) moduleCacheDir(sum [32]byte) string {
	if v.cacheDir == "" {
		return ""
	}
	return filepath.Join(v.cacheDir, hex.EncodeToString(sum[:]))
}

// init creates r's runtime and compiles wasm in it. Requires r.mu held.
func (r *sandboxRuntime) init(ctx context.Context, cacheDir string, wasm []byte, pages uint32) error {
	if r.rt != nil {
		r.rt.Close(ctx)
		r.rt = nil
	}
	cfg := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(pages)
	if cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return fmt.Errorf("opening compilation cache: %w", err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return fmt.Errorf("instantiating wasi: %w", err)
	}
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return err
	}
	r.rt, r.compiled = rt, cm
	return nil
}

// loadModule returns the check's bytes, reading at most max+1 bytes of its file.
func loadModule(c Check, max int64) ([]byte, error) {
	wasm := c.Wasm
	if wasm == nil {
		var err error
		if wasm, err = readModuleFile(c.Path, max); err != nil {
			return nil, err
		}
	}
	if int64(len(wasm)) > max {
		return nil, fmt.Errorf("module is over the size limit of %d bytes", max)
	}
	return wasm, nil
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// firstLine drops wazero's stack trace from an error message.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
