package runcmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/workspace"
)

// TestConcurrentPlans: four brain-run plan processes without --force race
// for one tasks.yaml in one workspace. The model server holds every plan
// request until all four have asked, or until the three that cannot have
// the file have ended, so that any check made before asking the model
// races with every write made after: exactly one plan is written and
// recorded, the other runs exit 2 without asking the model, and the file
// is the recorded plan.
func TestConcurrentPlans(t *testing.T) {
	const n = 4
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	m := newModel(t, "openai")
	m.gate, m.arrived = make(chan struct{}), make(chan struct{}, n)
	dir, goal := project(t)
	ws := filepath.Join(dir, ".brain")
	tasks := filepath.Join(dir, "tasks.yaml")

	type result struct {
		code int
		out  string
	}
	done := make(chan result, n)
	var cmds []*exec.Cmd
	for range n {
		cmd := exec.Command(self, append([]string{"plan", "--dir", ws, "--goal", goal, "-o", tasks}, m.flags()...)...)
		cmd.Env = append(os.Environ(), "BRAIN_RUN_TEST_MAIN=1", "OPENAI_API_KEY="+testKey, "BRAIN_STATE_KEY=state key of the test", "NO_COLOR=1")
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		go func() {
			cmd.Wait()
			done <- result{cmd.ProcessState.ExitCode(), out.String()}
		}()
	}
	// A safety net, not synchronisation.
	watchdog := time.AfterFunc(2*time.Minute, func() {
		for _, c := range cmds {
			c.Process.Kill()
		}
	})
	defer watchdog.Stop()
	var results []result
	arrived, open := 0, false
	for len(results) < n {
		select {
		case <-m.arrived:
			arrived++
		case r := <-done:
			results = append(results, r)
		}
		if !open && (arrived == n || len(results) == n-1) {
			close(m.gate)
			open = true
		}
	}

	var won []string
	for _, r := range results {
		switch {
		case r.code == 0:
			won = append(won, r.out)
		case r.code != 2 || !strings.Contains(r.out, "brain-run: error: "+tasks+" already exists"):
			t.Errorf("a losing plan: exit %d, %s; want exit 2, already exists", r.code, r.out)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d plans succeeded, want exactly one:\n%s", len(won), strings.Join(won, "\n"))
	}
	if arrived != 1 {
		t.Errorf("the model was asked %d times, want once: the losers must fail before asking", arrived)
	}
	data, err := os.ReadFile(tasks)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if !strings.Contains(won[0], "plan 1: "+tasks+", 3 tasks, sha256 "+hex.EncodeToString(sum[:])) {
		t.Errorf("the winner says %q; tasks.yaml has sha256 %x", won[0], sum)
	}
	path := filepath.Join(ws, workspace.AuditFile)
	rep, err := chain.VerifyFile(context.Background(), path, chain.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Fatalf("chain: %+v %v", rep, err)
	}
	count := map[string]int{}
	sc := chain.NewScanner(mustOpen(t, path))
	for sc.Scan() {
		count[sc.Record().Type]++
	}
	if count["plan.created"] != 1 || count["llm.call"] != 1 || count["command.end"] != n {
		t.Errorf("records %v: want one plan.created, one llm.call, a command.end for each run", count)
	}
	code, stdout, stderr := run(t, m.env(), "status", "--dir", ws, "--chain")
	if code != 0 || !strings.Contains(stdout, "plan 1: "+tasks) || !strings.Contains(stdout, "match the state store") {
		t.Errorf("status --chain: code %d\n%s%s", code, stdout, stderr)
	}
}
