package auditcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/brain-dev/brain/internal/cli"
)

// run runs brain-audit with args and returns its exit code, stdout and
// stderr.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestMissingNewline: a chain whose last record verifies but lacks its
// newline is not torn. verify-log says so and points to repair, append
// refuses naming it, and repair adds the newline, keeping every record.
func TestMissingNewline(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	if code, _, stderr := run(t, "{\"type\":\"a\"}\n{\"type\":\"b\",\"n\":1}\n", "append", p); code != 0 {
		t.Fatalf("append: exit %d\n%s", code, stderr)
	}
	full, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, full[:len(full)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"verify-log", p}, cli.ExitFindings, []string{
			"missing_newline: " + p + ":3 (byte ", "seq 2: the final record verifies but the file does not end with its newline",
			"hint: 'brain-audit repair " + p + "' adds the newline and records the repair; no record is removed"}},
		{[]string{"append", p}, cli.ExitAuditWrite, []string{"cannot append: the last record has no newline",
			"then 'brain-audit repair' if it shows a torn tail or a missing newline"}},
		{[]string{"repair", "--dry-run", p}, 0, []string{"would add the final record's missing newline at byte " + itoa(len(full)-1), "dry run: nothing was changed"}},
		{[]string{"repair", p}, 0, []string{"added the final record's missing newline at byte " + itoa(len(full)-1), "appended chain.repaired record seq 3"}},
		{[]string{"verify-log", p}, 0, []string{"PASS " + p + ": 4 records"}},
	} {
		code, _, stderr := run(t, `{"type":"c"}`+"\n", tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, stderr)
			}
		}
	}
	got, _ := os.ReadFile(p)
	if !bytes.HasPrefix(got, full) {
		t.Fatal("the repaired chain does not keep every byte of the original")
	}
	_, stdout, _ := run(t, "", "show", "--type", "chain.repaired", p)
	if !strings.Contains(stdout, `"data":{"action":"add_final_newline","file":"audit.jsonl","offset":`+itoa(len(full)-1)+`,"bytes":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","quarantine":"","last_good_seq":2,"findings":{"missing_newline":1}}`) {
		t.Errorf("chain.repaired record:\n%s", stdout)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
