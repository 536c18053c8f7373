// Package store is the contract between yima's rules and its storage: what
// a backend must offer and promise, as interfaces, with no engine behind
// them. Package reward decides against it and nothing else; the Pebble
// engine (store/pebblestore) satisfies it, and the conformance suite
// (store/storetest) holds every backend to it.
//
// The contract:
//
//   - DB.Update is the single write path. Every change — a redemption, a
//     point spend, a new batch — is a decision: a function run against a Tx
//     whose writes land together, and only if it returns nil. Decisions
//     behave as if run one at a time: each sees every decision committed
//     before it and its own writes, never a refused one's. Update returns
//     once the writes are durable, or once it is certain they were not made.
//   - Tx.Get reports absence as found == false, not as an error, so a
//     backend needs no sentinel of ours to say "no such key".
//   - Tx.Add adds to a counter without reading it, for a backend whose
//     transactions would otherwise conflict on every hot counter.
//   - A backend whose reads cross a network may be a Prefetcher: told by
//     UpdateReading which keys a decision will read, it reads those of a
//     whole group of decisions in one round trip, inside the decisions'
//     transaction, so that what each decision sees is unchanged.
//   - A Prefetcher whose transactions track reads coarsely (PostgreSQL's
//     predicate locks on index pages) may be a Claimer: told by
//     UpdateClaiming which of a decision's keys it will write, it takes
//     those for writing instead of reading them, so that nodes writing
//     neighbouring keys do not conflict. A claimed key is one no decision
//     ever deletes.
//   - A backend whose commits wait on a network may be Laned: it decides
//     in several lanes at once, each committing its own groups, and the
//     rules send decisions that write the same records to the same lane.
//   - DB.Snapshot is a consistent view for reads that span many records
//     while decisions go on (the audit, rebuilding the index of scanned
//     codes). It is part of the contract: no reader finds it by assertion.
//   - Errors: ErrUnavailable (storage failed and the backend fails closed),
//     ErrClosed, ErrConflict (an optimistic backend gave up; nothing was
//     written), ErrDecisionPanicked. Anything else a decision returns is
//     its own and passes through unchanged. A backend that fails closed
//     keeps its first failure in a Failure, which answers every later call.
//
// A backend may run a decision more than once (see DB.Update), so a
// decision must change nothing outside its Tx: memory its caller keeps is
// updated after Update returns nil.
package store
