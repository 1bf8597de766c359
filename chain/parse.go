package chain

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// record is a parsed record line. Its byte slices alias the line.
type record struct {
	seq     uint64
	ts      []byte // the 30-byte timestamp, without quotes
	typ     []byte // JSON string tokens, quotes included
	session []byte
	traceID []byte
	spanID  []byte
	data    []byte
	prev    Digest
	hash    Digest
	entry   []byte // the bytes the hash covers, before prev is appended
}

// parseError describes why a line is not a well-formed record.
type parseError struct {
	msg string
	// canonical is false when the line is a valid record except for its
	// layout (re-serialised JSON): the caller classifies it by its hash.
	layoutOnly bool
}

func (e *parseError) Error() string { return e.msg }

func perr(format string, args ...any) *parseError {
	if len(args) == 0 {
		return &parseError{msg: format}
	}
	return &parseError{msg: fmt.Sprintf(format, args...)}
}

// suffixLen is the length of `,"prev":"<64 hex>","hash":"<64 hex>"}`.
const suffixLen = len(`,"prev":"`) + 2*DigestSize + len(`"`) + len(hashSep) + 2*DigestSize + len(`"}`)

// parseRecord parses line (without its trailing newline) in the canonical
// layout the writer produces. It checks framing, UTF-8 and JSON validity.
func parseRecord(line []byte, r *record) *parseError {
	n := len(line)
	if n > 0 && line[n-1] == '\r' {
		return perr("line ends with CR (CRLF line ending)")
	}
	if n == 0 {
		return perr("blank line")
	}
	if !utf8.Valid(line) {
		return perr("invalid UTF-8")
	}
	if pe := parseCanonical(line, r); pe == nil || pe.layoutOnly {
		return pe
	}
	return parseGeneral(line, r)
}

// parseCanonical parses a line in the fixed field order of the format. A
// line in that layout that breaks a rule of the canonical form (section 2 of
// docs/chain-format.md) is parsed whole, for its hash to be checked, and
// returned with a layoutOnly error that names the rule.
func parseCanonical(line []byte, r *record) *parseError {
	n := len(line)
	if n < suffixLen+64 || !bytes.HasPrefix(line, []byte(`{"seq":`)) {
		return perr("not canonical")
	}
	i := len(`{"seq":`)
	j := i
	for j < n && '0' <= line[j] && line[j] <= '9' {
		j++
	}
	if j == i || (line[i] == '0' && j-i > 1) || j-i > 20 {
		return perr("not canonical")
	}
	seq, err := strconv.ParseUint(string(line[i:j]), 10, 64)
	if err != nil {
		return perr("not canonical")
	}
	r.seq = seq
	i = j
	if !bytes.HasPrefix(line[i:], []byte(`,"ts":"`)) {
		return perr("not canonical")
	}
	i += len(`,"ts":"`)
	if i+len(TimeLayout)+1 > n || line[i+len(TimeLayout)] != '"' {
		return perr("not canonical")
	}
	r.ts = line[i : i+len(TimeLayout)]
	if !validTS(r.ts) {
		return perr("not canonical")
	}
	i += len(TimeLayout) + 1
	var ok bool
	for _, f := range [...]struct {
		key string
		dst *[]byte
	}{{`,"type":`, &r.typ}, {`,"session":`, &r.session}, {`,"trace_id":`, &r.traceID}, {`,"span_id":`, &r.spanID}} {
		if !bytes.HasPrefix(line[i:], []byte(f.key)) {
			return perr("not canonical")
		}
		i += len(f.key)
		if i >= n || line[i] != '"' {
			return perr("not canonical")
		}
		j, ok = scanString(line, i)
		if !ok {
			return perr("not canonical")
		}
		*f.dst = line[i:j]
		i = j
	}
	if !bytes.HasPrefix(line[i:], []byte(`,"data":`)) {
		return perr("not canonical")
	}
	i += len(`,"data":`)
	end := n - suffixLen
	if end <= i || line[i] != '{' {
		return perr("not canonical")
	}
	// The data must be compact, with no repeated key and no lone surrogate
	// escape; when it is not, it must still be valid JSON to be a record.
	var rule string
	_, j, err = compactValue(nil, line[:end], i, 0, false)
	// compactValue returns its errors unwrapped: a type switch, unlike
	// errors.As, costs no allocation per line.
	switch e := err.(type) {
	case nil:
	case *dataError:
		rule = e.Error()
	default:
		if err == errNotCompact {
			rule = "whitespace between the tokens of data"
		}
	}
	if rule != "" {
		j, ok = scanValue(line[:end], i, 0)
	} else {
		ok = err == nil
	}
	if !ok || j != end {
		return perr("not canonical")
	}
	r.data = line[i:end]
	s := line[end:]
	p := len(`,"prev":"`)
	h := p + 2*DigestSize + len(`"`) + len(hashSep)
	if !bytes.HasPrefix(s, []byte(`,"prev":"`)) || s[p+2*DigestSize] != '"' ||
		!bytes.Equal(s[p+2*DigestSize+1:h], []byte(hashSep)) || !bytes.Equal(s[h+2*DigestSize:], []byte(`"}`)) {
		return perr("not canonical")
	}
	if !decodeHex(r.prev[:], s[p:p+2*DigestSize]) || !decodeHex(r.hash[:], s[h:h+2*DigestSize]) {
		return perr("not canonical")
	}
	r.entry = line[:end+p+2*DigestSize+1]
	for _, f := range [...]struct {
		name string
		tok  []byte
	}{{"type", r.typ}, {"session", r.session}, {"trace_id", r.traceID}, {"span_id", r.spanID}} {
		if why := nonCanonicalString(f.tok); why != "" {
			rule = why + " in " + f.name
			break
		}
	}
	if rule != "" {
		return &parseError{msg: "the record is not canonical: " + rule, layoutOnly: true}
	}
	return nil
}

// nonCanonicalString says why the valid JSON string token tok is not what
// the writer's appendString produces, or returns "". The writer escapes only
// what JSON requires and U+2028 and U+2029: \" \\ \n \r \t, \u00xx
// (lowercase hex) for the other control characters, \u2028 and \u2029. Any
// other escape, or those two characters unescaped, would let two byte
// strings carry the same text.
func nonCanonicalString(tok []byte) string {
	if bytes.IndexByte(tok, '\\') < 0 && bytes.IndexByte(tok, 0xe2) < 0 {
		return ""
	}
	for i := 1; i < len(tok)-1; i++ {
		switch c := tok[i]; c {
		case 0xe2:
			if tok[i+1] == 0x80 && (tok[i+2] == 0xa8 || tok[i+2] == 0xa9) {
				return fmt.Sprintf("unescaped U+%04X", 0x2028+int(tok[i+2]-0xa8))
			}
		case '\\':
			switch tok[i+1] {
			case '"', '\\', 'n', 'r', 't':
				i++
				continue
			case 'u':
				u := tok[i : i+6]
				v := hex4(u[2:])
				if string(u) == `\u2028` || string(u) == `\u2029` ||
					v < 0x20 && v != '\n' && v != '\r' && v != '\t' && isLowerHex(u[2:]) {
					i += 5
					continue
				}
				return fmt.Sprintf("non-canonical escape %s", u)
			}
			return fmt.Sprintf("non-canonical escape %s", tok[i:i+2])
		}
	}
	return ""
}

// parseGeneral parses a line that is not in the canonical layout, to tell a
// malformed line from a re-serialised (tampered) one.
func parseGeneral(line []byte, r *record) *parseError {
	j, ok := scanValue(line, 0, 0)
	switch {
	case !ok && json.Valid(line):
		return perr("whitespace before or after the JSON object")
	case !ok:
		return perr("not valid JSON")
	case j != len(line):
		return perr("bytes after the closing brace")
	case line[0] != '{':
		return perr("not a JSON object")
	}
	k := bytes.LastIndex(line, []byte(hashSep))
	if k < 0 || len(line)-k != len(hashSep)+2*DigestSize+2 || !bytes.HasSuffix(line, []byte(`"}`)) {
		return perr(`last field is not "hash":"<%d hex digits>"`, 2*DigestSize)
	}
	if !decodeHex(r.hash[:], line[k+len(hashSep):len(line)-2]) {
		return perr("hash is not %d lowercase hex digits", 2*DigestSize)
	}
	r.entry = line[:k]
	fields := make(map[string]json.RawMessage)
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return perr("not valid JSON")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return perr("not valid JSON")
		}
		key := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return perr("not valid JSON")
		}
		if _, dup := fields[key]; dup {
			return perr("duplicate field %s", quoteShort(key))
		}
		fields[key] = v
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return perr("not valid JSON")
	}
	for _, k := range [...]string{"seq", "ts", "type", "session", "trace_id", "span_id", "data", "prev"} {
		if _, ok := fields[k]; !ok {
			return perr("missing field %q", k)
		}
	}
	var seq uint64
	if err := json.Unmarshal(fields["seq"], &seq); err != nil {
		return perr("seq is not an unsigned integer")
	}
	r.seq = seq
	var prev string
	if err := json.Unmarshal(fields["prev"], &prev); err != nil || len(prev) != 2*DigestSize || !decodeHex(r.prev[:], []byte(prev)) {
		return perr("prev is not %d lowercase hex digits", 2*DigestSize)
	}
	r.ts, r.typ, r.session, r.traceID, r.spanID, r.data = nil, fields["type"], fields["session"], fields["trace_id"], fields["span_id"], fields["data"]
	if ts := fields["ts"]; len(ts) == len(TimeLayout)+2 {
		r.ts = ts[1 : len(ts)-1]
	}
	return &parseError{msg: "the fields are not in the canonical order and layout", layoutOnly: true}
}

// hexVal maps a lowercase hex digit to its value and anything else to 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
	}
	return t
}()

// decodeHex decodes lowercase hex src into dst (len(src) == 2*len(dst)) and
// reports whether src was lowercase hex. (A table lookup per digit measured
// faster here than decoding eight digits at a time with SWAR.)
func decodeHex(dst, src []byte) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	var bad byte
	for i := range dst {
		hi, lo := hexVal[src[2*i]], hexVal[src[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo&0xf
	}
	return bad&0xf0 == 0
}

// validTS checks the fixed-width shape of a timestamp cheaply.
func validTS(b []byte) bool {
	const shape = "dddd-dd-ddTdd:dd:dd.dddddddddZ"
	if len(b) != len(shape) {
		return false
	}
	for i := 0; i < len(shape); i++ {
		if shape[i] == 'd' {
			if b[i] < '0' || b[i] > '9' {
				return false
			}
		} else if b[i] != shape[i] {
			return false
		}
	}
	return true
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// scanString scans the JSON string starting at b[i] == '"' and returns the
// index just past its closing quote. The input must be valid UTF-8.
func scanString(b []byte, i int) (int, bool) {
	i++
	for {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character (SWAR: a zero byte in x^c marks a c).
		for i+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[i:])
			q, bs := x^(lsb*'"'), x^(lsb*'\\')
			if m := ((q-lsb)&^q | (bs-lsb)&^bs | (x-lsb*0x20)&^x) & msb; m != 0 {
				// The lowest flagged byte is exact (borrows only
				// propagate upwards), so jump straight to it.
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2:i+6]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// maxDepth bounds the nesting the validator accepts.
const maxDepth = 512

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanValue validates the JSON value starting at b[i] and returns the index
// just past it. Whitespace inside the value is allowed; none before it.
func scanValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > maxDepth {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			var ok bool
			if i, ok = scanString(b, i); !ok {
				return i, false
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			i = skipSpace(b, i+1)
			if i, ok = scanValue(b, i, depth+1); !ok {
				return i, false
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == '}' {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipSpace(b, i+1)
		}
	case c == '[':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = scanValue(b, i, depth+1); !ok {
				return i, false
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == ']' {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipSpace(b, i+1)
		}
	case c == 't':
		return i + 4, bytes.HasPrefix(b[i:], []byte("true"))
	case c == 'f':
		return i + 5, bytes.HasPrefix(b[i:], []byte("false"))
	case c == 'n':
		return i + 4, bytes.HasPrefix(b[i:], []byte("null"))
	case c == '-' || '0' <= c && c <= '9':
		return scanNumber(b, i)
	}
	return i, false
}

func scanNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		s := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > s
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if !digits() {
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return i, false
		}
	}
	return i, true
}
