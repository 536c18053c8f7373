package pebblestore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// fullFS refuses to create tables with ENOSPC once full is set, as a full
// disk does.
type fullFS struct {
	vfs.FS
	full atomic.Bool
}

func (fs *fullFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	if fs.full.Load() && strings.HasSuffix(name, ".sst") {
		return nil, &os.PathError{Op: "create", Path: name, Err: syscall.ENOSPC}
	}
	return fs.FS.Create(name, c)
}

func writeSome(t *testing.T, db *pebblestore.DB, n int) {
	t.Helper()
	for i := range n {
		if err := db.Update(func(tx store.Tx) error {
			tx.Put(fmt.Appendf(nil, "k%06d", i), make([]byte, 100))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenOnAFullDiskFails: reopening a store whose log must be written to
// a table first, on a disk that refuses the table, returns an error that
// says so. Pebble alone retries the flush for ever and Open never returns.
func TestOpenOnAFullDiskFails(t *testing.T) {
	fs := &fullFS{FS: vfs.NewMem()}
	db, err := pebblestore.Open("db", &pebblestore.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	writeSome(t, db, 100)
	db.Close()

	fs.full.Store(true)
	type result struct {
		db  *pebblestore.DB
		err error
	}
	done := make(chan result, 1)
	go func() {
		db, err := pebblestore.Open("db", &pebblestore.Options{FS: fs})
		done <- result{db, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			r.db.Close()
			t.Fatal("Open succeeded on a disk that refuses every table")
		}
		if !errors.Is(r.err, pebblestore.ErrRecovery) || !strings.Contains(r.err.Error(), "free space") {
			t.Fatalf("Open: %v, want ErrRecovery saying to free space", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open on a full disk has not returned after 10 s: a restarted server would hang for ever")
	}
}

// TestFullDiskWhileServingFailsClosed: a table that cannot be written
// while serving fails the store, instead of stalling every write once the
// memtables fill.
func TestFullDiskWhileServingFailsClosed(t *testing.T) {
	fs := &fullFS{FS: vfs.NewMem()}
	var failed atomic.Bool
	db, err := pebblestore.Open("db", &pebblestore.Options{FS: fs, MemTableSize: 1 << 20, OnFail: func(error) { failed.Store(true) }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fs.full.Store(true)
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			err := db.Update(func(tx store.Tx) error {
				tx.Put(fmt.Appendf(nil, "k%08d", i), make([]byte, 1000))
				return nil
			})
			if err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		for i := 0; i < 100 && !failed.Load(); i++ {
			time.Sleep(10 * time.Millisecond) // OnFail runs in its own goroutine
		}
		if !errors.Is(err, store.ErrUnavailable) || !failed.Load() {
			t.Fatalf("writes on a full disk ended with %v (OnFail called: %v), want ErrUnavailable", err, failed.Load())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("writes on a full disk neither failed nor finished in 20 s: they stall")
	}
}

// TestLogPreallocationIsSmall: Pebble preallocates a WAL of 110% of the
// memtable (70 MiB by default), which alone fills a small volume; the
// engine keeps it to a few MiB.
func TestLogPreallocationIsSmall(t *testing.T) {
	db, dir := pebbletest.OpenTemp(t)
	writeSome(t, db, 10)
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var allocated int64
	for _, p := range logs {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			allocated += st.Blocks * 512
		}
	}
	if allocated > 8<<20 {
		t.Fatalf("a store with 10 records has %d MiB allocated to its log", allocated>>20)
	}
}
