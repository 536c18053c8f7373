package pebblestore_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yima-dev/yima/store/pebblestore"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// TestDeletedLockFileKeepsASecondProcessOut: with Pebble's LOCK file
// deleted under a running store, a second process must still be refused;
// two processes on one directory would both pay the same code.
func TestDeletedLockFileKeepsASecondProcessOut(t *testing.T) {
	_, dir := pebbletest.OpenTemp(t)
	if err := os.Remove(filepath.Join(dir, "LOCK")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "YIMA_LOCK_HELPER_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "refused: ") || !strings.Contains(string(out), pebblestore.ErrLocked.Error()) {
		t.Fatalf("a second process opened the directory whose LOCK file was deleted:\n%s", out)
	}
}

// TestLockHelperProcess is the second process of the test above.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("YIMA_LOCK_HELPER_DIR")
	if dir == "" {
		t.Skip("runs only as the helper of TestDeletedLockFileKeepsASecondProcessOut")
	}
	db, err := pebblestore.Open(dir, nil)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	db.Close()
	fmt.Println("opened")
}

// TestSecondOpenWithoutLockFile: the same holds for a second open in one
// process.
func TestSecondOpenWithoutLockFile(t *testing.T) {
	db, dir := pebbletest.OpenTemp(t)
	if err := os.Remove(filepath.Join(dir, "LOCK")); err != nil {
		t.Fatal(err)
	}
	if db2, err := pebblestore.Open(dir, nil); !errors.Is(err, pebblestore.ErrLocked) {
		if err == nil {
			db2.Close()
		}
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := pebblestore.Open(dir, nil)
	if err != nil {
		t.Fatalf("open after the holder closed: %v", err)
	}
	db.Close()
}
