// Package golden embeds the project's golden files: the audit event schema,
// the span dictionary and the golden scenarios, so the binaries and tests
// read one copy from any directory.
package golden

import "embed"

// AuditSchema is golden/audit.schema.json.
//
//go:embed audit.schema.json
var AuditSchema []byte

// Spans is golden/spans.yaml, the span dictionary.
//
//go:embed spans.yaml
var Spans []byte

// Scenarios holds what brain-run demo installs of each golden scenario:
// scenarios/NAME/goal.txt, scenarios/NAME/cassette.jsonl and the files under
// scenarios/NAME/project. The scenario's replies/, from which its cassette is
// built, stay in the repository.
//
//go:embed scenarios/basic/goal.txt scenarios/basic/cassette.jsonl scenarios/basic/project
var Scenarios embed.FS
