// Package store is yima's durable state: the only package that opens Pebble.
//
// It offers three things:
//
//   - Update, the single write path. Every change — a redemption, a point
//     spend, a new batch — is a function run by one decider goroutine against
//     a Tx, in arrival order. Its writes join an open Pebble batch that is
//     applied without waiting for the WAL sync; a second goroutine waits for
//     the sync and only then releases the answers of that batch, failures
//     included. Many decisions therefore share one fsync, and no answer rests
//     on a write that a crash could still erase.
//     A decision reads through the decider's cache of recent records, which
//     holds every write of the group being built, so it sees the decisions
//     before it.
//   - Get, Scan and Snapshot, reads that decide nothing, straight from
//     Pebble.
//   - Typed records the package owns: batches of codes and their serial
//     ranges, and API tokens.
//
// A decision function must be a function of what it reads through the Tx:
// it is never retried, but it runs on the decider goroutine, so it must not
// block or do I/O of its own, and values it reads or puts are shared with
// the cache and must not be modified.
//
// When a write or sync fails, Pebble's state can no longer be trusted to
// match the disk: the store fails closed. Every later call returns
// ErrUnavailable and the process should exit so that a restart replays the
// WAL; see docs/durability.md.
package store
