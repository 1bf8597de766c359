package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// HeaderData is the data of a chain.header record.
type HeaderData struct {
	Format string `json:"format"`
	Alg    string `json:"alg"`
	Chain  string `json:"chain"`
	// Index numbers the files of a chain from 0.
	Index int `json:"index"`
	// Continues names the rotated file this one continues, for Index > 0.
	Continues *Continuation `json:"continues,omitempty"`
}

// Continuation names the last record of the previous file of a chain.
type Continuation struct {
	File string `json:"file"`
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// RotatedName returns the name the file of index i of the chain whose active
// file is path takes when it is rotated: "audit.jsonl" → "audit.000003.jsonl".
func RotatedName(path string, i int) string {
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s.%06d%s", strings.TrimSuffix(path, ext), i, ext)
}

// parseHeader parses a header line (without newline) and checks its hash
// against its own prev.
func parseHeader(line []byte) (*HeaderData, *record, error) {
	var r record
	if pe := parseRecord(line, &r); pe != nil {
		return nil, nil, pe
	}
	if string(r.typ) != `"`+HeaderType+`"` {
		return nil, nil, fmt.Errorf("first record has type %s, not %q", r.typ, HeaderType)
	}
	h, ok := headerFast(r.data)
	if !ok {
		dec := json.NewDecoder(bytes.NewReader(r.data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&h); err != nil {
			return nil, nil, fmt.Errorf("header data: %v", err)
		}
	}
	if h.Format != FormatVersion {
		return nil, nil, fmt.Errorf("unknown format %q (this build reads %q)", h.Format, FormatVersion)
	}
	if _, err := ParseAlg(h.Alg); err != nil {
		return nil, nil, fmt.Errorf("unknown hash algorithm %q", h.Alg)
	}
	if h.Chain == "" {
		return nil, nil, errors.New("header names no chain id")
	}
	return &h, &r, nil
}

// errNotPlain stops headerFast at what it leaves to encoding/json.
var errNotPlain = errors.New("chain: not a plain header")

// headerFast decodes header data b in the plain form writers write: every
// field of HeaderData (and Continuation) at most once, under its own name,
// strings of printable ASCII without escapes, numbers of digits alone. ok
// is false for anything else (a duplicate, another spelling of a name, an
// escape, null, a field it does not know, a number out of range), which the
// caller decodes with encoding/json, the reference: whatever headerFast
// accepts, encoding/json decodes to the same value (FuzzHeaderFast). A
// chain of thousands of rotated files parses one header a file; this is
// several times cheaper.
func headerFast(b []byte) (h HeaderData, ok bool) {
	ok = plainFields(b, func(keyTok, raw []byte) (bit int, ok bool) {
		switch string(keyTok) {
		case `"format"`:
			h.Format, ok = plainString(raw)
			return 1, ok
		case `"alg"`:
			h.Alg, ok = plainString(raw)
			return 2, ok
		case `"chain"`:
			h.Chain, ok = plainString(raw)
			return 4, ok
		case `"index"`:
			var n uint64
			n, ok = plainUint(raw)
			h.Index = int(n)
			return 8, ok && n <= math.MaxInt
		case `"continues"`:
			var c Continuation
			c, ok = continuationFast(raw)
			h.Continues = &c
			return 16, ok
		}
		return 0, false
	})
	return h, ok
}

// continuationFast is headerFast for the continues object.
func continuationFast(b []byte) (c Continuation, ok bool) {
	ok = plainFields(b, func(keyTok, raw []byte) (bit int, ok bool) {
		switch string(keyTok) {
		case `"file"`:
			c.File, ok = plainString(raw)
			return 1, ok
		case `"seq"`:
			c.Seq, ok = plainUint(raw)
			return 2, ok
		case `"hash"`:
			c.Hash, ok = plainString(raw)
			return 4, ok
		}
		return 0, false
	})
	return c, ok
}

// plainFields calls field with each field of the JSON object b, which
// reads it and says which bit is its name's; it reports false as soon as a
// field is not read (not known, or not plain) or a name comes twice.
func plainFields(b []byte, field func(keyTok, raw []byte) (bit int, ok bool)) bool {
	var seen int
	err := Fields(b, func(_, keyTok, raw []byte) error {
		bit, ok := field(keyTok, raw)
		if !ok || seen&bit != 0 {
			return errNotPlain
		}
		seen |= bit
		return nil
	})
	return err == nil
}

// plainString decodes a JSON string token of printable ASCII without
// escapes.
func plainString(tok []byte) (string, bool) {
	if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
		return "", false
	}
	for _, c := range tok[1 : len(tok)-1] {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(tok[1 : len(tok)-1]), true
}

// plainUint decodes a JSON number of at most 18 digits (so that it fits a
// uint64), without a sign, a fraction, an exponent or a leading zero.
func plainUint(tok []byte) (uint64, bool) {
	if len(tok) == 0 || len(tok) > 18 || (tok[0] == '0' && len(tok) > 1) {
		return 0, false
	}
	var n uint64
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// readFirstLine reads the first line of r, without its newline. A first
// line over MaxRecordSize is an error: no header is that long.
func readFirstLine(r io.Reader) ([]byte, error) {
	buf := make([]byte, 4096)
	var line []byte
	for len(line) < MaxRecordSize {
		n, err := r.Read(buf)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return append(line, buf[:i]...), nil
		}
		line = append(line, buf[:n]...)
		if err == io.EOF {
			if len(line) == 0 {
				return nil, errors.New("empty file")
			}
			return nil, errors.New("no complete first line")
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, errors.New("first line over the size limit")
}

// rotatedFiles lists the rotated files of the chain whose active file is
// path on the local file system, oldest first.
func rotatedFiles(path string) ([]string, error) {
	dir := filepath.Dir(path)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	return rotatedIn(ents, filepath.Base(path), func(name string) string { return filepath.Join(dir, name) }), nil
}

// rotatedIn returns the names of the rotated files of a chain among the
// entries of a directory, sorted as they are (os.ReadDir and fs.ReadDir
// sort by name): NAME.NNNNNN.EXT for the active file NAME.EXT, whose base
// name is active. join makes an entry's name a path. The names are matched
// as strings, never as a glob pattern: a directory or a chain name may hold
// any character.
func rotatedIn(ents []fs.DirEntry, active string, join func(string) string) []string {
	ext := filepath.Ext(active)
	prefix := strings.TrimSuffix(active, ext) + "."
	var out []string
	for _, e := range ents {
		idx, ok := strings.CutPrefix(e.Name(), prefix)
		if ok {
			idx, ok = strings.CutSuffix(idx, ext)
		}
		if ok && len(idx) == 6 && allDigits(idx) {
			out = append(out, join(e.Name()))
		}
	}
	return out
}

// splitRotated reports whether name is shaped like a rotated chain file,
// STEM.NNNNNN or STEM.NNNNNN.EXT (six ASCII digits; EXT holds no '.' and
// no '/'), and returns its stem and its extension (with the dot, or "").
// Where both shapes fit (a.000001.000002), the longer stem wins. A stem
// never holds a newline. These are the semantics of the regular expression
// ^(.*)\.([0-9]{6})(\.[^./]*)?$ (held to it by TestSplitRotated and
// FuzzSplitRotated), without compiling one in every program's
// initialisation.
//
// Only the last two dots of name can start the digits: the digits hold no
// dot, and the part after them at most one, its first byte. So the match
// is found in time linear in len(name).
func splitRotated(name string) (stem, ext string, ok bool) {
	last := strings.LastIndexByte(name, '.')
	for _, i := range [2]int{last, last - 7} {
		if i < 0 || name[i] != '.' || len(name)-i < 7 || !allDigits(name[i+1:i+7]) {
			continue
		}
		tail := name[i+7:]
		if tail != "" && (tail[0] != '.' || strings.ContainsAny(tail[1:], "./")) {
			continue
		}
		if strings.IndexByte(name[:i], '\n') >= 0 {
			continue
		}
		return name[:i], tail, true
	}
	return "", "", false
}

// allDigits reports whether s is made of ASCII digits only.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// activeName maps a rotated file name back to its chain's active file name.
func activeName(path string) string {
	dir, base := filepath.Split(path)
	if stem, ext, ok := splitRotated(base); ok && ext == filepath.Ext(base) {
		return dir + stem + ext
	}
	return path
}
