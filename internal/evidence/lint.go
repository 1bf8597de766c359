package evidence

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/tracelint"
)

// maxLintFile bounds a lint report read whole.
const maxLintFile = 64 << 20

// LintReport is what the index shows of a --lint report.
type LintReport struct {
	Path     string         `json:"path"` // in the bundle
	Source   string         `json:"source"`
	Result   string         `json:"result"`
	Spans    int            `json:"spans"`
	Traces   int            `json:"traces"`
	Critical map[string]int `json:"critical_path"`
	// AuditLinked, AuditRecords, Audited and Mutating are the audit
	// coverage (with --audit), -1 when the report has none.
	AuditRecords int `json:"audit_records"`
	AuditLinked  int `json:"audit_linked"`
	Mutating     int `json:"mutating"`
	Audited      int `json:"audited"`
}

// loadLint reads a report of brain-trace-lint --format json: a coverage
// line, findings, a summary line.
func loadLint(src string) (*LintReport, []byte, error) {
	b, err := readSmall(src, maxLintFile)
	if err != nil {
		return nil, nil, err
	}
	bad := func(reason string) error {
		return &InputError{Flag: "--lint", File: src, Reason: "not a brain-trace-lint JSON report: " + reason,
			Hint: "brain-trace-lint --format json --scenario golden/scenarios/NAME --audit .brain/audit.jsonl .brain/spans.jsonl > NAME.lint.json"}
	}
	r := &LintReport{Source: src, AuditRecords: -1, AuditLinked: -1, Mutating: -1, Audited: -1}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxLintFile)
	n, coverage, summary := 0, false, false
	for sc.Scan() {
		n++
		var line struct {
			Kind   string `json:"kind"`
			Result string `json:"result"`
			Spans  int    `json:"spans"`
			Traces int    `json:"traces"`
			tracelint.Coverage
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, nil, bad(fmt.Sprintf("line %d: %v", n, err))
		}
		switch {
		case line.Kind == "coverage" && n == 1:
			coverage = true
			r.Spans, r.Traces, r.Critical = line.Spans, line.Traces, line.CriticalPath
			if a := line.Audit; a != nil {
				r.AuditRecords, r.AuditLinked, r.Mutating, r.Audited = a.Records, a.Linked, a.Mutating, a.Audited
			}
		case line.Kind == "finding" && coverage && !summary:
		case line.Kind == "summary" && coverage && !summary:
			summary = true
			if line.Result != "PASS" && line.Result != "FAIL" {
				return nil, nil, bad(fmt.Sprintf("line %d: result %q", n, short(line.Result)))
			}
			r.Result = line.Result
		default:
			return nil, nil, bad(fmt.Sprintf("line %d: a %q line out of place", n, short(line.Kind)))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, bad(err.Error())
	}
	if !summary {
		return nil, nil, bad("no summary line")
	}
	return r, b, nil
}

// readSmall reads a file named on the command line, of at most max bytes,
// never blocking on a named pipe or a device.
func readSmall(src string, max int) ([]byte, error) {
	return fsutil.ReadSmall(src, max, false)
}
