// Package codegen defines the yima code: its layout, its canonical text form,
// its signature, and the keys that sign it.
//
// A code carries a version, a key id, a batch id, a serial within the batch
// and an 80-bit truncated HMAC-SHA256 tag over those fields. Verification is
// pure CPU: it needs the keyset and nothing else, so a forged code is refused
// before any storage is touched, and costs one HMAC.
//
// The package does no I/O on the hot path. The only file it knows is the
// keyset file (LoadKeyset, Keyset.Save), read when a program starts.
//
// Every consumer of a code must use its canonical form (Code.String, or the
// Canonical field of a parsed code): one code spelled two ways — lower case,
// O for 0, a hyphen — is one code. docs/code-format.md specifies the format
// for other implementations; testdata/vectors.json pins it.
package codegen
