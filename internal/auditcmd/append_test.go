package auditcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/testutil"
)

// TestAppendDiskFull appends more than a tiny tmpfs holds, in both sync
// modes: the run fails with the audit-write exit code, says how many records
// are durable, and leaves a chain that verifies and holds exactly them.
func TestAppendDiskFull(t *testing.T) {
	for _, mode := range []string{"batch", "each"} {
		t.Run(mode, func(t *testing.T) {
			p := filepath.Join(testutil.Tmpfs(t, "4m"), "audit.jsonl")
			var in bytes.Buffer
			for i := range 20_000 { // about 7.6 MB of records: 2 batches fit
				fmt.Fprintf(&in, `{"type":"t","n":%d,"pad":"%s"}`+"\n", i, strings.Repeat("x", 100))
			}
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), []string{"append", "--sync=" + mode, p}, &in, &stdout, &stderr)
			if code != cli.ExitAuditWrite {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, cli.ExitAuditWrite, &stderr)
			}
			if !strings.Contains(stderr.String(), "no space left on device") {
				t.Errorf("stderr does not name the cause:\n%s", &stderr)
			}
			rep, err := chain.VerifyFile(context.Background(), p, chain.VerifyOptions{})
			if err != nil || !rep.OK() {
				t.Fatalf("chain after the failed append: %v %v", err, rep.Findings)
			}
			durable := rep.Records - 1 // the header
			if durable == 0 {
				t.Fatal("nothing was appended before the disk was full")
			}
			m := regexp.MustCompile(`the (\d+) records before stdin line (\d+) are durable`).FindStringSubmatch(stderr.String())
			if m == nil {
				t.Fatalf("stderr does not say what is durable:\n%s", &stderr)
			}
			if n, _ := strconv.ParseInt(m[1], 10, 64); n != durable {
				t.Errorf("stderr says %d records are durable, the chain holds %d", n, durable)
			}
			if line, _ := strconv.ParseInt(m[2], 10, 64); line != durable+1 {
				t.Errorf("stderr names stdin line %d, want %d", line, durable+1)
			}
		})
	}
}

// TestAppendOversizeLine: a line far over the record size limit is refused,
// naming it, after the lines before it are appended; it is not held in
// memory whole.
func TestAppendOversizeLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	in := `{"type":"t"}` + "\n" + `{"type":"t","pad":"` + strings.Repeat("x", 8<<20) + `"}` + "\n"
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"append", "--sync=batch", p}, strings.NewReader(in), &stdout, &stderr)
	if code != cli.ExitIO || !strings.Contains(stderr.String(), "stdin line 2: line is over the 1048576-byte limit") {
		t.Fatalf("exit %d, stderr:\n%s", code, &stderr)
	}
	rep, err := chain.VerifyFile(context.Background(), p, chain.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Records != 2 {
		t.Fatalf("chain after the refused line: %v, %d records, %v; want the header and line 1", err, rep.Records, rep.Findings)
	}
}

// manyKeys returns an input line of n fields "\u006bI":I (escaped keys),
// then extra, at the top level or, with data, inside "data".
func manyKeys(n int, data bool, extra string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `"\u006b%d":%d,`, i, i)
	}
	fields := b.String() + extra
	fields = strings.TrimSuffix(fields, ",")
	if data {
		return `{"type":"t","data":{` + fields + "}}\n"
	}
	return `{"type":"t",` + fields + "}\n"
}

// TestAppendManyKeys appends lines of 10,000 escaped keys (about 170 KB;
// the duplicate checks once compared every pair, 52 s for such a line): a
// line without a repeat is appended whole, and a repeat is found wherever
// it is, in its decoded form, among the top-level fields or in data.
func TestAppendManyKeys(t *testing.T) {
	const n = 10_000
	for _, tc := range []struct {
		name, line, err string
	}{
		{"distinct fields", manyKeys(n, false, ""), ""},
		{"distinct data keys", manyKeys(n, true, ""), ""},
		{"a field repeated", manyKeys(n, false, `"k17":0`), `stdin line 1: duplicate field "k17"`},
		{"type repeated", manyKeys(n, false, `"type":"u"`), `stdin line 1: duplicate field "type"`},
		{"a data key repeated", manyKeys(n, true, `"k9999":0`), `stdin line 1: event data has duplicate key "k9999" in data`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "audit.jsonl")
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), []string{"append", p}, strings.NewReader(tc.line), &stdout, &stderr)
			if tc.err != "" {
				if code != cli.ExitIO || !strings.Contains(stderr.String(), tc.err) {
					t.Fatalf("exit %d, want %d and %q; stderr:\n%s", code, cli.ExitIO, tc.err, &stderr)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, &stderr)
			}
			s := chain.NewScanner(mustOpen(t, p))
			for s.Scan() {
				if s.LineNumber() == 2 {
					keys := 0
					chain.Fields(s.Record().Data, func(_, _, _ []byte) error { keys++; return nil })
					if keys != n {
						t.Errorf("the record's data has %d keys, want %d", keys, n)
					}
				}
			}
		})
	}
}

func mustOpen(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// FuzzParseEvent holds the strings parseEvent takes from a line (decoded
// together, with one allocation) to encoding/json's reading of the same
// line: every line parseEvent accepts is one object whose type, session,
// trace_id and span_id decode to the event's, and whose other fields are
// in its data.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"a","session":"s","trace_id":"t","span_id":"p","x":1}`,
		`{"span_id":"p","type":"a\u00e9\n","data":{"k":[1,2]}}`,
		`{"type":"","session":"s"}`, `{"type":"a","session":1}`, `{"type":"a","type":"b"}`,
		`{"type":"\ud800x","trace_id":"\"q\"","n":null}`, `{ "type" : "a" , "session" : "é🙂" }`,
		`{"type":"a","seq":1}`, `{"type":"chain.header"}`, `{"type":"a","data":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev, err := parseEvent([]byte(line), &arena{})
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("parseEvent accepted %q, which encoding/json refuses: %v", line, err)
		}
		for key, got := range map[string]string{"type": ev.Type, "session": ev.Session, "trace_id": ev.TraceID, "span_id": ev.SpanID} {
			var want string
			if raw, ok := m[key]; ok {
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatalf("parseEvent accepted %q with %s %s, not a string", line, key, raw)
				}
			}
			if got != want {
				t.Fatalf("parseEvent(%q): %s = %q, encoding/json reads %q", line, key, got, want)
			}
			delete(m, key)
		}
		var data map[string]json.RawMessage
		if err := json.Unmarshal(ev.Data, &data); len(ev.Data) > 0 && err != nil {
			t.Fatalf("parseEvent(%q): data %s: %v", line, ev.Data, err)
		}
		if raw, ok := m["data"]; ok {
			if !json.Valid(raw) || len(m) != 1 {
				t.Fatalf("parseEvent(%q) accepted data with other fields", line)
			}
			return
		}
		if len(data) != len(m) {
			t.Fatalf("parseEvent(%q): data %s, want the %d other fields", line, ev.Data, len(m))
		}
	})
}
