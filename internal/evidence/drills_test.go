//go:build unix

package evidence

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/brain-dev/brain/internal/drill"
)

// TestJournalFormat holds what a bundle reads of a journal to the journal
// brain-drill writes: its format, and every field, through a journal made
// by the drill package.
func TestJournalFormat(t *testing.T) {
	if journalFormat != drill.JournalFormat || passed != string(drill.Passed) {
		t.Fatalf("evidence reads %q (verdict %q), brain-drill writes %q (%q)", journalFormat, passed, drill.JournalFormat, drill.Passed)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	d := &drill.Drill{ID: "disk-full", Title: "The disk is full", File: "drills/disk-full.md", DetectWithin: 2 * time.Second, RecoverWithin: 10 * time.Second}
	res := []*drill.Result{{Drill: d, Run: 1, Verdict: drill.Passed, Start: t0, End: t0.Add(time.Second),
		T0: t0.Add(100 * time.Millisecond), DetectedAt: t0.Add(400 * time.Millisecond), RecoveredAt: t0.Add(900 * time.Millisecond)}}
	j := drill.NewJournal("brain-drill", res, 1, t0, t0.Add(time.Second), false)
	p := filepath.Join(t.TempDir(), "journal.json")
	if err := os.WriteFile(p, j.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	df, _, err := loadDrillFile(p)
	if err != nil {
		t.Fatal(err)
	}
	got := df.journal.Drills[0]
	jd := j.Drills[0]
	want := []any{jd.ID, jd.Title, jd.File, jd.Run, jd.Start, string(jd.Verdict), *jd.TTDMS, *jd.TTRMS, jd.DetectWithinMS, jd.RecoverWithinMS}
	if d := cmp.Diff(want, []any{got.ID, got.Title, got.File, got.Run, got.Start, got.Verdict, *got.TTDMS, *got.TTRMS, got.DetectWithinMS, got.RecoverWithinMS}); d != "" {
		t.Fatalf("journal fields (-want +got):\n%s", d)
	}
	if !df.start.Equal(t0) {
		t.Fatalf("start %v, want %v", df.start, t0)
	}
}
