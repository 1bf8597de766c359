package verifier

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{name: "frame over the limit", script: readRequest + printf(`R\377\377\377\377\377\377\377\177`),
			want: ClassSandboxDied, msg: "without a verdict (exit status 0)"},
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
