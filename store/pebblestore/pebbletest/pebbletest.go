// Package pebbletest opens the Pebble engine for tests: on an in-memory
// file system, closed when the test ends. It is the one fixture
// constructor that tests across packages share, with the damage they do
// to an engine's files on disk.
package pebbletest

import (
	"os"
	"path/filepath"
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

// Corrupt damages every sstable in dir, an engine's directory on disk, inside
// its first data block, so that reading a record there fails its checksum.
// The engine must be closed, and must have written its log into sstables
// (opening it again does).
func Corrupt(tb testing.TB, dir string) {
	tb.Helper()
	ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(ssts) == 0 {
		tb.Fatal("no sstable written")
	}
	for _, p := range ssts {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			tb.Fatal(err)
		}
		_, err = f.WriteAt([]byte("garbage!"), 64)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// OpenDir opens the engine on the directory dir of the real file system
// with opts (nil for the defaults), for tests of what the engine leaves on
// disk. It is closed at the end of tb unless the test closes it first.
func OpenDir(tb testing.TB, dir string, opts *pebblestore.Options) *pebblestore.DB {
	tb.Helper()
	db, err := pebblestore.Open(dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// OpenTemp opens an empty engine with the defaults in a fresh directory of
// the real file system, and returns it with the directory, for tests that
// then reach into the engine's files.
func OpenTemp(tb testing.TB) (*pebblestore.DB, string) {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "db")
	return OpenDir(tb, dir, nil), dir
}
