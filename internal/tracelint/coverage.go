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
	for i := range l.nodes {
		n := &l.nodes[i]
		if spec := l.names[n.name].spec; spec != nil && spec.CriticalPath && n.flags&fForeign == 0 {
			c.CriticalPath[l.nameOf(n)]++
		}
	}
	if a := l.audit; a != nil {
		ac := &AuditCoverage{Records: len(a.records)}
		for _, r := range a.records {
			if _, ok := l.index[r.key]; ok && r.hasSpan && !r.badIDs {
				ac.Linked++
			}
		}
		for i := range l.nodes {
			n := &l.nodes[i]
			if spec := l.names[n.name].spec; spec != nil && spec.MutatesState && n.flags&(fForeign|fAuditFailed) == 0 {
				ac.Mutating++
				if a.spans[n.key] {
					ac.Audited++
				}
			}
		}
		c.Audit = ac
	}
	return c
}
