package chain

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzVerify checks three properties:
//
//  1. VerifyReader never panics and never fails to produce a report, whatever
//     the input (data).
//  2. One mutation of a good corpus chain (chosen by which) — a byte flip, an
//     insertion, a deletion or a copy of a range to another place, at a
//     position chosen by the fuzzer — never verifies, unless it is a clean cut
//     of whole records at the end, which a plain hash chain cannot detect.
//  3. The fast path and the general parser give the same report for data.
func FuzzVerify(f *testing.F) {
	goods := corpusFiles(f, "good") // none is empty
	for i, g := range goods {
		for op := range uint8(4) {
			f.Add(g, uint8(i), op, uint32(len(g)/2), uint16(i*7+1), byte(op+1))
		}
	}
	for _, b := range corpusFiles(f, "bad") {
		f.Add(b, uint8(0), uint8(0), uint32(0), uint16(1), byte(1))
	}
	ctx := context.Background()
	opts := VerifyOptions{Workers: 2}
	slow := VerifyOptions{Workers: 2, slow: true}
	f.Fuzz(func(t *testing.T, data []byte, which, op uint8, pos uint32, n uint16, val byte) {
		rep, err := VerifyReader(ctx, "input", bytes.NewReader(data), opts)
		if err != nil {
			t.Fatalf("VerifyReader: %v", err)
		}
		// 3. The fast parser and the general one agree on every input.
		general, err := VerifyReader(ctx, "input", bytes.NewReader(data), slow)
		if err != nil {
			t.Fatalf("VerifyReader: %v", err)
		}
		if diff := cmp.Diff(general, rep); diff != "" {
			t.Fatalf("the fast path's report differs from the general parser's (-general +fast):\n%s", diff)
		}
		good := goods[int(which)%len(goods)]
		mut, desc := mutate(good, data, op, pos, n, val)
		if mut == nil {
			return
		}
		rep, err = VerifyReader(ctx, "mutated", bytes.NewReader(mut), opts)
		if err != nil {
			t.Fatalf("VerifyReader: %v", err)
		}
		if rep.OK() {
			t.Fatalf("%s of a good chain verifies:\n%q", desc, mut)
		}
	})
}

// mutate applies one mutation to a copy of good. It returns nil when the
// result is not a mutation that must be detected: a no-op, or a clean cut of
// whole records at the end.
func mutate(good, data []byte, op uint8, pos uint32, n uint16, val byte) ([]byte, string) {
	m := bytes.Clone(good)
	switch op % 4 {
	case 0: // flip bits of one byte
		p := int(pos % uint32(len(m)))
		x := val
		if x == 0 {
			x = 0x20
		}
		m[p] ^= x
		return m, fmt.Sprintf("xor 0x%02x at byte %d", x, p)
	case 1: // insert bytes: the fuzzer's data, or val repeated
		p := int(pos % uint32(len(m)+1))
		ins := data
		if k := 1 + int(n)%64; len(ins) > k {
			ins = ins[:k]
		}
		if len(ins) == 0 {
			ins = []byte{val}
		}
		return append(m[:p:p], append(bytes.Clone(ins), m[p:]...)...), fmt.Sprintf("insertion of %q at byte %d", ins, p)
	case 2: // delete a range
		p := int(pos % uint32(len(m)))
		k := 1 + int(n)%(len(m)-p)
		if p+k == len(m) && p > 0 && m[p-1] == '\n' {
			return nil, "" // a clean cut of whole records at the end
		}
		return append(m[:p:p], m[p+k:]...), fmt.Sprintf("deletion of bytes %d..%d", p, p+k)
	default: // copy a range of the chain to another place
		a := int(n) % len(m)
		k := min(1+int(val), len(m)-a)
		p := int(pos % uint32(len(m)+1))
		return append(m[:p:p], append(bytes.Clone(good[a:a+k]), m[p:]...)...), fmt.Sprintf("copy of bytes %d..%d to byte %d", a, a+k, p)
	}
}

// corpusFiles returns the committed single-file chains of the corpus under
// kind ("good" or "bad").
func corpusFiles(t testing.TB, kind string) [][]byte {
	ms, err := filepath.Glob(filepath.Join(corpusDir, kind, "*.jsonl"))
	if err != nil || len(ms) == 0 {
		t.Fatalf("no corpus files under %s/%s (%v)", corpusDir, kind, err)
	}
	var out [][]byte
	for _, p := range ms {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzCanonical holds the verifier to the canonical form of section 2 of
// docs/chain-format.md on both parser paths. The fuzzer gives a record's
// type as a raw JSON string token and its data as raw bytes; the record is
// sealed with a valid hash and link after a header, as an attacker who can
// rewrite the file would. Then:
//
//  1. the fast path and the general parser give the same report;
//  2. the chain passes exactly when the test's own reading of the rules
//     (encoding/json, regular expressions: not the verifier's code) says the
//     record is canonical, and otherwise the record is malformed;
//  3. what the writer accepts as an event, it writes so that it verifies,
//     and data that is canonical it writes byte for byte.
func FuzzCanonical(f *testing.F) {
	for _, c := range []struct{ typ, data string }{
		{`"command.end"`, `{"exit_code":0}`},
		{`"command\u002eend"`, `{"exit_code":0}`},
		{`"a\/b"`, `{}`},
		{`"x\u001F"`, `{}`},
		{`"x\u001f\n\t\r\"\\"`, `{}`},
		{"\"x\u2028\"", `{}`},
		{`"x\u2028"`, `{"a":"\u2028"}`},
		{`"t"`, `{"exit_code":0,"exit_code":1}`},
		{`"t"`, `{"a":{"b":1,"b":2}}`},
		{`"t"`, `{"a":[{"k":1},{"k":1}],"k":{"k":{"k":1}}}`},
		{`"t"`, `{"a":1,"\u0061":2}`},
		{`"t"`, `{"exit_code": 0}`},
		{`"t"`, `{"a":"\ud800"}`},
		{`"t"`, `{"a":"\ud83d\ude00","b":"\\ud800"}`},
		{`"t"`, `{"a":"\udc00\ud800"}`},
		{`"t"`, `{"html":"\u003cb\u003e","n":12345678901234567890}`},
	} {
		f.Add(c.typ, []byte(c.data))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		if len(typ)+len(data) > 4096 || bytes.IndexByte(data, '\n') >= 0 || strings.IndexByte(typ, '\n') >= 0 {
			return
		}
		var decoded string
		if !utf8.ValidString(typ) || json.Unmarshal([]byte(typ), &decoded) != nil || typ[0] != '"' || decoded == HeaderType {
			return // not a string token: the line is not a record at all
		}
		hdr := headerLine(SHA256, 0, Digest{}, `{"format":"`+FormatVersion+`","alg":"sha256","chain":"`+testChainID+`","index":0}`)
		var hr record
		if pe := parseRecord(hdr[:len(hdr)-1], &hr); pe != nil {
			t.Fatal(pe)
		}
		entry := fmt.Appendf(nil, `{"seq":1,"ts":"2025-01-02T03:04:05.123456789Z","type":%s,"session":"","trace_id":"","span_id":"","data":%s,"prev":"%s"`, typ, data, hr.hash)
		d := newDigester(SHA256).entry(entry, &hr.hash)
		file := append(append(hdr, entry...), `,"hash":"`+hex.EncodeToString(d[:])+"\"}\n"...)

		fast, err := VerifyReader(ctx, "input", bytes.NewReader(file), VerifyOptions{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		general, err := VerifyReader(ctx, "input", bytes.NewReader(file), VerifyOptions{Workers: 1, slow: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(general, fast); diff != "" {
			t.Fatalf("the fast path's report differs from the general parser's (-general +fast):\n%s", diff)
		}
		typOK := string(appendString(nil, decoded)) == typ
		want := typOK && canonicalData(data)
		if fast.OK() != want {
			t.Fatalf("type %s data %s: PASS %v, want %v (type canonical %v); findings:\n%s", typ, data, fast.OK(), want, typOK, findingsText(fast))
		}
		if !want && (len(fast.Findings) != 1 || fast.Findings[0].Class != Malformed || fast.Findings[0].Line != 2) {
			t.Fatalf("type %s data %s: want one malformed finding on line 2; findings:\n%s", typ, data, findingsText(fast))
		}

		// 3. The writer.
		ev := Event{Type: decoded, Data: bytes.Clone(data)}
		if decoded == "" || ev.Check() != nil {
			if typOK && canonicalData(data) && decoded != "" {
				t.Fatalf("the writer refuses canonical data %s: %v", data, ev.Check())
			}
			return
		}
		if canonicalData(data) && !bytes.Equal(ev.Data, data) {
			t.Fatalf("the writer changed canonical data %s into %s", data, ev.Data)
		}
		line, _ := encodeRecord(nil, SHA256, 1, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), &ev, ev.Data, hr.hash)
		rep, err := VerifyReader(ctx, "written", bytes.NewReader(append(bytes.Clone(hdr), line...)), VerifyOptions{Workers: 1})
		if err != nil || !rep.OK() {
			t.Fatalf("the writer wrote %q, which does not verify: %v\n%s", line, err, findingsText(rep))
		}
	})
}

// canonicalData is the test's own reading of the rules for data: one JSON
// object, compact, no repeated key in any object, no lone surrogate escape.
func canonicalData(data []byte) bool {
	if !utf8.Valid(data) || !json.Valid(data) || len(data) == 0 || data[0] != '{' || nesting(data) > maxDepth {
		return false
	}
	var c bytes.Buffer
	if json.Compact(&c, data) != nil || !bytes.Equal(c.Bytes(), data) {
		return false
	}
	return !repeatsKey(data) && !loneSurrogate(data)
}

// nesting returns the deepest nesting of brackets and braces outside
// strings in valid JSON.
func nesting(data []byte) int {
	depth, deepest, inStr := 0, 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			depth++
			deepest = max(deepest, depth)
		case !inStr && (c == '}' || c == ']'):
			depth--
		}
	}
	return deepest
}

// repeatsKey reports whether an object of the valid JSON data repeats a
// key, by encoding/json's token stream (keys compared decoded).
func repeatsKey(data []byte) bool {
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.wantKey {
			if d, ok := tok.(json.Delim); !ok || d != '}' {
				k := tok.(string)
				if top.keys[k] {
					return true
				}
				top.keys[k], top.wantKey = true, false
				continue
			}
			stack = stack[:len(stack)-1]
			tok = nil // the object ended: a value of the frame below
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the object holding it wants a key next.
		if len(stack) > 0 && stack[len(stack)-1].keys != nil {
			stack[len(stack)-1].wantKey = true
		}
	}
}

var (
	surrogatePair = regexp.MustCompile(`\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}`)
	surrogateHalf = regexp.MustCompile(`\\u[dD][89a-fA-F][0-9a-fA-F]{2}`)
)

// loneSurrogate reports whether the valid JSON data has a \u escape of a
// surrogate that is not half of an escaped pair: with escaped backslashes
// and pairs blanked out, any surrogate escape left is alone.
func loneSurrogate(data []byte) bool {
	s := strings.ReplaceAll(string(data), `\\`, "__")
	s = surrogatePair.ReplaceAllString(s, "____")
	return surrogateHalf.MatchString(s)
}

// FuzzHeaderFast holds headerFast to encoding/json, the reference: any
// header data it accepts, encoding/json (unknown fields refused, as
// parseHeader decodes) decodes to the same value.
func FuzzHeaderFast(f *testing.F) {
	for _, s := range []string{
		`{"format":"brain-audit/v1","alg":"sha256","chain":"c0ffee","index":0}`,
		`{"format":"brain-audit/v1","alg":"blake3","chain":"c0ffee","index":12,"continues":{"file":"audit.000011.jsonl","seq":3961,"hash":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}`,
		`{"Format":"brain-audit/v1","alg":"sha256","chain":"c0ffee"}`,
		`{"format":"a","format":"b"}`,
		`{"format":"a\u0062","chain":"\u00e9"}`,
		`{"index":-1}`, `{"index":01}`, `{"index":1e3}`, `{"index":123456789012345678}`, `{"index":1234567890123456789}`,
		`{"continues":null}`, `{"continues":{}}`, `{"continues":{"seq":18446744073709551615}}`,
		`{"continues":{"file":"a","file":"b"}}`, `{"other":1}`, ` { "alg" : "sha256" } `, `{"alg":"sha256"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := headerFast(b)
		if !ok {
			return
		}
		var ref HeaderData
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("headerFast accepted %q, encoding/json refuses it: %v", b, err)
		}
		if diff := cmp.Diff(ref, fast); diff != "" {
			t.Fatalf("%q: headerFast differs from encoding/json (-json +fast):\n%s", b, diff)
		}
	})
}
