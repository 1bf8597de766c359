// Package fastpath holds the chain verifier's speed code: what lets
// verify-log outrun a single SHA-256 stream of the same file, and build the
// checkpoint tree (package chain/checkpoint) in the same pass. Nothing here
// decides a finding; package chain keeps the format, the general parser and
// every rule, and the code here only ever says "this line verifies" or
// "ask the general parser".
//
// Every piece has a portable reference it is held to by tests and fuzz
// targets:
//
//   - classify (and its AVX2 kernel) marks quotes and the bytes the fast
//     parser does not take; reference: classifyBlocksGeneric
//     (TestClassifyKernels).
//   - Parser.Record parses a clean line in the canonical layout; reference:
//     the chain's general parser (FuzzFastRecord in package chain).
//   - HexEqual compares a digest with its hex (SSE); reference: hex
//     encoding (TestHexEqual).
//   - SHA256 hashes a record with crypto/sha256 and fewer copies;
//     reference: crypto/sha256's hash.Hash (TestSHA256Entry,
//     FuzzSHA256Entry).
//   - TreeLeaves and TreePairs hash the checkpoint tree's leaves and nodes
//     two at a time with the SHA extensions (tree_amd64.s, written by
//     tree_gen.go, our own generator, and held to what it writes by
//     TestTreeGenerated); reference: TreeLeaf and TreeNode, crypto/sha256
//     (TestTreeLeaves, TestTreePairs, FuzzTreeLeaves).
//   - SHA256Pair hashes two records at once with the same two-message
//     kernel; reference: crypto/sha256 (TestSHA256Pair, FuzzSHA256Pair,
//     and a check against sha256.Sum256 once per process before it is
//     used).
//   - Map maps a large file instead of reading it (Linux, macOS, the BSDs);
//     reference: reading (every corpus test verifies both ways).
//
// The chain's FuzzProcess and FuzzVerify hold the whole of it, line by line
// and report by report, to the general parser with the reference hash.
// Without AVX2 (Available is false) the parser does not run; without the
// SHA extensions the tree is hashed one message at a time; the rest is
// portable Go.
//
// The CPU is asked for AVX2 and the SHA extensions on first use, never in
// the package's initialisation (cpu_amd64.go): CPUID for the features,
// XGETBV for whether the system saves the YMM registers, and GODEBUG's
// cpu.avx2=off, cpu.all=off and the like turn a kernel off as they do for
// golang.org/x/sys/cpu (TestFeaturesAgree holds the two together). So a
// program that links package chain and never verifies, such as brain-run,
// pays nothing for detection; GODEBUG=cpu.avx2=off sends every line to the
// general parser, and cpu.all=off turns every kernel off.
package fastpath
