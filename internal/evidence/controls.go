package evidence

// Control is one row of the control mapping: a SOC 2 criterion, what BRAIN
// does for it, the command that produces its evidence, the files of this
// bundle that evidence it, and the test that proves the feature works
// (docs/soc2.md holds the full table).
type Control struct {
	ID        string   `json:"id"`
	Criterion string   `json:"criterion"`
	Brain     string   `json:"brain"`
	Command   string   `json:"command"`
	Test      string   `json:"test"`
	Files     []string `json:"files"`
	// Gap says what the bundle lacks for this control ("" when none).
	Gap string `json:"gap,omitempty"`
}

// controls fills the mapping with the files of the bundle.
func controls(idx *indexData) []Control {
	var verify, checkpoints, proofs, samples []string
	for _, c := range idx.Chains {
		verify = append(verify, c.Text, c.JSON)
		if c.Checkpoints != "" {
			checkpoints = append(checkpoints, c.Checkpoints)
		}
		samples = append(samples, c.SampleFile)
		proofs = append(proofs, c.Proofs...)
	}
	var drills, lint []string
	for _, f := range idx.DrillFiles {
		drills = append(drills, f.Path)
	}
	if idx.Drills != nil {
		drills = append(drills, "drills/summary.json")
	}
	for _, l := range idx.Lint {
		lint = append(lint, l.Path)
	}
	cat := func(ls ...[]string) []string {
		out := []string{}
		for _, l := range ls {
			out = append(out, l...)
		}
		return out
	}
	rows := []Control{
		{ID: "CC7.1", Criterion: "detection and monitoring procedures identify changes to configurations and susceptibilities to vulnerabilities",
			Brain:   "the span dictionary (golden/spans.yaml) and brain-trace-lint hold every command's telemetry to it; signed checkpoints make any change to the audit log, even rewritten and rehashed, detectable",
			Command: "brain-trace-lint --format json --scenario golden/scenarios/NAME --audit .brain/audit.jsonl .brain/spans.jsonl; brain-audit verify-log --vkey KEY.vkey .brain/audit.jsonl",
			Test:    "testdata/script/lint_scenario.txtar, testdata/script/audit_checkpoint_attacks.txtar",
			Files:   cat(lint, checkpoints, verify)},
		{ID: "CC7.2", Criterion: "system components are monitored for anomalies indicative of malicious acts, natural disasters and errors",
			Brain:   "every command, LLM call and state change is traced (OpenTelemetry) and written to the hash-chained audit log before it takes effect; verify-log locates every break",
			Command: "brain-audit verify-log --json --vkey KEY.vkey .brain/audit.jsonl",
			Test:    "testdata/script/audit_verify.txtar, chain corpus (chain/corpus_test.go)",
			Files:   cat(verify, lint)},
		{ID: "CC7.3", Criterion: "security events are evaluated to determine whether they could or did result in a failure (incidents)",
			Brain:   "verify-log classifies each finding (tampering, deletion, torn write) with file, line and last good record; sampled records are proved against signed checkpoints",
			Command: "brain-audit evidence --sample N (brain-audit prove, verify-proof)",
			Test:    "testdata/script/audit_evidence.txtar, chain/checkpoint/proof_test.go",
			Files:   cat(verify, samples, proofs)},
		{ID: "CC7.4", Criterion: "identified security incidents are responded to by executing a defined incident-response program",
			Brain:   "the run-book (docs/runbook.md) is exercised by the drills (drills/*.md), whose journals record every phase and the time to detect",
			Command: "brain-drill run --json journal.json --junit junit.xml drills/",
			Test:    "testdata/script/drill_shipped.txtar, runbook_test.go",
			Files:   drills},
		{ID: "CC7.5", Criterion: "activities to recover from identified security incidents are identified, developed and implemented",
			Brain:   "each drill recovers and checks the steady state again (time to recover); repair never rewrites history and records what it did",
			Command: "brain-drill run ...; brain-audit repair CHAIN",
			Test:    "testdata/script/drill_run.txtar, testdata/script/audit_repair.txtar",
			Files:   cat(drills, checkpoints)},
	}
	for i := range rows {
		if len(rows[i].Files) == 0 {
			rows[i].Gap = "no file of this bundle evidences it"
			switch rows[i].ID {
			case "CC7.4", "CC7.5":
				rows[i].Gap += ": add the drill journals (--drills)"
			case "CC7.1":
				rows[i].Gap += ": add the span-coverage reports (--lint)"
			}
		}
	}
	return rows
}
