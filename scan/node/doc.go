// Package node puts one yima together: it opens the data directory with
// package scan/node/datadir (its keyset, admin token, Pebble store and the
// reward engine over it) and starts scan's HTTP service on it, as one Node
// with Open, Run and Close (the shape of benbjohnson/wtf's cmd/wtfd Main).
// `yima serve`, bench's in-process target and tests run the same node,
// tests on 127.0.0.1:0. Local gives the CLI the admin's commands on a data
// directory it opened itself.
//
// It lives under scan because a node is scan's service plus what it
// serves: a newcomer reading the folders finds the flow as cmd/yima (the
// CLI) → scan/node (wiring; datadir opens the files and the store) → scan
// (HTTP) → reward (rules) → store (the contract; store/pebblestore the
// engine, which only this composition root imports). The wiring's subtle
// duties: a storage failure reported from the store's own goroutines while
// the node is still being built is kept and handed to the server, which
// stops so that a restart replays the log; the engine's events reach the
// server's metrics once there is a server; Close stops the server before
// it closes the store.
package node
