package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/brain-dev/brain/chain/internal/blake3"
	"github.com/brain-dev/brain/chain/internal/fastpath"
)

// FormatVersion names the version of the chain format this package writes and
// reads; it is carried in every header record.
const FormatVersion = "brain-chain/1"

// HeaderType is the record type of the header that starts every chain file.
const HeaderType = "chain.header"

// RepairedType is the record type that brain-audit repair appends.
const RepairedType = "chain.repaired"

// MaxRecordSize is the largest record line, newline included, that the writer
// produces and the verifier accepts.
const MaxRecordSize = 1 << 20

// DigestSize is the size in bytes of every supported hash.
const DigestSize = 32

// TimeLayout is the fixed-width layout of the ts field: RFC 3339, UTC, with
// nanoseconds always written as nine digits.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Alg is a hash algorithm a chain can use.
type Alg string

// Supported algorithms.
const (
	SHA256 Alg = "sha256"
	BLAKE3 Alg = "blake3"
)

// ParseAlg returns the Alg named s.
func ParseAlg(s string) (Alg, error) {
	switch Alg(s) {
	case SHA256, BLAKE3:
		return Alg(s), nil
	}
	return "", fmt.Errorf("chain: unknown hash algorithm %q (want sha256 or blake3)", s)
}

// New returns a new hash.Hash for a. It panics for an unsupported Alg, which
// ParseAlg rules out.
func (a Alg) New() hash.Hash {
	switch a {
	case SHA256, "":
		return sha256.New()
	case BLAKE3:
		return blake3.NewHash()
	}
	panic("chain: unsupported algorithm " + string(a))
}

// Digest is a record hash.
type Digest [DigestSize]byte

// String returns d as lowercase hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// ParseDigest parses 64 lowercase hex digits.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*DigestSize || !isLowerHex([]byte(s)) {
		return d, fmt.Errorf("chain: malformed digest %q: want %d lowercase hex digits", s, 2*DigestSize)
	}
	hex.Decode(d[:], []byte(s))
	return d, nil
}

// IsZero reports whether d is all zero, the prev of a new chain's first record.
func (d Digest) IsZero() bool { return d == Digest{} }

// Head names the last record of a chain: what to record elsewhere so that a
// later verification can prove the chain was not cut or rewritten.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash Digest `json:"-"`
}

// String returns "SEQ:HASH", the form ParseHead and --head accept.
func (h Head) String() string { return strconv.FormatUint(h.Seq, 10) + ":" + h.Hash.String() }

// ParseHead parses "SEQ:HASH".
func ParseHead(s string) (Head, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			seq, err := strconv.ParseUint(s[:i], 10, 64)
			if err != nil {
				return Head{}, fmt.Errorf("chain: malformed head %q: bad seq", s)
			}
			d, err := ParseDigest(s[i+1:])
			if err != nil {
				return Head{}, fmt.Errorf("chain: malformed head %q: %v", s, err)
			}
			return Head{Seq: seq, Hash: d}, nil
		}
	}
	return Head{}, fmt.Errorf("chain: malformed head %q: want SEQ:HASH", s)
}

// Event is what a caller appends; the writer adds seq, ts, prev and hash.
type Event struct {
	Type    string
	Session string
	TraceID string
	SpanID  string
	// Data is the event's data: a JSON object, or nil for {}.
	Data []byte
	// Time is the record's timestamp; zero means now.
	Time time.Time

	// compact is Data as Check compacted it; the writer skips compacting
	// again while Data still holds exactly these bytes.
	compact []byte
	// checked holds Type, Session, TraceID and SpanID as Check found them
	// valid; the writer skips checking them again while they are the same
	// strings (strings do not change: the same pointer and length are the
	// same text, which string comparison sees without reading it).
	checked [4]string
	// plain says that the checked strings need no escape: the writer
	// copies them between quotes as they are. Set by ParseEvent's fast
	// path, which saw every byte of them; Check clears it.
	plain bool
}

// hashSep begins the last field of every record.
const hashSep = `,"hash":"`

// encodeRecord appends the record line for ev to dst and returns it with the
// record's digest. data must be compact JSON.
func encodeRecord(dst []byte, alg Alg, seq uint64, ts time.Time, ev *Event, data []byte, prev Digest) ([]byte, Digest) {
	return encodeRecordTS(dst, newDigester(alg), seq, ts.UTC().AppendFormat(nil, TimeLayout), ev, data, prev)
}

// encodeRecordTS is encodeRecord with the timestamp already formatted and a
// digester of the chain's algorithm, so a batch formats its shared
// timestamp and makes its hash once.
func encodeRecordTS(dst []byte, h *digester, seq uint64, ts []byte, ev *Event, data []byte, prev Digest) ([]byte, Digest) {
	return encodeRecordHex(dst, h, seq, ts, ev, data, prev, nil)
}

// encodeRecordHex is encodeRecordTS given prev in hex too, when prevHex
// is not nil: a batch copies each record's hash from the record before
// rather than encoding it again.
func encodeRecordHex(dst []byte, h *digester, seq uint64, ts []byte, ev *Event, data []byte, prev Digest, prevHex []byte) ([]byte, Digest) {
	start := len(dst)
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"ts":"`...)
	dst = append(dst, ts...)
	strs := [4]string{ev.Type, ev.Session, ev.TraceID, ev.SpanID}
	plain := ev.plain && strs == ev.checked
	for i, name := range [4]string{`","type":`, `,"session":`, `,"trace_id":`, `,"span_id":`} {
		dst = append(dst, name...)
		if plain {
			dst = append(append(append(dst, '"'), strs[i]...), '"')
		} else {
			dst = appendString(dst, strs[i])
		}
	}
	dst = append(dst, `,"data":`...)
	if len(data) == 0 {
		data = []byte("{}")
	}
	dst = append(dst, data...)
	dst = append(dst, `,"prev":"`...)
	if prevHex != nil {
		dst = append(dst, prevHex...)
	} else {
		dst = hex.AppendEncode(dst, prev[:])
	}
	dst = append(dst, '"')
	d := h.entry(dst[start:], &prev)
	dst = append(dst, hashSep...)
	dst = hex.AppendEncode(dst, d[:])
	dst = append(dst, "\"}\n"...)
	return dst, d
}

// digester computes record hashes, H(entry || prev), with one hash and one
// Sum buffer, so that a batch of appends or a verifier's worker allocates
// nothing per record (Sum's argument escapes through the interface).
type digester struct {
	h    hash.Hash
	sum  []byte
	prev Digest
	// sha, when not nil, computes SHA-256 record hashes in place of h,
	// with less copying (fastpath.SHA256).
	sha *fastpath.SHA256
}

// newDigester returns a digester for alg, with the fast SHA-256 where it
// can.
func newDigester(alg Alg) *digester {
	d := newReferenceDigester(alg)
	if alg == SHA256 || alg == "" {
		d.sha = fastpath.NewSHA256()
	}
	return d
}

// newReferenceDigester returns a digester for alg that goes through
// hash.Hash only: the reference the fast SHA-256 is held to.
func newReferenceDigester(alg Alg) *digester {
	return &digester{h: alg.New(), sum: make([]byte, 0, DigestSize)}
}

// entry returns H(entry || prev).
func (d *digester) entry(entry []byte, prev *Digest) Digest {
	if d.sha != nil {
		return d.sha.Entry(entry, (*[DigestSize]byte)(prev))
	}
	d.h.Reset()
	d.h.Write(entry)
	// prev is copied before it goes through the interface, which would
	// make every caller's prev escape to the heap.
	d.prev = *prev
	d.h.Write(d.prev[:])
	var out Digest
	copy(out[:], d.h.Sum(d.sum[:0]))
	return out
}

// appendString appends s as a JSON string. It escapes only what JSON requires
// (quote, backslash, control characters) plus U+2028 and U+2029, and never
// HTML characters. s must be valid UTF-8.
func appendString(dst []byte, s string) []byte {
	return appendStringFrom(dst, s, plainPrefix(s))
}

// appendStringRef is appendString looking at every byte: the reference the
// skip of appendString is held to (FuzzAppendString).
func appendStringRef(dst []byte, s string) []byte { return appendStringFrom(dst, s, 0) }

// plainPrefix returns the length of the longest prefix of s that appendString
// copies as it is, eight bytes at a time where it can: printable ASCII but
// the quote and the backslash.
func plainPrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q, bs := x^(lsb*'"'), x^(lsb*'\\')
		// A zero byte in x^c marks a c; x&msb marks bytes past ASCII.
		// Borrows only propagate upwards: the lowest flagged byte is exact.
		if m := ((q-lsb)&^q | (bs-lsb)&^bs | (x-lsb*0x20)&^x | x) & msb; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			break
		}
	}
	return i
}

// appendStringFrom is appendString, given that s[:plain] needs no escape.
func appendStringFrom(dst []byte, s string, plain int) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := plain; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// checkEvent validates ev and returns its data as compact JSON.
func checkEvent(ev *Event) ([]byte, error) {
	if ev.Type == "" {
		return nil, errors.New("chain: event has no type")
	}
	if strs := [4]string{ev.Type, ev.Session, ev.TraceID, ev.SpanID}; strs != ev.checked {
		for i, name := range [...]string{"type", "session", "trace_id", "span_id"} {
			if !utf8.ValidString(strs[i]) {
				return nil, fmt.Errorf("chain: event %s is not valid UTF-8", name)
			}
		}
	}
	if len(ev.Data) == 0 {
		return []byte("{}"), nil
	}
	if ev.compact != nil && bytes.Equal(ev.compact, ev.Data) {
		return ev.compact, nil
	}
	return compactObject(ev.Data)
}

func isLowerHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Check reports whether ev can be appended: a type that is not reserved,
// valid UTF-8, and data that is one JSON object in the canonical form (no
// duplicate keys, no lone surrogate escapes). On success ev.Data holds the
// compacted data, which AppendBatch then does not compact again, and its
// strings, while they are the same strings, are not checked again.
func (ev *Event) Check() error {
	if err := checkType(ev.Type); err != nil {
		return err
	}
	d, err := checkEvent(ev)
	if err != nil {
		return err
	}
	if len(ev.Data) > 0 {
		ev.Data, ev.compact = d, d
	}
	ev.checked = [4]string{ev.Type, ev.Session, ev.TraceID, ev.SpanID}
	ev.plain = false
	return nil
}

// reservedPrefix begins the types of the records the chain writes itself:
// file headers and repairs. Nothing else may append them, or a chain.repaired
// record could be forged to explain away damage.
const reservedPrefix = "chain."

// checkType refuses the reserved types.
func checkType(t string) error {
	if strings.HasPrefix(t, reservedPrefix) {
		return fmt.Errorf("chain: type %q is reserved: the chain writes %s* records itself (file headers, repairs)", t, reservedPrefix)
	}
	return nil
}
