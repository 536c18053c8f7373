// Package reward holds the rules that turn a scan into a payout, and the
// records those rules keep: redemptions, members and their ledgers, scan
// counts, idempotent request results.
//
// Rules decide against a small transactional interface (Tx: get and put of
// bytes) inside store.Update, so they run one at a time, in arrival order,
// and every write of a decision lands atomically with the others or not at
// all. Another backend with serializable transactions can run the same rules.
//
// reward knows nothing of HTTP. It reports outcomes a user sees as *Error
// values with a stable Code; package scan maps codes to statuses.
//
// Decisions are functions of (state, request, clock): the clock is
// Engine.Now, replaceable in tests.
package reward
