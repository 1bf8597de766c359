//go:build !amd64

package chain

func hasSHANI() bool { return false }

func sha256Entry(entry []byte, prev *Digest) Digest { panic("chain: no SHA extensions") }
