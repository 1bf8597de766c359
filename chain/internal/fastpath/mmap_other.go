//go:build !unix

package fastpath

import (
	"errors"
)

func mmap(File, int64) ([]byte, error) { return nil, errors.ErrUnsupported }

func munmap([]byte) error { return nil }

func release([]byte) {}
