package fastpath

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// The fast parser: it parses the lines the writer produces in the common
// case (the canonical layout, printable ASCII, no escapes, no whitespace,
// nesting within 64 levels), driven by the quote and dirty bits of
// classify. It accepts a subset of what the chain's general parser accepts
// as a canonical record, with the same fields; any other line (and any line
// it is unsure of) goes to the general parser, which decides. The chain's
// FuzzFastRecord holds the two to that.

// Available reports whether the parser runs on this machine: it needs the
// vector kernel (AVX2). Without it every line takes the general parser.
func Available() bool { return hasSIMD() }

// Record is what Parser.Record reads of a line. Its slices alias the line.
type Record struct {
	Seq uint64
	// TS is the 30-byte timestamp, without quotes; Type, Session, TraceID
	// and SpanID are JSON string tokens, quotes included; Data is the data
	// object.
	TS, Type, Session, TraceID, SpanID, Data []byte
	// Entry is the bytes the hash covers: the line up to, not including,
	// the `,"hash":"` that begins its last field.
	Entry []byte
	// Prev and Hash are the 64 hex digits of the prev and hash fields, not
	// yet checked to be lowercase hex: the caller decodes or compares them.
	Prev, Hash []byte
}

// Parser is one goroutine's classification buffers and parsing state, for
// the lines of one chunk at a time.
type Parser struct {
	quotes, dirty []uint64
	data          []byte
	done          int // data[:done] is classified
	// keys[:nkeys] are the keys of the objects that value has open, and
	// levels[d] where the keys of the object at depth d begin. A line with
	// more keys open at once takes the general parser.
	keys   [256]keyRef
	nkeys  int
	levels [64]int32
}

// keyRef is a key of an object on the fast path: its place in the line and
// a fingerprint, its length and first 8 bytes, equal for equal keys (and
// exact for keys under 8 bytes), so that most pairs of keys compare as two
// words.
type keyRef struct {
	fp   uint64
	s, e int32
}

// newKeyRef returns the keyRef of the key b[s:e]; b must hold at least 8
// bytes from s on (a key is followed by the rest of a record).
func newKeyRef(b []byte, s, e int) keyRef {
	n := e - s
	fp := binary.LittleEndian.Uint64(b[s:])
	if n < 8 {
		fp &= 1<<(8*n) - 1
	}
	return keyRef{fp: fp ^ uint64(n)<<56, s: int32(s), e: int32(e)}
}

// repeats reports whether a key of keys is repeated; the keys are in b.
// Small objects compare every pair; larger ones are sorted in place (the
// keys of a closed object are not needed again), so an object of n keys
// costs n log n comparisons, not n².
func repeats(b []byte, keys []keyRef) bool {
	if len(keys) > 16 {
		slices.SortFunc(keys, func(x, y keyRef) int {
			return cmp.Or(cmp.Compare(x.fp, y.fp), bytes.Compare(b[x.s:x.e], b[y.s:y.e]))
		})
		for i := 1; i < len(keys); i++ {
			if keys[i].fp == keys[i-1].fp && string(b[keys[i].s:keys[i].e]) == string(b[keys[i-1].s:keys[i-1].e]) {
				return true
			}
		}
		return false
	}
	for i := 1; i < len(keys); i++ {
		for j := range i {
			if keys[i].fp == keys[j].fp && string(b[keys[i].s:keys[i].e]) == string(b[keys[j].s:keys[j].e]) {
				return true
			}
		}
	}
	return false
}

// classifyStep is how far ahead of the line being parsed classification
// runs: a step's bytes are still in the core's cache when they are parsed
// and hashed.
const classifyStep = 16 << 10

// Reset starts the classification of data from byte from (a line's start),
// growing the buffers as needed.
func (p *Parser) Reset(data []byte, from int) {
	n := (len(data) + 63) / 64
	if cap(p.quotes) < n {
		p.quotes, p.dirty = make([]uint64, n), make([]uint64, n)
	}
	p.quotes, p.dirty = p.quotes[:n], p.dirty[:n]
	p.data, p.done = data, from&^63
}

// upTo classifies p.data up to at least byte e.
func (p *Parser) upTo(e int) {
	if e <= p.done {
		return
	}
	to := min(max(e, p.done+classifyStep)&^63, len(p.data))
	if to < e {
		to = len(p.data)
	}
	if to == len(p.data) {
		classify(p.data[p.done:], p.quotes[p.done/64:], p.dirty[p.done/64:])
	} else {
		classifyBlocks(p.data[p.done:to], p.quotes[p.done/64:to/64], p.dirty[p.done/64:to/64])
	}
	p.done = to
}

// hexPairs maps a byte to its two lowercase hex digits, as a little-endian
// uint16.
var hexPairs = func() (t [256]uint16) {
	const digits = "0123456789abcdef"
	for i := range t {
		t[i] = uint16(digits[i>>4]) | uint16(digits[i&15])<<8
	}
	return t
}()

// hexEqualGeneric is HexEqual for len(h) == 64, without vector
// instructions.
func hexEqualGeneric(d *[32]byte, h []byte) bool {
	var diff uint64
	for k := 0; k < len(d); k += 4 {
		w := uint64(hexPairs[d[k]]) | uint64(hexPairs[d[k+1]])<<16 | uint64(hexPairs[d[k+2]])<<32 | uint64(hexPairs[d[k+3]])<<48
		diff |= w ^ binary.LittleEndian.Uint64(h[2*k:])
	}
	return diff == 0
}

// The record's layout: the keys in their order, and the suffix
// ,"prev":"<64 hex>","hash":"<64 hex>"} of every line.
const (
	tsLen     = len("2006-01-02T15:04:05.000000000Z")
	prevKey   = `,"prev":"`
	hashKey   = `","hash":"`
	suffixLen = len(prevKey) + 64 + len(hashKey) + 64 + len(`"}`)
)

// Record parses the line data[s:e] (without its newline), which must be
// clean (NextDirty(s) == e), when it is in the parser's subset, filling r,
// and reports whether it did. data must be the chunk Reset was given.
func (p *Parser) Record(data []byte, s, e int, r *Record) bool {
	if e-s < suffixLen+64 {
		return false
	}
	b := data[:e]
	end := e - suffixLen // where the suffix ,"prev":"…","hash":"…"} begins
	if string(b[s:s+7]) != `{"seq":` {
		return false
	}
	i := s + 7
	var seq uint64
	j := i
	for j < end && j-i < 19 && b[j]-'0' < 10 {
		seq = seq*10 + uint64(b[j]-'0')
		j++
	}
	// At most 19 digits (no overflow); longer seqs take the general path.
	if j == i || b[i] == '0' && j-i > 1 || j < end && b[j]-'0' < 10 {
		return false
	}
	r.Seq = seq
	i = j
	if end-i < len(`,"ts":"`)+tsLen+len(`","type":"`) || string(b[i:i+7]) != `,"ts":"` {
		return false
	}
	i += 7
	if !cleanTS(b[i : i+tsLen]) {
		return false
	}
	r.TS = b[i : i+tsLen]
	i += tsLen
	// Each key is compared as a constant, which compiles to a few word
	// compares; the value runs to the next quote.
	if string(b[i:i+len(`","type":"`)]) != `","type":"` {
		return false
	}
	i += len(`","type":`)
	if r.Type, i = p.str(b, i, end); i < 0 || end-i < len(`,"session":"`) || string(b[i:i+len(`,"session":"`)]) != `,"session":"` {
		return false
	}
	i += len(`,"session":`)
	if r.Session, i = p.str(b, i, end); i < 0 || end-i < len(`,"trace_id":"`) || string(b[i:i+len(`,"trace_id":"`)]) != `,"trace_id":"` {
		return false
	}
	i += len(`,"trace_id":`)
	if r.TraceID, i = p.str(b, i, end); i < 0 || end-i < len(`,"span_id":"`) || string(b[i:i+len(`,"span_id":"`)]) != `,"span_id":"` {
		return false
	}
	i += len(`,"span_id":`)
	if r.SpanID, i = p.str(b, i, end); i < 0 || end-i < len(`,"data":{}`) || string(b[i:i+len(`,"data":{`)]) != `,"data":{` {
		return false
	}
	i += len(`,"data":`)
	if !p.value(b, i, end) {
		return false
	}
	r.Data = b[i:end]
	sfx := b[end:e]
	const hp, hh = len(prevKey), len(prevKey) + 64 + len(hashKey)
	if string(sfx[:hp]) != prevKey || string(sfx[hp+64:hh]) != hashKey || string(sfx[hh+64:]) != `"}` {
		return false
	}
	r.Entry = b[s : end+hp+64+1]
	r.Prev, r.Hash = sfx[hp:hp+64], sfx[hh:hh+64]
	return true
}

// str returns the string at b[i] == '"', quotes included, and the index after
// it; the index is -1 when it does not end before end.
func (p *Parser) str(b []byte, i, end int) ([]byte, int) {
	k := nextQuote(p.quotes, i+1, end)
	if k < 0 {
		return nil, -1
	}
	return b[i : k+1], k + 1
}

// NextDirty returns the index of the first dirty byte of the chunk at or
// after i, or len(chunk), classifying as it goes. A line's first dirty byte
// is its newline exactly when the line is clean.
func (p *Parser) NextDirty(i int) int {
	n := len(p.data)
	for i < n {
		if i >= p.done {
			p.upTo(i + 1)
		}
		// The classified words from i's on.
		w := i >> 6
		d := p.dirty[w : (p.done+63)>>6]
		m := d[0] & (^uint64(0) << (uint(i) & 63))
		for k := 1; m == 0; k++ {
			if k == len(d) {
				break
			}
			m, w = d[k], w+1
		}
		if m != 0 {
			return min(w<<6+bits.TrailingZeros64(m), n)
		}
		i = p.done
	}
	return n
}

// value validates the JSON value at b[i] that must end exactly at end, in the
// fast path's subset: clean bytes (strings end at the next quote), no
// whitespace, at most 64 levels of nesting, and no object with a repeated
// key (the canonical form; the general parser names the key).
func (p *Parser) value(b []byte, i, end int) bool {
	full := b // the line: the keys' fingerprints may read past end
	b = b[:end]
	var objects uint64 // bit d is set when level d is an object
	depth := 0
	p.nkeys = 0
value:
	if i >= len(b) {
		return false
	}
	switch c := b[i]; {
	case c == '"':
		if i = nextQuote(p.quotes, i+1, len(b)); i < 0 {
			return false
		}
		i++
	case c-'0' < 10 || c == '-':
		if i = number(b, i); i < 0 {
			return false
		}
	case c == '{' || c == '[':
		if depth == 64 {
			return false
		}
		if c == '{' {
			objects |= 1 << (depth & 63)
			p.levels[depth&63] = int32(p.nkeys)
		} else {
			objects &^= 1 << (depth & 63)
		}
		depth++
		i++
		if i < len(b) && b[i] == c+2 { // '}' is '{'+2, ']' is '['+2
			depth--
			i++
			break
		}
		if c == '{' {
			goto key
		}
		goto value
	case c == 't':
		if len(b)-i < 4 || string(b[i:i+4]) != "true" {
			return false
		}
		i += 4
	case c == 'f':
		if len(b)-i < 5 || string(b[i:i+5]) != "false" {
			return false
		}
		i += 5
	case c == 'n':
		if len(b)-i < 4 || string(b[i:i+4]) != "null" {
			return false
		}
		i += 4
	default:
		return false
	}
after: // a value ends at i
	if depth == 0 {
		return i == len(b)
	}
	if i >= len(b) {
		return false
	}
	switch b[i] {
	case ',':
		i++
		if objects&(1<<((depth-1)&63)) != 0 {
			goto key
		}
		goto value
	case '}':
		if objects&(1<<((depth-1)&63)) == 0 {
			return false
		}
		lv := int(p.levels[(depth-1)&63])
		if lv < p.nkeys-1 && repeats(b, p.keys[lv:p.nkeys]) {
			return false
		}
		p.nkeys = lv
	case ']':
		if objects&(1<<((depth-1)&63)) != 0 {
			return false
		}
	default:
		return false
	}
	i++
	depth--
	goto after
key:
	if i >= len(b) || b[i] != '"' {
		return false
	}
	k := i + 1
	if i = nextQuote(p.quotes, k, len(b)); i < 0 || i+1 >= len(b) || b[i+1] != ':' {
		return false
	}
	if p.nkeys == len(p.keys) {
		return false
	}
	p.keys[p.nkeys] = newKeyRef(full, k, i)
	p.nkeys++
	i += 2
	goto value
}

// number scans the JSON number at b[i] and returns the index after it, or
// -1 when it is not one.
func number(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case b[i]-'1' < 9:
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		k := digits(b, i+1)
		if k == i+1 {
			return -1
		}
		i = k
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		k := digits(b, i)
		if k == i {
			return -1
		}
		i = k
	}
	return i
}

// digits returns the index after the run of digits at b[i:].
func digits(b []byte, i int) int {
	for i < len(b) && b[i]-'0' < 10 {
		i++
	}
	return i
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// cleanTS checks the shape dddd-dd-ddTdd:dd:dd.dddddddddZ of 30 bytes known
// to be below 0x80, as four overlapping little-endian words (offsets 0, 8,
// 16 and 22): the digit lanes of each word, and its literal bytes with
// their lanes (TestCleanTSWords derives them).
func cleanTS(b []byte) bool {
	if len(b) != tsLen {
		return false
	}
	return tsBad(binary.LittleEndian.Uint64(b[0:]), 0x0080800080808080, 0x2d00002d00000000, 0xff0000ff00000000)|
		tsBad(binary.LittleEndian.Uint64(b[8:]), 0x8080008080008080, 0x00003a0000540000, 0x0000ff0000ff0000)|
		tsBad(binary.LittleEndian.Uint64(b[16:]), 0x8080808000808000, 0x000000002e00003a, 0x00000000ff0000ff)|
		tsBad(binary.LittleEndian.Uint64(b[22:]), 0x0080808080808080, 0x5a00000000000000, 0xff00000000000000) == 0
}

// tsBad returns the lanes of x that break the shape: not a digit where
// digits has 0x80, not the literal byte where litMask has 0xff. A byte below
// 0x80 is a digit when it is at least '0' (the high bit survives
// subtracting 0x30 from it with the bit set) and below ':' (adding 0x46
// leaves the high bit clear).
func tsBad(x, digits, lit, litMask uint64) uint64 {
	digit := ((x | msb) - lsb*'0') &^ (x + lsb*0x46) & msb
	return (digit^digits)&digits | (x^lit)&litMask
}
