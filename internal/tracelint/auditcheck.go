package tracelint

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/internal/chainarg"
	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/names"
)

// auditRecord is what the linter keeps of an audit record.
type auditRecord struct {
	seq     uint64
	typ     string
	key     spanKey
	hasSpan bool // trace_id and span_id are set
	badIDs  bool // they are set but are not hex ids
	hash    string
	file    string
	line    int64
	// Kept for the report only.
	ts      time.Time
	session string
	data    []byte // cut to maxRecordData; nil when not kept
	cut     int    // the data's length when it was cut
}

// auditData is an audit chain as the linter reads it.
type auditData struct {
	records []auditRecord
	spans   map[spanKey]bool // the spans records name
	byHash  map[string]int   // index in records
	types   map[string]int   // records per type (headers excluded)
	// reports are the chains' verification reports, for the report's
	// verdict.
	reports []*chain.Report
	// keep is set for the report: records keep their time, session and
	// data (within maxKeptRecords bytes of data, counted in kept).
	keep     bool
	kept     int
	sessions map[string]string
}

// readAudit verifies the chain at path (a file with the rotated files
// before it, or a directory of chains) with the chain package, reports what
// verification found as audit-chain findings, and reads its records. It
// returns an *InputError when the chain cannot be read at all.
func readAudit(ctx context.Context, path string, found *findings, keep bool) (*auditData, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, &InputError{Name: path, Err: fsutil.WithoutPath(err)}
	}
	targets, _, err := chainarg.Resolve(path, nil)
	var ae *chainarg.Error
	switch {
	case errors.Is(err, chainarg.ErrNoChain):
		return nil, &InputError{Name: path, Err: chainarg.ErrNoChain, Hint: "pass the chain file, e.g. --audit .brain/audit.jsonl"}
	case errors.As(err, &ae):
		return nil, &InputError{Name: path, Err: chainarg.Unwrap(ae.Err)}
	}
	var reports []*chain.Report
	vo := chain.VerifyOptions{MaxFindings: 1 << 20}
	for _, t := range targets {
		rep, err := t.Verify(ctx, vo)
		if err != nil {
			return nil, &InputError{Name: path, Err: chainarg.Unwrap(err)}
		}
		reports = append(reports, rep)
	}
	a := &auditData{spans: map[spanKey]bool{}, byHash: map[string]int{}, types: map[string]int{}, reports: reports, keep: keep, sessions: map[string]string{}}
	for _, rep := range reports {
		for _, f := range rep.Findings {
			found.raise(Finding{Rule: RuleAuditChain, File: f.File, Line: f.Line, Message: fmt.Sprintf("%s: %s", f.Class, chainDetail(f)), file: -1, span: -1})
		}
		for _, name := range rep.Files {
			if err := a.scan(name, found); err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

// chainDetail is a chain finding's text without its location, which the
// linter's own output gives.
func chainDetail(f chain.Finding) string {
	s := f.Detail
	if f.Expected != "" || f.Found != "" {
		s += fmt.Sprintf(" (expected %s, found %s)", orNothing(f.Expected), orNothing(f.Found))
	}
	if f.LastGood != nil {
		s += fmt.Sprintf("; last good record: seq %d at %s:%d", f.LastGood.Seq, f.LastGood.File, f.LastGood.Line)
	}
	return s
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// scan reads the records of one chain file. Lines that are not records
// were reported by verification.
func (a *auditData) scan(name string, found *findings) error {
	f, err := fsutil.Open(name)
	if err != nil {
		return &InputError{Name: name, Err: chainarg.Unwrap(err)}
	}
	defer f.Close()
	s := chain.NewScanner(f)
	for s.Scan() {
		if s.LineErr() != nil {
			continue
		}
		rec := s.Record()
		if rec.Type == chain.HeaderType {
			continue
		}
		r := auditRecord{seq: rec.Seq, typ: rec.Type, hash: rec.Hash.String(), file: name, line: s.LineNumber()}
		if a.keep {
			a.keepRecord(&r, rec)
		}
		if rec.TraceID != "" || rec.SpanID != "" {
			r.hasSpan = true
			tid, err1 := hex.DecodeString(rec.TraceID)
			sid, err2 := hex.DecodeString(rec.SpanID)
			if err1 != nil || err2 != nil || len(tid) != 16 || len(sid) != 8 {
				r.badIDs = true
			} else {
				r.key = spanKey{pcommon.TraceID(tid), pcommon.SpanID(sid)}
				a.spans[r.key] = true
			}
		}
		if sec, ok := findSecret(string(rec.Data)); ok {
			found.raise(Finding{Rule: RuleSecret, File: name, Line: r.line,
				Message: fmt.Sprintf("audit record seq %d (%s): its data holds what looks like %s", r.seq, r.typ, sec), file: -1, span: -1})
		}
		a.byHash[r.hash] = len(a.records)
		a.types[r.typ]++
		a.records = append(a.records, r)
	}
	if err := s.Err(); err != nil {
		return &InputError{Name: name, Err: err}
	}
	return nil
}

// keepRecord keeps what the report shows of rec beyond what the linter
// checks: its time, session and data (cut, and within maxKeptRecords).
func (a *auditData) keepRecord(r *auditRecord, rec chain.Record) {
	r.ts = rec.Time
	s, ok := a.sessions[rec.Session]
	if !ok {
		s = cutString(rec.Session)
		if len(a.sessions) < 1<<12 {
			a.sessions[rec.Session] = s
		}
	}
	r.session = s
	d := []byte(rec.Data)
	if len(d) > maxRecordData {
		r.cut = len(d)
		n := maxRecordData
		for n > 0 && !utf8.RuneStart(d[n]) {
			n--
		}
		d = d[:n]
	}
	if a.kept+len(d) <= maxKeptRecords {
		a.kept += len(d)
		r.data = append([]byte(nil), d...)
	}
}

// checkAudit checks the spans against the audit records: every record
// names a span of the input, every mutating span has a record, and every
// audit_logger.write_event span's record is in the chain as it says.
func (l *linter) checkAudit() {
	l.checkRecords(nil)
	l.checkAuditSpans()
}

// eachRecord calls fn with each audit record of recs (indices in
// l.audit.records), or with every record when recs is nil.
func (l *linter) eachRecord(recs []int32, fn func(i int, r *auditRecord)) {
	a := l.audit
	if recs == nil {
		for i := range a.records {
			fn(i, &a.records[i])
		}
		return
	}
	for _, i := range recs {
		fn(int(i), &a.records[i])
	}
}

// checkRecords reports the records of recs (nil: all) that name no span of
// the input.
func (l *linter) checkRecords(recs []int32) {
	l.eachRecord(recs, func(i int, r *auditRecord) {
		f := Finding{Rule: RuleAuditUnknownSpan, File: r.file, Line: r.line, file: -1, span: -1, key: findKey{phaseAudit, 0, int64(i)}}
		switch {
		case !r.hasSpan:
			if r.typ == chain.RepairedType {
				return // brain-audit repair writes it, outside any trace
			}
			f.Message = fmt.Sprintf("audit record seq %d (%s) names no span (no trace_id/span_id)", r.seq, r.typ)
		case r.badIDs:
			f.Message = fmt.Sprintf("audit record seq %d (%s): trace_id/span_id are not hex ids", r.seq, r.typ)
		default:
			if _, ok := l.index[r.key]; ok {
				return
			}
			f.TraceID, f.SpanID = traceHex(r.key.trace), spanHex(r.key.span)
			f.Message = fmt.Sprintf("audit record seq %d (%s) names span %s of trace %s, which is not in the input", r.seq, r.typ, f.SpanID, f.TraceID)
		}
		l.found.raise(f)
	})
}

// checkAuditSpans reports the mutating spans no record names, and the
// audit_logger.write_event spans whose record is not as they say.
func (l *linter) checkAuditSpans() {
	a := l.audit
	for i := range l.nodes {
		n := &l.nodes[i]
		spec := l.names[n.name].spec
		// An operation whose audit record could not be written was
		// aborted, and its span says so: nothing to audit.
		if n.flags&(fForeign|fAuditFailed) != 0 || spec == nil || !spec.MutatesState || a.spans[n.key] {
			continue
		}
		f := l.spanFinding(RuleAuditMissing, i, "", "the span mutates state (span dictionary) but no audit record names it")
		f.key = findKey{phaseAudit, 1, l.ord(i)}
		l.found.add(f)
	}
	for _, w := range l.writes {
		n := &l.nodes[w.node]
		key := findKey{phaseAudit, 2, l.ord(w.node)}
		ri, ok := a.byHash[w.hash]
		if !ok {
			f := l.spanFinding(RuleAuditMismatch, w.node, names.AttrAuditHash,
				fmt.Sprintf("the span wrote record seq %d (%s) with hash %.12s…, which the chain does not hold", w.seq, w.eventType, w.hash))
			f.key = key
			l.found.add(f)
			continue
		}
		r := a.records[ri]
		var what []string
		if int64(r.seq) != w.seq {
			what = append(what, fmt.Sprintf("seq %d, the span says %d", r.seq, w.seq))
		}
		if w.eventType != "" && r.typ != w.eventType {
			what = append(what, fmt.Sprintf("type %s, the span says %s", r.typ, w.eventType))
		}
		if r.key != (spanKey{n.key.trace, n.parent}) {
			what = append(what, fmt.Sprintf("span %s, not the write span's parent %s", spanHex(r.key.span), spanHex(n.parent)))
		}
		if len(what) > 0 {
			f := l.spanFinding(RuleAuditMismatch, w.node, "", fmt.Sprintf("the record at %s:%d has %s", r.file, r.line, joinAnd(what)))
			f.key = key
			l.found.add(f)
		}
	}
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	s := xs[0]
	for _, x := range xs[1 : len(xs)-1] {
		s += ", " + x
	}
	return s + " and " + xs[len(xs)-1]
}
