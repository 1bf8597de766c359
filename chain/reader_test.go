package chain

import (
	"bytes"
	"context"
	"io"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// TestVerifyReaderAnyReader: VerifyReader gives the same report whatever
// the shape of the reader's reads, as the io.Reader contract allows them: the
// last bytes returned with io.EOF in the same call (a decompressor, a
// network body, a zip entry), one byte a call, half of what was asked.
// Every corpus file, good and bad.
func TestVerifyReaderAnyReader(t *testing.T) {
	files := append(corpusFiles(t, "good"), corpusFiles(t, "bad")...)
	files = append(files, benchLines(t, 3000)) // several chunks
	ctx := context.Background()
	for i, data := range files {
		want, err := VerifyReader(ctx, "input", bytes.NewReader(data), VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]io.Reader{
			"data with EOF": iotest.DataErrReader(bytes.NewReader(data)),
			"one byte":      iotest.OneByteReader(bytes.NewReader(data)),
			"half":          iotest.HalfReader(bytes.NewReader(data)),
			"one byte, EOF": iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(data))),
		} {
			got, err := VerifyReader(ctx, "input", r, VerifyOptions{})
			if err != nil {
				t.Fatalf("file %d, %s: %v", i, name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("file %d, read %s: the report differs (-bytes.Reader +%s):\n%s", i, name, name, diff)
			}
		}
	}
}
