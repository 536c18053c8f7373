// Package datadir opens a yima data directory: keys.json (the keyset that
// signs and verifies codes), admin.token (the admin's secret) and db/ (the
// Pebble store), and puts the reward engine over them. It makes a fresh
// keyset and admin token on first use, and refuses to make a keyset beside
// a store whose codes were signed with a lost one.
//
// It is half of the composition root, under scan/node: the node serves an
// open Dir through scan's HTTP service, and the CLI's commands that work on
// the directory itself (keys, verify, the admin commands without --server)
// open one here. With scan/node it is the only code that imports the Pebble
// engine (store/pebblestore); everything above it sees the reward engine,
// everything below it the store contract.
//
// A Dir also reloads a keyset file changed on disk (yima keys) and writes
// backups: a checkpoint of the store beside copies of the two files.
package datadir
