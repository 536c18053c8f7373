// Package pgstore is the PostgreSQL backend of the store contract
// (store.DB), for several yima nodes sharing one database. Only the
// composition root opens it; the rules see store.DB. The SQL it sends stays
// within what CockroachDB also accepts (docs/cluster.md lists every
// statement and why).
//
//   - Records live in one table, yima_records: a bytea key, and the value
//     either as bytea (v) or, when it is 8 bytes long, as the bigint (n) that
//     a counter's encoding is (store.Counter), so that Tx.Add can be a blind
//     `n = n + delta` that reads nothing. A flag j marks values that are JSON
//     objects or arrays, and the view yima_json shows those as jsonb, so the
//     records stay readable by SQL.
//   - Update, the single write path. A node decides in lanes
//     (Options.Lanes, store.Laned): each lane's decider goroutine runs the
//     decisions sent to it in arrival order, in groups that share one
//     SERIALIZABLE transaction: reads go to the database through the
//     group's own writes, writes are held in memory and sent in three
//     statements at the end, with a fresh commit id inserted into
//     yima_commits and, unless a blind add must first show that it met a
//     counter, COMMIT: one round trip. Answers are released only after
//     COMMIT returns. A lane holds one group at a time, on a connection of
//     its own; the lanes' groups are in flight together, so that while
//     one waits for COMMIT's flush to disk the others decide, and they
//     conflict with each other as different nodes' groups do. A decision
//     joins only a group whose transaction has not begun, in whichever
//     lane, so it sees every commit answered before it was asked. Stats
//     counts groups, conflicts and the most groups in flight at once.
//   - Reads ahead (store.Prefetcher). Each round trip costs a decider as
//     much as a decision's work, so the keys the group's decisions name
//     through UpdateReading are read in one statement before they run
//     (BEGIN goes with the group's first statement, whatever it is); the
//     group's writes still come first, so each decision sees what Update
//     would show it. A decision that gave hints and reads a key they did
//     not name does not stop the group for it: that run reads the key as
//     absent, goes on, and is discarded; the keys the whole pass missed
//     are read in one statement and the missing decisions run again (at
//     most three passes; store.Hints allows such runs). RoundTrips counts
//     the deciders' round trips.
//   - Claims (store.Claimer). The keys a decision will write are read in
//     the same round trip by taking them for writing (INSERT ... ON
//     CONFLICT DO UPDATE ... RETURNING, a placeholder row for an absent
//     key, removed with the group's writes unless a decision wrote it):
//     no predicate lock, so that a fresh code's absent records do not
//     conflict with other nodes inserting their neighbours' (docs/cluster.md,
//     "What two nodes' groups shared"). Conflicts counts the groups
//     PostgreSQL refused.
//   - Retries. A serialization failure or deadlock (SQLSTATE 40001, 40P01),
//     or a connection lost before COMMIT, runs the whole group again from
//     its first decision (decisions may run more than once, see
//     store.DB.Update). When the connection drops during COMMIT, the outcome
//     is unknown: the lane inserts the commit id itself, marked aborted.
//     That insert waits for the lost transaction to end, and then either
//     finds its row (it committed: the answers stand) or fences it for ever
//     (it did not: the group runs again). No answer is given twice, none
//     before its COMMIT. A write refused as read-only (SQLSTATE 25006: the
//     server was demoted by a failover) drops the pool's connections and
//     runs the group again on a new one, which a multi-host URL with
//     target_session_attrs=read-write opens on the new primary.
//   - Get, Scan, ScanReverse outside a decision read committed data; a
//     scan pages through one REPEATABLE READ READ ONLY transaction, and
//     Snapshot is such a transaction held open.
//
// The schema is yima's: created and raised by Migrate (`yima
// migrate-schema`), never by Open, which refuses a database without it, one
// written by a newer yima, and a read-only server (a standby).
//
// When the database stays unreachable longer than Options.RetryFor, or a
// commit's outcome cannot be resolved, the store fails closed like the
// Pebble engine: every later call returns store.ErrUnavailable, and the
// process restarts.
package pgstore
