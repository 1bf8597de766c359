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
	rec        fastpath.Record
	lastHex    []byte
	lastDigest Digest
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
	li.computed = h.entry(r.Entry, &prev)
	if !fastpath.HexEqual((*[DigestSize]byte)(&li.computed), r.Hash) {
		return false
	}
	li.seq, li.prev, li.hash = r.Seq, prev, li.computed
	li.header = string(r.Type) == `"`+HeaderType+`"`
	f.lastHex, f.lastDigest = r.Hash, li.computed
	return true
}
