package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// benchCheck measures one verdict of c. Cold: a new Verifier over an empty
// cache directory, so a new sandbox compiles the module. Warm: a new
// Verifier over a cache directory that already holds the compiled module,
// as a second brain-run process sees it: a new sandbox loads it. Hot: one
// Verifier reused, as for the checks of one brain-run command: its sandbox
// serves the next check of the module. In-process: the warm check run by
// the sandbox's own code in this process, as the verifier ran a module's
// first check before it had sandbox processes: warm minus in-process is
// what starting a sandbox adds. Each reports the sandbox's peak resident
// memory, peak-MiB.
func benchCheck(b *testing.B, c Check) {
	dir := b.TempDir()
	writeFiles(b, dir, map[string]string{"out.txt": "hello\n", "out.json": `{"a": 1}`})
	ctx := context.Background()
	var mu sync.Mutex
	var peak int64
	run := func(b *testing.B, v *Verifier) {
		v.sandboxEnded = func(_ Check, e SandboxExit) {
			mu.Lock()
			defer mu.Unlock()
			peak = max(peak, e.Peak())
		}
		res, err := v.Run(ctx, dir, []Check{c})
		if err != nil {
			b.Fatal(err)
		}
		if res[0].Verdict != Pass {
			b.Fatalf("verdict %+v", res[0])
		}
	}
	// fresh runs c in a new Verifier over cache.
	fresh := func(b *testing.B, cache string) {
		v, err := New(Options{CacheDir: cache})
		if err != nil {
			b.Fatal(err)
		}
		run(b, v)
		v.Close(ctx)
	}
	reportPeak := func(b *testing.B) {
		b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		peak = 0
	}
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			cache := filepath.Join(b.TempDir(), "cache")
			b.StartTimer()
			fresh(b, cache)
		}
		reportPeak(b)
	})
	cache := filepath.Join(b.TempDir(), "cache")
	fresh(b, cache)
	peak = 0
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			fresh(b, cache)
		}
		reportPeak(b)
	})
	b.Run("hot", func(b *testing.B) {
		v := newVerifier(b, Options{CacheDir: cache})
		run(b, v)
		for b.Loop() {
			run(b, v)
		}
		reportPeak(b)
	})
	b.Run("in-process", func(b *testing.B) {
		lim := c.Limits.Or(DefaultLimits())
		sum := sha256.Sum256(c.Wasm)
		req := request{Name: c.Name, Args: c.Args, ArtifactDir: dir, CacheDir: filepath.Join(cache, hex.EncodeToString(sum[:])),
			Timeout: lim.Timeout, MemoryPages: lim.MemoryPages, MaxOutputBytes: lim.MaxOutputBytes}
		for b.Loop() {
			a := &answer{w: io.Discard, stdout: &cappedWriter{max: lim.MaxOutputBytes}, stderr: &cappedWriter{max: lim.MaxOutputBytes}}
			if rep := runCheck(req, c.Wasm, time.Now().Add(lim.Timeout), a); rep.Verdict != Pass {
				b.Fatalf("verdict %+v", rep)
			}
		}
	})
}

// BenchmarkVerdictSmall is a small hand-written check (a raw module).
func BenchmarkVerdictSmall(b *testing.B) {
	benchCheck(b, Check{Name: "benign", Wasm: hostile(b, "benign.wasm")})
}

// BenchmarkVerdictStockExists is the Go-built stock check "exists".
func BenchmarkVerdictStockExists(b *testing.B) {
	benchCheck(b, stock(b, "exists", "out.txt"))
}

// BenchmarkVerdictStockJSONSchema is the stock check "jsonschema", a Go-built
// module of its own whose library initialises for about 120 ms on every run.
func BenchmarkVerdictStockJSONSchema(b *testing.B) {
	benchCheck(b, stock(b, "jsonschema", "out.json", `{"type": "object"}`))
}

// BenchmarkHostileSuite runs the whole raw hostile suite plus the attacker's
// file and environment attacks in one Run, as CI would, on a warm cache.
func BenchmarkHostileSuite(b *testing.B) {
	dir := b.TempDir()
	writeFiles(b, dir, map[string]string{"result.txt": "x"})
	cache := filepath.Join(b.TempDir(), "cache")
	var cs []Check
	for _, f := range []string{"benign.wasm", "loop.wasm", "grow.wasm", "hugemem.wasm", "recurse.wasm", "recurse_fat.wasm",
		"flood.wasm", "unreachable.wasm", "import_func.wasm", "import_memory.wasm", "exit_255.wasm",
		"exit_2147483648.wasm", "exit_minus1.wasm", "malformed.wasm", "oversized.wasm"} {
		c := Check{Name: f, Wasm: hostile(b, f)}
		switch f {
		case "loop.wasm":
			c.Limits.Timeout = 500e6
		case "grow.wasm":
			c.Limits.MemoryPages = 256
		case "oversized.wasm":
			c.Limits.MaxModuleBytes = 1 << 10
		}
		cs = append(cs, c)
	}
	attacker := hostile(b, "attacker.wasm")
	for _, a := range [][]string{{"read-abs"}, {"read-dotdot"}, {"read-symlink", "x"}, {"write"}, {"env", "HOME"}} {
		cs = append(cs, Check{Name: "attacker", Wasm: attacker, Args: a})
	}
	ctx := context.Background()
	for b.Loop() {
		v, err := New(Options{CacheDir: cache})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Run(ctx, dir, cs); err != nil {
			b.Fatal(err)
		}
		v.Close(ctx)
	}
}
