package runcore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/workspace"
)

// openWorkspace makes sure the workspace dir exists, creating it (0700) for
// a command that writes, and checks it (workspace.Check).
func openWorkspace(dir string, readOnly bool) error {
	if !readOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("creating workspace: %v", err)}
		}
	}
	err := workspace.Check(dir, !readOnly)
	var we *workspace.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &we):
		return &cli.ExitError{Code: cli.ExitIO, Err: we, Hint: we.Hint}
	case errors.Is(err, fs.ErrNotExist):
		return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("no workspace at %s", dir),
			Hint: "name the workspace to read with --dir (or BRAIN_DIR); a read-only command creates none"}
	}
	return &cli.ExitError{Code: cli.ExitIO, Err: fmt.Errorf("workspace: %v", err)}
}
