//go:build !unix

package workspace

import "io/fs"

// owner reports no owner where files have no user id (Windows): Find takes
// the nearest workspace, as the user's own.
func owner(fs.FileInfo) (uint32, bool) { return 0, false }
