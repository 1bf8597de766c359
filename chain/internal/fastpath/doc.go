// Package fastpath holds the chain verifier's speed code: what makes
// verify-log outrun a single SHA-256 stream of the same file, and nothing
// that decides a finding.
//
// Every piece here has a portable reference in package chain that it is held
// to by tests and fuzz targets: SHA256 to crypto/sha256's hash.Hash (the
// chain's reference digester).
package fastpath
