package chain

import "github.com/brain-dev/brain/chain/internal/fastpath"

// fastScratch is one goroutine's state for the fast path: the parser of
// package fastpath (for the clean lines of a chunk: printable ASCII, no
// escape), and the hash of the line before when it verified there, with
// its digest: a prev equal to it needs no decoding. A line the fast path
// does not verify goes to the general parser (parseRecord), which decides
// what it is; the fast path decides nothing.
type fastScratch struct {
	p          fastpath.Parser
	rec, rec2  fastpath.Record
	lastHex    []byte
	lastDigest Digest
	// pair hashes two SHA-256 records at once, or is nil (another
	// algorithm, or a machine without its instructions).
	pair *fastpath.SHA256Pair
}

// newFastScratch returns the fast path's state for one goroutine that
// processes lines of a chain of alg.
func newFastScratch(alg Alg) *fastScratch {
	f := &fastScratch{}
	if alg == SHA256 {
		f.pair = fastpath.NewSHA256Pair()
	}
	return f
}

// reset starts on a chunk of lines, data, from byte from (a line's start).
func (f *fastScratch) reset(data []byte, from int) {
	f.p.Reset(data, from)
	f.forget()
}

// forget drops the line before: the next one does not follow a line that
// verified here.
func (f *fastScratch) forget() { f.lastHex = nil }

// nextDirty returns the index of the first byte at or after i that the fast
// path does not take (a control character, the newline included, a
// backslash or a non-ASCII byte), or len(data).
func (f *fastScratch) nextDirty(i int) int { return f.p.NextDirty(i) }

// verifyLine parses and hashes the clean line data[s:e] on the fast path and
// fills li, or reports false (li is then garbage) to send the line to the
// general parser: it is not in the fast path's subset, or it does not
// verify (a finding, which the general parser describes).
func (f *fastScratch) verifyLine(h *digester, data []byte, s, e int, li *lineInfo) bool {
	r := &f.rec
	if e-s+1 > MaxRecordSize || !f.p.Record(data, s, e, r) {
		return false
	}
	var prev Digest
	if f.lastHex != nil && string(r.Prev) == string(f.lastHex) {
		prev = f.lastDigest
	} else if !decodeHex(prev[:], r.Prev) {
		return false
	}
	return f.verified(li, r, &prev, h.entry(r.Entry, &prev))
}

// verifyPair is verifyLine for the two clean lines data[s:e] and
// data[e+1:e2], hashed together (pair): it fills a and b, or reports false
// when either does not verify on the fast path (a and b are then garbage,
// and the caller goes on one line at a time). The second line's prev is
// decoded: the first line's digest is not known before both are hashed.
func (f *fastScratch) verifyPair(data []byte, s, e, e2 int, a, b *lineInfo) bool {
	ra, rb := &f.rec, &f.rec2
	if e-s+1 > MaxRecordSize || e2-e > MaxRecordSize || !f.p.Record(data, s, e, ra) || !f.p.Record(data, e+1, e2, rb) {
		return false
	}
	var pa, pb Digest
	if f.lastHex != nil && string(ra.Prev) == string(f.lastHex) {
		pa = f.lastDigest
	} else if !decodeHex(pa[:], ra.Prev) {
		return false
	}
	if !decodeHex(pb[:], rb.Prev) {
		return false
	}
	ca, cb := f.pair.Entries(ra.Entry, (*[DigestSize]byte)(&pa), rb.Entry, (*[DigestSize]byte)(&pb))
	return f.verified(a, ra, &pa, ca) && f.verified(b, rb, &pb, cb)
}

// verified fills li with the record r, whose prev is prev, and reports
// whether computed, r's hash as computed, is the hash r states.
func (f *fastScratch) verified(li *lineInfo, r *fastpath.Record, prev *Digest, computed Digest) bool {
	if !fastpath.HexEqual((*[DigestSize]byte)(&computed), r.Hash) {
		return false
	}
	li.computed = computed
	li.seq, li.prev, li.hash = r.Seq, *prev, computed
	li.header = string(r.Type) == `"`+HeaderType+`"`
	f.lastHex, f.lastDigest = r.Hash, computed
	return true
}
