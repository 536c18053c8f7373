// Package reward holds the rules that turn a scan into a payout, and the
// records those rules keep: batches (their serial ranges and fixed points),
// their scans and redemptions, members and their ledgers, campaigns and
// their counters, guides (and their departures) and their commissions,
// gift coupons, the points mall (its catalog, voucher lists and the
// exchanges of points for its rewards), adjustments, purchase orders from
// other channels, API tokens, idempotent request results, statistics,
// flags for review; and the audit that checks them all.
//
// Rules decide against the store contract (package store) and nothing
// else: every change is a decision run by store.DB.Update against a
// store.Tx (get with a found flag, put, delete, add), so every write of a
// decision lands atomically with the others or not at all, and decisions
// behave as if run one at a time in arrival order. Any backend that passes
// store/storetest can run the same rules; the tests here run on the Pebble
// engine and, with YIMA_TEST_STORE=memory, on an in-memory backend that
// runs every decision twice. The rules' stories are data-driven scripts
// under testdata/rules, each file a test of its own (TestRules), and
// package rewardtest builds the fixtures the tests share. A backend joins
// the tests by name in one place each: the stores the rule tests open
// (fixture_test.go), the crashable disks of the crash test (crash_test.go)
// and the disk faults of the fault test (faults_test.go), which a backend
// without a file system skips.
//
// Decisions are safe to run again: a backend may retry one, so a decision
// is a function of what it reads through its Tx and of the request, builds
// its answer afresh on every run, and leaves engine memory alone until its
// commit (statistics are counted after it; see countStats).
//
// reward knows nothing of HTTP. It reports outcomes a user sees as *Error
// values with a stable Code; package scan maps codes to statuses.
//
// Decisions are functions of (state, request, clock): the clock is
// Options.Now, replaceable in tests.
//
// Engine memory a second node could get wrong. An Engine keeps views that
// are an optimisation valid only while it is its store's single writer:
//
//   - the index of scanned codes (seenIndex, loaded by LoadSeen): it skips
//     the lookup of a code it never saw scanned, so a code another writer
//     redeemed would pay again. Options.NoSeenIndex turns it off; an
//     engine sharing its store must set it. Its bits are set inside
//     decisions, before the commit, because the next decision of the same
//     group must see them; a bit set by a decision that did not commit
//     costs a lookup and is never wrong.
//   - statistics summed in memory and written at most a second later (see
//     countStats): each engine writes only its own sums, by adding them to
//     the stored lines, so several writers add up; a crash loses at most
//     that second, never a payout.
//   - decoded records (frozen): keyed by the very bytes the store returned,
//     so a record written by anyone is decoded afresh. Members a scan
//     wrote are kept the same way (memberCache), keyed by the bytes
//     written, and handed to the next scan as copies.
//   - the brand's settings (brandView), for the tier ladder a scan or an
//     order multiplies by: loaded once outside decisions and replaced by
//     SetBrand after its decision commits, so a scan reads no brand
//     record. An engine sharing its store (Options.NoSeenIndex) keeps it
//     off and reads the record in every decision: another node may change
//     the ladder at any moment, and checking the record's version would
//     cost the same read.
//   - the feed's tail (feedTail), the last number given to an event: found
//     once from the last event's key, then moved by the decisions that
//     number events, which so write no head record. It needs decisions
//     run one at a time and run again, if ever, right after the run
//     thrown away, which the store says by store.Serial: off where the
//     engine shares its store (NoSeenIndex or a NodeID) or the store is
//     not Serial (it decides in lanes), where every decision reads and
//     writes the head record as before (feedtail.go).
//   - the records Status reads on every call (statusRecords): a code's
//     batch, its product's campaign list and those campaigns, kept until a
//     decision writes their keys (update drops them once the store has
//     answered). An engine sharing its store (NoSeenIndex or a NodeID)
//     reads them on every call and keeps only their decoded form, used
//     while the bytes read are the same.
//
// With several nodes on one database (Options.NodeID), a campaign's
// budget and stocks are escrowed in a slice per node (escrow.go), so that
// the nodes' paying scans write no campaign record in common; so are a
// mall reward's stock and voucher list (rewardescrow.go, the same
// mechanism), so that exchanges write no reward record in common. A store's
// single writer has no slices, so its campaign scans do not read the
// escrow pool; an engine sharing its store (Options.NoSeenIndex) reads it
// even without a NodeID of its own, to pay only what the slices do not hold.
// Their decisions write feed events unnumbered under a key of their node,
// and one node, the feed's relay elected with a lease, numbers them into
// the feed in batches of its own (relay.go): the feed's head is not a
// record every decision writes. RunFeedRelay runs a node's part; on one
// node a decision numbers its events itself.
//
// The index of scanned codes is touched inside decisions with no lock: it
// relies on the backend running this engine's decisions one at a time, as
// the Pebble engine's decider and the in-memory backend do. A store that
// decides in several lanes at once (store.Laned: PostgreSQL) runs them
// concurrently, so there the index is off and the decoded records are
// kept under a lock (frozen.go). A scan decides on its code's lane and an
// exchange on its member's, and a node keeps an escrow slice per lane
// (escrow.go), so that the lanes' groups, in flight at once, conflict no
// more than decisions about different codes and members do.
//
// docs/rewards.md states the product rules; docs/durability.md why the
// views are safe to lose.
package reward
