package tracelint

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"strings"
)

// The page's parts, built into the binary: no file of the page is ever
// fetched from anywhere.
//
//go:embed htmlreport/page.html htmlreport/style.css htmlreport/app.js
var pageFiles embed.FS

// pageVersion is the version of the page's data (the JSON block the
// script reads); docs/trace-lint.md describes it.
const pageVersion = 1

// pageData is the JSON block of the page, which its script draws the
// waterfalls from. Strings are numbers in S, the string table, wherever
// they repeat (names, attribute keys and values, sessions, files).
type pageData struct {
	V       int        `json:"v"`
	S       []string   `json:"s"`
	Origins []jsOrigin `json:"o"`
	Traces  []jsTrace  `json:"t"`
	// Findings are the lint findings the page shows; FindingsElsewhere
	// counts those about traces that are not in it.
	Findings          []jsFinding `json:"f"`
	FindingsElsewhere int         `json:"fe"`
	// Other are the audit records that belong to no trace of the page
	// (they name no span, or not as hex ids); MoreOther were left out
	// over the page's limit; AuditElsewhere counts the records of traces
	// that are not in the page.
	Other          []jsRecord `json:"ra"`
	MoreOther      int        `json:"rm"`
	AuditElsewhere int        `json:"re"`
}

// jsOrigin is a resource and instrumentation scope.
type jsOrigin struct {
	A  []any `json:"a"`
	M  int   `json:"m,omitempty"` // attributes not kept
	Sc int   `json:"sc"`
	Sv int   `json:"sv"`
}

// jsTrace is one trace: its header and its rows.
type jsTrace struct {
	ID        string        `json:"id"`
	Start     string        `json:"start"` // the first span's start, UTC
	T0        string        `json:"t0"`    // the same, Unix ns
	Dur       int64         `json:"d"`     // ns
	Sessions  []int         `json:"ss"`
	Cmd       string        `json:"cmd,omitempty"`
	Exit      string        `json:"exit,omitempty"`
	Spans     int           `json:"n"`
	Errors    int           `json:"x"`
	Hidden    int           `json:"h"` // spans in collapsed rows
	Rows      []jsRow       `json:"r"`
	Audit     []jsRecord    `json:"a"`
	MoreAudit int           `json:"am"` // records left out over the page's limit
	GenAI     *GenAISummary `json:"g,omitempty"`

	sessionList []string
}

// jsRow is a row of a waterfall: a span, or (G) an aggregate of subtrees.
type jsRow struct {
	N  int         `json:"n"`            // the span's name
	I  string      `json:"i,omitempty"`  // its id
	P  int         `json:"p"`            // the parent's row, -1
	D  int         `json:"d"`            // depth
	S  int64       `json:"s"`            // start, ns after the trace's start
	E  int64       `json:"e"`            // duration, ns
	X  int         `json:"x,omitempty"`  // 1: status error
	K  string      `json:"k,omitempty"`  // key attributes, as tree shows them
	M  string      `json:"m,omitempty"`  // status message
	L  []int64     `json:"l,omitempty"`  // input file (string), line
	Nt string      `json:"nt,omitempty"` // a note: where its parent is
	Cp int         `json:"cp,omitempty"` // 1: a critical-path span
	Mu int         `json:"mu,omitempty"` // a mutating span: mutAudited...
	Fo int         `json:"fo,omitempty"` // 1: another program's span (not of the dictionary's scope)
	NK int         `json:"nk,omitempty"` // 1: its details were not kept (memory limit)
	Dt *jsSpanData `json:"dt,omitempty"`
	C  *jsHidden   `json:"c,omitempty"` // the subtrees the row stands for
	G  int         `json:"g,omitempty"` // 1: an aggregate row, not a span
}

// jsSpanData is what an expanded row shows.
type jsSpanData struct {
	O   int       `json:"o"` // origin
	K   int       `json:"k"` // kind (OTLP)
	C   int       `json:"c"` // status code (OTLP)
	A   []any     `json:"a"`
	MA  int       `json:"ma,omitempty"`
	Ev  []jsEvent `json:"ev,omitempty"`
	ME  int       `json:"me,omitempty"`
	Ln  []jsLink  `json:"ln,omitempty"`
	ML  int       `json:"ml,omitempty"`
	Cut int       `json:"cut,omitempty"` // its data was cut at this many bytes
}

type jsEvent struct {
	N int   `json:"n"`
	T int64 `json:"t"` // ns after the trace's start
	A []any `json:"a"`
	M int   `json:"m,omitempty"`
}

type jsLink struct {
	T string `json:"t"`
	S string `json:"s"`
	A []any  `json:"a"`
	M int    `json:"m,omitempty"`
}

// jsHidden sums up the spans a collapsed or aggregate row stands for.
type jsHidden struct {
	N     int     `json:"n"`
	X     int     `json:"x"`
	Names [][]int `json:"names"` // name, count; the most frequent first
	More  int     `json:"more,omitempty"`
	S     int64   `json:"s"`
	E     int64   `json:"e"`
}

// jsRecord is an audit record.
type jsRecord struct {
	Seq     uint64  `json:"q"`
	Type    int     `json:"y"`
	Ts      string  `json:"ts"`
	Hash    string  `json:"h"`
	Session int     `json:"ss"`
	Span    string  `json:"sp,omitempty"`
	Row     int     `json:"r"`            // the row of its span, -1
	In      int     `json:"in,omitempty"` // 1: the span is inside a collapsed row
	Unknown int     `json:"u,omitempty"`  // 1: it names a span not in the input
	Data    string  `json:"dt,omitempty"`
	Cut     int     `json:"cut,omitempty"` // the data's length when cut
	NK      int     `json:"nk,omitempty"`  // 1: its data was not kept
	L       []int64 `json:"l"`             // file (string), line
}

// jsFinding is a lint finding.
type jsFinding struct {
	Rule   string `json:"rule"`
	Sev    string `json:"sev"`
	Trace  int    `json:"t"` // -1: about no trace of the page
	Row    int    `json:"r"` // -1: about no drawn span
	In     int    `json:"in,omitempty"`
	Loc    string `json:"loc,omitempty"`
	Span   string `json:"span,omitempty"`
	SpanID string `json:"sid,omitempty"`
	Attr   string `json:"attr,omitempty"`
	Msg    string `json:"msg"`
}

// page is what the template renders: the header, drawn without the
// script (a mail reader that runs no script still shows the verdicts), and
// the data the script draws the waterfalls from.
type page struct {
	Data      *pageData
	Generated string
	Version   string
	Selection string
	Inputs    []string
	Sessions  []string
	Spans     int
	Errors    int
	Chain     chainView
	Lint      lintView
	GenAI     *GenAISummary
	Traces    []traceSummary
	Left      leftOut
}

// leftOut are the traces of the selection that the page does not hold:
// past --max-rows traces (each takes a row at least).
type leftOut struct {
	Traces, Spans, Errors int
}

// traceSummary is a trace in the list to pick from.
type traceSummary struct {
	ID       string
	Index    int
	Sessions []string
	Command  string
	Exit     string
	Start    string
	Duration string
	Spans    int
	Errors   int
}

// pageAssets are the page's template, style sheet and script, and the
// Content-Security-Policy that allows that style sheet and that script
// and nothing else: no request of any kind leaves the page.
type pageAssets struct {
	tmpl   *template.Template
	style  string
	script string
	csp    string
}

// loadAssets reads the embedded files and hashes the style sheet and
// script for the policy.
func loadAssets() (*pageAssets, error) {
	read := func(name string) (string, error) {
		b, err := pageFiles.ReadFile("htmlreport/" + name)
		return string(b), err
	}
	a := &pageAssets{}
	var err error
	if a.style, err = read("style.css"); err != nil {
		return nil, err
	}
	if a.script, err = read("app.js"); err != nil {
		return nil, err
	}
	html, err := read("page.html")
	if err != nil {
		return nil, err
	}
	a.csp = contentSecurityPolicy(a.script, a.style)
	a.tmpl, err = template.New("page").Funcs(template.FuncMap{
		"dur":    func(ns uint64) string { return duration(ns) },
		"join":   strings.Join,
		"int":    func(n int64) int { return int(n) },
		"plural": countOf,
	}).Parse(html)
	return a, err
}

// contentSecurityPolicy allows exactly the one script and style sheet
// given (by their SHA-256) and nothing else: no other script, style,
// image, font, frame or connection, no base URL, no form target.
func contentSecurityPolicy(script, style string) string {
	h := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return "default-src 'none'; script-src " + h(script) + "; style-src " + h(style) + "; img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
}

// writePage renders p. The data goes into a JSON block that html/template
// escapes (no <, > or & appears in it as such), so no string of the input
// can close the block or open an element; the script sets only text.
func writePage(w io.Writer, p *page) error {
	a, err := loadAssets()
	if err != nil {
		return err
	}
	data, err := json.Marshal(p.Data)
	if err != nil {
		return err
	}
	return a.tmpl.Execute(w, struct {
		*page
		CSP    string
		Style  template.CSS
		Script template.JS
		JSON   json.RawMessage
	}{p, a.csp, template.CSS(a.style), template.JS(a.script), data})
}
