package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version returns the version line of prog: the main module's version,
// the VCS revision it was built from (with "+modified" when the tree had
// uncommitted changes) and the Go toolchain, from the build information the
// go command stamps into every binary. A binary built without VCS
// information (go run, go test, -buildvcs=false) says so.
func Version(prog string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return fmt.Sprintf("%s (no build information) %s %s/%s", prog, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	return versionLine(prog, bi)
}

func versionLine(prog string, bi *debug.BuildInfo) string {
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", prog, version)
	switch {
	case rev == "":
		b.WriteString(" (no VCS revision)")
	default:
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if modified {
			rev += "+modified"
		}
		fmt.Fprintf(&b, " (revision %s", rev)
		if when != "" {
			fmt.Fprintf(&b, ", %s", when)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " %s %s/%s", bi.GoVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}
