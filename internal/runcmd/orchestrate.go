package runcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/brain-dev/brain/internal/audit"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/llm"
	"github.com/brain-dev/brain/internal/orchestrator"
	"github.com/brain-dev/brain/internal/runcore"
	"github.com/brain-dev/brain/internal/state"
	"github.com/brain-dev/brain/internal/verifier"
	"github.com/brain-dev/brain/internal/workspace"
)

// The environment variables that hold the providers' API keys. Keys are
// never flags: a command line is visible to every user of the machine.
const (
	GeminiKeyEnv = "GEMINI_API_KEY"
	OpenAIKeyEnv = "OPENAI_API_KEY"
)

// newModelFlags returns the flag set of a command that asks a model and
// keeps state (plan, execute), with the shared flags registered.
func newModelFlags(name string) (*flag.FlagSet, *runcore.Flags, *llmFlags, *keyFlag) {
	fs, rf := runcore.NewFlags(name)
	lf, kf := &llmFlags{}, &keyFlag{}
	lf.register(fs)
	kf.register(fs)
	return fs, rf, lf, kf
}

// llmFlags choose and configure the model provider, and bound what it may
// answer and the plans.
type llmFlags struct {
	provider      string
	cassette      string
	record        string
	geminiBaseURL string
	openaiBaseURL string
	timeout       time.Duration
	maxReply      int64
	limits        orchestrator.Limits
}

// The flags of the limits, as hints name them.
const (
	maxReplyFlag     = "--max-reply-bytes"
	maxPlanBytesFlag = "--max-plan-bytes"
	maxPlanTasksFlag = "--max-plan-tasks"
)

func (f *llmFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.provider, "provider", "", "model `provider`: gemini, openai (any OpenAI-compatible server) or replay (default gemini, or replay with --cassette)")
	fs.StringVar(&f.cassette, "cassette", "", "replay the model's answers from the cassette `FILE` (JSONL, docs/llm.md): offline, no key")
	fs.StringVar(&f.record, "record", "", "append every answer of the live provider to the cassette `FILE`")
	fs.StringVar(&f.geminiBaseURL, "gemini-base-url", "", "Gemini API `URL` (default "+llm.DefaultGeminiBaseURL+"; env BRAIN_GEMINI_BASE_URL); key from "+GeminiKeyEnv)
	fs.StringVar(&f.openaiBaseURL, "openai-base-url", "", "OpenAI-compatible API `URL` with its version path, e.g. http://localhost:11434/v1 (default "+llm.DefaultOpenAIBaseURL+"; env BRAIN_OPENAI_BASE_URL); key from "+OpenAIKeyEnv)
	fs.DurationVar(&f.timeout, "llm-timeout", llm.DefaultTimeout, "bound on one model call")
	fs.Int64Var(&f.maxReply, maxReplyFlag[2:], llm.DefaultMaxResponseBytes, "the most `bytes` a model's answer may take (on the wire and as text); a longer one fails the call")
	fs.Int64Var(&f.limits.MaxPlanBytes, maxPlanBytesFlag[2:], orchestrator.DefaultLimits.MaxPlanBytes, "the largest tasks.yaml, in `bytes`: the plan in the model's reply, and the file execute reads")
	fs.IntVar(&f.limits.MaxTasks, maxPlanTasksFlag[2:], orchestrator.DefaultLimits.MaxTasks, "the most tasks a plan may have (`N`)")
}

// check refuses limits that are not positive.
func (f *llmFlags) check() error {
	if f.maxReply <= 0 || f.limits.MaxPlanBytes <= 0 || f.limits.MaxTasks <= 0 {
		return &cli.UsageError{Err: fmt.Errorf("%s, %s and %s must be positive", maxReplyFlag, maxPlanBytesFlag, maxPlanTasksFlag)}
	}
	return nil
}

// newProvider builds the provider the flags name.
// providerName returns the provider the flags choose, or the usage error
// of flags that do not go together. It reads nothing and needs no key, so
// that a command checks its flags before it does anything else.
func (f *llmFlags) providerName() (string, error) {
	name := f.provider
	if name == "" {
		name = "gemini"
		if f.cassette != "" {
			name = "replay"
		}
	}
	if f.cassette != "" && name != "replay" {
		return "", &cli.UsageError{Err: fmt.Errorf("--cassette is for --provider replay, not %s", name), Hint: "to record a cassette from a live provider, use --record FILE"}
	}
	if err := f.check(); err != nil {
		return "", err
	}
	switch name {
	case "gemini", "openai":
	case "replay":
		if f.record != "" {
			return "", &cli.UsageError{Err: errors.New("--record needs a live provider, not replay"), Hint: "pass --provider gemini or --provider openai"}
		}
		if f.cassette == "" {
			return "", &cli.UsageError{Err: errors.New("--provider replay needs --cassette FILE")}
		}
	default:
		return "", &cli.UsageError{Err: fmt.Errorf("unknown --provider %q", name), Hint: "providers: gemini, openai, replay"}
	}
	return name, nil
}

func (f *llmFlags) newProvider() (llm.Provider, error) {
	name, err := f.providerName()
	if err != nil {
		return nil, err
	}
	var p llm.Provider
	switch name {
	case "gemini":
		p, err = llm.NewGemini(llm.Config{APIKey: os.Getenv(GeminiKeyEnv), BaseURL: f.geminiBaseURL, Timeout: f.timeout, MaxResponseBytes: f.maxReply})
	case "openai":
		p, err = llm.NewOpenAI(llm.Config{APIKey: os.Getenv(OpenAIKeyEnv), BaseURL: f.openaiBaseURL, Timeout: f.timeout, MaxResponseBytes: f.maxReply})
	case "replay":
		p, err = llm.NewReplayLimit(f.cassette, f.maxReply)
		if err != nil {
			return nil, &cli.ExitError{Code: cli.ExitIO, Err: err}
		}
	}
	var le *llm.Error
	switch {
	case errors.As(err, &le):
		return nil, modelError(err, le)
	case err != nil:
		return nil, &cli.UsageError{Err: err}
	}
	if f.record != "" {
		p = llm.NewRecorder(p, f.record)
	}
	return p, nil
}

// modelError is the exit error for a failed model call, with what to do.
func modelError(err error, le *llm.Error) error {
	hint := ""
	switch le.Type {
	case llm.TypeAuth:
		hint = "check " + GeminiKeyEnv + " or " + OpenAIKeyEnv + "; to run offline, use --provider replay --cassette FILE"
	case llm.TypeRateLimit, llm.TypeServer, llm.TypeTimeout:
		hint = "try again later: a rerun does not redo what passed"
	case llm.TypeNetwork:
		hint = "check the network and --gemini-base-url / --openai-base-url"
	case llm.TypeNotFound:
		hint = "the cassette has no answer for this request: record one with --record FILE against a live provider"
	case llm.TypeTooLarge:
		hint = "nothing of the answer was kept; if answers that long are expected, raise " + maxReplyFlag
	}
	return cli.Exit(err, hint)
}

// keyFlag names the state key file.
type keyFlag struct{ file string }

func (k *keyFlag) register(fs *flag.FlagSet) {
	fs.StringVar(&k.file, "state-key-file", "", "read the state key from `FILE` (mode 0600); default $"+state.KeyEnv+", else the user key file $XDG_CONFIG_HOME/brain/state.key, made by the first command that creates a state database")
}

// openState opens the workspace's state database, creating it when create
// is set.
func openState(ctx context.Context, p *cli.Printer, dir, keyFile string, create bool) (*state.Store, error) {
	return openStateWith(ctx, p, state.Open, dir, keyFile, state.Options{Create: create})
}

// openStateSnapshot opens a private copy of the workspace's state database
// (state.OpenSnapshot), for a read-only command: nothing in the workspace
// is written.
func openStateSnapshot(ctx context.Context, p *cli.Printer, dir, keyFile string) (*state.Store, error) {
	return openStateWith(ctx, p, state.OpenSnapshot, dir, keyFile, state.Options{})
}

// openStateWith opens the state database of workspace dir with open. The
// key is --state-key-file's, else BRAIN_STATE_KEY, else the user's key file
// (state.ResolveKey), which the first command that creates a database
// creates, saying so on stderr through p. A missing database is reported
// before any question of keys.
func openStateWith(ctx context.Context, p *cli.Printer, open func(context.Context, string, state.Key, state.Options) (*state.Store, error), dir, keyFile string, opts state.Options) (*state.Store, error) {
	db := workspace.Dir(dir).State()
	_, err := os.Lstat(db)
	exists := err == nil
	if !exists && !opts.Create {
		return nil, stateError(fs.ErrNotExist, dir, state.KeySource{})
	}
	userFile, _ := state.UserKeyFile()
	key, src, err := state.ResolveKey(os.Getenv, keyFile, userFile, !exists)
	if err != nil {
		return nil, stateError(err, dir, src)
	}
	if src.Created {
		p.Infof("created a state key in %s (0600): back it up; without it the state of the workspaces it encrypts cannot be read (docs/state.md)", src.File)
	}
	st, err := open(ctx, db, key, opts)
	if err != nil {
		return nil, stateError(err, dir, src)
	}
	return st, nil
}

// stateError maps an error opening the state store to its exit code and
// hint; src is where the key came from.
func stateError(err error, dir string, src state.KeySource) error {
	var kfe *state.KeyFileError
	switch {
	case errors.Is(err, state.ErrUserKeyMissing):
		return &cli.ExitError{Code: cli.ExitIO, Err: err, Hint: "restore " + src.File + " from your backup, or give the key the database was created with (" + state.KeyEnv + " or --state-key-file)"}
	case errors.Is(err, state.ErrNoKey):
		return &cli.ExitError{Code: cli.ExitIO, Err: err, Hint: "export " + state.KeyEnv + ", or keep the key in a file only you can read and pass --state-key-file FILE " +
			"(head -c 32 /dev/urandom | base64 > state.key; chmod 600 state.key)"}
	case errors.As(err, &kfe):
		return &cli.ExitError{Code: cli.ExitIO, Err: err}
	case errors.Is(err, state.ErrWrongKey):
		return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("%w (the key from %s)", err, src),
			Hint: "use the key the state database was created with (" + state.KeyEnv + ", --state-key-file, or the user key file)"}
	case errors.Is(err, fs.ErrNotExist):
		return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("no state database in %s: nothing was planned in this workspace", dir),
			Hint: "run 'brain-run plan --goal TEXT' first, or name the workspace with --dir"}
	}
	return &cli.ExitError{Code: cli.ExitIO, Err: err}
}

// orchestratorError maps an error of the orchestrator to its exit code and
// hint. Audit write failures are left as they are: instrument reports them.
func orchestratorError(err error, dir string) error {
	var (
		ue     *cli.UsageError
		ee     *cli.ExitError
		edited *orchestrator.EditedPlanError
		exists *orchestrator.OutputExistsError
		le     *llm.Error
		limit  *orchestrator.LimitError
	)
	switch {
	case err == nil, audit.IsWriteError(err), errors.As(err, &ue), errors.As(err, &ee):
		return err
	case errors.As(err, &edited) && edited.Module != nil && edited.Module.Reason == orchestrator.ModuleUnpinned:
		return cli.Exit(err, "this tasks.yaml predates module pins or was written by hand: run 'brain-run plan' again, which pins every module, or add the module's sha256 to the check and run it with --accept-edited-plan")
	case errors.As(err, &edited) && edited.Module != nil:
		return cli.Exit(err, "put back the module tasks.yaml pins, or run 'brain-run plan' again to pin the modules as they are now; --accept-edited-plan never runs a module that is not its pin")
	case errors.As(err, &edited):
		return cli.Exit(err, "run 'brain-run plan' for a new plan, or run this file as it is with --accept-edited-plan (the acceptance is recorded in the audit chain)")
	case errors.As(err, &exists):
		return &cli.UsageError{Err: err, Hint: "pass --force to replace it, or -o FILE to write the plan elsewhere"}
	case errors.Is(err, orchestrator.ErrNoGoal):
		return &cli.UsageError{Err: err, Hint: "brain-run plan --goal 'what to build'"}
	case errors.As(err, &limit):
		flag := map[string]string{orchestrator.LimitPlanBytes: maxPlanBytesFlag, orchestrator.LimitTasks: maxPlanTasksFlag}[limit.Limit]
		hint := "nothing of it was recorded or stored; if a plan that large is meant, raise " + flag
		if flag == "" {
			hint = "nothing of it was recorded; an audit record is at most 1 MiB: " + maxPlanTasksFlag + " and " + maxPlanBytesFlag + " keep plans within it"
		}
		return cli.Exit(err, hint) // plan_too_large (the model's), tasks_too_large or record_too_large
	case errors.As(err, &le):
		return modelError(err, le)
	case errors.Is(err, orchestrator.ErrInvalidPlan) && errors.As(err, new(*orchestrator.ModuleError)):
		return cli.Exit(err, "no tasks.yaml was written; a check module must be a regular file in the plan's directory, reached without symbolic links, to be pinned")
	case errors.Is(err, orchestrator.ErrInvalidPlan):
		return cli.Exit(err, "no tasks.yaml was written; the reply's SHA-256 is in the audit chain (llm.call), and --dev-log-unsafe-io keeps the raw reply")
	case errors.Is(err, orchestrator.ErrBusy):
		return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("%v (%s)", err, dir), Hint: "wait for it to end; if it was killed, its lock is already free"}
	}
	var ce *state.CommitError
	if errors.As(err, &ce) {
		return &cli.ExitError{Code: cli.ExitIO, Err: err, Hint: "the audit chain holds the change the store lacks: 'brain-run status --chain' shows the difference"}
	}
	return &cli.ExitError{Code: cli.ExitIO, Err: err}
}

// newVerifier returns the verifier for a command's checks, its compilation
// cache in dir (or the default cache).
func newVerifier(dir string) (*verifier.Verifier, error) {
	cacheDir, err := resolveCacheDir(dir)
	if err != nil {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	v, err := verifier.New(verifier.Options{CacheDir: cacheDir})
	if err != nil {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: err}
	}
	return v, nil
}

// newOrchestrator returns the orchestrator of session s.
func newOrchestrator(s *runcore.Session, st *state.Store, p llm.Provider, v *verifier.Verifier) *orchestrator.Orchestrator {
	return &orchestrator.Orchestrator{Tracer: s.Tracer, Audit: s.Log, Store: st, Provider: p, Verifier: v, Workspace: s.Dir,
		Warn: func(msg string) { s.Env.P.Warnf("%s", msg) }}
}
