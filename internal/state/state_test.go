package state

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ncruces/go-sqlite3"
)

// testKey is the key of most tests' databases.
const testKey = "correct horse battery staple"

// mustKey returns the key for text.
func mustKey(t testing.TB, text string) Key {
	t.Helper()
	k, err := KeyFromText(text)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// hash returns the hex SHA-256 of s.
func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// fixedNow returns a clock that advances one second a call from a fixed
// start.
func fixedNow() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

// recorder is an in-memory audit sink: it hands out sequence numbers and
// hashes, or fails with err when err is set.
type recorder struct {
	mu  sync.Mutex
	seq uint64
	err error
}

func (r *recorder) record(ctx context.Context) (uint64, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, "", r.err
	}
	r.seq++
	return r.seq, hash(fmt.Sprint(r.seq)), nil
}

// newStore opens a new database at path with opts.Create set.
func newStore(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	opts.Create = true
	s, err := Open(context.Background(), path, mustKey(t, testKey), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reopen closes s and opens the database at path again with the test key.
func reopen(t testing.TB, s *Store, path string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), path, mustKey(t, testKey), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// addPlan records a plan with the given task ids (titles "title of ID") in
// one transition and returns its id.
func addPlan(t testing.TB, s *Store, r *recorder, goal string, taskIDs ...string) int64 {
	t.Helper()
	var id int64
	err := s.Transition(context.Background(), func(tx *Tx) error {
		var err error
		id, err = tx.AddPlan(Plan{SHA256: hash("tasks.yaml of " + goal), Path: "plans/tasks.yaml", GoalSHA256: hash(goal)})
		if err != nil {
			return err
		}
		tasks := make([]NewTask, len(taskIDs))
		for i, task := range taskIDs {
			tasks[i] = NewTask{ID: task, Title: "title of " + task}
		}
		return tx.AddTasks(id, tasks)
	}, r.record)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// move moves one task to state to in its own transition.
func move(ctx context.Context, s *Store, r *recorder, planID int64, taskID string, to TaskState, artifact string) error {
	return s.Transition(ctx, func(tx *Tx) error {
		return tx.SetTaskState(planID, taskID, to, artifact)
	}, r.record)
}

// states returns "id=state" for each task of the plan.
func states(t testing.TB, s *Store, planID int64) string {
	t.Helper()
	tasks, err := s.Tasks(context.Background(), planID)
	if err != nil {
		t.Fatal(err)
	}
	var b []string
	for _, task := range tasks {
		b = append(b, fmt.Sprintf("%s=%s/%d", task.ID, task.State, task.Attempts))
	}
	return strings.Join(b, " ")
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state dir", "state.db") // a space in the path
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	now := fixedNow()
	s := newStore(t, path, Options{Now: now})
	r := &recorder{}
	planID := addPlan(t, s, r, "goal", "t1", "t2")
	steps := []struct {
		task     string
		to       TaskState
		artifact string
	}{
		{"t1", StateRunning, ""},
		{"t1", StatePassed, hash("artifact 1")},
		{"t2", StateRunning, ""},
		{"t2", StateFailed, hash("artifact 2")},
		{"t2", StateRunning, ""},
		{"t2", StateError, ""},
	}
	for _, st := range steps {
		if err := move(ctx, s, r, planID, st.task, st.to, st.artifact); err != nil {
			t.Fatal(err)
		}
	}
	s = reopen(t, s, path)
	at := func(sec int) time.Time { return time.Date(2026, 3, 1, 12, 0, sec, 0, time.UTC) }
	wantPlan := Plan{ID: planID, SHA256: hash("tasks.yaml of goal"), Path: "plans/tasks.yaml", GoalSHA256: hash("goal"), CreatedAt: at(1)}
	for _, get := range []func() (Plan, error){
		func() (Plan, error) { return s.Plan(ctx, planID) },
		func() (Plan, error) { return s.LatestPlan(ctx) },
	} {
		p, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantPlan, p); diff != "" {
			t.Errorf("plan (-want +got):\n%s", diff)
		}
	}
	if plans, err := s.Plans(ctx); err != nil || len(plans) != 1 || !cmp.Equal(plans[0], wantPlan) {
		t.Errorf("Plans = %+v, %v; want [%+v]", plans, err, wantPlan)
	}
	if _, err := s.Plan(ctx, planID+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Plan of an unknown id: got %v, want ErrNotFound", err)
	}

	tasks, err := s.Tasks(ctx, planID)
	if err != nil {
		t.Fatal(err)
	}
	wantTasks := []Task{
		{PlanID: planID, ID: "t1", Title: "title of t1", State: StatePassed, Attempts: 1, ArtifactSHA256: hash("artifact 1"), UpdatedAt: at(3)},
		{PlanID: planID, ID: "t2", Title: "title of t2", State: StateError, Attempts: 2, ArtifactSHA256: hash("artifact 2"), UpdatedAt: at(7)},
	}
	if diff := cmp.Diff(wantTasks, tasks); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}

	ts, err := s.Transitions(ctx, planID)
	if err != nil {
		t.Fatal(err)
	}
	var want []Transition
	from := map[string]TaskState{"t1": StatePending, "t2": StatePending}
	for i, st := range steps {
		seq := uint64(i + 2) // seq 1 recorded the plan
		want = append(want, Transition{ID: int64(i + 1), PlanID: planID, TaskID: st.task, From: from[st.task], To: st.to,
			At: at(i + 2), AuditSeq: seq, AuditHash: hash(fmt.Sprint(seq))})
		from[st.task] = st.to
	}
	if diff := cmp.Diff(want, ts); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestStateMachine(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	r := &recorder{}
	planID := addPlan(t, s, r, "goal", "t1")
	var te *TransitionError
	if err := move(ctx, s, r, planID, "t1", StatePassed, ""); !errors.As(err, &te) {
		t.Errorf("pending → passed: got %v, want a *TransitionError", err)
	}
	if err := move(ctx, s, r, planID, "nope", StateRunning, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown task: got %v, want ErrNotFound", err)
	}
	if err := move(ctx, s, r, planID, "t1", StateRunning, "not a hash"); err == nil {
		t.Error("bad artifact hash accepted")
	}
	var kept *Tx
	err := s.Transition(ctx, func(tx *Tx) error { kept = tx; return tx.AddTask(planID, "t1", "again") }, r.record)
	if err == nil {
		t.Error("a duplicate task id was accepted")
	}
	if err := kept.AddTask(planID, "t9", "late"); !errors.Is(err, ErrTxDone) {
		t.Errorf("Tx used after Transition: got %v, want ErrTxDone", err)
	}
	if got, want := states(t, s, planID), "t1=pending/0"; got != want {
		t.Errorf("tasks after refused changes: %s, want %s", got, want)
	}
}

// TestAddTasks: tasks keep the order they are added in, across batches
// and transitions; a duplicate or an empty id anywhere in a batch refuses
// the whole transition.
func TestAddTasks(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, filepath.Join(t.TempDir(), "state.db"), Options{})
	r := &recorder{}
	planID := addPlan(t, s, r, "goal", "b", "a")
	err := s.Transition(ctx, func(tx *Tx) error {
		if err := tx.AddTasks(planID, []NewTask{{ID: "d", Title: "title of d"}, {ID: "c", Title: "title of c"}}); err != nil {
			return err
		}
		return tx.AddTask(planID, "e", "title of e")
	}, r.record)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := states(t, s, planID), "b=pending/0 a=pending/0 d=pending/0 c=pending/0 e=pending/0"; got != want {
		t.Errorf("tasks %s, want %s", got, want)
	}
	other := addPlan(t, s, r, "other goal", "z")
	if got := states(t, s, other); got != "z=pending/0" {
		t.Errorf("tasks of a second plan: %s", got)
	}
	for name, batch := range map[string][]NewTask{
		"duplicate in the batch":      {{ID: "f"}, {ID: "f"}},
		"duplicate of an earlier one": {{ID: "g"}, {ID: "a"}},
		"empty id":                    {{ID: "h"}, {ID: ""}},
	} {
		err := s.Transition(ctx, func(tx *Tx) error { return tx.AddTasks(planID, batch) }, r.record)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if got, want := states(t, s, planID), "b=pending/0 a=pending/0 d=pending/0 c=pending/0 e=pending/0"; got != want {
		t.Errorf("tasks after refused batches: %s, want %s", got, want)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	s := newStore(t, path, Options{})
	addPlan(t, s, &recorder{}, "goal", "t1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)

	const wrong = "tr0ub4dor&3"
	_, err := Open(ctx, path, mustKey(t, wrong), Options{Create: true})
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: got %v, want ErrWrongKey", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("the error shows the key: %v", err)
	}
	if _, err := Open(ctx, path, Key{}, Options{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("no key: got %v, want ErrNoKey", err)
	}
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("failed opens changed the directory (-before +after):\n%s", diff)
	}

	missing := filepath.Join(dir, "missing.db")
	if _, err := Open(ctx, missing, mustKey(t, testKey), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open without Create made %s: %v", missing, err)
	}

	// Files that are not state databases, whatever the options.
	otherApp := filepath.Join(dir, "other.db")
	plain := filepath.Join(dir, "plain.db")
	for _, db := range []struct{ path, uri string }{
		{otherApp, "file:" + otherApp + "?vfs=adiantum&textkey=" + strings.ReplaceAll(testKey, " ", "%20")},
		{plain, "file:" + plain},
	} {
		c, err := sqlite3.Open(db.uri)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Exec("CREATE TABLE t (x); INSERT INTO t VALUES ('x')"); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	files := []struct {
		name    string
		content []byte
		want    error
	}{
		{"empty", nil, ErrNotDatabase},
		{"text", []byte("not a database\n"), ErrNotDatabase},
		{"random blocks", bytes.Repeat([]byte{0x5a, 0xa5, 0x01}, 4096), ErrWrongKey},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		path string
		want error
	}{
		{filepath.Join(dir, "empty"), ErrNotDatabase},
		{filepath.Join(dir, "text"), ErrNotDatabase},
		{filepath.Join(dir, "random blocks"), ErrWrongKey},
		{otherApp, ErrNotDatabase},
		{plain, ErrNotDatabase},
	}
	for _, c := range cases {
		before, _ := os.ReadFile(c.path)
		_, err := Open(ctx, c.path, mustKey(t, testKey), Options{Create: true})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", filepath.Base(c.path), err, c.want)
		}
		if after, _ := os.ReadFile(c.path); !bytes.Equal(before, after) {
			t.Errorf("%s: a failed Open changed the file", filepath.Base(c.path))
		}
	}
}

// snapshot returns the name and contents of every file in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = hash(string(b))
	}
	return files
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	env := func(v string) func(string) string {
		return func(name string) string {
			if name == KeyEnv {
				return v
			}
			return ""
		}
	}
	k, err := LoadKey(env("from the environment"), "")
	if err != nil || k.text != "from the environment" {
		t.Errorf("key from %s: %v", KeyEnv, err)
	}
	if _, err := LoadKey(env(""), ""); !errors.Is(err, ErrNoKey) {
		t.Errorf("no key: got %v, want ErrNoKey", err)
	}

	file := filepath.Join(dir, "key")
	const secret = "s3cret key text"
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err = LoadKey(env("ignored"), file)
	if err != nil || k.text != secret {
		t.Errorf("key file 0600: %v (key %q)", err, k.text)
	}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%s %q %v %+v %#v %x", k, k, k, k, k, k), fmt.Sprint(struct{ K Key }{k})} {
		if strings.Contains(s, "s3cret") || strings.Contains(s, hex.EncodeToString([]byte("s3cret"))) {
			t.Errorf("a formatted key shows the secret: %s", s)
		}
	}

	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadKey(env(""), file)
	var kfe *KeyFileError
	if !errors.As(err, &kfe) || kfe.Mode != 0o644 {
		t.Errorf("key file 0644: got %v, want a *KeyFileError with mode 0644", err)
	} else if msg := err.Error(); !strings.Contains(msg, "chmod 600") || strings.Contains(msg, secret) {
		t.Errorf("key file 0644: message %q should say chmod 600 and never show the key", msg)
	}

	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(env(""), empty); !errors.Is(err, ErrNoKey) {
		t.Errorf("empty key file: got %v, want ErrNoKey", err)
	}
	if _, err := LoadKey(env(""), filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing key file: got %v, want fs.ErrNotExist", err)
	}
}

// TestFileModes: the database and its -wal and -shm files are private to
// the user, whatever SQLite's own default.
func TestFileModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := newStore(t, path, Options{})
	defer s.Close()
	addPlan(t, s, &recorder{}, "goal", "t1")
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group or other access", f, fi.Mode().Perm())
		}
	}
}
