// Package pebbletest opens the Pebble engine for tests: on an in-memory
// file system, closed when the test ends. It is the one fixture
// constructor that tests across packages share.
package pebbletest

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/yima-dev/yima/store/pebblestore"
)

// Open opens an empty engine on a fresh in-memory file system with opts
// (nil for the defaults; opts.FS is replaced), closed at the end of tb.
func Open(tb testing.TB, opts *pebblestore.Options) *pebblestore.DB {
	tb.Helper()
	var o pebblestore.Options
	if opts != nil {
		o = *opts
	}
	o.FS = vfs.NewMem()
	db, err := pebblestore.Open("db", &o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
