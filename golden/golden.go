// Package golden embeds the project's golden files: the audit event schema
// (and, later, the span dictionary and scenarios), so the binaries and tests
// read one copy from any directory.
package golden

import _ "embed"

// AuditSchema is golden/audit.schema.json.
//
//go:embed audit.schema.json
var AuditSchema []byte

// Spans is golden/spans.yaml, the span dictionary.
//
//go:embed spans.yaml
var Spans []byte
