package chain

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ParseEvent reads an event from one line of JSON, the form brain-audit
// append reads from its input: an object with "type" (a string, required),
// "session", "trace_id" and "span_id" when present (strings), and either
// "data" (an object) or any other fields, which become the event's data in
// their order. "seq", "ts", "prev" and "hash" are the writer's and are
// refused, as are duplicate fields. The event is checked as Check checks it,
// so the writer does not check it again.
//
// The event's data is appended to buf, which is returned extended: the
// event aliases buf, never line, which the caller may reuse at once. With
// room for len(line)+2 bytes, buf is never grown.
//
// Most lines are printable ASCII without escapes or blanks between tokens,
// and fields whose values are strings, numbers, true, false or null: those
// are read in one pass (parsePlain); any other line is read by the full
// parser (parseEventRef), which the fast one is held to (FuzzParseEvent).
func ParseEvent(line, buf []byte) (Event, []byte, error) {
	if ev, out, ok := parsePlain(line, buf); ok {
		return ev, out, nil
	}
	return parseEventRef(line, buf)
}

// parsePlain is ParseEvent for a plain line: printable ASCII without a
// backslash, no blank outside strings, top-level values that are strings,
// numbers, true, false or null, at most eight fields, none of them "data",
// a type that is not reserved. ok is false for any other line, valid or not:
// parseEventRef then reads it and says what is wrong with it.
//
// Such a line is valid UTF-8, its strings are their tokens without the
// quotes (no escape), and the data made of its other fields is compact, has
// no escape and no duplicate key: it is the event Check would pass,
// which parsePlain marks as checked.
func parsePlain(line, buf []byte) (ev Event, out []byte, ok bool) {
	n := len(line)
	if n < 2 || n > MaxRecordSize || line[0] != '{' || line[n-1] != '}' || !plainLine(line) {
		return ev, buf, false
	}
	var (
		strs  [4][]byte // the tokens of type, session, trace_id, span_id
		keys  [8][]byte
		nkeys int
	)
	out = buf
	data := -1 // where the data begins in out, once it has a field
	for i := 1; ; {
		// A key: a string, with no escape and no quote inside.
		if line[i] != '"' {
			return ev, buf, false
		}
		j := bytes.IndexByte(line[i+1:], '"')
		if j < 0 {
			return ev, buf, false
		}
		key := line[i+1 : i+1+j]
		v := i + j + 3 // after the key's closing quote and a colon
		if v >= n || line[v-1] != ':' {
			return ev, buf, false
		}
		// The value: a string, a number, true, false or null.
		var e int
		switch c := line[v]; {
		case c == '"':
			j := bytes.IndexByte(line[v+1:], '"')
			if j < 0 {
				return ev, buf, false
			}
			e = v + j + 2
		case c == '-' || '0' <= c && c <= '9':
			var valid bool
			if e, valid = scanNumber(line, v); !valid {
				return ev, buf, false
			}
		case c == 't' && bytes.HasPrefix(line[v:], []byte("true")):
			e = v + 4
		case c == 'f' && bytes.HasPrefix(line[v:], []byte("false")):
			e = v + 5
		case c == 'n' && bytes.HasPrefix(line[v:], []byte("null")):
			e = v + 4
		default:
			return ev, buf, false
		}
		if nkeys == len(keys) {
			return ev, buf, false
		}
		for _, k := range keys[:nkeys] {
			if string(k) == string(key) {
				return ev, buf, false
			}
		}
		keys[nkeys] = key
		nkeys++
		f := eventField(key)
		switch {
		case f == fieldData || f == fieldWriter:
			return ev, buf, false
		case f >= 0 && line[v] != '"':
			return ev, buf, false
		case f >= 0:
			strs[f] = line[v:e]
		case data < 0:
			data = len(out)
			out = append(append(out, '{'), line[i:e]...)
		default:
			out = append(append(out, ','), line[i:e]...)
		}
		// Then a comma and the next field, or the end of the line.
		if e == n-1 {
			break
		}
		if line[e] != ',' {
			return ev, buf, false
		}
		i = e + 1
	}
	if len(strs[0]) <= 2 || bytes.HasPrefix(strs[0][1:], []byte(reservedPrefix)) {
		return ev, buf, false
	}
	ev.setStrings(&strs, true)
	ev.checked = [4]string{ev.Type, ev.Session, ev.TraceID, ev.SpanID}
	ev.plain = true
	if data >= 0 {
		out = append(out, '}')
		ev.Data = out[data:len(out):len(out)]
		ev.compact = ev.Data
	}
	return ev, out, true
}

// What a top-level field of an input line is (eventField): one of the
// event's strings (0 to 3: type, session, trace_id, span_id), its data, a
// field the writer sets, or another field, which goes into the data.
const (
	fieldOther  = -1
	fieldData   = 4
	fieldWriter = 5
)

func eventField(key []byte) int {
	switch string(key) {
	case "type":
		return 0
	case "session":
		return 1
	case "trace_id":
		return 2
	case "span_id":
		return 3
	case "data":
		return fieldData
	case "seq", "ts", "prev", "hash":
		return fieldWriter
	}
	return fieldOther
}

// plainLine reports whether b is printable ASCII or DEL without a
// backslash, eight bytes at a time.
func plainLine(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
			uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
		bs := x ^ (lsb * '\\')
		// As in plainPrefix: a zero byte of bs is a backslash, a byte
		// below 0x20 borrows, x&msb is past ASCII.
		if ((bs-lsb)&^bs|(x-lsb*0x20)&^x|x)&msb != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '\\' || c > 0x7f {
			return false
		}
	}
	return true
}

// setStrings sets ev's type, session, trace_id and span_id to the decoded
// string tokens toks (nil: not given) with one allocation for all four;
// plain says that no token has an escape.
func (ev *Event) setStrings(toks *[4][]byte, plain bool) {
	var buf [256]byte
	all := buf[:0]
	var ends [4]int
	for i, tok := range toks {
		switch {
		case tok == nil:
		case plain || bytes.IndexByte(tok, '\\') < 0:
			all = append(all, tok[1:len(tok)-1]...)
		default:
			all = append(all, decodeString(tok)...)
		}
		ends[i] = len(all)
	}
	s := string(all)
	ev.Type, ev.Session, ev.TraceID, ev.SpanID = s[:ends[0]], s[ends[0]:ends[1]], s[ends[1]:ends[2]], s[ends[2]:ends[3]]
}

// parseEventRef is ParseEvent for any line: the reference parsePlain is
// held to.
func parseEventRef(line, buf []byte) (Event, []byte, error) {
	var ev Event
	if len(bytes.TrimSpace(line)) == 0 {
		return ev, buf, errors.New("blank line: want a JSON object")
	}
	if len(line) > MaxRecordSize {
		return ev, buf, fmt.Errorf("line is over the %d-byte limit", MaxRecordSize)
	}
	// The fields seen, decoded: a list while short, a set when a line has
	// many (a hostile line of many thousands stays linear).
	var seenBuf [8][]byte
	seen := seenBuf[:0]
	var seenSet map[string]bool
	// The other fields, as "key":value pairs, are at most the line long.
	var extra []byte
	var dstart int // where extra begins in buf
	var data []byte
	// The string tokens of type, session, trace_id and span_id.
	var strs [4][]byte
	err := Fields(line, func(key, keyTok, raw []byte) error {
		switch {
		case seenSet != nil && seenSet[string(key)], seenSet == nil && slices.ContainsFunc(seen, func(k []byte) bool { return bytes.Equal(k, key) }):
			return fmt.Errorf("duplicate field %q", key)
		case seenSet != nil:
			seenSet[string(key)] = true
		case len(seen) == cap(seenBuf):
			seenSet = make(map[string]bool)
			for _, k := range append(seen, key) {
				seenSet[string(k)] = true
			}
		default:
			seen = append(seen, key)
		}
		f := eventField(key)
		switch f {
		case fieldWriter:
			return fmt.Errorf("field %q is set by the writer; remove it", key)
		case fieldData:
			data = raw
			return nil
		case fieldOther:
			if extra == nil {
				dstart = len(buf)
				extra = append(buf, '{')
			} else {
				extra = append(extra, ',')
			}
			extra = append(append(append(extra, keyTok...), ':'), raw...)
			return nil
		}
		// raw is a valid JSON value (Fields checked it): one that
		// begins with a quote is a whole string token.
		if raw[0] != '"' {
			return fmt.Errorf("field %q must be a string", key)
		}
		strs[f] = raw
		return nil
	})
	if err != nil {
		return ev, buf, err
	}
	ev.setStrings(&strs, false)
	if ev.Type == "" {
		return ev, buf, errors.New(`missing "type"`)
	}
	switch {
	case data != nil && extra != nil:
		return ev, buf, errors.New(`both "data" and other fields: put the event's fields in "data" or at the top level, not both`)
	case data != nil:
		dstart = len(buf)
		buf = append(buf, data...)
		ev.Data = buf[dstart:len(buf):len(buf)]
	case extra != nil:
		buf = append(extra, '}')
		ev.Data = buf[dstart:len(buf):len(buf)]
	}
	if len(ev.Data) > 0 && ev.Data[0] != '{' {
		return ev, buf, errors.New(`"data" must be a JSON object`)
	}
	if err := ev.Check(); err != nil {
		return ev, buf, errors.New(strings.TrimPrefix(err.Error(), "chain: "))
	}
	return ev, buf, nil
}
