package tracelint

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// lintBroken lints a recording with one unknown span and one deprecated
// attribute, under the config given.
func lintBroken(t *testing.T, config string) *Result {
	r := newRecording(t)
	r.command(context.Background(), "exec", func(ctx context.Context) {
		_, s := r.span(ctx, "made.up", trace.SpanKindInternal)
		s.End()
		_, s = r.span(ctx, "audit_logger.write_event", trace.SpanKindInternal, attribute.String("audit.event_type", "x"), attribute.String("gen_ai.system", "openai"))
		s.End()
	})
	r.close()
	c, err := ParseConfig([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	return lintFiles(t, Options{Config: c, Audit: r.chain()}, r.spans())
}

// brokenResult is lintBroken with the deprecated attribute downgraded to a
// warning.
func brokenResult(t *testing.T) *Result {
	return lintBroken(t, "version: 1\nrules: [{rule: deprecated-attribute, severity: warning, reason: adopting}]\n")
}

// TestJSONReport: the coverage first, one finding per line, then a summary.
func TestJSONReport(t *testing.T) {
	res := brokenResult(t)
	var b bytes.Buffer
	if err := WriteReport(&b, res, FormatJSON, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	var kinds []string
	for _, l := range lines {
		var v struct {
			Kind, Rule, Severity, Span string
			SpanID                     string `json:"span_id"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		kinds = append(kinds, v.Kind+":"+v.Rule+":"+v.Severity)
		if v.Kind == "finding" && (v.Span == "" || len(v.SpanID) != 16) {
			t.Errorf("finding %q does not name its span", l)
		}
	}
	want := []string{"coverage::", "finding:unknown-span:error", "finding:deprecated-attribute:warning", "summary::"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	var sum Summary
	json.Unmarshal([]byte(lines[len(lines)-1]), &sum)
	if sum.Result != "FAIL" || sum.Errors != 1 || sum.Warnings != 1 || sum.Spans != 5 || sum.Rules["unknown-span"].Errors != 1 {
		t.Errorf("summary %+v", sum)
	}
	var cov struct {
		Spans        int
		CriticalPath map[string]int `json:"critical_path"`
		Audit        *AuditCoverage
	}
	json.Unmarshal([]byte(lines[0]), &cov)
	if cov.Spans != 5 || cov.CriticalPath["brain_cli.command"] != 1 || cov.Audit == nil || cov.Audit.Records != 2 {
		t.Errorf("coverage line %s", lines[0])
	}
}

// TestJUnitReport: valid JUnit XML, a case per rule, failed where the rule
// has errors; warnings in the case's output.
func TestJUnitReport(t *testing.T) {
	res := brokenResult(t)
	var b bytes.Buffer
	if err := WriteReport(&b, res, FormatJUnit, false); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v in:\n%s", err, b.String())
	}
	s := doc.Suites[0]
	if doc.Failures != 1 || s.Tests != len(Rules) || s.Failures != 1 {
		t.Fatalf("tests %d, failures %d/%d; want %d tests, 1 failure", s.Tests, doc.Failures, s.Failures, len(Rules))
	}
	for _, c := range s.Cases {
		switch c.Name {
		case "unknown-span":
			if c.Failure == nil || !strings.Contains(c.Failure.Text, "span made.up") {
				t.Errorf("unknown-span case %+v", c)
			}
		case "deprecated-attribute":
			if c.Failure != nil || !strings.Contains(c.SystemOut, "warning deprecated-attribute") {
				t.Errorf("deprecated-attribute case %+v", c)
			}
		default:
			if c.Failure != nil {
				t.Errorf("case %s failed", c.Name)
			}
		}
	}
}

// TestTextReport: coverage lines first, then "FILE:LINE: SEVERITY RULE: span
// NAME ID: ..." lines; colour only when asked.
func TestTextReport(t *testing.T) {
	res := brokenResult(t)
	var plain, coloured bytes.Buffer
	WriteReport(&plain, res, FormatText, false)
	WriteReport(&coloured, res, FormatText, true)
	lines := strings.Split(plain.String(), "\n")
	if !strings.HasPrefix(lines[0], "spans: 5 in 1 trace; critical path: brain_cli.command 1") || !strings.HasPrefix(lines[1], "audit: 2 records") {
		t.Errorf("coverage lines: %q", lines[:2])
	}
	if !strings.Contains(lines[2], "spans.jsonl:1: error unknown-span: span made.up ") || !strings.HasSuffix(lines[2], ": not in the span dictionary") {
		t.Errorf("finding line %q", lines[2])
	}
	if strings.Contains(plain.String(), "\x1b[") || !strings.Contains(coloured.String(), "\x1b[") {
		t.Error("colour in the plain report, or none in the coloured one")
	}
}
