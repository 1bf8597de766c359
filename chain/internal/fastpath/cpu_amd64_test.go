package fastpath

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestFeaturesAgree holds the features detected on first use to
// golang.org/x/sys/cpu's, which it detects in its initialisation: on this
// CPU, in this process, and in a process of its own for each GODEBUG
// setting that turns a feature off (or back on). The SHA extensions are
// not in golang.org/x/sys/cpu: their bit is read with CPUID, as before.
func TestFeaturesAgree(t *testing.T) {
	godebug := os.Getenv("GODEBUG")
	_, ebx7, _, _ := cpuid(7, 0)
	wantSHANI := ebx7&(1<<29) != 0 && cpu.X86.HasAVX && cpu.X86.HasSSE41 && cpu.X86.HasSSSE3
	for _, f := range []uint32{detectFeatures(godebug), features()} {
		if got := f&featAVX2 != 0; got != cpu.X86.HasAVX2 {
			t.Errorf("GODEBUG=%q: AVX2 %v, golang.org/x/sys/cpu %v", godebug, got, cpu.X86.HasAVX2)
		}
		if got := f&featSHANI != 0; got != wantSHANI {
			t.Errorf("GODEBUG=%q: SHA extensions %v, golang.org/x/sys/cpu (and CPUID) %v", godebug, got, wantSHANI)
		}
	}
	if hasSIMD() != cpu.X86.HasAVX2 || Available() != cpu.X86.HasAVX2 || hasSHANI() != wantSHANI {
		t.Errorf("GODEBUG=%q: hasSIMD %v, Available %v, hasSHANI %v; want %v, %v, %v", godebug, hasSIMD(), Available(), hasSHANI(), cpu.X86.HasAVX2, cpu.X86.HasAVX2, wantSHANI)
	}
	if os.Getenv("FASTPATH_FEATURES_CHILD") != "" {
		return
	}
	if !cpu.X86.HasAVX2 {
		t.Log("no AVX2 here: only its absence is compared")
	}
	for _, g := range []string{
		"cpu.avx2=off", "cpu.all=off", "cpu.avx=off", "cpu.sse41=off", "cpu.ssse3=off",
		"cpu.all=off,cpu.avx2=on", "cpu.avx2=off,cpu.all=on", "cpu.avx2=off,cpu.avx2=on",
		"cpu.avx2=on", "cpu.avx2", "cpu.avx2=no", "cpu.AVX2=off", "xcpu.avx2=off", "gctrace=1,cpu.avx2=off,",
		"cpu.avx2=off=1", ",,cpu.avx2=off",
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFeaturesAgree$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GODEBUG="+g, "FASTPATH_FEATURES_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GODEBUG=%q: %v\n%s", g, err, out)
		}
	}
}

func TestCPUOff(t *testing.T) {
	for _, c := range []struct {
		godebug string
		off     bool
	}{
		{"", false},
		{"cpu.avx2=off", true},
		{"cpu.all=off", true},
		{"cpu.avx2=off,cpu.avx2=on", false},
		{"cpu.all=off,cpu.avx2=on", false},
		{"cpu.avx2=on,cpu.all=off", true},
		{"cpu.avx2=off,cpu.all=on", false},
		{"cpu.avx2=off,cpu.avx2=bad", true},
		{"cpu.avx2=off,cpu.avx2", true},
		{"cpu.avx=off", false},
		{"cpu.avx2x=off", false},
		{"cpu.AVX2=off", false},
		{"xcpu.avx2=off", false},
		{"cpu.avx2=off=1", false},
		{"gctrace=1,cpu.avx2=off,", true},
	} {
		if got := cpuOff(c.godebug, "avx2"); got != c.off {
			t.Errorf("cpuOff(%q, avx2) = %v, want %v", c.godebug, got, c.off)
		}
	}
}
