package testutil

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A dead OTLP endpoint, in each of the ways a collector can be dead: for
// the tests and benchmarks that hold a command's cost bounded whatever the
// endpoint does. Each is a real socket on 127.0.0.1.

// ClosedPort returns a 127.0.0.1 address on which nothing listens: a
// connection is refused at once.
func ClosedPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// Unaccepted listens on 127.0.0.1 with a backlog of zero and never
// accepts, and fills its accept queue: the kernel then drops every new
// SYN, so a client's connect is never answered (a collector too busy to
// accept). stop closes the listener and the connections that fill it.
func Unaccepted() (addr string, stop func(), err error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	var fill []net.Conn
	stop = func() {
		unix.Close(fd)
		for _, c := range fill {
			c.Close()
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		stop()
		return "", nil, err
	}
	if err := unix.Listen(fd, 0); err != nil {
		stop()
		return "", nil, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		stop()
		return "", nil, err
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	// Connect until a connect goes unanswered: the queue is full. The
	// kernel keeps one connection in the queue of a zero backlog, a few
	// at most in any.
	for range 16 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return addr, stop, nil
		}
		if err != nil {
			stop()
			return "", nil, err
		}
		fill = append(fill, c)
	}
	stop()
	return "", nil, errors.New("testutil: the listen queue of " + addr + " does not fill")
}

// Silent listens on 127.0.0.1, accepts every connection and never writes
// a byte (what it reads is discarded): a collector that hangs. accepted
// reports how many connections it accepted so far; stop closes the
// listener and them.
func Silent() (addr string, accepted func() int, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	accepted = func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
	stop = func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	return ln.Addr().String(), accepted, stop, nil
}
