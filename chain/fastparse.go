package chain

import "encoding/binary"

// The verifier's fast path: a parser for the lines the writer produces in
// the common case (the canonical layout, printable ASCII, no escapes, no
// whitespace, nesting within 64 levels), driven by the quote and dirty bits
// of classify. It accepts a subset of what parseCanonical accepts, with the
// same result; any other line (and any line it is unsure of) goes to
// parseRecord, which decides. FuzzFastParse holds the two to that.

// fastScratch is one worker's buffers for the fast path.
type fastScratch struct {
	quotes, dirty []uint64
	data          []byte
	done          int // data[:done] is classified
	// lastHex is the hash of the line before, when it verified on the fast
	// path, and lastDigest its digest: a prev equal to it needs no decoding.
	lastHex    []byte
	lastDigest Digest
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
func repeats(b []byte, keys []keyRef) bool {
	if len(keys) > 16 {
		ks := make([][]byte, len(keys))
		for i, k := range keys {
			ks[i] = b[k.s:k.e]
		}
		return dupKey(ks) >= 0
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

// reset starts the classification of data from byte from (a line's start),
// growing the buffers as needed.
func (f *fastScratch) reset(data []byte, from int) {
	n := (len(data) + 63) / 64
	if cap(f.quotes) < n {
		f.quotes, f.dirty = make([]uint64, n), make([]uint64, n)
	}
	f.quotes, f.dirty = f.quotes[:n], f.dirty[:n]
	f.data, f.done, f.lastHex = data, from&^63, nil
}

// verifyLine parses and hashes the clean line data[s:e] on the fast path and
// fills li, or reports false (li is then garbage) to send the line to the
// general parser: it is not in the fast path's subset, or it does not verify
// (a finding, which the general parser describes).
func (f *fastScratch) verifyLine(h *digester, data []byte, s, e int, r *record, li *lineInfo) bool {
	prevHex, hashHex, ok := f.fastRecord(data, s, e, r)
	if !ok {
		return false
	}
	if f.lastHex != nil && string(prevHex) == string(f.lastHex) {
		r.prev = f.lastDigest
	} else if !decodeHex(r.prev[:], prevHex) {
		return false
	}
	li.computed = h.entry(r.entry, &r.prev)
	if !hexEqual(&li.computed, hashHex) {
		return false
	}
	li.seq, li.prev, li.hash = r.seq, r.prev, li.computed
	li.header = string(r.typ) == `"`+HeaderType+`"`
	f.lastHex, f.lastDigest = hashHex, li.computed
	return true
}

// upTo classifies f.data up to at least byte e.
func (f *fastScratch) upTo(e int) {
	if e <= f.done {
		return
	}
	to := min(max(e, f.done+classifyStep)&^63, len(f.data))
	if to < e {
		to = len(f.data)
	}
	if to == len(f.data) {
		classify(f.data[f.done:], f.quotes[f.done/64:], f.dirty[f.done/64:])
	} else {
		classifyBlocks(f.data[f.done:to], f.quotes[f.done/64:to/64], f.dirty[f.done/64:to/64])
	}
	f.done = to
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

// hexEqualGeneric is hexEqual for len(h) == 2*DigestSize, without vector
// instructions.
func hexEqualGeneric(d *Digest, h []byte) bool {
	var diff uint64
	for k := 0; k < DigestSize; k += 4 {
		w := uint64(hexPairs[d[k]]) | uint64(hexPairs[d[k+1]])<<16 | uint64(hexPairs[d[k+2]])<<32 | uint64(hexPairs[d[k+3]])<<48
		diff |= w ^ binary.LittleEndian.Uint64(h[2*k:])
	}
	return diff == 0
}

// fastRecord parses the line data[s:e] (without its newline), which must be
// clean (no dirty byte), when it is in the fast path's subset, filling r (but
// for r.prev and r.hash, whose hex is left in prevHex and hashHex for the
// caller to check), and reports whether it did. data[:e] must be classified.
func (f *fastScratch) fastRecord(data []byte, s, e int, r *record) (prevHex, hashHex []byte, ok bool) {
	if e-s < suffixLen+64 || e-s+1 > MaxRecordSize {
		return nil, nil, false
	}
	b := data[:e]
	end := e - suffixLen // where the suffix ,"prev":"…","hash":"…"} begins
	if string(b[s:s+7]) != `{"seq":` {
		return nil, nil, false
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
		return nil, nil, false
	}
	r.seq = seq
	i = j
	if end-i < len(`,"ts":"`)+len(TimeLayout)+len(`","type":"`) || string(b[i:i+7]) != `,"ts":"` {
		return nil, nil, false
	}
	i += 7
	if !cleanTS(b[i : i+len(TimeLayout)]) {
		return nil, nil, false
	}
	r.ts = b[i : i+len(TimeLayout)]
	i += len(TimeLayout)
	// Each key is compared as a constant, which compiles to a few word
	// compares; the value runs to the next quote.
	if string(b[i:i+len(`","type":"`)]) != `","type":"` {
		return nil, nil, false
	}
	i += len(`","type":`)
	if r.typ, i = f.str(b, i, end); i < 0 || end-i < len(`,"session":"`) || string(b[i:i+len(`,"session":"`)]) != `,"session":"` {
		return nil, nil, false
	}
	i += len(`,"session":`)
	if r.session, i = f.str(b, i, end); i < 0 || end-i < len(`,"trace_id":"`) || string(b[i:i+len(`,"trace_id":"`)]) != `,"trace_id":"` {
		return nil, nil, false
	}
	i += len(`,"trace_id":`)
	if r.traceID, i = f.str(b, i, end); i < 0 || end-i < len(`,"span_id":"`) || string(b[i:i+len(`,"span_id":"`)]) != `,"span_id":"` {
		return nil, nil, false
	}
	i += len(`,"span_id":`)
	if r.spanID, i = f.str(b, i, end); i < 0 || end-i < len(`,"data":{}`) || string(b[i:i+len(`,"data":{`)]) != `,"data":{` {
		return nil, nil, false
	}
	i += len(`,"data":`)
	if !f.value(b, i, end) {
		return nil, nil, false
	}
	r.data = b[i:end]
	sfx := b[end:e]
	const p, h = len(`,"prev":"`), len(`,"prev":"`) + 2*DigestSize + len(`","hash":"`)
	if string(sfx[:p]) != `,"prev":"` || string(sfx[p+2*DigestSize:h]) != `","hash":"` || string(sfx[h+2*DigestSize:]) != `"}` {
		return nil, nil, false
	}
	r.entry = b[s : end+p+2*DigestSize+1]
	return sfx[p : p+2*DigestSize], sfx[h : h+2*DigestSize], true
}

// str returns the string at b[i] == '"', quotes included, and the index after
// it; the index is -1 when it does not end before end.
func (f *fastScratch) str(b []byte, i, end int) ([]byte, int) {
	k := nextQuote(f.quotes, i+1, end)
	if k < 0 {
		return nil, -1
	}
	return b[i : k+1], k + 1
}

// nextDirty returns the index of the first dirty byte of f.data at or after
// i, or len(f.data), classifying as it goes.
func (f *fastScratch) nextDirty(i int) int {
	n := len(f.data)
	for i < n {
		if i >= f.done {
			f.upTo(i + 1)
		}
		// The classified words from i's on.
		w := i >> 6
		d := f.dirty[w : (f.done+63)>>6]
		m := d[0] & (^uint64(0) << (uint(i) & 63))
		for k := 1; m == 0; k++ {
			if k == len(d) {
				break
			}
			m, w = d[k], w+1
		}
		if m != 0 {
			return min(w<<6+trailingZeros(m), n)
		}
		i = f.done
	}
	return n
}

// value validates the JSON value at b[i] that must end exactly at end, in the
// fast path's subset: clean bytes (strings end at the next quote), no
// whitespace, at most 64 levels of nesting, and no object with a repeated
// key (the canonical form; the general parser names the key).
func (f *fastScratch) value(b []byte, i, end int) bool {
	full := b // the line: the keys' fingerprints may read past end
	b = b[:end]
	var objects uint64 // bit d is set when level d is an object
	depth := 0
	f.nkeys = 0
value:
	if i >= len(b) {
		return false
	}
	switch c := b[i]; {
	case c == '"':
		if i = nextQuote(f.quotes, i+1, len(b)); i < 0 {
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
			f.levels[depth&63] = int32(f.nkeys)
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
		lv := int(f.levels[(depth-1)&63])
		if lv < f.nkeys-1 && repeats(b, f.keys[lv:f.nkeys]) {
			return false
		}
		f.nkeys = lv
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
	if i = nextQuote(f.quotes, k, len(b)); i < 0 || i+1 >= len(b) || b[i+1] != ':' {
		return false
	}
	if f.nkeys == len(f.keys) {
		return false
	}
	f.keys[f.nkeys] = newKeyRef(full, k, i)
	f.nkeys++
	i += 2
	goto value
}

// number scans the JSON number at b[i] and returns the index after it, or
// -1 when it is not one (scanNumber for clean bytes).
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

// cleanTS is validTS for 30 bytes known to be below 0x80, as four
// overlapping little-endian words (offsets 0, 8, 16 and 22) checked against
// the shape dddd-dd-ddTdd:dd:dd.dddddddddZ: the digit lanes of each word,
// and its literal bytes with their lanes (TestCleanTSWords derives them).
func cleanTS(b []byte) bool {
	if len(b) != len(TimeLayout) {
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
