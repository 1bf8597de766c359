package chain

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"time"
)

// Record is a parsed record, for readers such as brain-audit show and diff.
type Record struct {
	Seq     uint64
	Time    time.Time
	Type    string
	Session string
	TraceID string
	SpanID  string
	Data    json.RawMessage
	Prev    Digest
	Hash    Digest
}

// Scanner reads the lines of a chain file one at a time. It does not verify
// hashes or links (Verify does); it parses each line as a record. It holds
// at most one line of MaxRecordSize bytes, however long the line: of a line
// over the limit (never a record) it keeps the beginning, the length and
// the SHA-256.
type Scanner struct {
	br   *bufio.Reader
	line []byte
	// size is the current line's length, newline included; long reports a
	// line over MaxRecordSize, of which line holds the first bytes and sum
	// the SHA-256 of all.
	size int64
	long bool
	sum  Digest
	n    int64
	off  int64
	next int64
	rec  Record
	err  error // the current line's parse error
	ioe  error
}

// NewScanner returns a Scanner reading r.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{br: bufio.NewReaderSize(r, 256<<10)}
}

// Scan advances to the next line. It returns false at the end of the input
// or on a read error (see Err).
func (s *Scanner) Scan() bool {
	s.line, s.size, s.long = s.line[:0], 0, false
	s.off = s.next
	var h hash.Hash
	for {
		chunk, err := s.br.ReadSlice('\n')
		s.size += int64(len(chunk))
		if !s.long && s.size > MaxRecordSize {
			// Too long to be a record: keep its beginning, hash it all.
			s.long, h = true, sha256.New()
			h.Write(s.line)
		}
		if s.long {
			h.Write(chunk)
			chunk = chunk[:min(len(chunk), MaxRecordSize-len(s.line))]
		}
		s.line = append(s.line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if s.size == 0 {
				return false
			}
			break
		}
		if err != nil {
			s.ioe = err
			return false
		}
		break
	}
	s.n++
	s.next += s.size
	s.err = nil
	if s.long {
		copy(s.sum[:], h.Sum(nil))
		s.err = fmt.Errorf("line of %d bytes is over the %d-byte limit", s.size, MaxRecordSize)
		return true
	}
	line := bytes.TrimSuffix(s.line, []byte{'\n'})
	if len(line) == len(s.line) && !wholeObject(line) {
		// Part of a record; a whole one without its newline is read.
		s.err = fmt.Errorf("torn line (no newline)")
		return true
	}
	var r record
	if pe := parseRecord(line, &r); pe != nil && !pe.layoutOnly {
		s.err = pe
		return true
	}
	s.rec = Record{Seq: r.seq, Prev: r.prev, Hash: r.hash, Data: json.RawMessage(r.data)}
	if t, err := time.Parse(time.RFC3339Nano, string(r.ts)); err == nil {
		s.rec.Time = t
	}
	for _, f := range [...]struct {
		src []byte
		dst *string
	}{{r.typ, &s.rec.Type}, {r.session, &s.rec.Session}, {r.traceID, &s.rec.TraceID}, {r.spanID, &s.rec.SpanID}} {
		*f.dst = decodeString(f.src)
	}
	return true
}

// decodeString decodes a JSON string token, quickly when it has no escape.
func decodeString(tok []byte) string {
	if len(tok) >= 2 && bytes.IndexByte(tok, '\\') < 0 {
		return string(tok[1 : len(tok)-1])
	}
	var s string
	json.Unmarshal(tok, &s)
	return s
}

// Record returns the current line's record; valid only when LineErr is nil.
// Its Data aliases the scanner's buffer: the next Scan overwrites it, so a
// caller that keeps it must copy it.
func (s *Scanner) Record() Record { return s.rec }

// Line returns the current line's bytes, newline included (a final line may
// have none); of a line over MaxRecordSize, its first MaxRecordSize bytes.
// They are valid until the next call to Scan.
func (s *Scanner) Line() []byte { return s.line }

// LineNumber returns the current line's 1-based number.
func (s *Scanner) LineNumber() int64 { return s.n }

// Offset returns the current line's byte offset.
func (s *Scanner) Offset() int64 { return s.off }

// LineErr says why the current line is not a record, or nil.
func (s *Scanner) LineErr() error { return s.err }

// Err returns the first read error.
func (s *Scanner) Err() error { return s.ioe }

// lineKey identifies a line for set comparisons: the SHA-256 of its bytes
// (not its hash field, which an edit may leave unchanged).
func (s *Scanner) lineKey() Digest {
	if s.long {
		return s.sum
	}
	return sha256.Sum256(s.line)
}

// sameLine reports whether the current lines of s and o are the same bytes.
func (s *Scanner) sameLine(o *Scanner) bool {
	if s.long || o.long {
		return s.long && o.long && s.size == o.size && s.sum == o.sum
	}
	return bytes.Equal(s.line, o.line)
}
