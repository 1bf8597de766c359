package fastpath

import "math/bits"

// Line classification for the fast parser.
//
// classify marks, for every byte of a chunk, whether it is a quote and
// whether it is "dirty": a control character (below 0x20, the newline
// included), a byte of 0x80 or above (non-ASCII), or a backslash. A record
// line with no dirty byte holds no escape and no multi-byte character, so
// each of its strings runs from a quote to the next quote, and the parser
// (record.go) can validate it by walking the quote bits instead of every
// byte. Any line with a dirty byte takes the chain's general parser.

// classify fills quotes and dirty, which must hold (len(data)+63)/64 words:
// bit i%64 of word i/64 is set when data[i] is a quote (quotes) or dirty
// (dirty). The last, partial block goes through a padded copy, so the block
// kernels only ever see whole 64-byte blocks.
func classify(data []byte, quotes, dirty []uint64) {
	full := len(data) / 64
	if full > 0 {
		classifyBlocks(data[:full*64], quotes[:full], dirty[:full])
	}
	if rest := data[full*64:]; len(rest) > 0 {
		var pad [64]byte
		for i := range pad {
			pad[i] = 'a' // neither a quote nor dirty
		}
		copy(pad[:], rest)
		classifyBlocks(pad[:], quotes[full:full+1], dirty[full:full+1])
	}
}

// classifyBlocksGeneric is the portable kernel, the reference of the vector
// one: len(data) is a multiple of 64 and quotes and dirty hold len(data)/64
// words.
func classifyBlocksGeneric(data []byte, quotes, dirty []uint64) {
	for w := range quotes {
		var q, d uint64
		for i, c := range data[w*64 : w*64+64] {
			if c == '"' {
				q |= 1 << i
			}
			if c < 0x20 || c >= 0x80 || c == '\\' {
				d |= 1 << i
			}
		}
		quotes[w], dirty[w] = q, d
	}
}

// nextQuote returns the index of the first quote at or after i and before
// end, or -1.
func nextQuote(quotes []uint64, i, end int) int {
	if i >= end {
		return -1
	}
	w := i >> 6
	m := quotes[w] & (^uint64(0) << (uint(i) & 63))
	for m == 0 {
		w++
		if w<<6 >= end {
			return -1
		}
		m = quotes[w]
	}
	k := w<<6 + bits.TrailingZeros64(m)
	if k >= end {
		return -1
	}
	return k
}
