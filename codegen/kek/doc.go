// Package kek seals secrets at rest under a key-encryption key (KEK) that
// only the operator holds.
//
// On a shared database (docs/cluster.md) the signing keys and the pages'
// secret are records like any other, so a copy of the database, a backup
// or a read-only SQL user would hand them out in clear. They are stored
// sealed instead: AES-256-GCM under the KEK, with a fresh random nonce per
// seal and the record's key as associated data, so that a sealed value
// moved under another key does not open. The KEK itself comes from a file
// or the environment (Parse) and is never written to the database.
//
// A wrong KEK and a tampered value fail alike, with ErrOpen: GCM cannot
// tell them apart, and neither may be used.
package kek
