package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/google/go-cmp/cmp"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// update regenerates the committed test vectors and corpus.
var update = os.Getenv("UPDATE_GOLDEN") == "1"

// helperEnv names the helper-process mode when the test binary is re-executed
// by a test (see TestMain and helpers in process_test.go).
const helperEnv = "BRAIN_CHAIN_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// testChainID is the chain id of every generated test chain.
const testChainID = "0123456789abcdef0123456789abcdef"

// fixedClock returns a deterministic clock: the n-th call returns a fixed
// instant plus n milliseconds.
func fixedClock() func() time.Time {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
	var mu sync.Mutex
	n := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return t0.Add(time.Duration(n) * time.Millisecond)
	}
}

// openTest opens a writer with the fixed chain id and clock unless opts sets
// them, and closes it when the test ends.
func openTest(t testing.TB, path string, opts Options) *Writer {
	t.Helper()
	if opts.ChainID == "" {
		opts.ChainID = testChainID
	}
	if opts.Now == nil {
		opts.Now = fixedClock()
	}
	w, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// appendReserved appends ev, of a type the chain keeps for itself (the
// writer refuses it from callers), the way Repair appends chain.repaired.
func appendReserved(t testing.TB, w *Writer, ev Event) {
	t.Helper()
	d, err := checkEvent(&ev)
	if err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.lock(); err != nil {
		t.Fatal(err)
	}
	defer w.unlock()
	if _, err := w.appendLocked([]Event{ev}, [][]byte{d}, nil, true); err != nil {
		t.Fatal(err)
	}
}

// appendN appends n records of type typ and returns the heads.
func appendN(t testing.TB, w *Writer, n int, typ string) []Head {
	t.Helper()
	var heads []Head
	for i := range n {
		h, err := w.Append(context.Background(), Event{Type: typ, Data: fmt.Appendf(nil, `{"i":%d}`, i)})
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		heads = append(heads, h)
	}
	return heads
}

// verifyPath verifies the chain ending in path and fails the test on a read
// error.
//
// It verifies path through every reading path — mapped and read, the fast
// parser and the general one — and fails unless they agree.
func verifyPath(t testing.TB, path string, opts VerifyOptions) *Report {
	t.Helper()
	rep, err := VerifyFile(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("VerifyFile(%q): %v", path, err)
	}
	for _, v := range []struct {
		name   string
		mapMin int64
		slow   bool
	}{{"mapped", 1, false}, {"read", -1, false}, {"mapped, general parser", 1, true}, {"read, general parser", -1, true}} {
		o := opts
		o.mapMin, o.slow = v.mapMin, v.slow
		other, err := VerifyFile(context.Background(), path, o)
		if err != nil {
			t.Fatalf("VerifyFile(%q) %s: %v", path, v.name, err)
		}
		if diff := cmp.Diff(rep, other); diff != "" {
			t.Fatalf("VerifyFile(%q): the %s report differs from the default one (-default +%s):\n%s", path, v.name, v.name, diff)
		}
	}
	return rep
}

// mustPass fails the test unless the chain ending in path verifies.
func mustPass(t testing.TB, path string) *Report {
	t.Helper()
	rep := verifyPath(t, path, VerifyOptions{})
	if !rep.OK() {
		t.Fatalf("VerifyFile(%q): want PASS, got findings:\n%s", path, findingsText(rep))
	}
	return rep
}

func findingsText(rep *Report) string {
	var b bytes.Buffer
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "\t%s\n", f)
	}
	if rep.Suppressed > 0 {
		fmt.Fprintf(&b, "\t(%d more)\n", rep.Suppressed)
	}
	return b.String()
}

// chainFiles returns the files of the chain whose active file is path,
// oldest first, the active file last when it exists.
func chainFiles(t testing.TB, path string) []string {
	t.Helper()
	files, err := rotatedFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err == nil {
		files = append(files, path)
	}
	return files
}

// chainRecord is one parsed line of a chain file.
type chainRecord struct {
	file string
	line int
	typ  string
	seq  uint64
	data string
}

// readRecords parses every line of files; it fails the test on a line that
// is not a record, except a torn final line when torn is allowed.
func readRecords(t testing.TB, files []string, torn bool) []chainRecord {
	t.Helper()
	var recs []chainRecord
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; len(b) > 0; n++ {
			k := bytes.IndexByte(b, '\n')
			if k < 0 {
				if torn && i == len(files)-1 {
					break
				}
				t.Fatalf("%s:%d: torn line", name, n)
			}
			var r record
			if pe := parseRecord(b[:k], &r); pe != nil {
				t.Fatalf("%s:%d: %v", name, n, pe)
			}
			recs = append(recs, chainRecord{file: filepath.Base(name), line: n, typ: unquote(t, r.typ), seq: r.seq, data: string(r.data)})
			b = b[k+1:]
		}
	}
	return recs
}

func unquote(t testing.TB, tok []byte) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		t.Fatalf("unquote %s: %v", tok, err)
	}
	return s
}

// indentJSON encodes v for a committed test file: indented, HTML characters
// as they are.
func indentJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkAcked checks that the single-file chain at path verifies and holds
// exactly its header and the acknowledged records of type typ.
func checkAcked(t testing.TB, path string, acked []uint64, typ string) {
	t.Helper()
	mustPass(t, path)
	recs := readRecords(t, []string{path}, false)
	if miss := missingSeqs(acked, seqSet(recs, typ)); len(miss) > 0 {
		t.Errorf("acknowledged seqs missing: %v", miss)
	}
	if len(recs) != len(acked)+1 {
		t.Errorf("%d records in the file, want the header and %d acknowledged", len(recs), len(acked))
	}
}

// seqSet returns the seqs of the records of type typ ("" for all).
func seqSet(recs []chainRecord, typ string) map[uint64]bool {
	m := make(map[uint64]bool)
	for _, r := range recs {
		if typ == "" || r.typ == typ {
			m[r.seq] = true
		}
	}
	return m
}

// missingSeqs returns the members of want absent from have, sorted.
func missingSeqs(want []uint64, have map[uint64]bool) []uint64 {
	var miss []uint64
	for _, s := range want {
		if !have[s] {
			miss = append(miss, s)
		}
	}
	sort.Slice(miss, func(i, j int) bool { return miss[i] < miss[j] })
	return miss
}
