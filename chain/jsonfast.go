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
	out, i, err := compactValue(make([]byte, 0, len(b)), b, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("chain: event data %v", err)
	}
	if skipSpace(b, i) != len(b) {
		return nil, errors.New("chain: event data has bytes after the JSON object")
	}
	return out, nil
}

var errInvalid = errors.New("is not valid JSON")

// compactValue validates the value at b[i:], appends it to dst without
// insignificant whitespace and returns the index just past it.
func compactValue(dst, b []byte, i, depth int) ([]byte, int, error) {
	i = skipSpace(b, i)
	if i >= len(b) || depth > maxDepth {
		return dst, i, errInvalid
	}
	switch b[i] {
	case '{':
		dst = append(dst, '{')
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return append(dst, '}'), i + 1, nil
		}
		var keys [][]byte
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
			dst = append(dst, key...)
			i = skipSpace(b, j)
			if i >= len(b) || b[i] != ':' {
				return dst, i, errInvalid
			}
			dst = append(dst, ':')
			var err error
			if dst, i, err = compactValue(dst, b, i+1, depth+1); err != nil {
				return dst, i, err
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return dst, i, errInvalid
			}
			if b[i] == '}' {
				return append(dst, '}'), i + 1, nil
			}
			if b[i] != ',' {
				return dst, i, errInvalid
			}
			dst = append(dst, ',')
			i = skipSpace(b, i+1)
		}
	case '[':
		dst = append(dst, '[')
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return append(dst, ']'), i + 1, nil
		}
		for {
			var err error
			if dst, i, err = compactValue(dst, b, i, depth+1); err != nil {
				return dst, i, err
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return dst, i, errInvalid
			}
			if b[i] == ']' {
				return append(dst, ']'), i + 1, nil
			}
			if b[i] != ',' {
				return dst, i, errInvalid
			}
			dst = append(dst, ',')
			i++
		}
	}
	j, ok := scanValue(b, i, depth)
	if !ok {
		return dst, i, errInvalid
	}
	return append(dst, b[i:j]...), j, nil
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
// fn's first error.
func Fields(b []byte, fn func(key string, keyToken, raw []byte) error) error {
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
			if err := fn(decodeString(keyTok), keyTok, b[i:j]); err != nil {
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
