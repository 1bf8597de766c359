package drillfault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/brain-dev/brain/internal/fsutil"
)

// maxTamperBytes bounds the chain file Tamper reads: drills work on small
// chains.
const maxTamperBytes = 64 << 20

// TamperReport says what Tamper changed.
type TamperReport struct {
	File   string
	Line   int   // 1-based
	Offset int64 // of the changed byte in the file
	Seq    int64
	Field  string // "data.KEY" or "ts"
	Old    byte
	New    byte
}

func (r TamperReport) String() string {
	return fmt.Sprintf("tampered with %s:%d (byte %d), seq %d: %s: %q changed to %q", r.File, r.Line, r.Offset, r.Seq, r.Field, r.Old, r.New)
}

// Tamper changes one byte of the record of the chain file path with
// sequence number seq (the last record when seq < 0), in place, the way
// someone with write access to the file would: a letter or digit of the
// first value of its data (or of its time stamp when that value is not a
// string or number), so the line stays valid JSON and only its hash
// betrays it. The file is opened without following a link.
func Tamper(path string, seq int64) (TamperReport, error) {
	f, err := fsutil.OpenFile(path, os.O_RDWR|fsutil.NoFollow, 0)
	if err != nil {
		return TamperReport{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTamperBytes+1))
	if err != nil {
		return TamperReport{}, err
	}
	if len(b) > maxTamperBytes {
		return TamperReport{}, fmt.Errorf("%s is over %d bytes: tamper works on a drill's chain", path, maxTamperBytes)
	}
	type line struct {
		n   int
		off int64
		seq int64
		b   []byte
	}
	var target *line
	var off int64
	for n, l := range bytes.SplitAfter(b, []byte("\n")) {
		cur := &line{n: n + 1, off: off, seq: -1, b: l}
		off += int64(len(l))
		if rest, ok := bytes.CutPrefix(l, []byte(`{"seq":`)); ok {
			end := bytes.IndexByte(rest, ',')
			if end > 0 {
				cur.seq, _ = strconv.ParseInt(string(rest[:end]), 10, 64)
			}
		}
		if cur.seq < 0 || !bytes.HasSuffix(l, []byte("\n")) {
			continue
		}
		if (seq < 0 && (target == nil || cur.seq > target.seq)) || cur.seq == seq {
			target = cur
		}
	}
	if target == nil {
		if seq < 0 {
			return TamperReport{}, fmt.Errorf("%s holds no complete record", path)
		}
		return TamperReport{}, fmt.Errorf("%s holds no record with seq %d", path, seq)
	}
	at, field := pickByte(target.b)
	if at < 0 {
		return TamperReport{}, fmt.Errorf("%s:%d: no byte to change in the record", path, target.n)
	}
	old := target.b[at]
	nb := flip(old)
	rep := TamperReport{File: path, Line: target.n, Offset: target.off + int64(at), Seq: target.seq, Field: field, Old: old, New: nb}
	if _, err := f.WriteAt([]byte{nb}, rep.Offset); err != nil {
		return TamperReport{}, err
	}
	return rep, f.Sync()
}

// pickByte returns the index in a record line of the byte Tamper changes,
// and the field it is in.
func pickByte(l []byte) (int, string) {
	if i := bytes.Index(l, []byte(`"data":{"`)); i >= 0 {
		k := i + len(`"data":{"`)
		kend := bytes.IndexByte(l[k:], '"')
		if kend > 0 && k+kend+2 < len(l) && l[k+kend+1] == ':' {
			key, v := string(l[k:k+kend]), k+kend+2
			switch c := l[v]; {
			case c == '"':
				for j := v + 1; j < len(l) && l[j] != '"'; j++ {
					if l[j] == '\\' {
						j++
						continue
					}
					if isAlnum(l[j]) {
						return j, "data." + key
					}
				}
			case c == '-' || (c >= '0' && c <= '9'):
				j := v
				for j+1 < len(l) && l[j+1] >= '0' && l[j+1] <= '9' {
					j++
				}
				if l[j] >= '0' && l[j] <= '9' {
					return j, "data." + key
				}
			}
		}
	}
	if i := bytes.Index(l, []byte(`Z","type"`)); i > 0 && l[i-1] >= '0' && l[i-1] <= '9' {
		return i - 1, "ts"
	}
	return -1, ""
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// flip returns another letter or digit of the same kind, never one that
// would make a number start with 0.
func flip(c byte) byte {
	switch {
	case c == '9':
		return '8'
	case c == 'z':
		return 'y'
	case c == 'Z':
		return 'Y'
	}
	return c + 1
}

// KillReport says how KillAppend left the chain.
type KillReport struct {
	PID      int
	Attempts int
	Torn     int64 // bytes after the last complete line
	Appended int64 // bytes the killed appends added, torn tail included
}

// bulkLine is one event of the bulk append: about 1 KiB, so that a batch
// of them takes one long write.
func bulkLine(n int) string {
	return fmt.Sprintf(`{"type":"drill.bulk_append","session":"drill","n":%d,"pad":"%s"}`+"\n", n, strings.Repeat("x", 960))
}

// KillAppend runs `audit append --sync batch path` (audit is brain-audit)
// with a bulk of events on its stdin and kills it with SIGKILL in the
// middle of a write: as soon as the file has grown and does not end with a
// newline. A kill that lands between two writes leaves whole records: then
// it tries again, up to attempts times, each time with at most records
// events. It returns once the chain ends in a torn record, which is what
// a crash in the middle of a write leaves.
func KillAppend(ctx context.Context, audit, path string, attempts, records int) (KillReport, error) {
	rep := KillReport{}
	start := size(path)
	for rep.Attempts < attempts {
		rep.Attempts++
		pid, err := killOnce(ctx, audit, path, records)
		if err != nil {
			return rep, err
		}
		rep.PID = pid
		torn, err := tornBytes(path)
		if err != nil {
			return rep, err
		}
		if torn > 0 {
			rep.Torn, rep.Appended = torn, size(path)-start
			return rep, nil
		}
	}
	return rep, fmt.Errorf("%d kills of %s all landed between two writes: no torn record (try again, or with more --records)", attempts, audit)
}

func size(path string) int64 {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// tornBytes returns how many bytes follow the last newline of path.
func tornBytes(path string) (int64, error) {
	f, err := fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	var torn int64
	for end := fi.Size(); end > 0; {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return torn + n - int64(i) - 1, nil
		}
		torn += n
		end -= n
	}
	return torn, nil
}

// killOnce starts one bulk append and kills it once the file does not end
// with a newline (or when it exits by itself). It returns its pid.
func killOnce(ctx context.Context, audit, path string, records int) (int, error) {
	base := size(path)
	cmd := exec.CommandContext(ctx, audit, "append", "--sync", "batch", path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s append: %v", audit, err)
	}
	var exited atomic.Bool
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		exited.Store(true)
		waited <- err
	}()
	go func() {
		for i := 0; i < records; i++ {
			if _, err := io.WriteString(stdin, bulkLine(i)); err != nil {
				break
			}
		}
		stdin.Close()
	}()
	var f *os.File
	deadline := time.Now().Add(30 * time.Second)
	for !exited.Load() && time.Now().Before(deadline) {
		if f == nil {
			if f, err = fsutil.OpenFile(path, os.O_RDONLY|fsutil.NoFollow, 0); err != nil {
				f = nil
				continue
			}
			defer f.Close()
		}
		fi, err := f.Stat()
		if err != nil || fi.Size() <= base {
			continue
		}
		var last [1]byte
		if _, err := f.ReadAt(last[:], fi.Size()-1); err == nil && last[0] != '\n' {
			cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	if !exited.Load() {
		cmd.Process.Signal(syscall.SIGKILL)
	}
	err = <-waited
	var xe *exec.ExitError
	if err != nil && !(errors.As(err, &xe) && xe.Sys().(syscall.WaitStatus).Signaled()) {
		return cmd.Process.Pid, fmt.Errorf("%s append failed before it could be killed: %v: %s", audit, err, strings.TrimSpace(stderr.String()))
	}
	return cmd.Process.Pid, nil
}
