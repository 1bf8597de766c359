package chain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzScanValue checks the fast JSON validator against encoding/json on
// valid UTF-8 input: both must accept and reject the same values.
func FuzzScanValue(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":"\"\\\u00e9\n"}`, `[1,2.5e-3,true,false,null]`, `{"a" : [ {} ]}`,
		`"abcdefghijklmnop\"q"`, "\"abc\x01\"", `{"a":01}`, `{"a":1,}`, `-0.0E+1`, `"\ud800"`, `{"k":"aaaaaaaaaaaaaaaa\\"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || len(s) == 0 || strings.Trim(s, " \t\n\r") != s {
			return
		}
		b := []byte(s)
		j, ok := scanValue(b, 0, 0)
		got := ok && j == len(b)
		if want := json.Valid(b); got != want {
			t.Fatalf("scanValue(%q) = %v, json.Valid = %v", s, got, want)
		}
	})
}

func TestDecodeHex(t *testing.T) {
	var d [2]byte
	for _, tc := range []struct {
		in string
		ok bool
	}{{"00ff", true}, {"a0b1", true}, {"A0B1", false}, {"0g00", false}, {"00f", false}, {"00 f", false}} {
		if got := decodeHex(d[:], []byte(tc.in)); got != tc.ok {
			t.Errorf("decodeHex(%q) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}

// TestDecodeHexAll checks the eight-at-a-time decoder against encoding/hex
// on every byte value in every position.
func TestDecodeHexAll(t *testing.T) {
	src := []byte("0123456789abcdef0123456789abcdef")
	want := make([]byte, 16)
	got := make([]byte, 16)
	for pos := 0; pos < len(src); pos++ {
		for c := 0; c < 256; c++ {
			b := append([]byte(nil), src...)
			b[pos] = byte(c)
			_, err := hex.Decode(want, b)
			ok := err == nil && !bytes.ContainsAny(b, "ABCDEF")
			if got2 := decodeHex(got, b); got2 != ok {
				t.Fatalf("decodeHex(%q) ok = %v, want %v", b, got2, ok)
			}
			if ok && !bytes.Equal(got, want) {
				t.Fatalf("decodeHex(%q) = %x, want %x", b, got, want)
			}
		}
	}
}

// FuzzCompactObject checks the one-pass compactor against encoding/json:
// the same objects are accepted, and the output is json.Compact's.
func FuzzCompactObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a": [1, {"b" : "c d"}], "e":null}`, `{"a":1,"a":2}`, `{"a":{"x":1,"x":1}}`,
		`{"\u0061":1,"a":2}`, `{"k":"<&>"}`, `[1]`, `{"a":1} x`, ` {"n": -1.5e+3 } `, `{"a":"\ud800"}`, `{"a":["\ud83d\ude00"]}`,
		`{"\udc00\ud800":1}`, `{"a":{"b":[{"c":1,"c":2}]}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		got, err := compactObject(b)
		trimmed := bytes.TrimSpace(b)
		valid := utf8.Valid(b) && json.Valid(b) && len(trimmed) > 0 && trimmed[0] == '{'
		if err == nil {
			if !valid {
				t.Fatalf("compactObject(%q) accepted invalid input", s)
			}
			var want bytes.Buffer
			json.Compact(&want, trimmed)
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("compactObject(%q) = %q, want %q", s, got, want.Bytes())
			}
			return
		}
		// Valid JSON is refused only for what the canonical form rules
		// out, as the test's own reading of the rules says.
		switch {
		case !valid:
		case repeatsKey(trimmed) && strings.Contains(err.Error(), "duplicate key"):
		case loneSurrogate(trimmed) && strings.Contains(err.Error(), "lone surrogate"):
		default:
			t.Fatalf("compactObject(%q) rejected valid input: %v", s, err)
		}
	})
}

// FuzzParseRecord checks that a line the fast canonical parser accepts is a
// valid JSON object.
func FuzzParseRecord(f *testing.F) {
	ev := Event{Type: "t", Session: "s", Data: []byte(`{"a":"b\\"c","n":[1,{"x":null}]}`)}
	line, _ := encodeRecord(nil, SHA256, 7, time.Unix(1764000000, 0), &ev, ev.Data, Digest{})
	f.Add(string(line[:len(line)-1]))
	ev.Data = []byte(`{"k":"v"}`)
	line, _ = encodeRecord(nil, SHA256, 8, time.Unix(1764000000, 0), &ev, ev.Data, Digest{})
	f.Add(string(line[:len(line)-1]))
	f.Fuzz(func(t *testing.T, s string) {
		var r record
		if pe := parseRecord([]byte(s), &r); pe == nil && !json.Valid([]byte(s)) {
			t.Fatalf("parseRecord accepted invalid JSON %q", s)
		}
	})
}

// TestDupKey checks the repeated-key finder on small objects (every pair
// compared) and large ones (sorted): it names the first key that repeats an
// earlier one, in order.
func TestDupKey(t *testing.T) {
	keys := func(ss ...string) [][]byte {
		var out [][]byte
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	many := func(n int, extra ...string) [][]byte {
		var ss []string
		for i := range n {
			ss = append(ss, "k"+strconv.Itoa(i))
		}
		return keys(append(ss, extra...)...)
	}
	// Keys alike in length, first and last bytes: only their middles differ.
	alike := func(n int) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, []byte(fmt.Sprintf("aaaaaaaa%06daaaaaaaa", i)))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		keys [][]byte
		want int
	}{
		{"none", nil, -1},
		{"one", keys("a"), -1},
		{"distinct", keys("a", "b", "ab", ""), -1},
		{"pair", keys("a", "b", "a"), 2},
		{"empty keys", keys("", "x", ""), 2},
		{"first repeat wins", keys("a", "b", "b", "a"), 2},
		{"16 distinct", many(16), -1},
		{"17 distinct", many(17), -1},
		{"large, last repeats first", many(1000, "k0"), 1000},
		{"large, two repeats", many(1000, "k999", "k5"), 1000},
		{"large, repeat in the middle", keys(append(append([]string{"x"}, strings.Split(strings.Repeat("y,", 40), ",")...), "x")...), 2},
		{"large, alike", alike(5000), -1},
		{"large, alike, repeated", append(alike(5000), []byte("aaaaaaaa004321aaaaaaaa")), 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dupKey(tc.keys); got != tc.want {
				t.Errorf("dupKey = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestCompactObjectManyEscapedKeys is the attack on the writer's duplicate
// check: one object of thousands of escaped keys. Each key is decoded once,
// so the allocations grow with the number of keys; comparing every pair of
// keys decoded anew (as the check once did) made millions of them, and a
// 149 KB line took 52 s.
func TestCompactObjectManyEscapedKeys(t *testing.T) {
	const n = 2000
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, `"\u006b%d":%d,`, i, i)
	}
	distinct := b.String()[:b.Len()-1] + "}"
	repeated := b.String() + `"k0":0}`
	if _, err := compactObject([]byte(distinct)); err != nil {
		t.Fatalf("compactObject of %d distinct escaped keys: %v", n, err)
	}
	if _, err := compactObject([]byte(repeated)); err == nil || !strings.Contains(err.Error(), `duplicate key "k0" in data`) {
		t.Fatalf("compactObject with k0 repeated unescaped: %v, want a duplicate key", err)
	}
	allocs := testing.AllocsPerRun(3, func() { compactObject([]byte(distinct)) })
	if allocs > 8*n {
		t.Errorf("compactObject of %d escaped keys made %.0f allocations, want at most %d (a few per key)", n, allocs, 8*n)
	}
}

// TestNonCanonicalString checks the envelope strings against the writer's
// escaping: what appendString writes passes, every other spelling of the
// same text is named.
func TestNonCanonicalString(t *testing.T) {
	for _, s := range []string{"", "plain", "tab\there", "nl\ncr\r", `q"b\`, "\x00\x01\x08\x0c\x1f\x7f", "é🙂", "\u2028\u2029", "<&>"} {
		if why := nonCanonicalString(appendString(nil, s)); why != "" {
			t.Errorf("appendString(%q) = %s: %s", s, appendString(nil, s), why)
		}
	}
	for tok, want := range map[string]string{
		`"a\/b"`:         `non-canonical escape \/`,
		`"a\u002eb"`:     `non-canonical escape \u002e`,
		`"\u00e9"`:       `non-canonical escape \u00e9`,
		`"\u001F"`:       `non-canonical escape \u001F`,
		`"\u000a"`:       `non-canonical escape \u000a`,
		`"\u0009"`:       `non-canonical escape \u0009`,
		`"\b"`:           `non-canonical escape \b`,
		`"\f"`:           `non-canonical escape \f`,
		`"\u2028X"`:      ``,
		`"\U2028"`:       `non-canonical escape \U`, // not JSON either; the scanner refuses it first
		"\"x\u2028\"":    `unescaped U+2028`,
		"\"x\u2029\"":    `unescaped U+2029`,
		`"\ud83d\ude00"`: `non-canonical escape \ud83d`,
	} {
		if got := nonCanonicalString([]byte(tok)); got != want {
			t.Errorf("nonCanonicalString(%s) = %q, want %q", tok, got, want)
		}
	}
}

// FuzzAppendString holds appendString, which copies its plain prefix eight
// bytes at a time, to appendStringRef, which looks at every byte: the same
// bytes out for every valid UTF-8 string, and those bytes decode back to it.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "llm_provider.chat", "0123456789abcdef0", "tab\there", `12345678"`, `1234567\`,
		"1234567\x1f", "12345678\x7f", "1234567é", "é🙂", "\u2028\u2029", "<&>", "abcdefgh\x00ijklmnop"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		got, want := appendString([]byte("x"), s), appendStringRef([]byte("x"), s)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, the reference %s", s, got, want)
		}
		if back, ok := Unquote(got[1:]); !ok || back != s {
			t.Fatalf("appendString(%q) = %s reads back as %q (%v)", s, got, back, ok)
		}
	})
}

// TestPlainPrefix checks the plain prefix at each position of each byte
// appendString must look at, in the eight-byte words and in the tail.
func TestPlainPrefix(t *testing.T) {
	for _, c := range []string{`"`, `\`, "\x00", "\x1f", "\x80", "é", "\u2028"} {
		for at := range 20 {
			s := strings.Repeat("a", at) + c + strings.Repeat("b", 9)
			if got := plainPrefix(s); got != at {
				t.Errorf("plainPrefix(%q) = %d, want %d", s, got, at)
			}
		}
	}
	for n := range 20 {
		if s := strings.Repeat(" ~", n); plainPrefix(s) != len(s) {
			t.Errorf("plainPrefix(%q) = %d, want %d", s, plainPrefix(s), len(s))
		}
	}
}
