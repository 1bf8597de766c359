package drill

import (
	"os"

	"golang.org/x/sys/unix"
)

// probeTmpfs mounts a 4 KiB tmpfs on a new temporary directory and
// unmounts it again.
func probeTmpfs() error {
	dir, err := os.MkdirTemp("", "brain-drill-probe-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=0700"); err != nil {
		return err
	}
	return unix.Unmount(dir, 0)
}
