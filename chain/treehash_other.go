//go:build !amd64

package chain

func sha256LeafNI(line []byte) [DigestSize]byte { panic("chain: no SHA extensions") }

func sha256NodeNI(b *[1 + 2*DigestSize]byte) [DigestSize]byte { panic("chain: no SHA extensions") }

func treeLeavesNI(data []byte, out [][DigestSize]byte) [][DigestSize]byte {
	panic("chain: no SHA extensions")
}

func treePairsNI(leaves [][DigestSize]byte, out [][DigestSize]byte) [][DigestSize]byte {
	panic("chain: no SHA extensions")
}
