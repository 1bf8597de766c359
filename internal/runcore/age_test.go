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

// TestExportTimeout: the OpenTelemetry timeout variables, in milliseconds,
// the traces one first; anything but a whole number from 1 to 60000 is a
// usage error.
func TestExportTimeout(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        map[string]string
		want       time.Duration
		set, isErr bool
	}{
		{"unset", nil, 0, false, false},
		{"empty", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": ""}, 0, false, false},
		{"general", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "500"}, 500 * time.Millisecond, true, false},
		{"traces wins", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "500", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2000"}, 2 * time.Second, true, false},
		{"most", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "60000"}, time.Minute, true, false},
		{"zero", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "0"}, 0, false, true},
		{"negative", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "-5"}, 0, false, true},
		{"over a minute", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "60001"}, 0, false, true},
		{"a duration", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "5s"}, 0, false, true},
		{"huge", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "99999999999999999999"}, 0, false, true},
		{"overflowing as a duration", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "9223372036855"}, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, set, err := exportTimeout(func(k string) string { return tc.env[k] })
			if (err != nil) != tc.isErr || got != tc.want || set != tc.set {
				t.Errorf("exportTimeout = %v, %v, %v; want %v, %v, error %v", got, set, err, tc.want, tc.set, tc.isErr)
			}
		})
	}
}
