// Package node puts one yima together: it opens the data directory (its
// keyset, admin token, Pebble store and the reward engine over it) and
// starts scan's HTTP service on it, as one Node with Open, Run and Close
// (the shape of benbjohnson/wtf's cmd/wtfd Main). `yima serve`, bench's
// in-process target and tests run the same node, tests on 127.0.0.1:0.
//
// It lives under scan because a node is scan's service plus what it
// serves: a newcomer reading the folders finds the flow as cmd/yima (the
// CLI) → scan/node (wiring) → scan (HTTP) → reward (rules) → store. The
// wiring's one subtle duty is a storage failure reported from the store's
// own goroutines while the node is still being built: Node keeps it and
// hands it to the server, which stops so that a restart replays the log.
package node
