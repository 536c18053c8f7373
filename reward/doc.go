// Package reward holds the rules that turn a scan into a payout, and the
// records those rules keep: batches' scans and redemptions, members and
// their ledgers, campaigns and their counters, guides (and their
// departures) and their commissions, gift coupons, API tokens, idempotent
// request results, statistics, flags for review; and the audit that checks
// them all.
//
// Rules decide against a small transactional interface (Tx: get, put and
// delete of bytes) inside store.Update, so they run one at a time, in
// arrival order, and every write of a decision lands atomically with the
// others or not at all. Another backend with serializable transactions can
// run the same rules.
//
// reward knows nothing of HTTP. It reports outcomes a user sees as *Error
// values with a stable Code; package scan maps codes to statuses.
//
// Decisions are functions of (state, request, clock): the clock is
// Options.Now, replaceable in tests.
//
// Caveats: an Engine keeps in-memory views that only its decisions touch
// (decoded campaigns and batches, the index of scanned codes, statistics
// not yet written), so there must be one Engine per store; and statistics
// may lag payouts by a second (see countStats). docs/rewards.md states the
// product rules; docs/durability.md why the views are safe to lose.
package reward
