//go:build !linux

package drillfault

import "errors"

func mountTmpfs(string, int64) error { return errors.New("tmpfs mounts are only supported on linux") }
func unmount(string) error           { return nil }
