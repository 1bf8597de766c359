package drillfault

import (
	"errors"
	"strconv"

	"golang.org/x/sys/unix"
)

func mountTmpfs(path string, size int64) error {
	return unix.Mount("tmpfs", path, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+strconv.FormatInt(size, 10)+",mode=0700")
}

// unmount unmounts path, lazily when it is busy; a path that is no longer
// a mount point is not an error.
func unmount(path string) error {
	err := unix.Unmount(path, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(path, unix.MNT_DETACH)
	}
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}
