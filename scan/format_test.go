package scan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/store"
)

// TestOpenRefusesAnotherFormat opens a data directory whose records are of
// a format this yima does not read: Open says so instead of serving it.
func TestOpenRefusesAnotherFormat(t *testing.T) {
	dir := t.TempDir()
	app, err := scan.Open(dir, scan.AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.DB.Update(func(tx store.Tx) error { tx.Put([]byte("meta/format"), []byte("99")); return nil }); err != nil {
		t.Fatal(err)
	}
	app.Close()
	_, err = scan.Open(dir, scan.AppOptions{})
	if !errors.Is(err, reward.ErrDataFormat) || !strings.Contains(err.Error(), "format 99") {
		t.Fatalf("opening a directory of format 99: %v", err)
	}
	// Refusing released the directory: a yima of the right format could open it.
	if _, err := scan.Open(dir, scan.AppOptions{}); errors.Is(err, scan.ErrDataLocked) {
		t.Fatalf("the refused open kept the directory locked: %v", err)
	}
}
