package chain

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/cpu"
)

// hasSHANI reports whether sha256BlocksNI can run here: what Go's own SHA-256
// requires of it. It asks the CPU on first use, not at start-up: under a
// hypervisor CPUID is slow, and most programs never verify.
var hasSHANI = sync.OnceValue(func() bool {
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&(1<<29) != 0 && cpu.X86.HasAVX && cpu.X86.HasSSE41 && cpu.X86.HasSSSE3
})

// cpuid executes the CPUID instruction (sha256ni_amd64.s).
func cpuid(eax, ecx uint32) (a, b, c, d uint32)

// sha256BlocksNI runs the SHA-256 compression function over the whole
// 64-byte blocks of p, updating h (sha256ni_amd64.s).
//
//go:noescape
func sha256BlocksNI(h *[8]uint32, p []byte)

// sha256Entry returns SHA-256(entry || prev) without the general hash's
// buffering: the entry's whole blocks are hashed where they are, the rest
// with prev and the padding from one stack buffer. It is the verifier's
// per-record hash, where the buffering costs a quarter of the time; the
// tests hold it to crypto/sha256. Requires hasSHANI().
func sha256Entry(entry []byte, prev *Digest) Digest {
	h := [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}
	n := len(entry) &^ 63
	sha256BlocksNI(&h, entry[:n])
	var tail [128]byte
	k := copy(tail[:], entry[n:])
	k += copy(tail[k:], prev[:])
	tail[k] = 0x80
	end := 64
	if k+1+8 > 64 {
		end = 128
	}
	binary.BigEndian.PutUint64(tail[end-8:end], uint64(len(entry)+DigestSize)*8)
	sha256BlocksNI(&h, tail[:end])
	var d Digest
	for i, v := range h {
		binary.BigEndian.PutUint32(d[4*i:], v)
	}
	return d
}
