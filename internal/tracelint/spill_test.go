package tracelint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brain-dev/brain/internal/spandict"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// brokenCorpus writes two span files of copies of a recorded plan+execute
// session (the first copy keeps the recording's ids, so the recording's
// audit chain names its spans; the others name none of theirs), broken at
// random (seeded) in every way the end-of-input rules look at: lost spans
// and roots, extra roots, cycles, entries from another process, duplicates
// (in the same file and across files, some renamed), unknown names,
// foreign scopes, opt-in content with and without brain.unsafe_io, secrets,
// malformed lines; a trace's spans spread over both files, in lines of
// random sizes.
func brokenCorpus(t *testing.T, copies int, seed uint64) (files []string, chain string) {
	t.Helper()
	r := newRecording(t)
	r.planExecute(newOpenAIServer(t, 200, 200, 500), 4)
	r.close()
	var template []ptrace.Span
	tmpl := fileSpans(t, r.spans(), func(s ptrace.Span) { template = append(template, s) })
	res, _ := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(splitLines(tmpl)[0])
	rng := rand.New(rand.NewPCG(seed, 1))

	type out struct {
		buf   bytes.Buffer
		line  ptrace.Traces
		brain ptrace.SpanSlice
		other ptrace.SpanSlice
		size  int
	}
	outs := []*out{{}, {}}
	newLine := func(o *out) {
		o.line = ptrace.NewTraces()
		rs := o.line.ResourceSpans().AppendEmpty()
		res.ResourceSpans().At(0).Resource().CopyTo(rs.Resource())
		ss := rs.ScopeSpans().AppendEmpty()
		res.ResourceSpans().At(0).ScopeSpans().At(0).Scope().CopyTo(ss.Scope())
		o.brain = ss.Spans()
		other := rs.ScopeSpans().AppendEmpty()
		other.Scope().SetName("io.example.other")
		o.other = other.Spans()
		o.size = 1 + rng.IntN(40)
	}
	flush := func(o *out) {
		if o.line.SpanCount() > 0 {
			js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(o.line)
			if err != nil {
				t.Fatal(err)
			}
			o.buf.Write(js)
			o.buf.WriteByte('\n')
		}
		if rng.IntN(30) == 0 {
			o.buf.WriteString("{\"resourceSpans\": [\n") // a malformed line
		}
		newLine(o)
	}
	for _, o := range outs {
		newLine(o)
	}
	emit := func(c ptrace.Span) {
		o := outs[0]
		if rng.IntN(4) == 0 {
			o = outs[1]
		}
		dst := o.brain
		if rng.IntN(25) == 0 {
			dst = o.other
		}
		c.CopyTo(dst.AppendEmpty())
		if o.line.SpanCount() >= o.size {
			flush(o)
		}
	}
	var dups []ptrace.Span
	for n := range copies {
		spans := make([]ptrace.Span, len(template))
		for i, s := range template {
			spans[i] = ptrace.NewSpan()
			copySpan(s, spans[i], uint64(n))
		}
		pick := func() ptrace.Span { return spans[rng.IntN(len(spans))] }
		if n > 0 { // the first copy is the recording, whole
			switch rng.IntN(12) {
			case 0: // a lost span (a root, sometimes)
				i := rng.IntN(len(spans))
				spans = append(spans[:i], spans[i+1:]...)
			case 1: // an extra root
				pick().SetParentSpanID(pcommon.SpanID{})
			case 2: // a cycle: a root under one of its own
				for _, s := range spans {
					if s.ParentSpanID().IsEmpty() {
						s.SetParentSpanID(pick().SpanID())
					}
				}
			case 3: // an entry from another process, its parent lost
				s := pick()
				s.SetFlags(s.Flags() | otlpHasIsRemote | otlpIsRemote)
				s.SetParentSpanID(pcommon.SpanID{0xee, byte(n)})
			case 4: // a parent lost from under two spans
				p := pick().SpanID()
				for _, s := range spans {
					if s.ParentSpanID() == p {
						s.SetFlags(s.Flags() | otlpHasIsRemote | otlpIsRemote)
					}
				}
				spans = slicesDelete(spans, p)
			case 5:
				pick().SetName("no.such_span")
			case 6:
				pick().Attributes().PutStr("gen_ai.input.messages", "[]")
			case 7:
				pick().Attributes().PutStr("gen_ai.input.messages", "[]")
				for _, s := range spans {
					if s.ParentSpanID().IsEmpty() {
						s.Attributes().PutBool(unsafeIOAttr, true)
					}
				}
			case 8:
				pick().Attributes().PutStr("note", "Bearer abcdefABCDEF0123456789")
			}
		}
		for _, s := range spans {
			if rng.IntN(40) == 0 {
				d := ptrace.NewSpan()
				s.CopyTo(d)
				if rng.IntN(3) == 0 {
					d.SetName("renamed.copy")
				}
				dups = append(dups, d)
			}
		}
		rng.Shuffle(len(spans), func(i, j int) {
			if rng.IntN(3) == 0 {
				spans[i], spans[j] = spans[j], spans[i]
			}
		})
		for _, s := range spans {
			emit(s)
		}
		if rng.IntN(5) == 0 {
			for _, d := range dups {
				emit(d)
			}
			dups = nil
		}
	}
	for _, d := range dups {
		emit(d)
	}
	dir := t.TempDir()
	for i, o := range outs {
		flush(o)
		files = append(files, writeFile(t, filepath.Join(dir, fmt.Sprintf("spans-%d.jsonl", i)), o.buf.String()))
	}
	return files, r.chain()
}

func slicesDelete(spans []ptrace.Span, id pcommon.SpanID) []ptrace.Span {
	out := spans[:0]
	for _, s := range spans {
		if s.SpanID() != id {
			out = append(out, s)
		}
	}
	return out
}

// lintSpilled lints files with opts, and reports whether the spans were
// spilled.
func lintSpilled(t *testing.T, opts Options, files ...string) (*Result, bool) {
	t.Helper()
	res, l := lintHeld(t, opts, files...)
	return res, l.spill != nil
}

// lintHeld lints files with opts and returns the linter.
func lintHeld(t *testing.T, opts Options, files ...string) (*Result, *linter) {
	t.Helper()
	ins, err := OpenInputs(files, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	defer CloseInputs(ins)
	l := newLinter(opts, ins)
	defer l.closeSpill()
	if err := l.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := l.finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, l
}

// outputs is res in every format.
func outputs(t *testing.T, res *Result) string {
	t.Helper()
	var b strings.Builder
	for _, f := range []string{FormatText, FormatJSON, FormatJUnit} {
		if err := WriteReport(&b, res, f, false); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestSpillSameOutput holds the spilling linter to the in-memory one: the
// same broken inputs, linted in memory and spilled (from the first span,
// part-way, with partitions split again and again down to single traces),
// give the same output, byte for byte, in every format, with and without
// an audit chain, with few findings listed per rule and with the default.
func TestSpillSameOutput(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		files, chain := brokenCorpus(t, 400, seed)
		for _, audit := range []string{"", chain} {
			for _, maxFindings := range []int{3, 0} {
				opts := Options{Audit: audit, MaxFindings: maxFindings, TmpDir: t.TempDir()}
				ref, spilled := lintSpilled(t, opts, files...)
				if spilled {
					t.Fatal("the reference spilled")
				}
				want := outputs(t, ref)
				for _, rule := range []string{RuleDuplicateSpan, RuleOrphanSpan, RuleMultipleRoots, RuleMissingRoot, spandict.RuleUnknownSpan, spandict.RuleOptInContent, RuleSecret, RuleMalformedLine} {
					if ref.Counts[rule] == nil || ref.Counts[rule].Errors+ref.Counts[rule].Warnings == 0 {
						t.Fatalf("seed %d: the corpus breaks no %s rule", seed, rule)
					}
				}
				for _, after := range []int{1, 7, 500, 9000} {
					opts.SpillAfter = after
					res, spilled := lintSpilled(t, opts, files...)
					if !spilled {
						t.Fatalf("--spill-after %d: not spilled", after)
					}
					if d := cmp.Diff(want, outputs(t, res)); d != "" {
						t.Errorf("seed %d, audit %v, max findings %d, spill after %d: the output differs (-memory +spilled):\n%s", seed, audit != "", maxFindings, after, d)
					}
				}
				if entries, _ := os.ReadDir(opts.TmpDir); len(entries) != 0 {
					t.Errorf("left in the temporary directory: %v", entries)
				}
			}
		}
	}
}

// TestSpillFilesUnlinked: the spill files are unlinked as soon as they are
// made, so that a process killed while linting leaves none of the spans'
// data behind (only its empty private directory), and the directory is
// removed when the lint ends.
func TestSpillFilesUnlinked(t *testing.T) {
	files, _ := brokenCorpus(t, 50, 3)
	tmp := t.TempDir()
	ins, err := OpenInputs(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseInputs(ins)
	l := newLinter(Options{SpillAfter: 10, TmpDir: tmp}, ins)
	if err := l.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	dirs, _ := os.ReadDir(tmp)
	if len(dirs) != 1 || !dirs[0].IsDir() {
		t.Fatalf("want one spill directory, got %v", dirs)
	}
	spill := filepath.Join(tmp, dirs[0].Name())
	fi, err := os.Stat(spill)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("spill directory: %v, %v", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(spill); len(entries) != 0 {
		t.Errorf("files left linked in the spill directory: %d", len(entries))
	}
	if l.spilled == 0 {
		t.Fatal("nothing spilled")
	}
	if _, err := l.finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.closeSpill()
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestSpillNoFollow: a file planted in the spill directory (a symbolic
// link to a file of the user's) is neither followed nor reused.
func TestSpillNoFollow(t *testing.T) {
	s, err := newSpiller(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	victim := writeFile(t, filepath.Join(t.TempDir(), "victim"), "precious\n")
	for _, plant := range []func(string) error{
		func(p string) error { return os.Symlink(victim, p) },
		func(p string) error { return os.Symlink(filepath.Join(t.TempDir(), "nowhere"), p) },
		func(p string) error { return os.WriteFile(p, []byte("planted"), 0o600) },
	} {
		if err := plant(filepath.Join(s.dir, fmt.Sprintf("part-%d", s.n+1))); err != nil {
			t.Fatal(err)
		}
		_, err := s.create()
		var se *SpillError
		if !errors.As(err, &se) {
			t.Fatalf("create over a planted file: %v", err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the link's target was written: %q", b)
	}
}

// TestSpillDiskFull: a spill that cannot be written (the file size limit
// of the process, as a full disk would) is a SpillError, and leaves
// nothing behind.
func TestSpillDiskFull(t *testing.T) {
	files, _ := brokenCorpus(t, 200, 4)
	tmp := t.TempDir()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	// Go ignores SIGXFSZ: a write past the limit fails with EFBIG.
	// Each of the 64 partition files gets about 12 KB of this corpus at
	// random (a seeded hash): the limit is below what any of them gets.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 1 << 10, Max: old.Max}); err != nil {
		t.Skip("cannot set the file size limit:", err)
	}
	ins, err := OpenInputs(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lint(context.Background(), ins, Options{SpillAfter: 10, TmpDir: tmp})
	CloseInputs(ins)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	var se *SpillError
	if !errors.As(err, &se) || !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("want a SpillError (file too large), got %v", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestSpillInterrupted: a lint interrupted while spilling (the context
// that Ctrl-C or SIGTERM cancels), its input a pipe that has more to say,
// ends with the interruption and leaves nothing in the temporary
// directory.
func TestSpillInterrupted(t *testing.T) {
	files, _ := brokenCorpus(t, 100, 6)
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		ins, _ := OpenInputs([]string{"-"}, pr)
		_, err := Lint(ctx, ins, Options{SpillAfter: 10, TmpDir: tmp, Workers: 1})
		done <- err
	}()
	// Write the file (more than 10 spans), then wait, the pipe left open,
	// for the spill directory to appear.
	go pw.Write(data)
	for {
		if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the lint ended before spilling: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted lint: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the interrupted lint still waits for its input")
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestSpillHeld: however big the input, the spilling linter holds at most
// --spill-after spans in memory at once, or one trace's when a trace is
// bigger.
func TestSpillHeld(t *testing.T) {
	files, _ := brokenCorpus(t, 300, 7)
	_, all := lintHeld(t, Options{}, files...)
	biggest := map[pcommon.TraceID]int{}
	most := 0
	for _, n := range all.nodes {
		biggest[n.key.trace]++
		most = max(most, biggest[n.key.trace])
	}
	if all.held != len(all.nodes) || most >= len(all.nodes)/10 {
		t.Fatalf("in memory: held %d of %d spans; biggest trace %d", all.held, len(all.nodes), most)
	}
	for _, after := range []int{1, 50, 400, 2000} {
		_, l := lintHeld(t, Options{SpillAfter: after, TmpDir: t.TempDir()}, files...)
		if l.held > max(after, most) {
			t.Errorf("--spill-after %d: %d spans held at once (biggest trace %d)", after, l.held, most)
		}
	}
}
