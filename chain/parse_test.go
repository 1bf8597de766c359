package chain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
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
		`{"\u0061":1,"a":2}`, `{"k":"<&>"}`, `[1]`, `{"a":1} x`, ` {"n": -1.5e+3 } `} {
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
		if valid && !strings.Contains(err.Error(), "duplicate key") {
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
