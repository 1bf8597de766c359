package verifier

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/internal/wasmgen"
)

// printfFrame returns the printf(1) format that writes one frame of the
// sandbox protocol: tag, length, payload (which must hold no % or \).
func printfFrame(tag byte, payload string) string {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(payload)))
	var b strings.Builder
	b.WriteByte(tag)
	for _, c := range n {
		fmt.Fprintf(&b, `\%03o`, c)
	}
	b.WriteString(payload)
	return b.String()
}

// TestSandboxEnds: a sandbox process that ends without a whole, consistent
// answer gives an error verdict, never a pass — whether it exits at once,
// dies of a signal, crashes out of memory, sends a frame larger than the
// parent accepts, forges a verdict that contradicts itself or stops in the
// middle of its answer — and one that never answers is killed at the
// deadline, with a timeout that says whether it had compiled the module.
// Each sandbox here is a real process, a shell script speaking the
// protocol (or not).
func TestSandboxEnds(t *testing.T) {
	// readRequest waits for the request's first frame header, which the
	// parent writes once the sandbox's limits are set.
	const readRequest = "head -c 9 <&3 >/dev/null; "
	printf := func(frames ...string) string { return "printf '" + strings.Join(frames, "") + "' >&4; " }
	forgedPass := printfFrame(tagReport, `{"verdict":"pass","exit_code":3}`) + printfFrame(tagStdout, "") + printfFrame(tagStderr, "")
	truncated := printfFrame(tagReport, `{"verdict":"pass","exit_code":0}`) + printfFrame(tagStdout, "ok")[:12]
	for _, tt := range []struct {
		name   string
		script string
		want   Class
		msg    string // a substring of Result.Error
		killed bool
	}{
		{name: "exits at once", script: "exit 0",
			want: ClassSandboxDied, msg: "the sandbox process ended without a verdict (exit status 0)"},
		{name: "dies of a signal", script: readRequest + "kill -SEGV $$",
			want: ClassSandboxDied, msg: "without a verdict (signal: segmentation fault)"},
		{name: "crashes out of memory", script: readRequest + "echo 'fatal error: out of memory' >&2; exit 2",
			want: ClassMemoryLimit, msg: "the sandbox ran out of its 448 MiB of memory"},
		{name: "frame over the limit", script: readRequest + printf(`R\377\377\377\377\377\377\377\177`) + "exec sleep 600",
			want: ClassSandboxDied, msg: "without a verdict (signal: killed)"},
		{name: "forged verdict", script: readRequest + printf(forgedPass),
			want: ClassSandboxDied, msg: "without a verdict"},
		{name: "truncated answer", script: readRequest + printf(truncated),
			want: ClassSandboxDied, msg: "without a verdict"},
		{name: "limits set before the request", script: readRequest + `echo "data $(ulimit -d) files $(ulimit -n) core $(ulimit -c)" >&2`,
			want: ClassSandboxDied, msg: "data 458752 files 1024 core 0"},
		{name: "never answers", script: "exec sleep 600",
			want: ClassTimeout, msg: "no verdict within 300ms: the module was still compiling", killed: true},
		{name: "compiled, then never answers", script: readRequest + printf(printfFrame(tagCompiled, "")) + "exec sleep 600",
			want: ClassTimeout, msg: "no verdict within 300ms", killed: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, Options{Sandbox: []string{"/bin/sh", "-c", tt.script}, Defaults: Limits{Timeout: 300 * time.Millisecond}})
			exits := recordExits(v)
			got := runOne(t, v, t.TempDir(), Check{Name: "c", Wasm: hostile(t, "benign.wasm")})
			if got.Verdict != Error || got.Class != tt.want || !strings.Contains(got.Error, tt.msg) {
				t.Errorf("verdict %s %s %q; want %s saying %q", got.Verdict, got.Class, got.Error, tt.want, tt.msg)
			}
			if exit := exits.of(t, "c"); exit.Killed != tt.killed {
				t.Errorf("killed = %v, want %v", exit.Killed, tt.killed)
			}
		})
	}
}

// TestSandboxCanceled: when the caller's context ends, a sandbox still
// compiling is killed at once, well before its deadline, and its check is
// canceled.
func TestSandboxCanceled(t *testing.T) {
	v := newVerifier(t, Options{Sandbox: []string{"/bin/sh", "-c", "exec sleep 600"}, Defaults: Limits{Timeout: 10 * time.Minute}})
	exits := recordExits(v)
	ctx, cancel := context.WithCancelCause(context.Background())
	v.sandboxStarted = func(Check) { cancel(fmt.Errorf("interrupted")) }
	res, err := v.Run(ctx, t.TempDir(), []Check{{Name: "c", Wasm: hostile(t, "benign.wasm")}})
	if err == nil {
		t.Error("Run returned no error for a canceled context")
	}
	if got := res[0]; got.Verdict != Error || got.Class != ClassCanceled || got.Error != "interrupted" {
		t.Errorf("verdict %s %s %q; want canceled with the context's cause", got.Verdict, got.Class, got.Error)
	}
	if exit := exits.of(t, "c"); !exit.Killed {
		t.Error("the sandbox was not killed")
	}
}

// TestPrivateCache: a Verifier without a cache directory compiles into one
// of its own, mode 0700, which Close removes.
func TestPrivateCache(t *testing.T) {
	v, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := runOne(t, v, t.TempDir(), Check{Name: "benign", Wasm: hostile(t, "benign.wasm")}); got.Verdict != Pass {
		t.Fatalf("%+v, want a pass", got)
	}
	st, err := os.Stat(v.cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("cache mode %v, want 0700", st.Mode().Perm())
	}
	entries, _ := filepath.Glob(filepath.Join(v.cacheDir, "*"))
	if len(entries) == 0 {
		t.Error("nothing compiled into the private cache")
	}
	if err := v.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(v.cacheDir); !os.IsNotExist(err) {
		t.Errorf("the private cache is still there after Close: %v", err)
	}
}

// counter is a WASI command that adds one to a mutable global and to the
// i32 at address 0 of its memory, then exits with their sum: 2 in a fresh
// instance, more if an instance's state outlived it.
func counter() []byte {
	const (
		global = 0
		addr   = 0
	)
	body := []byte{
		wasmgen.OpGlobalGet, global, wasmgen.OpI32Const, 1, wasmgen.OpI32Add, wasmgen.OpGlobalSet, global,
		wasmgen.OpI32Const, addr, wasmgen.OpI32Const, addr, wasmgen.OpI32Load, 2, 0, wasmgen.OpI32Const, 1, wasmgen.OpI32Add, wasmgen.OpI32Store, 2, 0,
		wasmgen.OpGlobalGet, global, wasmgen.OpI32Const, addr, wasmgen.OpI32Load, 2, 0, wasmgen.OpI32Add,
		wasmgen.OpCall, 0, wasmgen.OpEnd,
	}
	m := wasmgen.Module{
		Types:   []wasmgen.FuncType{{}, {Params: []byte{wasmgen.I32}}},
		Imports: []wasmgen.Import{{Module: "wasi_snapshot_preview1", Name: "proc_exit", Type: 1}},
		Funcs:   []wasmgen.Func{{Type: 0, Body: body}},
		Memory:  &wasmgen.Limits{Min: 1},
		Globals: []wasmgen.Global{{Type: wasmgen.I32, Mutable: true, Init: []byte{wasmgen.OpI32Const, 0}}},
		Exports: []wasmgen.Export{{Name: "_start", Kind: 0, Index: 1}, {Name: "memory", Kind: 2, Index: 0}},
	}
	return m.Encode()
}

// TestSandboxReused: a sandbox serves further checks of its module under the
// same memory limit, each in a fresh instance (a counter in a global and in
// memory starts again), but not after a check that left it bigger than
// compiling did (a table grown by 4 million entries), nor after a check it
// was killed for, nor for another memory limit.
func TestSandboxReused(t *testing.T) {
	v := newVerifier(t, Options{Concurrency: 1})
	exits := recordExits(v)
	dir := t.TempDir()
	count := counter()
	// Grows a table by 4 million entries (32 MB of the Go heap), and passes.
	grow := append(wasmgen.S32([]byte{wasmgen.OpRefNull, wasmgen.FuncRef, wasmgen.OpI32Const}, 4_000_000), wasmgen.OpPrefixFC)
	grow = append(wasmgen.U32(grow, wasmgen.FCTableGrow), 0, wasmgen.OpDrop, wasmgen.OpEnd)
	bigTable := (&wasmgen.Module{Types: []wasmgen.FuncType{{}}, Funcs: []wasmgen.Func{{Body: grow}},
		Tables: []wasmgen.Table{{Type: wasmgen.FuncRef}}, Exports: []wasmgen.Export{{Name: "_start"}}}).Encode()
	steps := []struct {
		name   string
		check  Check
		want   outcome
		reused bool
	}{
		{"first", Check{Wasm: count}, outcome{Fail, "", code(2)}, false},
		{"second", Check{Wasm: count}, outcome{Fail, "", code(2)}, true},
		{"third", Check{Wasm: count}, outcome{Fail, "", code(2)}, true},
		{"other memory limit", Check{Wasm: count, Limits: Limits{MemoryPages: 16}}, outcome{Fail, "", code(2)}, false},
		{"trap", Check{Wasm: hostile(t, "unreachable.wasm")}, outcome{Error, ClassTrap, nil}, false},
		{"after a trap", Check{Wasm: hostile(t, "unreachable.wasm")}, outcome{Error, ClassTrap, nil}, true},
		{"timeout", Check{Wasm: hostile(t, "loop.wasm"), Limits: Limits{Timeout: 200 * time.Millisecond}}, outcome{Error, ClassTimeout, nil}, false},
		{"after a timeout", Check{Wasm: hostile(t, "loop.wasm"), Limits: Limits{Timeout: 200 * time.Millisecond}}, outcome{Error, ClassTimeout, nil}, true},
		{"grown", Check{Wasm: bigTable}, outcome{Pass, "", code(0)}, false},
		{"after growing", Check{Wasm: bigTable}, outcome{Pass, "", code(0)}, false},
		{"killed compiling", Check{Wasm: wasmgen.NestedBlocks(60_000), Limits: Limits{Timeout: 300 * time.Millisecond}}, outcome{Error, ClassTimeout, nil}, false},
		{"after a kill", Check{Wasm: wasmgen.NestedBlocks(60_000), Limits: Limits{Timeout: 300 * time.Millisecond}}, outcome{Error, ClassTimeout, nil}, false},
		{"back to the first", Check{Wasm: count}, outcome{Fail, "", code(2)}, false},
	}
	for _, s := range steps {
		s.check.Name = s.name
		got := runOne(t, v, dir, s.check)
		if diff := cmp.Diff(s.want, outcomeOf(got)); diff != "" {
			t.Errorf("%s: outcome (-want +got):\n%s%s", s.name, diff, got.Error)
		}
		if e := exits.of(t, s.name); e.Reused != s.reused {
			t.Errorf("%s: reused = %v, want %v", s.name, e.Reused, s.reused)
		}
	}
	if a, b := exits.of(t, "first").Pid, exits.of(t, "third").Pid; a != b {
		t.Errorf("the third check ran in sandbox %d, the first in %d", b, a)
	}
}

// TestSandboxIdle: a sandbox that died while it waited for another check is
// not given one: the check starts a new sandbox and gets its verdict. At most
// twice Concurrency sandboxes wait, the oldest ended first, and Close ends
// those that do.
func TestSandboxIdle(t *testing.T) {
	v := newVerifier(t, Options{Concurrency: 1})
	exits := recordExits(v)
	dir := t.TempDir()
	benign, count := hostile(t, "benign.wasm"), counter()
	runOne(t, v, dir, Check{Name: "a", Wasm: benign})
	a := exits.of(t, "a").Pid
	if err := syscall.Kill(a, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-v.idle[0].waited
	if got := runOne(t, v, dir, Check{Name: "b", Wasm: benign}); got.Verdict != Pass {
		t.Errorf("after the idle sandbox died: %+v, want a pass", got)
	}
	if e := exits.of(t, "b"); e.Reused || e.Pid == a {
		t.Errorf("the check ran in the dead sandbox: %+v", e)
	}
	b := exits.of(t, "b").Pid
	runOne(t, v, dir, Check{Name: "c", Wasm: count})
	runOne(t, v, dir, Check{Name: "d", Wasm: hostile(t, "exit_255.wasm")})
	if alive(b) {
		t.Errorf("sandbox %d still waits beside two others: want at most twice Concurrency (1) waiting", b)
	}
	c, d := exits.of(t, "c").Pid, exits.of(t, "d").Pid
	if !alive(c) || !alive(d) {
		t.Fatalf("sandboxes %d and %d: alive %v, %v; want both waiting", c, d, alive(c), alive(d))
	}
	if err := v.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if alive(c) || alive(d) {
		t.Errorf("sandboxes %d, %d still there after Close", c, d)
	}
}

// alive reports whether the process pid exists. The sandboxes are this
// process's children, reaped when they end, so their pids are free then.
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}
