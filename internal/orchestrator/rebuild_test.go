package orchestrator_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/orchestrator"
)

// TestRebuildHostileRecords: a record the chain verifies but whose fields
// BRAIN never writes (huge numbers, wrong types, huge strings, unknown
// states, deep nesting, keys given twice, unknown or missing fields) is a
// finding of the rebuild, never an error, and changes nothing: the state
// rebuilt is the one the good records describe.
func TestRebuildHostileRecords(t *testing.T) {
	const (
		sum      = `"` + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + `"`
		created  = `{"plan_id":1,"plan_sha256":` + sum + `,"goal_sha256":` + sum + `,"tasks":["a","b"]}`
		moved    = `{"plan_id":1,"task_id":"a","from":"pending","to":"running","attempt":1}`
		huge     = "1" + "000000000000000000000000000000"
		deep     = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		bigField = 900_000
	)
	nested := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	long := strings.Repeat("a", bigField)
	state := func(fields string) string {
		return `{"plan_id":1,"task_id":"b","from":"pending","to":"running","attempt":1` + fields + `}`
	}
	tests := []struct {
		name, typ, data string
		problem         string // a part of the finding's text; "" when the chain cannot verify
	}{
		// huge and out-of-range numbers
		{"attempt 1e999", "task.state", `{"plan_id":1,"task_id":"b","from":"pending","to":"running","attempt":1e999}`, "attempt: 1e999 is not a whole number from 1 to 2147483647"},
		{"attempt over int64", "task.state", strings.Replace(state(""), `"attempt":1`, `"attempt":`+huge, 1), "attempt: " + huge + " is not a whole number"},
		{"attempt over int32", "task.state", strings.Replace(state(""), `"attempt":1`, `"attempt":2147483648`, 1), "attempt: 2147483648 is not"},
		{"attempt zero", "task.state", strings.Replace(state(""), `"attempt":1`, `"attempt":0`, 1), "attempt: 0 is not"},
		{"attempt negative", "task.state", strings.Replace(state(""), `"attempt":1`, `"attempt":-3`, 1), "attempt: -3 is not"},
		{"attempt fraction", "task.state", strings.Replace(state(""), `"attempt":1`, `"attempt":1.5`, 1), "attempt: 1.5 is not"},
		{"attempt exponent", "task.state", strings.Replace(state(""), `"attempt":1`, `"attempt":1e0`, 1), "attempt: 1e0 is not"},
		{"plan_id 1e999", "task.state", strings.Replace(state(""), `"plan_id":1`, `"plan_id":1e999`, 1), "plan_id: 1e999 is not a whole number from 1 to 9223372036854775807"},
		{"plan_id of plan.created", "plan.created", strings.Replace(created, `"plan_id":1`, `"plan_id":-1`, 1), "plan_id: -1 is not"},
		{"a long number", "task.state", strings.Replace(state(""), `"attempt":1`, `"attempt":`+strings.Repeat("9", 5000), 1), "attempt: 9999999999999999999999999999999999999999... (5000 bytes) is not"},
		// wrong types
		{"attempt a string", "task.state", strings.Replace(state(""), `"attempt":1`, `"attempt":"1"`, 1), `attempt: "1" is not`},
		{"plan_id a bool", "task.state", strings.Replace(state(""), `"plan_id":1`, `"plan_id":true`, 1), "plan_id: true is not"},
		{"task_id a number", "task.state", strings.Replace(state(""), `"task_id":"b"`, `"task_id":5`, 1), "task_id: 5 is not a task id"},
		{"tasks a string", "plan.created", strings.Replace(created, `["a","b"]`, `"a"`, 1), `tasks: "a" is not a list of task ids`},
		{"tasks null", "plan.created", strings.Replace(created, `["a","b"]`, `null`, 1), "tasks: null is not a list"},
		{"tasks of numbers", "plan.created", strings.Replace(created, `["a","b"]`, `[1,2]`, 1), "tasks: [1,2] is not a list"},
		{"data an array", "task.state", `[1,2]`, ""},
		{"data a string", "plan.edit_accepted", `"x"`, ""},
		// huge and hostile strings
		{"task_id huge", "task.state", strings.Replace(state(""), `"task_id":"b"`, `"task_id":"`+long+`"`, 1), "task_id: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa... (900002 bytes) is not a task id"},
		{"task_id escape codes", "task.state", strings.Replace(state(""), `"task_id":"b"`, `"task_id":"\u001b[2J\u202e"`, 1), `task_id: "\u001b[2J\u202e" is not a task id`},
		{"task_id raw bidi", "task.state", strings.Replace(state(""), `"task_id":"b"`, "\"task_id\":\"x\u202ey\"", 1), `task_id: "\"x\u202ey\"" is not a task id`},
		{"plan task id huge", "plan.created", strings.Replace(created, `["a","b"]`, `["a","`+long+`"]`, 1), "tasks: item 2, "},
		{"plan task listed twice", "plan.created", strings.Replace(created, `["a","b"]`, `["a","b","a"]`, 1), "tasks: task a is listed twice"},
		{"sha256 huge", "plan.edit_accepted", strings.Replace(created, `"goal_sha256":`+sum, `"previous_plan_sha256":"`+long+`"`, 1), "previous_plan_sha256: "},
		{"reason not a class", "task.state", state(`,"reason":"` + long + `"`), "reason: "},
		// unknown states
		{"unknown to", "task.state", strings.Replace(state(""), `"to":"running"`, `"to":"hacked"`, 1), `to: "hacked" is not a task state (pending, running, passed, failed, error)`},
		{"state in capitals", "task.state", strings.Replace(state(""), `"to":"running"`, `"to":"PASSED"`, 1), `to: "PASSED" is not`},
		{"unknown from", "task.state", strings.Replace(state(""), `"from":"pending"`, `"from":""`, 1), `from: "" is not`},
		// deep nesting
		{"nested in a known field", "task.state", strings.Replace(state(""), `"attempt":1`, `"attempt":`+deep+strings.Repeat("]", len(deep)), 1), "attempt: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[... ("},
		{"nested in an unknown field", "plan.created", strings.Replace(created, `"tasks":["a","b"]`, `"tasks":["a","b"],"x":`+nested(400), 1), `"x": not a field of this record type`},
		{"nested tasks", "plan.created", strings.Replace(created, `["a","b"]`, nested(400), 1), "tasks: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[... (800 bytes) is not a list of task ids"},
		{"nested deeper than the chain accepts", "plan.created", strings.Replace(created, `"tasks":["a","b"]`, `"tasks":["a","b"],"x":`+nested(20000), 1), ""},
		// keys twice, unknown and missing fields
		// A key twice is not canonical: verification catches it (the
		// rebuild would refuse it too, should a chain ever hold one).
		{"key twice", "task.state", strings.Replace(state(""), `"to":"running"`, `"to":"running","to":"passed"`, 1), ""},
		{"unknown field", "task.state", state(`,"passed":true`), `"passed": not a field of this record type`},
		{"missing attempt", "task.state", `{"plan_id":1,"task_id":"b","from":"pending","to":"running"}`, "attempt: missing"},
		{"empty data", "plan.created", `{}`, "plan_id: missing; plan_sha256: missing; tasks: missing; goal_sha256: missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			w, err := chain.Open(path, chain.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for _, ev := range []chain.Event{
				{Type: "plan.created", Session: "s", Data: []byte(created)},
				{Type: "task.state", Session: "s", Data: []byte(moved)},
			} {
				if _, err := w.Append(ctx, ev); err != nil {
					t.Fatalf("appending %s: %v", ev.Type, err)
				}
			}
			head := w.Head()
			w.Close()
			// The writer refuses some of these data (not an object, nested
			// too deeply, a key twice): the record is made by hand, as
			// someone rewriting the chain would, with a correct hash.
			appendRaw(t, path, head, tc.typ, tc.data)
			rep, err := chain.VerifyFile(ctx, path, chain.VerifyOptions{})
			if tc.problem == "" {
				// Verification catches these: status --chain reports its
				// findings and rebuilds nothing.
				if err != nil || rep.OK() || len(rep.Findings) != 1 || rep.Findings[0].Line != 4 {
					t.Fatalf("verification %v, %v; want one finding at line 4", err, rep.Findings)
				}
				return
			}
			if err != nil || !rep.OK() {
				t.Fatalf("the chain does not verify: %v %v", err, rep.Findings)
			}
			cs, err := orchestrator.RebuildFromChain(ctx, rep.Files)
			if err != nil {
				t.Fatalf("RebuildFromChain = %v, want a finding", err)
			}
			if len(cs.Unusable) != 1 {
				t.Fatalf("findings %v, want one", cs.Unusable)
			}
			f := cs.Unusable[0]
			if f.Line != 4 || f.Seq != 3 || f.Type != tc.typ || !strings.Contains(f.Problem, tc.problem) {
				t.Errorf("finding %+v, want line 4, seq 3, %s, a problem with %q", f, tc.typ, tc.problem)
			}
			if n := len(f.String()); n > 600 {
				t.Errorf("the finding is %d bytes long: %.200s", n, f.String())
			}
			for _, r := range f.String() {
				if r < 0x20 || r > 0x7e {
					t.Errorf("the finding holds %U: %q", r, f.String())
					break
				}
			}
			// The rest of the chain is rebuilt as if the record were not there.
			got := map[string]orchestrator.ChainTask{}
			for id, task := range cs.Plans[1].Tasks {
				got[id] = *task
			}
			want := map[string]orchestrator.ChainTask{"a": {State: "running", Attempts: 1}, "b": {State: "pending"}}
			if diff := cmp.Diff(want, got); diff != "" || len(cs.Plans) != 1 || len(cs.Orphans) != 0 {
				t.Errorf("rebuilt plans %v, orphans %v; tasks (-want +got):\n%s", cs.Plans, cs.Orphans, diff)
			}
		})
	}
}

// appendRaw appends a record of type typ with data as it is (not checked,
// not compacted) to the chain at path, whose last record is head, with the
// seq, prev and hash that make it verify (docs/chain-format.md).
func appendRaw(t *testing.T, path string, head chain.Head, typ, data string) {
	t.Helper()
	entry := fmt.Sprintf(`{"seq":%d,"ts":"2026-01-02T03:04:05.000000000Z","type":%q,"session":"s","trace_id":"","span_id":"","data":%s,"prev":"%s"`,
		head.Seq+1, typ, data, head.Hash)
	h := sha256.New()
	h.Write([]byte(entry))
	h.Write(head.Hash[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(entry + `,"hash":"` + hex.EncodeToString(h.Sum(nil)) + "\"}\n"); err != nil {
		t.Fatal(err)
	}
}
