package fastpath

// hasSHANI reports whether SHA256Pair's kernel can run here: the SHA
// extensions and SSE4.1 (CPUID leaf 7 EBX bit 29; leaf 1 ECX bits 9 and
// 19).
var hasSHANI = func() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	_, b7, _, _ := cpuid(7, 0)
	return c1&(1<<9) != 0 && c1&(1<<19) != 0 && b7&(1<<29) != 0
}()

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// blocks2 hashes n blocks from pa into the state sa and n blocks from pb
// into sb, interleaved.
//
//go:noescape
func blocks2(k *[64]uint32, sa, sb *[8]uint32, pa, pb *byte, n int)
