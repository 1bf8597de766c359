package telemetry

// The span names metrics are derived from, for the test that holds them to
// the packages that make the spans.
const (
	ChatSpan        = chatSpan
	AuditWriteSpan  = auditWriteSpan
	CommandRootSpan = commandRootSpan
)
