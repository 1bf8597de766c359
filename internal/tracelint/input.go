package tracelint

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/brain-dev/brain/internal/fsutil"
)

// DefaultMaxLine is the longest input line read: brain-run writes lines of
// at most 512 spans (well under 1 MiB); a Collector writes one line per
// export batch (its batch processor's default of 8,192 spans is about
// 5 MB). A parsed line takes several times its size in memory, so the
// limit also bounds the linter's.
const DefaultMaxLine = 16 << 20

// batchSize is how many bytes of whole lines a worker gets at a time.
const batchSize = 1 << 20

// Input is one input: a file, or stdin ("-").
type Input struct {
	Name string
	r    io.Reader
	c    io.Closer
}

// InputError reports an input that cannot be read (as opposed to one that
// was read and holds bad lines).
type InputError struct {
	Name string
	Err  error
	Hint string
}

func (e *InputError) Error() string { return fmt.Sprintf("reading %q: %v", e.Name, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// eofReader ends at the first end of file of r and stays there. A terminal
// reports the end of input (Ctrl-D) once; reading it again would wait for
// more.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	if e.eof {
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	e.eof = err == io.EOF
	return n, err
}

// OpenInputs opens every file named (stdin for "-"), or returns the first
// that cannot be opened, having closed the others: nothing is linted from a
// set of inputs that cannot all be read.
func OpenInputs(names []string, stdin io.Reader) ([]*Input, error) {
	var ins []*Input
	for _, n := range names {
		if n == "-" {
			ins = append(ins, &Input{Name: "-", r: &eofReader{r: stdin}})
			continue
		}
		f, err := fsutil.Open(n)
		if err != nil {
			CloseInputs(ins)
			return nil, &InputError{Name: n, Err: fsutil.WithoutPath(err)}
		}
		ins = append(ins, &Input{Name: n, r: f, c: f})
	}
	return ins, nil
}

// CloseInputs closes the files of ins.
func CloseInputs(ins []*Input) {
	for _, in := range ins {
		if in.c != nil {
			in.c.Close()
		}
	}
}

// batch is a run of whole lines of one input, handed to a worker.
type batch struct {
	file  int    // index of the input
	first int64  // line number of the first line, 1-based
	seq   int64  // its place in the stream of every input's batches
	data  []byte // the lines, each ending in '\n' (the input's last line may not)
	// long, when set, is a line over the size limit: data is empty and the
	// batch only reports it.
	long *longLine
	done chan struct{}
}

type longLine struct {
	line int64
	size int64
}

// eachLine calls fn with each line of b (newline cut) and its number.
func (b *batch) eachLine(fn func(n int64, line []byte)) {
	n := b.first
	data := b.data
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		fn(n, line)
		n++
	}
}

// stream reads ins line by line and has workers run work on batches of
// whole lines in parallel; emit receives the results in input order, from
// the calling goroutine. At most a few batches per worker are in memory at
// once, whatever the size of the input. Read errors end the stream with an
// *InputError.
func stream[T any](ctx context.Context, ins []*Input, workers, maxLine int, work func(*batch) T, emit func(*batch, T)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		b   *batch
		out T
	}
	todo := make(chan *job, workers)
	order := make(chan *job, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range todo {
				j.out = work(j.b)
				close(j.b.done)
			}
		})
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(todo)
		var seq int64
		send := func(b *batch) bool {
			b.seq, seq = seq, seq+1
			j := &job{b: b}
			b.done = make(chan struct{})
			select {
			case order <- j:
			case <-ctx.Done():
				return false
			}
			todo <- j
			return true
		}
		for i, in := range ins {
			if err := readInput(ctx, i, in, maxLine, send); err != nil {
				readErr <- err
				return
			}
		}
		readErr <- nil
	}()
	// An interruption ends the stream at once, even while the reader waits
	// for input that may never come (a pipe or terminal left open): its
	// goroutine ends when its read returns.
	for {
		var j *job
		var ok bool
		select {
		case j, ok = <-order:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			break
		}
		select {
		case <-j.b.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		emit(j.b, j.out)
	}
	wg.Wait()
	if err := <-readErr; err != nil {
		return err
	}
	return ctx.Err()
}

// gzipMagic and zstdMagic start gzip and zstd streams.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// readInput cuts one input into batches of whole lines and sends them. A
// gzip-compressed input is decompressed; a zstd-compressed one (the
// Collector file exporter's compression) is refused with a hint.
func readInput(ctx context.Context, file int, in *Input, maxLine int, send func(*batch) bool) error {
	br := bufio.NewReaderSize(in.r, 1<<20)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return &InputError{Name: in.Name, Err: err}
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<20)
	case bytes.HasPrefix(head, zstdMagic):
		return &InputError{Name: in.Name, Err: errors.New("the input is zstd-compressed"),
			Hint: "decompress it first: zstd -dc " + in.Name + " | brain-trace-lint -"}
	}
	cur := &batch{file: file, first: 1}
	next := int64(1) // the number of the next line to read
	flush := func() bool {
		if len(cur.data) == 0 {
			return true
		}
		ok := send(cur)
		cur = &batch{file: file, first: next}
		return ok
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it, up to maxLine.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull && len(long) <= maxLine {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > maxLine {
			// Report it by its size and skip the rest of it: the lines
			// after it are still read.
			size := int64(len(line))
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				size += int64(len(line))
			}
			if !flush() || !send(&batch{file: file, first: next, long: &longLine{line: next, size: size}}) {
				return ctx.Err()
			}
			next++
			cur.first = next
		} else if len(line) > 0 {
			if len(cur.data) > 0 && len(cur.data)+len(line) > batchSize {
				if !flush() {
					return ctx.Err()
				}
			}
			if cur.data == nil {
				cur.data = make([]byte, 0, max(batchSize, len(line)))
			}
			cur.data = append(cur.data, line...)
			next++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return &InputError{Name: in.Name, Err: err}
		}
	}
	if !flush() {
		return ctx.Err()
	}
	return nil
}
