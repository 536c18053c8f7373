// Package storetest is the conformance suite of the store contract: every
// property the rules rely on, as checks any backend runs by passing a
// factory to Run (in the manner of Pebble's vfs and errorfs tests).
//
// The properties: absence is a found flag, not an error; what a read
// returns belongs to the caller; a decision reads
// its own writes and every decision acknowledged before it; concurrent
// decisions serialize; a store that says it is Serial runs its decisions
// one at a time, and a run thrown away again before the next; a refused or panicking decision leaves no trace; a
// decision is atomic (no snapshot sees it by halves); snapshots isolate;
// scans go in key order, forward and reverse, honouring prefix and start;
// Add is a counter that adds; keys read ahead (store.UpdateReading) still
// show the writes of the decisions before; a closed store refuses; and, for a backend
// with a disk, every acknowledged decision survives a crash whole and a
// failed disk fails the store closed without acknowledging anything.
//
// Each property is a func(testing.TB, Backend), so a test can run one
// against a broken backend with a recording TB and see it fail. A backend's
// own tests use the suite's helpers too: Concurrently and Increment for
// decisions from many goroutines, StoreAndSnapshot to read a store and a
// snapshot of it alike.
package storetest
