package datadir_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/node/datadir"
	"github.com/yima-dev/yima/store"
)

// mustOpen opens the data directory dir, failing the test when it does
// not open.
func mustOpen(t *testing.T, dir string, o datadir.Options) *datadir.Dir {
	t.Helper()
	d, err := datadir.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAdminTokenFileFailsClosed checks that a data directory whose
// admin.token holds nothing usable does not open: with an empty token the
// admin API and the dashboard would take an empty credential.
func TestAdminTokenFileFailsClosed(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"only a newline", "\n"},
		{"empty", ""},
		{"blanks", " \t \n\n"},
		{"too short", "abc\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := datadir.Init(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, datadir.AdminTokenFile), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if tok, err := datadir.AdminToken(dir); err == nil {
				t.Fatalf("AdminToken of %q = %q, want an error", tc.content, tok)
			}
			app, err := datadir.Open(dir, datadir.Options{})
			if err == nil {
				app.Close()
				t.Fatalf("Open with admin.token %q succeeded; want an error at start", tc.content)
			}
			if !strings.Contains(err.Error(), datadir.AdminTokenFile) {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		dir := t.TempDir()
		if err := datadir.Init(dir); err != nil {
			t.Fatal(err)
		}
		// A directory where the file should be cannot be read as one.
		path := filepath.Join(dir, datadir.AdminTokenFile)
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if app, err := datadir.Open(dir, datadir.Options{}); err == nil {
			app.Close()
			t.Fatal("Open with an unreadable admin.token succeeded")
		}
	})
}

// TestMissingKeysBesideBatchesRefusesToStart: a data directory whose
// store holds batches but whose keys.json is gone must not get a new
// keyset, which would make every printed code "not genuine"; Open, yima
// keys and yima verify (Init) refuse and say how to restore it.
func TestMissingKeysBesideBatchesRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	app := mustOpen(t, dir, datadir.Options{})
	if _, err := app.Engine.CreateBatch(reward.BatchSpec{Product: "SKU", Count: 10}); err != nil {
		t.Fatal(err)
	}
	app.Close()
	keys := filepath.Join(dir, datadir.KeysFile)
	if err := os.Remove(keys); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		open func() error
	}{
		{"Open", func() error {
			app, err := datadir.Open(dir, datadir.Options{})
			if err == nil {
				app.Close()
			}
			return err
		}},
		{"Init", func() error { return datadir.Init(dir) }},
	} {
		name, err := tc.name, tc.open()
		if !errors.Is(err, datadir.ErrKeysMissing) {
			t.Errorf("%s without keys.json beside a store with a batch: %v, want ErrKeysMissing", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "backup") {
			t.Errorf("%s: the refusal does not say how to restore the keys: %v", name, err)
		}
		if _, err := os.Stat(keys); err == nil {
			t.Fatalf("%s made a new keyset beside a store whose codes were signed with the lost one", name)
		}
	}
}

// TestMissingKeysBesideAnEmptyStoreMakesNew: a store that never minted a
// batch signed nothing, so a new keyset loses nothing.
func TestMissingKeysBesideAnEmptyStoreMakesNew(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir, datadir.Options{}).Close()
	if err := os.Remove(filepath.Join(dir, datadir.KeysFile)); err != nil {
		t.Fatal(err)
	}
	app, err := datadir.Open(dir, datadir.Options{})
	if err != nil {
		t.Fatalf("a store without batches and without keys.json: %v", err)
	}
	app.Close()
	if _, err := os.Stat(filepath.Join(dir, datadir.KeysFile)); err != nil {
		t.Fatalf("no new keyset: %v", err)
	}
}

// TestOpenRefusesAnotherFormat opens a data directory whose records are of
// a format this yima does not read: Open says so instead of serving it.
func TestOpenRefusesAnotherFormat(t *testing.T) {
	dir := t.TempDir()
	app := mustOpen(t, dir, datadir.Options{})
	if err := app.DB.Update(func(tx store.Tx) error { tx.Put([]byte("meta/format"), []byte("99")); return nil }); err != nil {
		t.Fatal(err)
	}
	app.Close()
	_, err := datadir.Open(dir, datadir.Options{})
	if !errors.Is(err, reward.ErrDataFormat) || !strings.Contains(err.Error(), "format 99") {
		t.Fatalf("opening a directory of format 99: %v", err)
	}
	// Refusing released the directory: a yima of the right format could open it.
	if _, err := datadir.Open(dir, datadir.Options{}); errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("the refused open kept the directory locked: %v", err)
	}
}
