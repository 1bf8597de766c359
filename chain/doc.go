// Package chain implements BRAIN's audit chain: an append-only, hash-chained
// JSONL log whose every line can be verified on its own and whose links prove
// that no record was removed, inserted or reordered.
//
// The format is a public contract, specified in docs/chain-format.md with test
// vectors in chain/testdata/vectors-v1.json. In short, a record is one line
//
//	{"seq":N,"ts":"…","type":"…","session":"…","trace_id":"…","span_id":"…","data":{…},"prev":"<hex>","hash":"<hex>"}\n
//
// and hash = hex(H(entry || prev_digest)), where entry is the line's bytes from
// the opening brace up to, not including, the `,"hash":"` that begins the last
// field, and prev_digest is the previous record's digest as raw bytes (all zero
// before the first record of a new chain). The first line of every file is a
// header record of type "chain.header".
//
// # Layout
//
// The package is cut by job, one file each, so that the knowledge of the
// format sits in one place and the verifier reads as a pipeline:
//
//   - format.go: the record (constants, Alg, Digest, Head, Event), its
//     encoding and the record hash; header.go: the header record and the
//     names of rotated files.
//   - parse.go and canonical.go: the general parser, the reference for what a
//     record is, and the canonical form of data.
//   - verify.go: the verification API (VerifyFile, VerifyFS, VerifyReader,
//     VerifyFiles, VerifyChain), its options and its report; source.go: the
//     small interface every byte verified is read through (the local file
//     system with the chain's lock, or any fs.FS: a copy in a zip archive,
//     one fetched from elsewhere), and how a chain's files are snapshotted
//     and opened; pipeline.go: the
//     reader that cuts a file into chunks of lines and the workers that
//     parse and hash them; sequencer.go: the checks that need order (links,
//     seqs, headers, the recorded head); discover.go: finding the chains
//     under a directory; fastlines.go: the glue to the fast path, and
//     mapped.go: reading a large file through its mapping, a fault in it
//     caught.
//   - scan.go and diff.go: reading records one at a time, and comparing two
//     copies.
//   - event.go: reading an event from a line of JSON (ParseEvent, the input
//     of brain-audit append), plain lines in one pass held to the full
//     reader.
//   - writer.go: appending, rotation; repair.go: cutting a damaged tail;
//     durable_linux.go, durable_other.go (macOS, the BSDs) and
//     durable_windows.go: what makes an append durable on each system, and
//     whether it can append at all (Windows cannot).
//   - hooks.go: what package chain/checkpoint needs of the chain: every
//     line verified handed to a LineSink (VerifyOptions.Lines), the name of
//     the checkpoint file beside a chain (never taken for a chain by
//     Discover), Quarantine, ReadLock, SyncData and Writable.
//
// Everything but the writer is read-only work and builds on every system
// Go does: an auditor verifies a chain on the laptop at hand.
//
// The verifier's speed code (vector classification, the fast parser of
// clean lines, hashing with fewer copies, mapping files, and the checkpoint
// tree's hashes two at a time) is in internal/fastpath, held by fuzz
// targets to the general parser and the plain hash, which stay here as the
// reference.
package chain
