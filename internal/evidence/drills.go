package evidence

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"
)

// journalFormat is the drill journal's format (internal/drill's
// JournalFormat, docs/brain-drill.md); brain-audit, which builds for every
// system, reads journals without linking the drill runner, and a test holds
// the two to each other.
const journalFormat = "brain-drill-journal/1"

// journalRun is one run of one drill in a journal: times are RFC 3339,
// durations milliseconds, ttd_ms and ttr_ms null when there is none.
type journalRun struct {
	ID              string `json:"id"`
	Title           string `json:"title"`
	File            string `json:"file"`
	Run             int    `json:"run"`
	Start           string `json:"start"`
	Verdict         string `json:"verdict"`
	TTDMS           *int64 `json:"ttd_ms"`
	TTRMS           *int64 `json:"ttr_ms"`
	DetectWithinMS  int64  `json:"detect_within_ms"`
	RecoverWithinMS int64  `json:"recover_within_ms"`
}

// passed is the verdict of a drill run that passed.
const passed = "passed"

// journal is what a bundle reads of a drill journal.
type journal struct {
	Format  string       `json:"format"`
	Started string       `json:"started"`
	Drills  []journalRun `json:"drills"`
}

// The targets the mean times to detect and to recover are held to over a
// period (docs/soc2.md).
const (
	TargetMTTD = 15 * time.Minute
	TargetMTTR = time.Hour
)

// maxDrillFile bounds a journal or JUnit file read whole.
const maxDrillFile = 64 << 20

// DrillRun is one run of one drill, from a journal, and the journal's path
// in the bundle.
type DrillRun struct {
	journalRun
	Journal string `json:"journal"`
}

// DrillSummary is drills/summary.json: every run of the period and the
// means over it against the targets.
type DrillSummary struct {
	Runs []DrillRun `json:"runs"`
	// Detected and Recovered count the runs with a TTD, a TTR.
	Detected  int `json:"detected"`
	Recovered int `json:"recovered"`
	Passed    int `json:"passed"`
	// MTTDMS and MTTRMS are the means over the runs that have one; null
	// when none has.
	MTTDMS       *int64 `json:"mttd_ms"`
	MTTRMS       *int64 `json:"mttr_ms"`
	TargetMTTDMS int64  `json:"target_mttd_ms"`
	TargetMTTRMS int64  `json:"target_mttr_ms"`
	// Met is true when there are runs, every run passed, and both means
	// are within their targets.
	Met bool `json:"met"`
}

// InputError reports an input file that is not what its flag takes.
type InputError struct {
	Flag   string
	File   string
	Reason string
	Hint   string
}

func (e *InputError) Error() string { return fmt.Sprintf("%s %s: %s", e.Flag, e.File, e.Reason) }

// drillFile is a --drills file: a journal or a JUnit report.
type drillFile struct {
	src     string
	journal *journal
	junit   bool
	start   time.Time // the journal's or report's start, zero if unknown
}

// loadDrillFile reads and checks a --drills file.
func loadDrillFile(src string) (*drillFile, []byte, error) {
	b, err := readSmall(src, maxDrillFile)
	if err != nil {
		return nil, nil, err
	}
	bad := func(reason string) error {
		return &InputError{Flag: "--drills", File: src, Reason: reason,
			Hint: "give the journal and JUnit report brain-drill run writes (--json FILE, --junit FILE)"}
	}
	trim := bytes.TrimSpace(b)
	switch {
	case bytes.HasPrefix(trim, []byte("{")):
		dec := json.NewDecoder(bytes.NewReader(b))
		var j journal
		if err := dec.Decode(&j); err != nil {
			return nil, nil, bad("not a drill journal: " + err.Error())
		}
		if dec.More() {
			return nil, nil, bad("not a drill journal: data after the journal")
		}
		if j.Format != journalFormat {
			return nil, nil, bad(fmt.Sprintf("not a drill journal: its format is %q, not %q", short(j.Format), journalFormat))
		}
		t, err := time.Parse(time.RFC3339Nano, j.Started)
		if err != nil {
			return nil, nil, bad("the journal's started time is not RFC 3339")
		}
		return &drillFile{src: src, journal: &j, start: t}, b, nil
	case bytes.HasPrefix(trim, []byte("<")):
		var r struct {
			XMLName xml.Name `xml:"testsuites"`
			Suites  []struct {
				Timestamp string `xml:"timestamp,attr"`
			} `xml:"testsuite"`
		}
		dec := xml.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&r); err != nil {
			return nil, nil, bad("not a JUnit report: " + err.Error())
		}
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if cd, ok := tok.(xml.CharData); err != nil || !ok || len(bytes.TrimSpace(cd)) > 0 {
				return nil, nil, bad("not a JUnit report: data after <testsuites>")
			}
		}
		df := &drillFile{src: src, junit: true}
		if len(r.Suites) > 0 {
			if t, err := time.Parse(time.RFC3339Nano, r.Suites[0].Timestamp); err == nil {
				df.start = t
			}
		}
		return df, b, nil
	}
	return nil, nil, bad("neither a drill journal (JSON) nor a JUnit report (XML)")
}

// summarize computes the drill summary of the journals kept.
func summarize(runs []DrillRun) DrillSummary {
	s := DrillSummary{Runs: runs, TargetMTTDMS: TargetMTTD.Milliseconds(), TargetMTTRMS: TargetMTTR.Milliseconds()}
	if s.Runs == nil {
		s.Runs = []DrillRun{}
	}
	var ttd, ttr int64
	for _, r := range runs {
		if r.Verdict == passed {
			s.Passed++
		}
		if r.TTDMS != nil {
			s.Detected++
			ttd += *r.TTDMS
		}
		if r.TTRMS != nil {
			s.Recovered++
			ttr += *r.TTRMS
		}
	}
	if s.Detected > 0 {
		m := ttd / int64(s.Detected)
		s.MTTDMS = &m
	}
	if s.Recovered > 0 {
		m := ttr / int64(s.Recovered)
		s.MTTRMS = &m
	}
	s.Met = len(runs) > 0 && s.Passed == len(runs) && s.MTTDMS != nil && *s.MTTDMS <= s.TargetMTTDMS &&
		s.MTTRMS != nil && *s.MTTRMS <= s.TargetMTTRMS
	return s
}
