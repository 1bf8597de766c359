// Command attacker is the Go part of BRAIN's hostile module suite: a check
// that tries to get out of the verifier's sandbox, one attack per subcommand.
// Built for GOOS=wasip1 GOARCH=wasm into testdata/hostile/attacker.wasm.
//
// An attack that succeeds prints what it got and exits 0 (the check
// "passes" by leaking); an attack that is contained prints why and exits 1.
//
//	read-abs           read /etc/passwd by absolute path
//	read-dotdot        open ../etc/passwd relative to the artifact preopen,
//	                   and /artifact/../etc/passwd
//	read-symlink NAME  read /artifact/NAME, a symlink planted by the host
//	write              create, overwrite, delete and rename in /artifact
//	env NAME           read the host environment variable NAME
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: attacker read-abs|read-dotdot|read-symlink NAME|write|env NAME")
		os.Exit(2)
	}
	var leaks []string
	switch os.Args[1] {
	case "read-abs":
		leaks = tryRead("/etc/passwd")
	case "read-dotdot":
		leaks = append(tryOpenAt(3, "../etc/passwd"), tryRead("/artifact/../etc/passwd")...)
		leaks = append(leaks, tryOpenAt(3, "../../../../../../etc/passwd")...)
	case "read-symlink":
		leaks = tryRead("/artifact/" + os.Args[2])
	case "write":
		leaks = tryWrite()
	case "env":
		if v, ok := os.LookupEnv(os.Args[2]); ok {
			leaks = append(leaks, "env: "+v)
		}
		for _, kv := range os.Environ() {
			leaks = append(leaks, "environ: "+kv)
		}
		leaks = append(leaks, tryRead("/proc/self/environ")...)
	default:
		fmt.Fprintln(os.Stderr, "attacker: unknown attack", os.Args[1])
		os.Exit(2)
	}
	if len(leaks) > 0 {
		fmt.Println("ESCAPED")
		for _, l := range leaks {
			fmt.Println(l)
		}
		os.Exit(0)
	}
	fmt.Println("contained")
	os.Exit(1)
}

func tryRead(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Println("blocked:", err)
		return nil
	}
	return []string{path + ": " + string(b)}
}

//go:wasmimport wasi_snapshot_preview1 path_open
func pathOpen(fd int32, dirflags int32, path unsafe.Pointer, pathLen int32, oflags int32, rightsBase uint64, rightsInheriting uint64, fdflags int32, fdOut unsafe.Pointer) int32

// tryOpenAt calls WASI path_open on the preopened directory fd directly, so
// the guest's own path cleaning cannot hide a host that follows "..".
func tryOpenAt(dirfd int32, path string) []string {
	p := []byte(path)
	var fd int32
	errno := pathOpen(dirfd, 0, unsafe.Pointer(&p[0]), int32(len(p)), 0, ^uint64(0), ^uint64(0), 0, unsafe.Pointer(&fd))
	if errno != 0 {
		fmt.Printf("blocked: path_open %q: errno %d\n", path, errno)
		return nil
	}
	b, _ := io.ReadAll(os.NewFile(uintptr(fd), path))
	return []string{path + ": " + string(b)}
}

func tryWrite() []string {
	var leaks []string
	attempt := func(what string, err error) {
		if err == nil {
			leaks = append(leaks, "write: "+what+" succeeded")
			return
		}
		fmt.Printf("blocked: %s: %v\n", what, err)
	}
	attempt("create", os.WriteFile("/artifact/new.txt", []byte("pwned"), 0o644))
	f, err := os.OpenFile("/artifact/result.txt", os.O_WRONLY|os.O_TRUNC, 0)
	if err == nil {
		_, err = f.Write([]byte("pwned"))
		f.Close()
	}
	attempt("overwrite", err)
	attempt("append", appendTo("/artifact/result.txt"))
	attempt("remove", os.Remove("/artifact/result.txt"))
	attempt("rename", os.Rename("/artifact/result.txt", "/artifact/moved.txt"))
	attempt("mkdir", os.Mkdir("/artifact/dir", 0o755))
	attempt("symlink", os.Symlink("/etc/passwd", "/artifact/link"))
	// No chmod: WASI has none, so Go's os.Chmod on wasip1 does nothing and
	// reports success. The host-side test checks the modes instead.
	if b, err := os.ReadFile("/artifact/result.txt"); err == nil && strings.Contains(string(b), "pwned") {
		leaks = append(leaks, "write: result.txt now holds pwned")
	}
	return leaks
}

func appendTo(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write([]byte("pwned"))
	return err
}
