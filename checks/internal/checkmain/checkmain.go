// Package checkmain is what BRAIN's stock check programs share: the
// artifact mount, reading JSON from it, usage errors and the exit protocol
// (0 pass, 1 fail, 2 usage error, the reason on stdout). It stays small and
// does no work at init, since every check run pays for what it links.
package checkmain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
)

// artifact is where the verifier mounts the artifact directory.
const artifact = "/artifact"

// UsageError is a mistake in the check's arguments, exit status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...)}
}

// Run runs the check run with the program's arguments after argv[0] and
// exits: 0 with "ok MSG" on stdout when it passed, 1 with "FAIL MSG" when it
// failed or returned an error, 2 with the message on stderr for a
// *UsageError.
func Run(run func(args []string) (ok bool, msg string, err error)) {
	ok, msg, err := run(os.Args[1:])
	var ue *UsageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "stock: usage:", err)
		os.Exit(2)
	case err != nil:
		fmt.Println("FAIL", err)
		os.Exit(1)
	case !ok:
		fmt.Println("FAIL", msg)
		os.Exit(1)
	}
	fmt.Println("ok", msg)
}

// Args checks that args, a check's name and its arguments, holds n
// arguments.
func Args(args []string, n int) error {
	if len(args)-1 != n {
		return Usagef("%s takes %d arguments, got %d", args[0], n, len(args)-1)
	}
	return nil
}

// Path returns the path of file, relative to the artifact directory, in the
// check's file system.
func Path(file string) string {
	return path.Join(artifact, path.Clean("/"+file))
}

// ReadJSON parses the artifact file as exactly one JSON value, numbers as
// json.Number.
func ReadJSON(file string) (any, error) {
	b, err := os.ReadFile(Path(file))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	v, err := UnmarshalJSON(b)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: invalid JSON at byte %d: %v", file, se.Offset, se)
		}
		return nil, fmt.Errorf("%s: invalid JSON: %v", file, err)
	}
	return v, nil
}

// UnmarshalJSON parses b as exactly one JSON value, numbers as json.Number,
// as santhosh-tekuri/jsonschema's UnmarshalJSON does (same values, same
// errors) without linking that package.
func UnmarshalJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("invalid character after top-level value")
	}
	return v, nil
}
