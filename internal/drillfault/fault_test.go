package drillfault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"golang.org/x/sys/unix"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/auditcmd"
	"github.com/brain-dev/brain/internal/drill"
	"github.com/brain-dev/brain/internal/telemetry/otlpgrpc"
)

// TestMain lets the test binary be a fault server (as brain-drill runs
// itself for one) and brain-audit (for kill-append).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ServeArg {
		if err := Serve(context.Background(), os.NewFile(3, "config"), os.NewFile(4, "ready"), os.Stderr); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	if filepath.Base(os.Args[0]) == "brain-audit" {
		os.Exit(auditcmd.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func spans(n int) []*tracepb.ResourceSpans {
	ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: "test"}}
	for i := range n {
		ss.Spans = append(ss.Spans, &tracepb.Span{TraceId: bytes.Repeat([]byte{1}, 16), SpanId: []byte{0, 0, 0, 0, 0, 0, 0, byte(i + 1)},
			Name: fmt.Sprintf("span-%d", i), StartTimeUnixNano: 1, EndTimeUnixNano: 2})
	}
	return []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{ss}}}
}

// TestOTLPStandIn: the OTLP gRPC client brain-run exports with gets, on
// one port: a collector that keeps every span (ok), a refused connection
// (closed), no answer within its timeout (blackhole), and the collector
// again.
func TestOTLPStandIn(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	out := filepath.Join(t.TempDir(), "received.jsonl")
	o := newOTLPServer(addr, out)
	defer o.stop()
	export := func(n int) error {
		c := otlpgrpc.Transport{}.Client(addr, true, 300*time.Millisecond)
		ctx := context.Background()
		if err := c.Start(ctx); err != nil {
			return err
		}
		defer c.Stop(ctx)
		ectx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		return c.UploadTraces(ectx, spans(n))
	}
	if err := o.setMode(ModeOK); err != nil {
		t.Fatal(err)
	}
	if err := export(3); err != nil {
		t.Fatalf("ok: %v", err)
	}
	o.setMode(ModeClosed)
	if err := export(2); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("closed: %v, want connection refused", err)
	}
	o.setMode(ModeBlackhole)
	if err := export(2); err == nil || !strings.Contains(strings.ToLower(err.Error()), "deadline") {
		t.Errorf("blackhole: %v, want a deadline", err)
	}
	if err := o.setMode(ModeOK); err != nil {
		t.Fatal(err)
	}
	if err := export(4); err != nil {
		t.Fatalf("ok again: %v", err)
	}
	if s := o.status(); s["spans"] != 7 || s["requests"] != 2 {
		t.Errorf("status %v, want 7 spans in 2 requests", s)
	}
	b, _ := os.ReadFile(out)
	if n := strings.Count(string(b), `"spanId":"`); n != 7 || strings.Count(string(b), "\n") != 2 {
		t.Errorf("received file has %d spans in %d lines:\n%s", n, strings.Count(string(b), "\n"), b)
	}
	if err := o.setMode("sideways"); err == nil {
		t.Error("an unknown mode was accepted")
	}
}

// chainOf writes a chain with records of the given data.
func chainOf(t *testing.T, datas ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	w, err := chain.Open(p, chain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range datas {
		if _, err := w.Append(context.Background(), chain.Event{Type: "exec.end", Session: "s", Data: []byte(d)}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return p
}

// TestTamper: one byte of the chosen record changes, the line stays valid
// JSON, and verification finds that record tampered with.
func TestTamper(t *testing.T) {
	for _, tt := range []struct {
		name   string
		datas  []string
		seq    int64
		field  string
		change string
	}{
		{"a string", []string{`{"argv0":"true","exit_code":0}`, `{"argv0":"make","exit_code":0}`}, 1, "data.argv0", `'t' changed to 'u'`},
		{"the last record by default", []string{`{"argv0":"true"}`, `{"argv0":"zz"}`}, -1, "data.argv0", `'z' changed to 'y'`},
		{"a number", []string{`{"exit_code":19}`}, 1, "data.exit_code", `'9' changed to '8'`},
		{"a negative number", []string{`{"exit_code":-1}`}, 1, "data.exit_code", `'1' changed to '2'`},
		{"an escape first", []string{`{"argv0":"\"q"}`}, 1, "data.argv0", `'q' changed to 'r'`},
		{"an object: the time stamp", []string{`{"x":{"y":1}}`}, 1, "ts", ""},
		{"no data: the time stamp", []string{`{}`}, 1, "ts", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := chainOf(t, tt.datas...)
			rep, err := Tamper(p, tt.seq)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.seq
			if want < 0 {
				want = int64(len(tt.datas))
			}
			if rep.Seq != want || rep.Field != tt.field || !strings.Contains(rep.String(), tt.change) {
				t.Errorf("report %s", rep)
			}
			b, _ := os.ReadFile(p)
			line := strings.Split(string(b), "\n")[rep.Line-1]
			if !json.Valid([]byte(line)) {
				t.Errorf("line %d is no longer JSON: %s", rep.Line, line)
			}
			vr, err := chain.VerifyFile(context.Background(), p, chain.VerifyOptions{})
			if err != nil || vr.OK() || len(vr.Findings) != 1 || vr.Findings[0].Class != chain.Tampered || vr.Findings[0].Seq == nil || *vr.Findings[0].Seq != uint64(want) {
				t.Errorf("verification: %+v %v", vr, err)
			}
		})
	}
	p := chainOf(t, `{"a":"b"}`)
	if _, err := Tamper(p, 7); err == nil || !strings.Contains(err.Error(), "no record with seq 7") {
		t.Errorf("Tamper(seq 7) = %v", err)
	}
	link := filepath.Join(t.TempDir(), "link.jsonl")
	os.Symlink(p, link)
	if _, err := Tamper(link, 1); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Tamper(a link) = %v, want a refusal", err)
	}
}

// TestKillAppend: a real brain-audit append is killed with SIGKILL in the
// middle of a write, and the chain ends in a torn record that verification
// classifies as such and repair restores.
func TestKillAppend(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	audit := filepath.Join(t.TempDir(), "brain-audit")
	if err := os.Symlink(self, audit); err != nil {
		t.Fatal(err)
	}
	p := chainOf(t, `{"argv0":"true"}`)
	rep, err := KillAppend(context.Background(), audit, p, 20, 20000)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Torn <= 0 || rep.Attempts < 1 {
		t.Fatalf("report %+v", rep)
	}
	vr, err := chain.VerifyFile(context.Background(), p, chain.VerifyOptions{})
	if err != nil || vr.OK() || len(vr.Findings) != 1 || vr.Findings[0].Class != chain.TornTail {
		t.Fatalf("after the kill: %+v %v", vr, err)
	}
	if _, err := chain.Repair(context.Background(), p, chain.RepairOptions{}); err != nil {
		t.Fatal(err)
	}
	if vr, err := chain.VerifyFile(context.Background(), p, chain.VerifyOptions{}); err != nil || !vr.OK() {
		t.Errorf("after repair: %+v %v", vr, err)
	}
}

func newTools(t *testing.T) *Tools {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	env := filepath.Join(dir, "env")
	os.WriteFile(env, nil, 0o600)
	return &Tools{Reg: Registry{Dir: dir}, Self: self, EnvFile: env}
}

// TestServerLifeCycle: a fault server starts detached, answers, records
// itself, appends its variables, changes mode, and stops; StopAll stops
// what is left, and says so.
func TestServerLifeCycle(t *testing.T) {
	tl := newTools(t)
	ctx := context.Background()
	st, lines, err := tl.Start(ctx, KindLLM, StartOptions{Name: "provider", LLM: LLMSettings{Mode: ModeOK}, Provider: "both"})
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(st.PID, syscall.SIGKILL)
	want := []string{"BRAIN_GEMINI_BASE_URL=http://" + st.Addr + "/", "BRAIN_OPENAI_BASE_URL=http://" + st.Addr + "/v1"}
	env, _ := os.ReadFile(tl.EnvFile)
	if strings.Join(lines, "\n") != strings.Join(want, "\n") || string(env) != strings.Join(want, "\n")+"\n" {
		t.Errorf("lines %q, $DRILL_ENV %q", lines, env)
	}
	if sid, _ := unix.Getsid(st.PID); sid != st.PID {
		t.Errorf("the server's session is %d, not its own (%d): the end of its step would end it", sid, st.PID)
	}
	if _, _, err := tl.Start(ctx, KindLLM, StartOptions{Name: "provider", LLM: LLMSettings{Mode: ModeOK}}); !errors.As(err, new(*AlreadyError)) {
		t.Errorf("a second fault of the same name: %v", err)
	}
	p, _ := clients[0].dial("http://"+st.Addr, testKey, 5*time.Second)
	if _, err := p.Chat(ctx, testReq); err != nil {
		t.Errorf("chat: %v", err)
	}
	if _, err := tl.Set("provider", LLMSettings{Mode: Mode503}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(ctx, testReq); errType(err) != "server" {
		t.Errorf("after set 503: %v", err)
	}
	_, status, err := tl.Status("provider")
	if err != nil || status["mode"] != "503" || status["requests"].(float64) != 2 {
		t.Errorf("status %v %v", status, err)
	}
	if err := tl.Stop("provider"); err != nil {
		t.Fatal(err)
	}
	if st.alive() {
		t.Error("the server is still running after stop")
	}
	if _, err := tl.Reg.Get("provider"); !errors.As(err, new(*NotFoundError)) {
		t.Errorf("its state after stop: %v", err)
	}

	st2, _, err := tl.Start(ctx, KindOTLP, StartOptions{Name: "collector", OTLPMode: ModeClosed, Received: filepath.Join(tl.Reg.Dir, "r.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(st2.PID, syscall.SIGKILL)
	notes := StopAll(ctx, tl.Reg.Dir)
	if len(notes) != 1 || notes[0] != "fault collector (otlp) was left running by the drill: stopped" || st2.alive() {
		t.Errorf("StopAll: %v; alive %v", notes, st2.alive())
	}
}

// TestServerTTL: a server nobody stops exits by itself.
func TestServerTTL(t *testing.T) {
	tl := newTools(t)
	st, _, err := tl.Start(context.Background(), KindLLM, StartOptions{Name: "x", TTL: 100 * time.Millisecond, LLM: LLMSettings{Mode: ModeOK}})
	if err != nil {
		t.Fatal(err)
	}
	if !waitExit(st.PID, st.StartTime, 10*time.Second) {
		syscall.Kill(st.PID, syscall.SIGKILL)
		t.Fatal("the server outlived its time to live")
	}
	if notes := StopAll(context.Background(), tl.Reg.Dir); len(notes) != 0 {
		t.Errorf("StopAll after it exited: %v", notes)
	}
}

// TestDisk: a real tmpfs fills up for real; only a disk fault of the
// drill is mounted or filled, inside its directory.
func TestDisk(t *testing.T) {
	tl := newTools(t)
	if _, err := tl.StartDisk("d", "/tmp/elsewhere", "64k"); err == nil || !strings.Contains(err.Error(), "not inside the drill's directory") {
		t.Errorf("a mount outside the drill: %v", err)
	}
	os.Symlink(t.TempDir(), filepath.Join(tl.Reg.Dir, "link"))
	if _, err := tl.StartDisk("d", filepath.Join(tl.Reg.Dir, "link"), "64k"); err == nil {
		t.Error("a mount through a link was accepted")
	}
	os.Mkdir(filepath.Join(tl.Reg.Dir, "sub"), 0o700)
	if _, _, err := tl.Fill(filepath.Join(tl.Reg.Dir, "sub")); err == nil || !strings.Contains(err.Error(), "not a disk fault of this drill") {
		t.Errorf("filling the drill's own directory: %v", err)
	}
	if _, err := parseSize("2g"); err == nil {
		t.Error("a 2g tmpfs was accepted")
	}
	if err := drill.NewHost("").Unmet(drill.Requirement{Name: "tmpfs"}); err != "" {
		t.Skip(err)
	}
	st, err := tl.StartDisk("d", filepath.Join(tl.Reg.Dir, "ws"), "64k")
	if err != nil {
		t.Fatal(err)
	}
	defer unmount(st.Mount)
	n, file, err := tl.Fill(st.Mount)
	if err != nil || n < 32<<10 || n > 64<<10 {
		t.Fatalf("Fill = %d, %v", n, err)
	}
	if err := os.WriteFile(filepath.Join(st.Mount, "more"), make([]byte, 8192), 0o600); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("a write to the full disk: %v, want ENOSPC", err)
	}
	os.Remove(file)
	if err := os.WriteFile(filepath.Join(st.Mount, "more"), make([]byte, 8192), 0o600); err != nil {
		t.Errorf("a write after freeing: %v", err)
	}
	if err := tl.Stop("d"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(st.Mount, "more")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the tmpfs is still mounted after stop: %v", err)
	}
}
