// Package verifier runs BRAIN's acceptance checks: WebAssembly (WASI preview 1)
// command modules, each run in a wazero sandbox against an artifact directory,
// one verdict per check.
//
// A check sees only the artifact directory, mounted read-only at GuestArtifactDir
// through an os.Root (so symbolic links cannot lead out of it), its own
// arguments, wazero's fake clock and deterministic random source, and capped
// stdout and stderr. It gets no host environment, no network and no other
// file.
//
// Each check is validated, compiled and run in a child process, the
// sandbox: the program itself started again, which must call ServeSandbox
// first thing in main. A sandbox serves checks of one module, each in a new
// instance. Its memory is bounded by rlimits set before it is given the
// module, and it is killed when a check's time is up or the caller's
// context ends. docs/verifier.md describes the sandbox, the limits and the
// verdicts.
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
	"sync"
	"time"
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
	ClassTimeout         Class = "timeout"          // the wall-time limit ran out, compiling included
	ClassMemoryLimit     Class = "memory_limit"     // the module needed more memory than its limit
	ClassTrap            Class = "trap"             // a WebAssembly trap (unreachable, stack overflow, ...)
	ClassInvalidModule   Class = "invalid_module"   // not a loadable WASI command, or over the size limit
	ClassForbiddenImport Class = "forbidden_import" // the module imports something outside the allow-list
	ClassOutputLimit     Class = "output_limit"     // stdout or stderr went over its cap
	ClassCanceled        Class = "canceled"         // the caller's context ended before the check did
	ClassSandboxDied     Class = "sandbox_died"     // the sandbox process ended without a verdict, for another reason
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
	// 0700 and is never visible to a check. Empty means a private
	// directory of the Verifier's own, removed by Close.
	CacheDir string
	// Concurrency bounds how many checks run at once; 0 means GOMAXPROCS.
	Concurrency int
	// Defaults are the limits of a check that does not override them; zero
	// fields take DefaultLimits.
	Defaults Limits
	// Sandbox is the command (program and arguments) started for each
	// check, which must call ServeSandbox. Nil means this program itself,
	// which then must have called ServeSandbox before New.
	Sandbox []string
}

// Verifier runs checks. It is safe for concurrent use; Close releases it.
type Verifier struct {
	cacheDir string
	ownCache bool // cacheDir is the Verifier's own, removed by Close
	defaults Limits
	sandbox  []string
	self     bool // sandbox is this program
	sem      chan struct{}
	// inFlight, when set (by tests), is called with +1 when a check starts
	// running and -1 when it ends.
	inFlight func(delta int)
	// sandboxStarted and sandboxEnded, when set (by tests), are called
	// when a check's sandbox process has started, under its limits, and
	// with how it ended.
	sandboxStarted func(c Check)
	sandboxEnded   func(c Check, e SandboxExit)

	mu      sync.Mutex
	gates   map[[32]byte]*compileGate
	idle    []*worker // sandboxes waiting for another check, oldest first
	maxIdle int
}

// compileGate lets one check at a time compile a module the Verifier has
// not seen compiled yet, so that the checks after it load the compiled
// module from the cache instead of compiling it too.
type compileGate struct {
	turn     chan struct{} // holds a token while a check may compile
	compiled bool          // a sandbox has compiled the module; guarded by turn
}

// New returns a Verifier. Unless opts.Sandbox is set, the program must have
// called ServeSandbox.
func New(opts Options) (*Verifier, error) {
	v := &Verifier{cacheDir: opts.CacheDir, sandbox: opts.Sandbox, gates: make(map[[32]byte]*compileGate)}
	if v.sandbox == nil {
		if !served.Load() {
			return nil, errors.New("verifier: the program did not call verifier.ServeSandbox, so it cannot serve as the check sandbox")
		}
		v.sandbox, v.self = []string{selfExecutable()}, true
	}
	if v.cacheDir == "" {
		dir, err := os.MkdirTemp("", "brain-wasm-cache-")
		if err != nil {
			return nil, fmt.Errorf("verifier: creating a cache: %w", err)
		}
		v.cacheDir, v.ownCache = dir, true
	}
	if err := os.MkdirAll(v.cacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("verifier: creating cache: %w", err)
	}
	if err := os.Chmod(v.cacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("verifier: securing cache: %w", err)
	}
	n := opts.Concurrency
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	v.defaults = opts.Defaults.Or(DefaultLimits())
	v.sem = make(chan struct{}, n)
	v.maxIdle = 2 * n
	return v, nil
}

// selfExecutable is the path that starts this program again: the kernel's
// link to the running executable where there is one, so that the sandbox is
// this very program even if its file has been replaced since it started.
func selfExecutable() string {
	const self = "/proc/self/exe"
	if _, err := os.Stat(self); err == nil {
		return self
	}
	if p, err := os.Executable(); err == nil {
		return p
	}
	return os.Args[0]
}

// Close releases the Verifier: the sandboxes waiting for another check are
// ended, and a cache directory of its own is removed. Requires no Run in
// progress.
func (v *Verifier) Close(ctx context.Context) error {
	v.mu.Lock()
	idle := v.idle
	v.idle = nil
	v.mu.Unlock()
	for _, w := range idle {
		w.kill()
	}
	if v.ownCache {
		return os.RemoveAll(v.cacheDir)
	}
	return nil
}

// Run runs checks against artifactDir, at most Options.Concurrency at a time,
// and returns one Result per check in the order given. It returns an error
// only when artifactDir cannot be opened or ctx ends; a check's own failure
// is its Result. When ctx ends, the sandboxes still running are killed at
// once and their checks' verdicts are canceled.
func (v *Verifier) Run(ctx context.Context, artifactDir string, checks []Check) ([]Result, error) {
	st, err := os.Stat(artifactDir)
	if err != nil {
		return nil, fmt.Errorf("verifier: artifact directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("verifier: artifact directory: %s is not a directory", artifactDir)
	}
	// The sandbox may start in another directory.
	if artifactDir, err = filepath.Abs(artifactDir); err != nil {
		return nil, fmt.Errorf("verifier: artifact directory: %w", err)
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

// runOne runs a single check in a sandbox process and returns its verdict.
func (v *Verifier) runOne(ctx context.Context, artifactDir string, c Check) (res Result) {
	lim := c.Limits.Or(v.defaults)
	res = Result{Check: c.Name, Args: nonNil(c.Args), Verdict: Error}
	var stdout, stderr []byte
	start := time.Now()
	defer func() {
		res.DurationNS = time.Since(start).Nanoseconds()
		res.Stdout, res.StdoutSHA256 = string(stdout), hashHex(stdout)
		res.Stderr, res.StderrSHA256 = string(stderr), hashHex(stderr)
	}()

	wasm, err := loadModule(c, lim.MaxModuleBytes)
	if err != nil {
		res.Class, res.Error = ClassInvalidModule, err.Error()
		return res
	}
	sum := sha256.Sum256(wasm)
	res.ModuleSHA256 = hex.EncodeToString(sum[:])

	done, err := v.compileTurn(ctx, sum)
	if err != nil {
		res.Class, res.Error = ClassCanceled, context.Cause(ctx).Error()
		return res
	}
	start = time.Now() // the time limit starts with the sandbox
	req := request{
		Name:           c.Name,
		Args:           res.Args,
		ArtifactDir:    artifactDir,
		CacheDir:       filepath.Join(v.cacheDir, res.ModuleSHA256),
		Timeout:        lim.Timeout,
		MemoryPages:    lim.MemoryPages,
		MaxOutputBytes: lim.MaxOutputBytes,
	}
	exit := v.runSandbox(ctx, c, req, wasm, start.Add(lim.Timeout), done)
	done(false)
	if v.sandboxEnded != nil {
		v.sandboxEnded(c, exit)
	}
	if r := exit.report; r != nil {
		res.Verdict, res.Class, res.ExitCode, res.Error = r.Verdict, r.Class, r.ExitCode, r.Error
		stdout, stderr = r.stdout, r.stderr
		return res
	}
	res.Class, res.Error = exit.classify(ctx, lim)
	return res
}

// compileTurn waits until the check of the module whose SHA-256 is sum may
// start: at once when the module has been compiled by an earlier check of
// v, else when no other check of v is compiling it. The returned done must
// be called when the check's sandbox has compiled the module (true) and
// when it has ended (false); only the first call counts.
func (v *Verifier) compileTurn(ctx context.Context, sum [32]byte) (done func(compiled bool), err error) {
	v.mu.Lock()
	g, ok := v.gates[sum]
	if !ok {
		g = &compileGate{turn: make(chan struct{}, 1)}
		v.gates[sum] = g
	}
	v.mu.Unlock()
	select {
	case g.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if g.compiled {
		<-g.turn
		return func(bool) {}, nil
	}
	var once sync.Once
	return func(compiled bool) {
		once.Do(func() {
			g.compiled = compiled
			<-g.turn
		})
	}, nil
}

// loadModule returns the check's bytes, reading at most max+1 bytes of its
// file.
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
