package tracelint

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/brain-dev/brain/internal/cli"
	"github.com/brain-dev/brain/internal/testutil"
)

// TestTerminalStdin: with no FILE and a terminal on stdin, brain-trace-lint
// says what it waits for before reading; on a pipe it says nothing.
func TestTerminalStdin(t *testing.T) {
	ctl, term := testutil.Pty(t)
	if _, err := ctl.Write([]byte{4}); err != nil { // Ctrl-D: the end of the input
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), nil, term, &stdout, &stderr)
	if !strings.HasPrefix(stderr.String(), "brain-trace-lint: reading spans (OTLP JSON lines) from the terminal; end with Ctrl-D, or give a FILE") {
		t.Errorf("stderr %q: no word of what it reads", stderr.String())
	}
	if code == cli.ExitOK {
		t.Errorf("an empty input passed")
	}
	stderr.Reset()
	Main(context.Background(), nil, strings.NewReader(""), &stdout, &stderr)
	if strings.Contains(stderr.String(), "from the terminal") {
		t.Errorf("not a terminal, yet: %q", stderr.String())
	}
}
