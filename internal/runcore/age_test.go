package runcore

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestStatStartTime reads the start time of a real process whose name holds
// spaces and parentheses, as a hostile program may name itself: the fields
// are counted from the name's last ')'.
func TestStatStartTime(t *testing.T) {
	dir := t.TempDir()
	name := dir + "/a) (b c) 1 2 3"
	if err := os.Symlink("/bin/sleep", name); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Skipf("skipping: no /proc: %v", err)
	}
	self, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	child, ok := statStartTime(stat)
	parent, ok2 := statStartTime(self)
	if !ok || !ok2 {
		t.Fatalf("no start time in %q or %q", stat, self)
	}
	// The child was forked after this process: its start time is not
	// earlier. With the fields counted from the first ')', "2" would be read.
	if child < parent || child < time.Second {
		t.Errorf("start times: child %v, this process %v (stat %q)", child, parent, stat)
	}
	if _, ok := statStartTime([]byte("12 (x) S 1")); ok {
		t.Error("a truncated line gave a start time")
	}
}
