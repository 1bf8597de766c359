package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
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
	var h HeaderData
	dec := json.NewDecoder(bytes.NewReader(r.data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, nil, fmt.Errorf("header data: %v", err)
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

func readFirstLine(f *os.File) ([]byte, error) {
	buf := make([]byte, 4096)
	var line []byte
	for off := int64(0); off < MaxRecordSize; {
		n, err := f.ReadAt(buf, off)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return append(line, buf[:i]...), nil
		}
		line = append(line, buf[:n]...)
		off += int64(n)
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
// path, oldest first.
func rotatedFiles(path string) ([]string, error) {
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(path, ext)
	matches, err := filepath.Glob(globEscape(stem) + ".[0-9][0-9][0-9][0-9][0-9][0-9]" + globEscape(ext))
	if err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	sort.Strings(matches)
	return matches, nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}

var rotatedRe = regexp.MustCompile(`^(.*)\.([0-9]{6})(\.[^./]*)?$`)

// activeName maps a rotated file name back to its chain's active file name.
func activeName(path string) string {
	dir, base := filepath.Split(path)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	if m := rotatedRe.FindStringSubmatch(stem + ext); m != nil && m[3] == ext {
		return dir + m[1] + ext
	}
	return path
}
