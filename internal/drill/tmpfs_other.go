//go:build !linux

package drill

import "errors"

func probeTmpfs() error { return errors.New("tmpfs mounts are only supported on linux") }
