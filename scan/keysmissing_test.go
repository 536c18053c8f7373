package scan_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// TestMissingKeysBesideBatchesRefusesToStart: a data directory whose
// store holds batches but whose keys.json is gone must not get a new
// keyset, which would make every printed code "not genuine"; Open, yima
// keys and yima verify (Init) refuse and say how to restore it.
func TestMissingKeysBesideBatchesRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	app, err := scan.Open(dir, scan.AppOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Engine.CreateBatch(reward.BatchSpec{Product: "SKU", Count: 10}); err != nil {
		t.Fatal(err)
	}
	app.Close()
	keys := filepath.Join(dir, scan.KeysFile)
	if err := os.Remove(keys); err != nil {
		t.Fatal(err)
	}

	for name, open := range map[string]func() error{
		"Open": func() error {
			app, err := scan.Open(dir, scan.AppOptions{Logger: quietLogger()})
			if err == nil {
				app.Close()
			}
			return err
		},
		"Init": func() error { return scan.Init(dir) },
	} {
		err := open()
		if !errors.Is(err, scan.ErrKeysMissing) {
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
	app, err := scan.Open(dir, scan.AppOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	app.Close()
	if err := os.Remove(filepath.Join(dir, scan.KeysFile)); err != nil {
		t.Fatal(err)
	}
	app, err = scan.Open(dir, scan.AppOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatalf("a store without batches and without keys.json: %v", err)
	}
	app.Close()
	if _, err := os.Stat(filepath.Join(dir, scan.KeysFile)); err != nil {
		t.Fatalf("no new keyset: %v", err)
	}
}
