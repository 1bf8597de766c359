package auditcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/brain-dev/brain/chain/checkpoint"
	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/workspace"
)

func newKeygen(e *env) *ffcli.Command {
	fs, opts := newFlags("keygen")
	out := fs.String("o", "", "write the keys to `PREFIX`.key (the signer key, 0600) and PREFIX.vkey (the verifier key)")
	inWorkspace := fs.Bool("in-workspace", false, "allow the signer key inside a BRAIN workspace (a .brain directory), where whoever can rewrite the chain could use it")
	return &ffcli.Command{
		Name:       "keygen",
		ShortUsage: "brain-audit keygen -o PREFIX NAME",
		ShortHelp:  "make a key pair to sign checkpoints of audit chains",
		LongHelp: `keygen makes an Ed25519 key pair named NAME in the golang.org/x/mod/sumdb/note
formats: PREFIX.key, the signer key (created 0600, never over an existing
file; its directory is made 0700 when missing), for brain-audit checkpoint --key and brain-run (BRAIN_CHECKPOINT_KEY
or --checkpoint-key-file), and PREFIX.vkey, the verifier key line, for
verify-log --vkey and verify-proof --vkey. The verifier key is also printed
on stdout.

Keep the signer key where whoever can write the audit chain cannot read it:
a key on the same machine, readable by the same user, lets a person with
write access rewrite the chain and sign it again. keygen refuses to write
it inside a BRAIN workspace (a .brain directory) unless --in-workspace.

Exit status: 0 written, 2 usage, 3 a key file could not be written (or
exists already).`,
		FlagSet: fs,
		Options: opts,
		Exec: func(ctx context.Context, args []string) error {
			if err := cli.NArgs(args, 1, 1, "brain-audit keygen -o PREFIX NAME"); err != nil {
				return err
			}
			if *out == "" {
				return &cli.UsageError{Err: errors.New("keygen needs -o PREFIX"), Hint: "brain-audit keygen -o ~/.config/brain/checkpoint " + args[0]}
			}
			skey, vkey, err := checkpoint.GenerateKey(args[0])
			if err != nil {
				return &cli.UsageError{Err: errors.New(trimPkg(err)), Hint: "name the key like a URL without a scheme, e.g. example.com/audit"}
			}
			keyPath, vkeyPath := *out+".key", *out+".vkey"
			if ws := workspaceOf(keyPath); ws != "" && !*inWorkspace {
				return &cli.ExitError{Code: cli.ExitUsage, Err: fmt.Errorf("%s is inside the BRAIN workspace %s: whoever can rewrite its chain could read the key and sign the rewrite", keyPath, ws),
					Hint: "keep the signer key elsewhere (another machine, a hardware token's host, your config directory: -o ~/.config/brain/checkpoint), or pass --in-workspace for a throw-away key"}
			}
			if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
				return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("creating the directory of %s: %v", keyPath, fsutil.WithoutPath(err))}
			}
			if err := writeNew(keyPath, []byte(skey+"\n"), 0o600); err != nil {
				return &cli.ExitError{Code: cli.ExitIO, Err: err}
			}
			if err := writeNew(vkeyPath, []byte(vkey+"\n"), 0o644); err != nil {
				os.Remove(keyPath)
				return &cli.ExitError{Code: cli.ExitIO, Err: err}
			}
			fmt.Fprintln(e.stdout, vkey)
			e.p.Infof("wrote the signer key to %s (0600) and the verifier key to %s", keyPath, vkeyPath)
			return nil
		},
	}
}

// writeNew creates the file path with b, durably, whole or not at all,
// never over an existing file or through a symbolic link: b is written and
// synced under a temporary name, which is then linked at path.
func writeNew(path string, b []byte, perm os.FileMode) error {
	tmp, err := fsutil.WriteTemp(path, b, perm)
	if err != nil {
		return fmt.Errorf("writing %s: %v", path, fsutil.WithoutPath(err))
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists already: keygen never replaces a key", path)
		}
		return fmt.Errorf("creating %s: %v", path, fsutil.WithoutPath(err))
	}
	if err := fsutil.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("writing %s: %v", path, fsutil.WithoutPath(err))
	}
	return nil
}

// workspaceOf returns the BRAIN workspace that holds path (a directory
// named .brain among its parents, or $BRAIN_DIR), or "".
func workspaceOf(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	dir := filepath.Dir(abs)
	if ws := os.Getenv("BRAIN_DIR"); ws != "" {
		if w, err := filepath.Abs(ws); err == nil && workspace.Within(dir, w) {
			return w
		}
	}
	for d := dir; ; d = filepath.Dir(d) {
		if filepath.Base(d) == workspace.DefaultDir {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}
