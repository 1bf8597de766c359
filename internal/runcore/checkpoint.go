package runcore

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/brain-dev/brain/chain"
	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/workspace"
)

// DefaultCheckpointEvery bounds the records between two checkpoints that
// brain-run signs (--checkpoint-every).
const DefaultCheckpointEvery = 1000

// CheckpointFlags configure the checkpoints brain-run signs.
type CheckpointFlags struct {
	KeyFile string
	Every   uint64
	Origin  string
}

// register registers the checkpoint flags on fs.
func (c *CheckpointFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.KeyFile, "checkpoint-key-file", "", "sign a checkpoint of the audit chain at the end of the command with the signer key in `FILE` (mode 0600, outside the workspace; default $"+checkpoint.KeyEnv+", the key itself, else $XDG_CONFIG_HOME/brain/checkpoint.key when it exists)")
	fs.Uint64Var(&c.Every, "checkpoint-every", DefaultCheckpointEvery, "with a checkpoint key, also sign one whenever `N` records follow the last (0: at the end of the command only)")
	fs.StringVar(&c.Origin, "checkpoint-origin", "", "the checkpoints' `ORIGIN` (default: the chain's, brain-audit/<chain id> for its first)")
}

// checkpointer signs checkpoints of a session's chain, every Every records
// and at the end of the command (docs/checkpoints.md).
type checkpointer struct {
	signer *checkpoint.Signer
	origin string
	every  uint64
	path   string
	p      *cli.Printer

	mu     sync.Mutex
	last   uint64 // the size of the last checkpoint known
	known  bool
	warned bool
}

// userKeyFile is where a user keeps the signer key for every workspace.
func userKeyFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "brain", "checkpoint.key")
}

// newCheckpointer loads the signer key the flags or the environment name,
// or returns nil when none is configured. The key file must not be in the
// workspace dir: whoever can write the chain there could read it. Its
// errors name the file or the variable, never the key.
func newCheckpointer(cf CheckpointFlags, dir string, p *cli.Printer) (*checkpointer, error) {
	file, text := cf.KeyFile, os.Getenv(checkpoint.KeyEnv)
	if file == "" && text == "" {
		if f := userKeyFile(); f != "" {
			if _, err := os.Lstat(f); err == nil {
				file = f
			}
		}
	}
	if file == "" && text == "" {
		return nil, nil
	}
	if cf.Origin != "" {
		if err := checkpoint.CheckOrigin(cf.Origin); err != nil {
			return nil, &cli.UsageError{Err: fmt.Errorf("--checkpoint-origin: %v", strings.TrimPrefix(err.Error(), "checkpoint: "))}
		}
	}
	c := &checkpointer{origin: cf.Origin, every: cf.Every, path: workspace.Dir(dir).Audit(), p: p}
	var err error
	if file != "" {
		if ws := keyInWorkspace(file, dir); ws != "" {
			return nil, &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("the checkpoint key file %s is inside the workspace %s: whoever can rewrite the chain could read it and sign the rewrite", file, ws),
				Hint: "keep the signer key outside the workspace (another machine, your config directory: " + userKeyFile() + ")"}
		}
		c.signer, err = checkpoint.LoadSigner(file)
	} else {
		c.signer, err = checkpoint.NewSigner(text)
		if err != nil {
			err = fmt.Errorf("%s: %v", checkpoint.KeyEnv, strings.TrimPrefix(err.Error(), "checkpoint: "))
		}
	}
	if err != nil {
		return nil, &cli.ExitError{Code: cli.ExitIO, Err: errors.New(strings.TrimPrefix(err.Error(), "checkpoint: ")),
			Hint: "brain-audit keygen -o PREFIX NAME makes a signer key; unset " + checkpoint.KeyEnv + " and --checkpoint-key-file to sign no checkpoint"}
	}
	return c, nil
}

// keyInWorkspace returns the workspace dir when the key file is in it, its
// links resolved.
func keyInWorkspace(file, dir string) string {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		if r, err := filepath.EvalSymlinks(a); err == nil {
			return r
		}
		return a
	}
	if d := abs(dir); workspace.Within(abs(file), d) {
		return d
	}
	return ""
}

// afterWrite signs a checkpoint when Every records follow the last one.
func (c *checkpointer) afterWrite(ctx context.Context, head chain.Head) {
	if c == nil || c.every == 0 {
		return
	}
	c.mu.Lock()
	if !c.known {
		c.last, _ = checkpoint.LastSize(c.path)
		c.known = true
	}
	due := head.Seq+1 >= c.last+c.every
	c.mu.Unlock()
	if due {
		c.make(ctx)
	}
}

// make signs a checkpoint of the chain as it is. A failure is a warning,
// once per command: the command's records are durable whatever happens to
// the checkpoint, and verify-log --vkey counts the records it leaves
// uncovered.
func (c *checkpointer) make(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := checkpoint.Make(context.WithoutCancel(ctx), c.path, checkpoint.Options{Signer: c.signer, Origin: c.origin})
	if err == nil {
		c.last, c.known = m.Checkpoint.Size, true
		return
	}
	if c.warned {
		return
	}
	c.warned = true
	c.p.Warnf("no checkpoint signed: %s", strings.TrimPrefix(err.Error(), "checkpoint: "))
	var te *checkpoint.TornError
	if errors.As(err, &te) {
		c.p.Hintf("'brain-audit repair %s' moves the torn line aside", c.path)
	} else {
		c.p.Hintf("'brain-audit verify-log --vkey PREFIX.vkey %s' shows the chain's state", c.path)
	}
}

// withoutKey returns env without the signer key: a program brain-run runs
// never sees it.
func withoutKey(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, checkpoint.KeyEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}
