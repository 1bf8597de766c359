package runcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/checks"
	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/plan"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/verifier"
)

// checkConfig holds the flags of brain-run check.
type checkConfig struct {
	artifact    string
	checks      checkList
	tasks       string
	task        string
	cacheDir    string
	concurrency int
	timeout     time.Duration
}

func newCheck(e *runcore.Env) *ffcli.Command {
	var cfg checkConfig
	fs, rf := runcore.NewFlags("check")
	fs.SetOutput(e.Stderr)
	fs.StringVar(&cfg.artifact, "artifact", "", "artifact `DIR`ectory to verify (mounted read-only at /artifact)")
	fs.Var(&cfg.checks, "check", "check `MODULE[:ARG...]`: a .wasm file or stock:NAME, arguments after ':' (repeatable; '\\:' is a literal colon)")
	fs.StringVar(&cfg.tasks, "tasks", "", "tasks.yaml `FILE` whose task's checks to run (with --task)")
	fs.StringVar(&cfg.task, "task", "", "task `ID` in --tasks")
	fs.StringVar(&cfg.cacheDir, "cache-dir", "", "compilation cache `DIR` (default: the user cache directory's brain/wasm)")
	fs.IntVar(&cfg.concurrency, "concurrency", 0, "checks run at once (default: number of CPUs)")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "default wall-time limit per check, compiling included (default 10s)")
	return &ffcli.Command{
		Name:       "check",
		ShortUsage: "brain-run check --artifact DIR [--check FILE.wasm[:ARG...]]... [--tasks tasks.yaml --task ID] [--dir DIR]",
		ShortHelp:  "run WebAssembly checks against an artifact directory",
		LongHelp: `Check runs each check in a wazero sandbox that sees only the artifact
directory, read-only at /artifact, and its own arguments, in a process of its
own under a memory limit, killed when the check's time is up (compiling
included) or when check is interrupted. It prints one JSON verdict per check
on stdout and a summary on stderr.

Like every brain-run command it is traced and audited in the workspace
(--dir): the checks run in a verifier.run_checks span, and a checks.run
record holds every verdict (arguments, module and output as SHA-256) before
any verdict is printed.

Exit status: 0 all checks passed, 1 a check failed or could not run,
2 usage error, 3 an input could not be read, 4 audit write failed.`,
		FlagSet: fs,
		Options: []ff.Option{ff.WithEnvVarPrefix("BRAIN")},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return &cli.UsageError{Err: fmt.Errorf("unexpected argument %q", args[0]), Hint: "pass checks with --check MODULE[:ARG...]"}
			}
			if err := cfg.usable(); err != nil {
				return err
			}
			code, err := runcore.Instrument(ctx, e, rf, "check", func(ctx context.Context, s *runcore.Session) (int, error) {
				return runCheck(ctx, s, cfg)
			})
			return runcore.ExitErr(code, err)
		},
	}
}

// usable returns the usage error of cfg's flags, checked before the
// workspace is opened.
func (cfg checkConfig) usable() error {
	if cfg.artifact == "" {
		return &cli.UsageError{Err: errors.New("--artifact is required"), Hint: "name the directory to verify: --artifact DIR"}
	}
	if (cfg.tasks == "") != (cfg.task == "") {
		return &cli.UsageError{Err: errors.New("--tasks and --task go together"), Hint: "pass both: --tasks tasks.yaml --task ID"}
	}
	if len(cfg.checks) == 0 && cfg.tasks == "" {
		return &cli.UsageError{Err: errors.New("no checks to run"), Hint: "pass --check MODULE[:ARG...] or --tasks tasks.yaml --task ID"}
	}
	return nil
}

// runCheck reads the checks and the artifact directory, runs the checks
// (orchestrator.RunChecks: the span and the checks.run record) and reports
// their verdicts. It returns ExitFindings, with no error, when a check did
// not pass: the command itself did its work.
func runCheck(ctx context.Context, s *runcore.Session, cfg checkConfig) (int, error) {
	list, err := taskChecks(cfg.tasks, cfg.task)
	if err != nil {
		return 0, err
	}
	list = append(append([]verifier.Check(nil), cfg.checks...), list...)
	if len(list) == 0 {
		return 0, &cli.UsageError{Err: errors.New("no checks to run"), Hint: "task " + cfg.task + " in " + cfg.tasks + " has no checks; pass --check MODULE[:ARG...]"}
	}
	for _, c := range list {
		if c.Wasm != nil {
			continue
		}
		// The verifier opens the module the same way when it runs it.
		f, err := verifier.OpenModuleFile(c.Path)
		if err != nil {
			return 0, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("reading check module: %w", err)}
		}
		f.Close()
	}
	if st, err := os.Stat(cfg.artifact); err != nil || !st.IsDir() {
		if err == nil {
			err = fmt.Errorf("%s is not a directory", cfg.artifact)
		}
		return 0, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("reading artifact directory: %w", err)}
	}

	cacheDir, err := resolveCacheDir(cfg.cacheDir)
	if err != nil {
		return 0, &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	v, err := verifier.New(verifier.Options{CacheDir: cacheDir, Concurrency: cfg.concurrency, Defaults: verifier.Limits{Timeout: cfg.timeout}})
	if err != nil {
		return 0, &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	defer v.Close(context.WithoutCancel(ctx))
	o := &orchestrator.Orchestrator{Tracer: s.Tracer, Verifier: v, Audit: s.Log}
	results, err := o.RunChecks(ctx, 0, cfg.task, cfg.artifact, list)
	if audit.IsWriteError(err) {
		return 0, err
	}
	if err != nil {
		return 0, &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	return report(s.Env, results)
}

// report prints one JSON verdict line per result on stdout and the summary on
// stderr, and returns ExitFindings unless all passed.
func report(e *runcore.Env, results []verifier.Result) (int, error) {
	enc := json.NewEncoder(e.Stdout)
	passed := 0
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return 0, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("writing verdict: %w", err)}
		}
		if r.Verdict == verifier.Pass {
			passed++
		}
		text := checkLine(r)
		e.P.Banner(r.Verdict == verifier.Pass, text)
	}
	e.P.Infof("%d of %d checks passed", passed, len(results))
	if passed != len(results) {
		return cli.ExitFindings, nil
	}
	return 0, nil
}

// checkLine describes a verdict in one line: the check and its arguments,
// and for a failure its exit code and last line of output, or its error.
func checkLine(r verifier.Result) string {
	args := r.Args
	if strings.HasPrefix(r.Check, checks.Prefix) && len(args) > 0 {
		args = args[1:] // the stock check's name again
	}
	text := strings.Join(append([]string{r.Check}, args...), " ")
	switch r.Verdict {
	case verifier.Pass:
	case verifier.Fail:
		text += fmt.Sprintf(": exit code %d", *r.ExitCode)
		if line := lastLine(r.Stdout + "\n" + r.Stderr); line != "" {
			text += ": " + line
		}
	default:
		text += fmt.Sprintf(": %s: %s", r.Class, r.Error)
	}
	return text
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// taskChecks returns the checks of task id in the tasks.yaml at path, or none
// when path is empty.
func taskChecks(path, id string) ([]verifier.Check, error) {
	if path == "" {
		return nil, nil
	}
	p, err := plan.Load(path)
	if err != nil {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	t, ok := p.Task(id)
	if !ok {
		return nil, &cli.UsageError{Err: fmt.Errorf("no task %q in %s", id, path), Hint: "tasks: " + strings.Join(p.IDs(), ", ")}
	}
	out, err := orchestrator.TaskChecks(p, t)
	var me *orchestrator.ModuleError
	if errors.As(err, &me) {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("%s: %w", path, err)}
	} else if err != nil {
		return nil, &cli.UsageError{Err: fmt.Errorf("%s: %w", path, err)}
	}
	return out, nil
}

// resolveCacheDir returns the compilation cache directory: dir when set,
// else the user cache directory's brain/wasm, or "" (an in-memory cache)
// when there is no usable user cache directory.
func resolveCacheDir(dir string) (string, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("creating cache directory: %w", err)
		}
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", nil
	}
	dir = filepath.Join(base, "brain", "wasm")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil
	}
	return dir, nil
}

// checkList is the repeatable --check flag.
type checkList []verifier.Check

func (l *checkList) String() string {
	var s []string
	for _, c := range *l {
		s = append(s, c.Name)
	}
	return strings.Join(s, ", ")
}

// Set parses MODULE[:ARG...]. See SplitCheck.
func (l *checkList) Set(spec string) error {
	module, args, err := SplitCheck(spec)
	if err != nil {
		return err
	}
	c, err := orchestrator.ModuleCheck(module, args, func(m string) string { return m })
	if err != nil {
		return err
	}
	*l = append(*l, c)
	return nil
}

// SplitCheck splits a --check value "MODULE:ARG1:ARG2" at its colons. A
// module "stock:NAME" keeps its first colon. In MODULE and each ARG, "\:" is
// a literal colon and "\\" a literal backslash; any other backslash is kept
// as it is.
func SplitCheck(spec string) (module string, args []string, err error) {
	var fields []string
	var cur strings.Builder
	for i := 0; i < len(spec); i++ {
		switch c := spec[i]; {
		case c == '\\' && i+1 < len(spec) && (spec[i+1] == ':' || spec[i+1] == '\\'):
			cur.WriteByte(spec[i+1])
			i++
		case c == ':':
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	fields = append(fields, cur.String())
	if fields[0]+":" == checks.Prefix && len(fields) > 1 {
		fields = append([]string{checks.Prefix + fields[1]}, fields[2:]...)
	}
	if fields[0] == "" {
		return "", nil, fmt.Errorf("--check %q: empty module", spec)
	}
	return fields[0], fields[1:], nil
}
