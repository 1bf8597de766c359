package telemetry

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// target returns where n is to reach endpoint: the host and port, and
// whether in plaintext. n's clients have a per-export timeout and no
// retries (a short command cannot wait out a backoff; the spans are on
// disk for a later flush).
//
// endpoint is "host:port", "http://host:port" or "https://host:port". A bare
// host:port is plaintext when the host is loopback and TLS otherwise.
func target(n Network, endpoint string) (hostport string, insecure bool, err error) {
	hostport, insecure, err = parseEndpoint(endpoint)
	if err != nil {
		return "", false, err
	}
	if n == nil {
		return "", false, ErrNoNetwork
	}
	return hostport, insecure, nil
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
