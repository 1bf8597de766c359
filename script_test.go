package brain_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/brain-dev/brain/internal/auditcmd"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/drillcmd"
	"github.com/brain-dev/brain/internal/runcmd"
	"github.com/brain-dev/brain/internal/tracelint"
	"github.com/brain-dev/brain/internal/verifier"
)

// tools maps each binary's name to its Main, so testscript can run the test
// binary itself under that name.
var tools = map[string]func(ctx context.Context, args []string) int{
	"brain-audit": func(ctx context.Context, args []string) int {
		return auditcmd.Main(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	},
	"brain-drill": func(ctx context.Context, args []string) int {
		return drillcmd.Main(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	},
	"brain-run": func(ctx context.Context, args []string) int {
		return runcmd.Main(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	},
	"brain-trace-lint": func(ctx context.Context, args []string) int {
		return tracelint.Main(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	},
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
	// The test binary, under any name, is also the check sandbox of the
	// brain-run it runs as.
	verifier.ServeSandbox()
	cmds := make(map[string]func())
	for name, main := range tools {
		cmds[name] = func() {
			// As the binaries' mains do: a signal cancels the context
			// with its number (cli.SignalContext), and a command it
			// stopped exits 128+N.
			ctx, stop := cli.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := main(ctx, os.Args[1:])
			stop()
			os.Exit(cli.InterruptedCode(ctx, code))
		}
	}
	testscript.Main(m, cmds)
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
