//go:build e2e

// Package witness checks brain-audit's checkpoints against a real C2SP
// tlog-witness: litewitness from filippo.io/torchwood (pinned in
// tools/litewitness, built by scripts/litewitness.sh), its key in an
// ssh-agent of the test's own, listening on 127.0.0.1. brain-audit witness
// submits checkpoints with their consistency proofs, the cosignatures are
// verified, proofs carry them, and the witness's refusals (a fork, an old
// size, an unknown log) are clear errors. Run it with `make e2e-witness`.
package witness

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func repo(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs a program in dir.
func run(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	c := exec.Command(name, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if xe, ok := err.(*exec.ExitError); ok {
		code = xe.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return result{code, out.String(), errb.String()}
}

// must runs a program that must succeed.
func must(t *testing.T, dir, name string, args ...string) result {
	t.Helper()
	r := run(t, dir, nil, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: exit %d\n%s%s", filepath.Base(name), strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// witness is a litewitness running on loopback.
type witness struct {
	url, vkey, db, ctl string
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startWitness starts an ssh-agent with a new Ed25519 key and litewitness
// using it, and stops both when the test ends.
func startWitness(t *testing.T, tmp string) *witness {
	t.Helper()
	for _, p := range []string{"ssh-agent", "ssh-keygen", "ssh-add"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is needed (Debian: openssh-client; scripts/deps.sh openssh-client installs it): %v", p, err)
		}
	}
	bins := strings.TrimSpace(must(t, repo(t), "bash", filepath.Join(repo(t), "scripts", "litewitness.sh"), "dir").stdout)
	lw, ctl := filepath.Join(bins, "litewitness"), filepath.Join(bins, "witnessctl")
	if _, err := os.Stat(lw); err != nil {
		t.Fatalf("no litewitness in %s: run scripts/litewitness.sh build (make e2e-witness does)", bins)
	}

	sock := filepath.Join(tmp, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	agent.Stdout, agent.Stderr = io.Discard, io.Discard
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	key := filepath.Join(tmp, "witness-key")
	must(t, tmp, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e witness", "-f", key)
	// The agent's socket appears once it listens: ssh-add retries until
	// then, a bounded number of times.
	var added bool
	for range 100 {
		if r := run(t, tmp, []string{"SSH_AUTH_SOCK=" + sock}, "ssh-add", "-q", key); r.code == 0 {
			added = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !added {
		t.Fatal("ssh-add could not reach the ssh-agent")
	}
	fp := strings.Fields(must(t, tmp, "ssh-keygen", "-l", "-E", "sha256", "-f", key+".pub").stdout)[1]

	w := &witness{db: filepath.Join(tmp, "witness.db"), ctl: ctl}
	addr := freePort(t)
	w.url = "http://" + addr
	cmd := exec.Command(lw, "-db", w.db, "-name", "witness.example/e2e", "-key", fp, "-ssh-agent", sock, "-listen", addr)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// litewitness logs its verifier key, then that it listens.
	vkeyRe := regexp.MustCompile(`vkey=(\S+)`)
	sc := bufio.NewScanner(stderr)
	var log strings.Builder
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := vkeyRe.FindStringSubmatch(sc.Text()); m != nil {
			w.vkey = m[1]
		}
		if strings.Contains(sc.Text(), "listening") {
			break
		}
	}
	go io.Copy(io.Discard, stderr)
	if w.vkey == "" {
		t.Fatalf("litewitness did not start:\n%s", log.String())
	}
	// ListenAndServe follows the log line: the port answers once it is
	// bound, a bounded number of tries later.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			t.Fatalf("litewitness does not listen on %s:\n%s", addr, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return w
}

// addLog makes the witness know a log: its origin and verifier key (the
// key's name must be the origin).
func (w *witness) addLog(t *testing.T, dir, origin, vkeyFile string) {
	t.Helper()
	vkey, err := os.ReadFile(filepath.Join(dir, vkeyFile))
	if err != nil {
		t.Fatal(err)
	}
	must(t, dir, w.ctl, "add-log", "-db", w.db, "-origin", origin)
	must(t, dir, w.ctl, "add-key", "-db", w.db, "-origin", origin, "-key", strings.TrimSpace(string(vkey)))
}

func appendEvents(t *testing.T, audit, dir, chain string, n int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "{\"type\":\"e2e.event\",\"i\":%d}\n", i)
	}
	c := exec.Command(audit, "append", chain)
	c.Dir = dir
	c.Stdin = strings.NewReader(b.String())
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("append: %v\n%s", err, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestWitness runs checkpoints of a chain through litewitness.
func TestWitness(t *testing.T) {
	audit := filepath.Join(repo(t), "bin", "brain-audit")
	if _, err := os.Stat(audit); err != nil {
		t.Fatalf("no %s: run make build (make e2e-witness does)", audit)
	}
	tmp := t.TempDir()
	w := startWitness(t, tmp)
	os.WriteFile(filepath.Join(tmp, "witness.vkey"), []byte(w.vkey+"\n"), 0o644)
	const origin = "example.com/e2e-log"
	dir := filepath.Join(tmp, "log")
	os.MkdirAll(dir, 0o700)
	// litewitness wants the log key's name to be the origin.
	must(t, dir, audit, "keygen", "-o", filepath.Join(tmp, "keys", "log"), origin)
	copyFile(t, filepath.Join(tmp, "keys", "log.vkey"), filepath.Join(dir, "log.vkey"))
	w.addLog(t, dir, origin, "log.vkey")
	key := filepath.Join(tmp, "keys", "log.key")

	// The first checkpoint: the witness has seen nothing of the log (old 0).
	appendEvents(t, audit, dir, "audit.jsonl", 10)
	must(t, dir, audit, "checkpoint", "--key", key, "--origin", origin, "audit.jsonl")
	r := must(t, dir, audit, "witness", "--url", w.url, "--witness-vkey", "../witness.vkey", "audit.jsonl")
	if !strings.Contains(r.stdout, "\n— witness.example/e2e ") || !strings.Contains(r.stderr, "cosigned the checkpoint of 11 records of audit.jsonl (from its checkpoint of 0 records)") {
		t.Fatalf("first witness:\n%s%s", r.stdout, r.stderr)
	}
	copyFile(t, filepath.Join(dir, "audit.jsonl"), filepath.Join(tmp, "old.jsonl"))
	copyFile(t, filepath.Join(dir, "audit.jsonl.checkpoints"), filepath.Join(tmp, "old.checkpoints"))

	// A proof made now carries the cosignature, and verify-proof checks it.
	proof := must(t, dir, audit, "prove", "--seq", "4", "audit.jsonl").stdout
	os.WriteFile(filepath.Join(tmp, "r4.proof"), []byte(proof), 0o644)
	r = must(t, tmp, audit, "verify-proof", "--vkey", "keys/log.vkey", "--witness-vkey", "witness.vkey", "r4.proof")
	if !strings.Contains(r.stderr, "PASS r4.proof: record 4 is in the log "+origin+" of 11 records") || !strings.Contains(r.stderr, "cosigned by witness.example/e2e") {
		t.Fatalf("verify-proof:\n%s", r.stderr)
	}

	// The log grows: the second submission carries the consistency proof
	// from 11, and the witness checks it.
	appendEvents(t, audit, dir, "audit.jsonl", 25)
	must(t, dir, audit, "checkpoint", "--key", key, "audit.jsonl")
	r = must(t, dir, audit, "witness", "--url", w.url, "--witness-vkey", "../witness.vkey", "audit.jsonl")
	if !strings.Contains(r.stderr, "cosigned the checkpoint of 36 records of audit.jsonl (from its checkpoint of 11 records)") {
		t.Fatalf("second witness:\n%s", r.stderr)
	}
	// The chain with its cosigned checkpoints verifies.
	must(t, dir, audit, "verify-log", "--vkey", "log.vkey", "audit.jsonl")

	// An old size: the chain as it was at 11 records (restored, or shown
	// to the witness again) is refused: the witness has seen 36.
	old := filepath.Join(tmp, "old")
	os.MkdirAll(old, 0o700)
	copyFile(t, filepath.Join(tmp, "old.jsonl"), filepath.Join(old, "audit.jsonl"))
	copyFile(t, filepath.Join(tmp, "old.checkpoints"), filepath.Join(old, "audit.jsonl.checkpoints"))
	r = run(t, old, nil, audit, "witness", "--url", w.url, "--witness-vkey", "../witness.vkey", "audit.jsonl")
	if r.code != 1 || !strings.Contains(r.stderr, "refused the checkpoint (HTTP 409): the witness has cosigned a checkpoint of this log of size 36, larger than this one (11)") {
		t.Fatalf("an old size: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("an old size:\n%s", r.stderr)

	// A fork: another history of the log signed with its key (the chain
	// written anew, as someone with the key who rewrote it would). The
	// witness, which cosigned 36 records of the first, refuses it.
	fork := filepath.Join(tmp, "fork")
	os.MkdirAll(fork, 0o700)
	appendEvents(t, audit, fork, "audit.jsonl", 40)
	must(t, fork, audit, "checkpoint", "--key", key, "--origin", origin, "audit.jsonl")
	r = run(t, fork, nil, audit, "witness", "--url", w.url, "--witness-vkey", "../witness.vkey", "audit.jsonl")
	if r.code != 1 || !strings.Contains(r.stderr, "refused the checkpoint (HTTP 422): this checkpoint (size 41) does not extend the one the witness cosigned (size 36): a fork, or a rewritten log") {
		t.Fatalf("a fork: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("a fork:\n%s", r.stderr)

	// A log the witness does not know, and a key it does not trust.
	other := filepath.Join(tmp, "other")
	os.MkdirAll(other, 0o700)
	appendEvents(t, audit, other, "audit.jsonl", 3)
	must(t, other, audit, "checkpoint", "--key", key, "--origin", "example.com/unknown-log", "audit.jsonl")
	r = run(t, other, nil, audit, "witness", "--url", w.url, "--witness-vkey", "../witness.vkey", "audit.jsonl")
	if r.code != 1 || !strings.Contains(r.stderr, "witness "+w.url+" refused the checkpoint (HTTP 403): the witness does not trust the key that signed the checkpoint for the log \"example.com/unknown-log\", or does not know the log") {
		t.Fatalf("an unknown log: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("an unknown log:\n%s", r.stderr)
	must(t, tmp, audit, "keygen", "-o", filepath.Join(tmp, "keys", "thief"), origin)
	thief := filepath.Join(tmp, "thief")
	os.MkdirAll(thief, 0o700)
	appendEvents(t, audit, thief, "audit.jsonl", 50)
	must(t, thief, audit, "checkpoint", "--key", filepath.Join(tmp, "keys", "thief.key"), "--origin", origin, "audit.jsonl")
	r = run(t, thief, nil, audit, "witness", "--url", w.url, "--witness-vkey", "../witness.vkey", "audit.jsonl")
	if r.code != 1 || !strings.Contains(r.stderr, "refused the checkpoint (HTTP 403): the witness does not trust the key that signed the checkpoint for the log \""+origin+"\"") {
		t.Fatalf("another key: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("another key:\n%s", r.stderr)

	// The witness kept the first history: the real log goes on.
	appendEvents(t, audit, dir, "audit.jsonl", 3)
	must(t, dir, audit, "checkpoint", "--key", key, "audit.jsonl")
	r = must(t, dir, audit, "witness", "--url", w.url, "--witness-vkey", "../witness.vkey", "audit.jsonl")
	if !strings.Contains(r.stderr, "(from its checkpoint of 36 records)") {
		t.Fatalf("third witness:\n%s", r.stderr)
	}
	// A witness that is down is an error of its own (exit 3).
	r = run(t, dir, nil, audit, "witness", "--url", "http://"+freePort(t), "--witness-vkey", "../witness.vkey", "audit.jsonl")
	if r.code != 3 || !strings.Contains(r.stderr, "hint: check the witness URL and that the witness is running") {
		t.Fatalf("a witness down: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("a witness down:\n%s", r.stderr)
}
