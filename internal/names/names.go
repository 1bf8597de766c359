// Package names holds the names BRAIN's spans and errors share with its
// span dictionary, golden/spans.yaml: span names, attribute keys and their
// enum values, and the error classes with the exit code of each. Its
// constants are generated from the dictionary (names_gen.go; a test fails
// when it is stale), so code, dictionary, linter and docs cannot drift:
// write names.SpanLLMProviderChat, names.AttrBrainSessionID or
// names.ClassAuditWriteFailed, never the string.
//
// It depends on nothing but the standard library, so every package can use
// it.
package names

//go:generate go run ./gen -o names_gen.go ../../golden/spans.yaml
