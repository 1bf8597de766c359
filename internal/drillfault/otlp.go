package drillfault

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/brain-dev/brain/internal/fsutil"
	"github.com/brain-dev/brain/internal/telemetry/otlpgrpc"
)

// The modes of the OTLP endpoint stand-in, besides ModeOK (a collector that
// takes every span and keeps it).
const (
	ModeClosed    = "closed"    // nothing listens on the port: connection refused
	ModeBlackhole = "blackhole" // connections are accepted and never answered
)

// OTLPModes lists the OTLP stand-in's modes.
var OTLPModes = []string{ModeOK, ModeClosed, ModeBlackhole}

// otlpServer is the OTLP endpoint stand-in, on one loopback port for its
// whole life: an OTLP/gRPC trace collector (ok) that appends every batch
// it receives to a spans file, in the format of a workspace's spans file;
// nothing at all (closed); or a listener that accepts connections and never
// says a word (blackhole).
type otlpServer struct {
	addr string
	out  string // where received spans go (OTLP JSON lines)

	mu       sync.Mutex
	mode     string
	grpc     *grpc.Server
	hole     net.Listener
	held     []net.Conn
	requests int
	spans    int
}

func newOTLPServer(addr, out string) *otlpServer {
	return &otlpServer{addr: addr, out: out, mode: ModeClosed}
}

// setMode stops what the port does now and starts what mode says.
func (o *otlpServer) setMode(mode string) error {
	if !slices.Contains(OTLPModes, mode) {
		return fmt.Errorf("unknown mode %q for otlp (modes: %s)", mode, strings.Join(OTLPModes, ", "))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if mode == o.mode {
		return nil
	}
	o.stopLocked()
	switch mode {
	case ModeOK:
		lis, err := net.Listen("tcp", o.addr)
		if err != nil {
			return fmt.Errorf("listening on %s again: %v", o.addr, err)
		}
		o.grpc = grpc.NewServer()
		coltracepb.RegisterTraceServiceServer(o.grpc, collector{o: o})
		go o.grpc.Serve(lis)
	case ModeBlackhole:
		lis, err := net.Listen("tcp", o.addr)
		if err != nil {
			return fmt.Errorf("listening on %s again: %v", o.addr, err)
		}
		o.hole = lis
		go o.swallow(lis)
	}
	o.mode = mode
	return nil
}

// swallow accepts connections and holds them, never reading or writing.
func (o *otlpServer) swallow(lis net.Listener) {
	for {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		o.mu.Lock()
		if o.hole != lis {
			o.mu.Unlock()
			c.Close()
			return
		}
		o.held = append(o.held, c)
		o.mu.Unlock()
	}
}

func (o *otlpServer) stopLocked() {
	if o.grpc != nil {
		o.grpc.Stop()
		o.grpc = nil
	}
	if o.hole != nil {
		o.hole.Close()
		o.hole = nil
	}
	for _, c := range o.held {
		c.Close()
	}
	o.held = nil
}

func (o *otlpServer) stop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stopLocked()
	o.mode = ModeClosed
}

func (o *otlpServer) status() map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	return map[string]any{"mode": o.mode, "requests": o.requests, "spans": o.spans, "received": o.out}
}

// collector is the trace service of mode ok.
type collector struct {
	coltracepb.UnimplementedTraceServiceServer
	o *otlpServer
}

func (c collector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	n := 0
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			n += len(ss.GetSpans())
		}
	}
	line, err := otlpgrpc.EncodeLine(req.GetResourceSpans())
	if err != nil {
		return nil, err
	}
	c.o.mu.Lock()
	defer c.o.mu.Unlock()
	f, err := fsutil.OpenFile(c.o.out, os.O_WRONLY|os.O_APPEND|os.O_CREATE|fsutil.NoFollow, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	c.o.requests++
	c.o.spans += n
	return &coltracepb.ExportTraceServiceResponse{}, nil
}
