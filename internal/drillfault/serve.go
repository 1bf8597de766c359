package drillfault

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/brain-dev/brain/internal/llm"
)

// ServeArg is the argument with which brain-drill runs itself as a fault
// server (Start); it is not a subcommand a person types.
const ServeArg = "__fault-serve"

// DefaultTTL is how long a fault server lives when nobody stops it.
const DefaultTTL = 15 * time.Minute

// ServeConfig is what a fault server is started with, on its file
// descriptor 3.
type ServeConfig struct {
	Kind     string        `json:"kind"`
	Name     string        `json:"name"`
	Token    string        `json:"token"`
	TTL      time.Duration `json:"ttl"`
	LLM      LLMSettings   `json:"llm"`
	Cassette string        `json:"cassette,omitempty"`
	OTLPMode string        `json:"otlp_mode,omitempty"`
	Received string        `json:"received,omitempty"`
}

// ready is what a fault server says on its file descriptor 4 once it
// listens.
type ready struct {
	Addr    string `json:"addr"`
	Control string `json:"control"`
	Error   string `json:"error,omitempty"`
}

// Serve runs a fault server: it reads its ServeConfig from cfg, listens on
// loopback, says where on readyW (then closes it), and serves until it is
// told to stop on its control address, ctx ends or its time to live runs
// out. logw gets a line per request.
func Serve(ctx context.Context, cfg io.Reader, readyW io.WriteCloser, logw io.Writer) error {
	var c ServeConfig
	err := json.NewDecoder(io.LimitReader(cfg, 1<<20)).Decode(&c)
	if err == nil && c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	logger := log.New(logw, c.Name+": ", log.LstdFlags|log.Lmicroseconds)
	fail := func(err error) error {
		json.NewEncoder(readyW).Encode(ready{Error: err.Error()})
		readyW.Close()
		return err
	}
	if err != nil {
		return fail(fmt.Errorf("reading the configuration: %v", err))
	}
	ctx, cancel := context.WithTimeout(ctx, c.TTL)
	defer cancel()
	var (
		status  func() map[string]any
		setMode func(body []byte) (string, error)
		addr    string
		stop    func()
	)
	switch c.Kind {
	case KindLLM:
		var replay llm.Provider
		if c.Cassette != "" {
			if replay, err = llm.NewReplay(c.Cassette); err != nil {
				return fail(err)
			}
		}
		srv := newLLMServer(replay, c.LLM)
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		addr = lis.Addr().String()
		hs := &http.Server{Handler: logged(logger, srv), ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(lis)
		stop = func() { hs.Close() }
		status = srv.status
		setMode = func(body []byte) (string, error) {
			var s LLMSettings
			if err := json.Unmarshal(body, &s); err != nil {
				return "", err
			}
			if err := CheckLLMSettings(s); err != nil {
				return "", err
			}
			srv.set(s)
			return s.Mode, nil
		}
	case KindOTLP:
		// The port is chosen once and kept, whatever the mode: a
		// collector that comes back comes back where it was.
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		addr = lis.Addr().String()
		lis.Close()
		srv := newOTLPServer(addr, c.Received)
		if err := srv.setMode(c.OTLPMode); err != nil {
			return fail(err)
		}
		stop, status = srv.stop, srv.status
		setMode = func(body []byte) (string, error) {
			var s struct{ Mode string }
			if err := json.Unmarshal(body, &s); err != nil {
				return "", err
			}
			return s.Mode, srv.setMode(s.Mode)
		}
	default:
		return fail(fmt.Errorf("unknown fault server kind %q", c.Kind))
	}
	defer stop()

	quit := make(chan struct{})
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+c.Token)) != 1 {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /status", auth(func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(status()) }))
	mux.HandleFunc("POST /mode", auth(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		mode, err := setMode(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		logger.Printf("mode %s", mode)
		json.NewEncoder(w).Encode(status())
	}))
	mux.HandleFunc("POST /stop", auth(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		select {
		case <-quit:
		default:
			close(quit)
		}
	}))
	cs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go cs.Serve(ctl)
	defer cs.Close()
	logger.Printf("%s fault on %s (control %s)", c.Kind, addr, ctl.Addr())
	if err := json.NewEncoder(readyW).Encode(ready{Addr: addr, Control: ctl.Addr().String()}); err != nil {
		return err
	}
	readyW.Close()
	select {
	case <-quit:
		logger.Printf("stopped")
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			logger.Printf("time to live %s is over: exiting", c.TTL)
		}
	}
	return nil
}

// logged logs each request with its status.
func logged(l *log.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rw, r)
		l.Printf("%s %s %d", r.Method, r.URL.Path, rw.status)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
