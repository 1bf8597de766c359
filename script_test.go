package brain_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/brain-dev/brain/internal/verifier"
)

// binDir holds the binaries the scripts run, built by TestMain from
// ./cmd/... as make build builds them and put first on the scripts' PATH:
// the spec runs exactly what users install, brain-run's hand-off to
// brain-run-full included.
var binDir string

// buildBinaries builds every binary into a new directory and returns it.
func buildBinaries() (string, error) {
	dir, err := os.MkdirTemp("", "brain-spec-bin-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", dir+string(filepath.Separator), "./cmd/...")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build ./cmd/...: %v\n%s", err, out)
	}
	return dir, nil
}

// goEnv returns the go command's value for key.
func goEnv(key string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func TestMain(m *testing.M) {
	// The in-process tests of this package (the help of every command)
	// run Mains that could start a check sandbox: this binary serves it.
	verifier.ServeSandbox()
	dir, err := buildBinaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestScripts runs testdata/script/*.txtar, the executable specification of
// every binary. UPDATE_GOLDEN=1 rewrites cmp targets in the scripts.
func TestScripts(t *testing.T) {
	// One compilation cache for the checks of every script, so that each
	// module is compiled once per run.
	cache := t.TempDir()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_GOLDEN") == "1",
		Cmds:                allScriptCmds(),
		Condition: func(cond string) (bool, error) {
			if cond == "root" { // [root]: the script runs as root (mounts are allowed)
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", binDir+string(filepath.ListSeparator)+env.Getenv("PATH"))
			env.Setenv("NO_COLOR", "1")
			// The golden scenarios, for the scripts that run one.
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			env.Setenv("GOLDEN", filepath.Join(wd, "golden"))
			// The shipped drills, and the drills of the tests.
			env.Setenv("DRILLS", filepath.Join(wd, "drills"))
			env.Setenv("TESTDRILLS", filepath.Join(wd, "testdata", "drills"))
			env.Setenv("BRAIN_CACHE_DIR", cache)
			// The user key file (docs/state.md) of the script's own user.
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			// Scripts that build Go (the check example) share the
			// host's build and module caches instead of starting cold.
			for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS"} {
				if v := goEnv(k); v != "" {
					env.Setenv(k, v)
				}
			}
			return nil
		},
	})
}
