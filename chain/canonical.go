package chain

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// compactObject checks that b is one JSON object (valid UTF-8, no duplicate
// keys at any depth, no lone surrogate escape) and returns it compacted.
// String and number bytes are kept exactly as given: nothing is re-escaped or
// re-encoded.
func compactObject(b []byte) ([]byte, error) {
	b = bytes.TrimSpace(b)
	if !utf8.Valid(b) {
		return nil, errors.New("chain: event data is not valid UTF-8")
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("chain: event data is not a JSON object")
	}
	// Most data is already compact: a first pass that copies nothing
	// returns b itself; only data with whitespace is copied, compacted.
	_, i, err := compactValue(nil, b, 0, 0, false)
	out := b
	if err == errNotCompact {
		out, i, err = compactValue(make([]byte, 0, len(b)), b, 0, 0, true)
	}
	switch err.(type) {
	case nil:
	case *dataError: // returned unwrapped
		return nil, fmt.Errorf("chain: event data has %v", err)
	default:
		return nil, fmt.Errorf("chain: event data %v", err)
	}
	if skipSpace(b, i) != len(b) {
		return nil, errors.New("chain: event data has bytes after the JSON object")
	}
	return out, nil
}

var (
	errInvalid    = errors.New("is not valid JSON")
	errNotCompact = errors.New("is not compact")
)

// dataError says why valid JSON data is not in the canonical form: a key
// that repeats an earlier key of its object, or a \u escape of half a
// surrogate pair. Different JSON parsers read such data differently (the
// first key or the last; U+FFFD, an error or a lone surrogate).
type dataError struct {
	reason string
	// rpath is the path from the data object to the value, innermost
	// first: object keys (decoded) and array indexes ("[3]").
	rpath []string
}

func (e *dataError) Error() string { return e.reason + " in " + e.path() }

// path returns where the error is, as data.key.key[3] (a key that is not a
// plain word is written as ["key"]).
func (e *dataError) path() string {
	var b strings.Builder
	b.WriteString("data")
	for i := len(e.rpath) - 1; i >= 0; i-- {
		p := e.rpath[i]
		switch {
		case strings.HasPrefix(p, "["):
			b.WriteString(p)
		case plainKey(p):
			b.WriteString("." + p)
		default:
			b.WriteString("[" + quoteShort(p) + "]")
		}
	}
	return b.String()
}

// within adds the key or index holding the value the error is about.
func (e *dataError) within(elem string) *dataError {
	e.rpath = append(e.rpath, elem)
	return e
}

// plainKey reports whether a key reads unambiguously after a dot.
func plainKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// quoteShort quotes s for a message, cut to 64 bytes: a finding never
// repeats a hostile megabyte.
func quoteShort(s string) string {
	if len(s) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// compactValue validates the value at b[i:], appends it to dst without
// insignificant whitespace and returns the index just past it. With keep
// false it appends nothing and fails with errNotCompact at the first
// insignificant whitespace. Valid JSON that is not canonical (a repeated key,
// a lone surrogate escape) fails with a *dataError.
func compactValue(dst, b []byte, i, depth int, keep bool) ([]byte, int, error) {
	// ws skips whitespace at b[i:], which only a copying pass may drop.
	ws := func(i int) (int, bool) {
		j := skipSpace(b, i)
		return j, keep || j == i
	}
	var ok bool
	if i, ok = ws(i); !ok {
		return dst, i, errNotCompact
	}
	if i >= len(b) || depth > maxDepth {
		return dst, i, errInvalid
	}
	switch b[i] {
	case '{':
		dst = appendIf(keep, dst, '{')
		if i, ok = ws(i + 1); !ok {
			return dst, i, errNotCompact
		}
		if i < len(b) && b[i] == '}' {
			return appendIf(keep, dst, '}'), i + 1, nil
		}
		// The object's keys, decoded, checked for repeats at its end.
		var keyBuf [16][]byte
		keys := keyBuf[:0]
		for {
			if i >= len(b) || b[i] != '"' {
				return dst, i, errInvalid
			}
			j, ok := scanString(b, i)
			if !ok {
				return dst, i, errInvalid
			}
			tok := b[i:j]
			key := tok[1 : len(tok)-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				if err := checkSurrogates(tok); err != nil {
					return dst, i, err
				}
				key = []byte(decodeString(tok))
			}
			keys = append(keys, key)
			if keep {
				dst = append(dst, tok...)
			}
			if i, ok = ws(j); !ok {
				return dst, i, errNotCompact
			}
			if i >= len(b) || b[i] != ':' {
				return dst, i, errInvalid
			}
			dst = appendIf(keep, dst, ':')
			var err error
			if dst, i, err = compactValue(dst, b, i+1, depth+1, keep); err != nil {
				if de, ok := err.(*dataError); ok {
					de.within(string(key))
				}
				return dst, i, err
			}
			if i, ok = ws(i); !ok {
				return dst, i, errNotCompact
			}
			if i >= len(b) {
				return dst, i, errInvalid
			}
			if b[i] == '}' {
				if k := dupKey(keys); k >= 0 {
					return dst, i, &dataError{reason: "duplicate key " + quoteShort(string(keys[k]))}
				}
				return appendIf(keep, dst, '}'), i + 1, nil
			}
			if b[i] != ',' {
				return dst, i, errInvalid
			}
			dst = appendIf(keep, dst, ',')
			if i, ok = ws(i + 1); !ok {
				return dst, i, errNotCompact
			}
		}
	case '[':
		dst = appendIf(keep, dst, '[')
		if i, ok = ws(i + 1); !ok {
			return dst, i, errNotCompact
		}
		if i < len(b) && b[i] == ']' {
			return appendIf(keep, dst, ']'), i + 1, nil
		}
		for n := 0; ; n++ {
			var err error
			if dst, i, err = compactValue(dst, b, i, depth+1, keep); err != nil {
				if de, ok := err.(*dataError); ok {
					de.within("[" + strconv.Itoa(n) + "]")
				}
				return dst, i, err
			}
			if i, ok = ws(i); !ok {
				return dst, i, errNotCompact
			}
			if i >= len(b) {
				return dst, i, errInvalid
			}
			if b[i] == ']' {
				return appendIf(keep, dst, ']'), i + 1, nil
			}
			if b[i] != ',' {
				return dst, i, errInvalid
			}
			dst = appendIf(keep, dst, ',')
			i++
		}
	}
	j, ok := scanValue(b, i, depth)
	if !ok {
		return dst, i, errInvalid
	}
	if b[i] == '"' {
		if err := checkSurrogates(b[i:j]); err != nil {
			return dst, i, err
		}
	}
	if keep {
		dst = append(dst, b[i:j]...)
	}
	return dst, j, nil
}

func appendIf(keep bool, dst []byte, c byte) []byte {
	if keep {
		dst = append(dst, c)
	}
	return dst
}

// checkSurrogates returns a *dataError when the valid JSON string token tok
// has a \u escape of a UTF-16 surrogate that is not half of a pair: a high
// surrogate (D800–DBFF) directly followed by an escaped low one (DC00–DFFF).
func checkSurrogates(tok []byte) error {
	for i := bytes.IndexByte(tok, '\\'); i >= 0 && i < len(tok); {
		if tok[i] != '\\' {
			i++
			continue
		}
		if tok[i+1] != 'u' {
			i += 2
			continue
		}
		r := hex4(tok[i+2 : i+6])
		switch {
		case utf16.IsSurrogate(rune(r)) && r < 0xdc00 && i+12 <= len(tok) && tok[i+6] == '\\' && tok[i+7] == 'u' &&
			0xdc00 <= hex4(tok[i+8:i+12]) && hex4(tok[i+8:i+12]) <= 0xdfff:
			i += 12
		case utf16.IsSurrogate(rune(r)):
			return &dataError{reason: "lone surrogate escape " + string(tok[i:i+6])}
		default:
			i += 6
		}
	}
	return nil
}

// hex4 decodes four hex digits, either case (they are known to be hex).
func hex4(h []byte) uint16 {
	var v uint16
	for _, c := range h {
		v = v<<4 | uint16(hexVal[c|0x20]&0xf)
	}
	return v
}

// dupKey returns the index of the first key of keys (in order) that repeats
// an earlier one, or -1. Small objects compare every pair; larger ones are
// sorted, so a hostile object of n keys costs n log n comparisons, not n².
func dupKey(keys [][]byte) int {
	if len(keys) <= 16 {
		for i := 1; i < len(keys); i++ {
			for j := range i {
				if string(keys[i]) == string(keys[j]) {
					return i
				}
			}
		}
		return -1
	}
	idx := make([]int32, len(keys))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return bytes.Compare(keys[a], keys[b]) })
	first := -1
	for k := 1; k < len(idx); k++ {
		if string(keys[idx[k]]) == string(keys[idx[k-1]]) && (first < 0 || int(idx[k]) < first) {
			// Stable: idx[k] is the first repeat of its key.
			if k == 1 || string(keys[idx[k-1]]) != string(keys[idx[k-2]]) {
				first = int(idx[k])
			}
		}
	}
	return first
}

// Fields calls fn with the decoded key, the key's JSON token and the raw
// value bytes of each top-level field of the JSON object b, in order. It
// reports invalid JSON, invalid UTF-8 and bytes after the object, and stops at
// fn's first error. key aliases b unless the key has escapes; fn must not
// keep it or modify it.
func Fields(b []byte, fn func(key, keyToken, raw []byte) error) error {
	if !utf8.Valid(b) {
		return errors.New("not valid UTF-8")
	}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("not a JSON object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return errors.New("not valid JSON")
			}
			j, ok := scanString(b, i)
			if !ok {
				return errors.New("not valid JSON")
			}
			keyTok := b[i:j]
			i = skipSpace(b, j)
			if i >= len(b) || b[i] != ':' {
				return errors.New("not valid JSON")
			}
			i = skipSpace(b, i+1)
			j, ok = scanValue(b, i, 0)
			if !ok {
				return errors.New("not valid JSON")
			}
			key := keyTok[1 : len(keyTok)-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				key = []byte(decodeString(keyTok))
			}
			if err := fn(key, keyTok, b[i:j]); err != nil {
				return err
			}
			i = skipSpace(b, j)
			if i >= len(b) {
				return errors.New("not valid JSON")
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return errors.New("not valid JSON")
			}
			i = skipSpace(b, i+1)
		}
	}
	if skipSpace(b, i) != len(b) {
		return errors.New("bytes after the JSON object")
	}
	return nil
}

// Unquote decodes a JSON string token; ok is false when tok is not one.
func Unquote(tok []byte) (s string, ok bool) {
	if len(tok) < 2 || tok[0] != '"' {
		return "", false
	}
	if j, valid := scanString(tok, 0); !valid || j != len(tok) {
		return "", false
	}
	return decodeString(tok), true
}
