//go:build !amd64

package fastpath

// hasSHANI is false: SHA256Pair's kernel is for amd64.
const hasSHANI = false

func blocks2(k *[64]uint32, sa, sb *[8]uint32, pa, pb *byte, n int) {
	panic("fastpath: blocks2 without its kernel")
}
