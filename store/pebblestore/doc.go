// Package pebblestore is the Pebble engine behind the store contract
// (store.DB), for one node with its data on a local disk. Only the
// composition root opens it; the rules see store.DB.
//
//   - Update, the single write path. Every decision is a function run by
//     one decider goroutine against a Tx, in arrival order, exactly once.
//     Its writes join an open Pebble batch that is applied without waiting
//     for the WAL sync; a second goroutine waits for the sync and only then
//     releases the answers of that batch, failures included. Many decisions
//     therefore share one fsync, and no answer rests on a write that a
//     crash could still erase. A decision reads through the decider's cache
//     of recent records, which holds every write of the group being built,
//     so it sees the decisions before it. Add is a read and a write: with
//     one decider there is nothing to conflict with.
//   - Get, Scan, ScanReverse and Snapshot, reads that decide nothing,
//     straight from Pebble; Checkpoint, a consistent copy for backups.
//
// A decision runs on the decider goroutine, so it must not block or do I/O
// of its own, and values it reads or puts are shared with the cache and
// must not be modified.
//
// When a write or sync fails, Pebble's state can no longer be trusted to
// match the disk: the store fails closed. Every later call returns
// store.ErrUnavailable and the process should exit so that a restart
// replays the WAL; see docs/durability.md. A failed flush or compaction
// fails it too. A checksum failure does not: the reads and decisions that
// meet it return store.ErrCorrupt, and the rest goes on.
//
// Open guards the directory and what it acknowledged:
//
//   - an flock on the directory itself keeps a second process out, even if
//     Pebble's LOCK file is deleted;
//   - a log damaged before its last synced record, or holding fewer groups
//     than the file ACKED says were acknowledged, is refused (ErrDamaged)
//     unless Options.AcceptLoss; a torn tail is not damage (acked.go,
//     recover.go);
//   - a restart whose recovery cannot write (a full disk) returns
//     ErrRecovery instead of waiting for ever.
package pebblestore
