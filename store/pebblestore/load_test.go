package pebblestore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// TestLoaderIngestsRuns: two runs over disjoint prefixes and a third over
// keys between the first run's, written concurrently with decisions,
// become readable at once, through the decider too, which had cached one of
// the keys as absent; a decision after the load sees the loaded records.
func TestLoaderIngestsRuns(t *testing.T) {
	dir := t.TempDir()
	db := pebbletest.OpenDir(t, dir, nil)
	// The decider caches a's 0002 as absent.
	if err := db.Update(func(tx store.Tx) error {
		_, found, err := tx.Get([]byte("a/0002"))
		if found {
			t.Error("a/0002 found before the load")
		}
		tx.Put([]byte("x"), []byte("before"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	l, err := db.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	for i, prefix := range []string{"a/", "b/"} {
		r, err := l.Run()
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for n := 0; n < 1000; n += 2 {
				if err := r.Put(fmt.Appendf(nil, "%s%04d", prefix, n+i), []byte(prefix)); err != nil {
					t.Error(err)
				}
			}
			if err := r.Close(); err != nil {
				t.Error(err)
			}
		}()
		go func() { // decisions go on meanwhile
			defer wg.Done()
			for n := range 20 {
				if err := db.Update(func(tx store.Tx) error { tx.Put(fmt.Appendf(nil, "c/%d/%d", i, n), nil); return nil }); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// A run over keys between a's: ingested in a step of its own.
	r, _ := l.Run()
	for n := 1; n < 1000; n += 2 {
		if err := r.Put(fmt.Appendf(nil, "a/%04d", n), []byte("odd")); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Ingest(func(tx store.Tx) error {
		v, _, err := tx.Get([]byte("x"))
		if string(v) != "before" {
			return fmt.Errorf("guard read %q", v)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var loaded int
	db.Scan([]byte("a/"), nil, func(k, v []byte) bool { loaded++; return true })
	if loaded != 1000 {
		t.Errorf("%d records under a/, want 1000", loaded)
	}
	if v, found, _ := db.Get([]byte("b/0999")); !found || string(v) != "b/" {
		t.Errorf("b/0999 = %q, %v", v, found)
	}
	if err := db.Update(func(tx store.Tx) error {
		if v, found, _ := tx.Get([]byte("a/0002")); !found || string(v) != "a/" {
			return fmt.Errorf("a decision after the load reads a/0002 = %q, %v", v, found)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if names, _ := os.ReadDir(dir); len(names) > 0 {
		for _, n := range names {
			if strings.HasPrefix(n.Name(), "ingest-") {
				t.Errorf("the loader left %s", n.Name())
			}
		}
	}
}

// TestLoaderRefusals: keys out of order end a run with an error, and a
// guard's refusal leaves the store without the records.
func TestLoaderRefusals(t *testing.T) {
	db := MustOpen(t)
	l, err := db.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r, _ := l.Run()
	r.Put([]byte("k/2"), []byte("v"))
	if err := r.Put([]byte("k/1"), []byte("v")); err == nil {
		t.Fatal("a key before the last was taken")
	}
	if err := r.Close(); err == nil {
		t.Fatal("a run that failed closed without its error")
	}
	r, _ = l.Run()
	r.Put([]byte("m/1"), []byte("v"))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("the store changed")
	if err := l.Ingest(func(store.Tx) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("Ingest with a refusing guard: %v", err)
	}
	if _, found, _ := db.Get([]byte("m/1")); found {
		t.Fatal("a refused load is in the store")
	}
	if err := l.Ingest(func(tx store.Tx) error { tx.Put([]byte("z"), nil); return nil }); err == nil {
		t.Fatal("a guard that writes was allowed")
	}
	// The store decides on as before.
	if err := db.Update(func(tx store.Tx) error { tx.Put([]byte("y"), []byte("1")); return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRemovesLeftLoads: a crash during a load leaves its files; they
// were never part of the store, and Open removes them.
func TestOpenRemovesLeftLoads(t *testing.T) {
	dir := t.TempDir()
	pebbletest.OpenDir(t, dir, nil).Close()
	left := filepath.Join(dir, "ingest-0123456789ab")
	if err := os.MkdirAll(left, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(left, "000001.sst"), []byte("half"), 0o600)
	pebbletest.OpenDir(t, dir, nil)
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("%s is still there: %v", left, err)
	}
}
