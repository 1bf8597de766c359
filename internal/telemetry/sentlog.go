package telemetry

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/brain-dev/brain/internal/fsutil"
)

// The sent log, SentLogPath(spans), lists the lines of a spans file that the
// network path delivered while the command that wrote them ran, so that
// Flush does not send them again. One line per spans-file line:
//
//	<byte offset> <length> <first 16 bytes of the line's SHA-256, hex>
//
// The checksum makes an entry worthless once the spans file is replaced.
// Entries are appended under an exclusive flock, by Shutdown, and not synced:
// a lost entry costs a duplicate on the next flush, never a lost span.

// SentLogPath returns the sent log of a spans file: spansPath + ".sent".
func SentLogPath(spansPath string) string { return spansPath + ".sent" }

type sentEntry struct {
	off, n int64
	sum    string
}

func lineSum(line []byte) string {
	h := sha256.Sum256(line)
	return hex.EncodeToString(h[:16])
}

func (e sentEntry) String() string { return fmt.Sprintf("%d %d %s", e.off, e.n, e.sum) }

// appendSent appends entries to the sent log (created 0600).
func appendSent(path string, entries []sentEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	f, err := fsutil.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|fsutil.NoFollow, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := fsutil.Lock(f, fsutil.Exclusive); err != nil {
		return err
	}
	_, err = f.Write(b.Bytes())
	return err
}

// readSent reads the sent log, keyed by offset. Malformed entries (a torn
// last line) are ignored: they only cost a duplicate.
func readSent(path string) (map[int64]sentEntry, error) {
	f, err := fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := fsutil.Lock(f, fsutil.Shared); err != nil {
		return nil, err
	}
	m := map[int64]sentEntry{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			continue
		}
		off, err1 := strconv.ParseInt(fields[0], 10, 64)
		n, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		m[off] = sentEntry{off: off, n: n, sum: fields[2]}
	}
	return m, sc.Err()
}

// deliveredLive reports whether line, at offset off, is listed in sent.
func deliveredLive(sent map[int64]sentEntry, off int64, line []byte) bool {
	e, ok := sent[off]
	return ok && e.n == int64(len(line)) && e.sum == lineSum(line)
}
