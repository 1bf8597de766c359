package fsutil

import (
	"errors"
	"fmt"
	"os"
)

func syncDir(string) error { return nil }

// errNoLocks is what Lock and TryLock return on Windows.
var errNoLocks = fmt.Errorf("advisory file locks (flock) are not available on Windows: %w", errors.ErrUnsupported)

func lock(*os.File, LockKind, bool) error { return errNoLocks }

func unlock(*os.File) error { return nil }
