//go:build !linux

package drillfault

import "time"

func waitPidfd(int, uint64, time.Duration) bool { return false }
