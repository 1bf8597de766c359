package chain

import (
	"errors"
	"fmt"
	"os"
)

// On Windows a chain is verified, diffed and shown, but not written: there
// is no flock, which keeps concurrent writers (several processes of
// brain-run, brain-audit append) from forking a chain, and the writer's
// rename and hard-link steps assume POSIX semantics. Open and Repair (but
// for a dry run) refuse at once, before a file is created.
var errWriteUnsupported = fmt.Errorf("chain: this build does not append to or repair a chain on Windows (no flock to serialise writers); verifying works here, writing on Linux, macOS or a BSD: %w", errors.ErrUnsupported)

func datasync(f *os.File) error { return f.Sync() }

func writable() error { return errWriteUnsupported }

// hasWriteback says whether startWriteback does anything here.
const hasWriteback = false

// startWriteback does nothing: nothing appends on Windows.
func startWriteback(uintptr, int64, int64) {}
