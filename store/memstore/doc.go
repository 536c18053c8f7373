// Package memstore is an in-memory backend of the store contract: a sorted
// map behind one lock, with an optional in-memory disk to crash and break.
//
// It exists for tests. The conformance suite (store/storetest) runs against
// it as against the Pebble engine, and it can be told to break one promise
// of the contract at a time (Options.Flaw), so that a test shows the suite
// catching each. With Options.Retry it runs every decision twice, keeping
// only the second run, as an optimistic backend does after a conflict: the
// rules' tests run over it to show that no decision changes engine memory
// before its commit.
package memstore
