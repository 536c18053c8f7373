// Package codegen defines the yima code: its layout, its canonical text form,
// its signature, and the keys that sign it.
//
// A code carries a version, a key id, a batch id, a serial within the batch
// and an 80-bit truncated tag over those fields: AES-128-CMAC in version 2,
// which new batches use, HMAC-SHA256 in version 1, which keeps verifying.
// Verification is pure CPU: it needs the keyset and nothing else, so a
// forged code is refused before any storage is touched, and costs one AES
// block (version 2) or two SHA-256 blocks (version 1).
//
// The package does no I/O on the scan path. It reads and writes the keyset
// file (LoadKeyset, Keyset.Save) and nothing else. It knows nothing of
// batches' records or of storage. Writing codes out for the factory (text
// and CSV files, QR and DataMatrix images, PDF label sheets) is package
// codegen/printing's job: the rules import codegen to verify a code, and
// printing's image and PDF libraries stay out of them.
//
// Every consumer of a code must use its canonical form (Parsed.String, or the
// Canonical field of a parsed code): one code spelled two ways — lower case,
// O for 0, a hyphen — is one code. docs/code-format.md specifies the format
// for other implementations; testdata/vectors.json and vectors-v2.json pin it.
package codegen
