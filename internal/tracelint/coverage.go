package tracelint

// Coverage is what the output gives first: the critical-path spans the
// input has, how its audit records and spans match (with --audit), and the
// scenario's figures (with --scenario).
type Coverage struct {
	// CriticalPath counts the input's spans of each critical-path name
	// (critical_path in the span dictionary).
	CriticalPath map[string]int    `json:"critical_path"`
	Audit        *AuditCoverage    `json:"audit,omitempty"`
	Scenario     *ScenarioCoverage `json:"scenario,omitempty"`
}

// AuditCoverage relates the audit records and the spans.
type AuditCoverage struct {
	// Records are the chain's records (headers excluded); Linked those that
	// name a span of the input.
	Records int `json:"records"`
	Linked  int `json:"linked"`
	// Mutating are the spans the dictionary marks as mutating state (but
	// those of operations aborted because their record could not be
	// written); Audited those an audit record names.
	Mutating int `json:"mutating"`
	Audited  int `json:"audited"`
}

func (l *linter) coverage() Coverage {
	c := Coverage{CriticalPath: map[string]int{}}
	if l.audit != nil {
		c.Audit = &AuditCoverage{Records: len(l.audit.records)}
	}
	l.addCoverage(&c, nil)
	return c
}

// addCoverage adds to c the figures of l's spans and of the audit records
// of recs (nil: all).
func (l *linter) addCoverage(c *Coverage, recs []int32) {
	for i := range l.nodes {
		n := &l.nodes[i]
		if spec := l.names[n.name].spec; spec != nil && spec.CriticalPath && n.flags&fForeign == 0 {
			c.CriticalPath[l.nameOf(n)]++
		}
	}
	a := l.audit
	if a == nil {
		return
	}
	ac := c.Audit
	l.eachRecord(recs, func(_ int, r *auditRecord) {
		if _, ok := l.index[r.key]; ok && r.hasSpan && !r.badIDs {
			ac.Linked++
		}
	})
	for i := range l.nodes {
		n := &l.nodes[i]
		if spec := l.names[n.name].spec; spec != nil && spec.MutatesState && n.flags&(fForeign|fAuditFailed) == 0 {
			ac.Mutating++
			if a.spans[n.key] {
				ac.Audited++
			}
		}
	}
}
