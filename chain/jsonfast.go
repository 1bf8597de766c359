package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// compactObject checks that b is one JSON object (valid UTF-8, no duplicate
// keys at any depth) and returns it compacted. String and number bytes are
// kept exactly as given: nothing is re-escaped or re-encoded.
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
	if err != nil {
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

// compactValue validates the value at b[i:], appends it to dst without
// insignificant whitespace and returns the index just past it. With keep
// false it appends nothing and fails with errNotCompact at the first
// insignificant whitespace.
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
			key := b[i:j]
			for _, k := range keys {
				if sameKey(k, key) {
					return dst, i, fmt.Errorf("has duplicate key %s", key)
				}
			}
			keys = append(keys, key)
			if keep {
				dst = append(dst, key...)
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
				return dst, i, err
			}
			if i, ok = ws(i); !ok {
				return dst, i, errNotCompact
			}
			if i >= len(b) {
				return dst, i, errInvalid
			}
			if b[i] == '}' {
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
		for {
			var err error
			if dst, i, err = compactValue(dst, b, i, depth+1, keep); err != nil {
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

// sameKey reports whether two JSON string tokens name the same key.
func sameKey(a, b []byte) bool {
	if bytes.IndexByte(a, '\\') < 0 && bytes.IndexByte(b, '\\') < 0 {
		return bytes.Equal(a, b)
	}
	var sa, sb string
	json.Unmarshal(a, &sa)
	json.Unmarshal(b, &sb)
	return sa == sb
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
