package telemetry

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
)

// grpcOptions returns the OTLP gRPC client options for endpoint: the target,
// transport security, the per-export timeout and no retries (a short command
// cannot wait out a backoff; the spans are on disk for a later flush).
//
// endpoint is "host:port", "http://host:port" or "https://host:port". A bare
// host:port is plaintext when the host is loopback and TLS otherwise.
func grpcOptions(endpoint string, timeout time.Duration) ([]otlptracegrpc.Option, error) {
	hostport, insecure, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	opts := []otlptracegrpc.Option{
		otlptracegrpc.WithEndpoint(hostport),
		otlptracegrpc.WithTimeout(timeout),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
	}
	if insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	return opts, nil
}

func parseEndpoint(endpoint string) (hostport string, insecure bool, err error) {
	hostport = endpoint
	scheme := ""
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil {
			return "", false, fmt.Errorf("telemetry: otlp endpoint %q: %w", endpoint, err)
		}
		scheme, hostport = u.Scheme, u.Host
		if scheme != "http" && scheme != "https" {
			return "", false, fmt.Errorf("telemetry: otlp endpoint %q: scheme must be http or https", endpoint)
		}
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port == "" {
		return "", false, fmt.Errorf("telemetry: otlp endpoint %q: want host:port", endpoint)
	}
	switch scheme {
	case "http":
		return hostport, true, nil
	case "https":
		return hostport, false, nil
	}
	return hostport, isLoopback(host), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
