package fastpath

import (
	"os"
	"strings"
	"sync/atomic"
)

// The CPU features the kernels need are asked of the CPU on first use, not
// in the package's initialisation: under a hypervisor every CPUID traps,
// and a program that links package chain may never run a kernel
// (brain-run exec only appends). golang.org/x/sys/cpu would detect every
// feature it knows in the initialisation of each such program;
// TestFeaturesAgree holds what is detected here to it, GODEBUG's cpu
// options included.

// The bits of features.
const (
	featDetected uint32 = 1 << iota // set once the others are
	featAVX2                        // classifyBlocksAVX2 can run (and hexEqualSSE, whose SSSE3 AVX2 implies)
	featSHANI                       // sha256x2BlocksNI can run
)

// featureBits caches detectFeatures: 0 until it has run. Two goroutines
// that both find it 0 both detect, and store the same bits.
var featureBits atomic.Uint32

// hasSIMD reports whether the AVX2 kernel can run here; without it the
// parser does not run (Available) and the chain's general parser takes
// every line.
func hasSIMD() bool { return features()&featAVX2 != 0 }

// hasSHANI reports whether sha256x2BlocksNI can run here: the SHA
// extensions and the AVX, SSE4.1 and SSSE3 instructions it also uses.
func hasSHANI() bool { return features()&featSHANI != 0 }

// features returns the bits, detecting them on the first call.
func features() uint32 {
	if f := featureBits.Load(); f != 0 {
		return f
	}
	f := detectFeatures(os.Getenv("GODEBUG"))
	featureBits.Store(f)
	return f
}

// detectFeatures asks the CPU (CPUID) and the operating system (XGETBV)
// which kernels can run, and turns off those whose features godebug, the
// value of GODEBUG, turns off as it does for golang.org/x/sys/cpu
// (cpu.avx2=off, cpu.all=off, ...).
func detectFeatures(godebug string) uint32 {
	const (
		// CPUID leaf 1, ECX.
		ssse3   = 1 << 9
		sse41   = 1 << 19
		osxsave = 1 << 27
		avx     = 1 << 28
		// CPUID leaf 7, sub-leaf 0, EBX.
		avx2 = 1 << 5
		sha  = 1 << 29
		// XCR0: the operating system saves the XMM and the upper YMM
		// registers on a context switch.
		xcr0SSE = 1 << 1
		xcr0AVX = 1 << 2
	)
	f := featDetected
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return f
	}
	_, _, ecx1, _ := cpuid(1, 0)
	_, ebx7, _, _ := cpuid(7, 0)
	// A YMM register may be used only where the system saves it: XCR0 says
	// so, and XGETBV may be executed only where OSXSAVE is set.
	ymm := ecx1&osxsave != 0 && xgetbv0()&(xcr0SSE|xcr0AVX) == xcr0SSE|xcr0AVX
	if ymm && ebx7&avx2 != 0 && !cpuOff(godebug, "avx2") {
		f |= featAVX2
	}
	if ymm && ebx7&sha != 0 && ecx1&avx != 0 && ecx1&sse41 != 0 && ecx1&ssse3 != 0 &&
		!cpuOff(godebug, "avx") && !cpuOff(godebug, "sse41") && !cpuOff(godebug, "ssse3") {
		f |= featSHANI
	}
	return f
}

// cpuOff reports whether godebug, a GODEBUG value, turns off the CPU
// feature name: its last setting cpu.NAME=on|off or cpu.all=on|off that
// says so. A setting with any other value is ignored, and on never turns on
// what the CPU does not have.
func cpuOff(godebug, name string) bool {
	off := false
	for godebug != "" {
		var field string
		field, godebug, _ = strings.Cut(godebug, ",")
		key, value, ok := strings.Cut(field, "=")
		if !ok || (value != "on" && value != "off") {
			continue
		}
		if key == "cpu."+name || key == "cpu.all" {
			off = value == "off"
		}
	}
	return off
}

// cpuid executes the CPUID instruction (tree_amd64.s).
func cpuid(eax, ecx uint32) (a, b, c, d uint32)

// xgetbv0 returns the low half of XCR0, the extended features the
// operating system saves (classify_amd64.s). Requires OSXSAVE.
func xgetbv0() uint32
