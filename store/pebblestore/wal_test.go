package pebblestore_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// killedStore runs TestWALHelperProcess on a new directory until it has
// acknowledged at least n writes and its newest log holds minLog bytes,
// kills it with SIGKILL, and returns the directory and the keys whose
// writes were acknowledged.
func killedStore(t *testing.T, n int, minLog int64) (string, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWALHelperProcess$")
	cmd.Env = append(os.Environ(), "YIMA_WAL_HELPER_DIR="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if k, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked = append(acked, k)
		}
		if len(acked) >= n && len(acked)%100 == 0 && newestLogSize(dir) >= minLog {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if len(acked) < n {
		t.Fatalf("the helper acknowledged %d writes, want %d", len(acked), n)
	}
	return dir, acked
}

// TestWALHelperProcess writes from eight goroutines, each key in its own
// decision, and prints every key once its write is acknowledged, until it
// is killed.
func TestWALHelperProcess(t *testing.T) {
	dir := os.Getenv("YIMA_WAL_HELPER_DIR")
	if dir == "" {
		t.Skip("runs only as the helper of the WAL damage tests")
	}
	db := pebbletest.OpenDir(t, dir, nil)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				k := fmt.Sprintf("k%d-%07d", w, i)
				if err := db.Update(func(tx store.Tx) error {
					tx.Put([]byte(k), []byte("paid to member "+k))
					return nil
				}); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				mu.Lock()
				fmt.Println("acked", k)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// theLog returns the path of the newest log file in dir, the one being
// written when the store was killed. (Damage to an older one Pebble finds
// by itself: an older log must end cleanly.)
func theLog(t *testing.T, dir string, minSize int64) string {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) == 0 {
		t.Fatal("no log file")
	}
	slices.Sort(logs) // zero-padded numbers
	last := logs[len(logs)-1]
	if fi, err := os.Stat(last); err != nil || fi.Size() < minSize {
		t.Fatalf("the newest log %s holds too little to damage in the middle (%v)", last, err)
	}
	return last
}

func newestLogSize(dir string) int64 {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) == 0 {
		return 0
	}
	slices.Sort(logs)
	fi, err := os.Stat(logs[len(logs)-1])
	if err != nil {
		return 0
	}
	return fi.Size()
}

func missing(t *testing.T, db *pebblestore.DB, keys []string) int {
	t.Helper()
	n := 0
	for _, k := range keys {
		if _, found, err := db.Get([]byte(k)); err != nil {
			t.Fatal(err)
		} else if !found {
			n++
		}
	}
	return n
}

// damageOffset returns where the log at path holds the middle one of the
// acknowledged writes it holds. The damage goes there rather than at half
// the file's size: the helper keeps writing between the last
// acknowledgement read and its kill, and under load that tail can outgrow
// everything the test knows was acknowledged, so damage at half the size
// could miss every known write.
func damageOffset(t *testing.T, path string, acked []string) int64 {
	t.Helper()
	log, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var at []int
	for _, k := range acked {
		if i := bytes.Index(log, []byte("paid to member "+k)); i >= 0 {
			at = append(at, i)
		}
	}
	if len(at) < 100 {
		t.Fatalf("the newest log holds %d acknowledged writes, too few to damage in the middle", len(at))
	}
	slices.Sort(at)
	return int64(at[len(at)/2])
}

type damage struct {
	name   string
	damage func(f *os.File, at int64) error
}

// damages are what a disk or a hand does to a log, at the offset of an
// acknowledged write in the middle of the ones the test knows.
func damages() []damage {
	return []damage{
		{"cut short in the middle", func(f *os.File, at int64) error { return f.Truncate(at) }},
		{"64 flipped bytes", func(f *os.File, at int64) error {
			b := make([]byte, 64)
			if _, err := f.ReadAt(b, at); err != nil {
				return err
			}
			for i := range b {
				b[i] ^= 0xff
			}
			_, err := f.WriteAt(b, at)
			return err
		}},
		{"4 KiB zeroed", func(f *os.File, at int64) error {
			_, err := f.WriteAt(make([]byte, 4096), at)
			return err
		}},
	}
}

// TestDamagedLogRefusesToOpen damages the log of a store killed in the
// middle of a burst of writes, each way a disk or a hand can, and expects
// Open to refuse it: opening would forget writes that clients were told
// about. Accepting the loss then opens what is readable, once.
func TestDamagedLogRefusesToOpen(t *testing.T) {
	for _, d := range damages() {
		t.Run(d.name, func(t *testing.T) { damagedLog(t, d, false) })
	}
}

// TestPebbleFindsDamageFollowedBySyncedRecords: without ACKED (a store
// restored from a backup has none yet), damage inside the log is still
// found when a synced record follows it, by Pebble's synced offsets
// (FormatWALSyncChunks). A log cut short has no such record: only ACKED
// finds that.
func TestPebbleFindsDamageFollowedBySyncedRecords(t *testing.T) {
	for _, d := range damages()[1:] {
		t.Run(d.name, func(t *testing.T) { damagedLog(t, d, true) })
	}
}

func damagedLog(t *testing.T, d damage, removeAcked bool) {
	dir, acked := killedStore(t, 3000, 128<<10)
	path := theLog(t, dir, 64<<10)
	at := damageOffset(t, path, acked)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.damage(f, at); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if removeAcked {
		if err := os.Remove(filepath.Join(dir, "ACKED")); err != nil {
			t.Fatal(err)
		}
	}

	db, err := pebblestore.Open(dir, nil)
	if err == nil {
		lost := missing(t, db, acked)
		db.Close()
		t.Fatalf("a store whose log was damaged (%s) opened, without %d of %d acknowledged writes", d.name, lost, len(acked))
	}
	if !errors.Is(err, pebblestore.ErrDamaged) {
		t.Fatalf("Open: %v, want ErrDamaged", err)
	}
	for _, want := range []string{"backup", "accept"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say how to recover (%q): %v", want, err)
		}
	}

	db, err = pebblestore.Open(dir, &pebblestore.Options{AcceptLoss: true})
	if err != nil {
		t.Fatalf("Open accepting the loss: %v", err)
	}
	if lost := missing(t, db, acked); lost == 0 {
		t.Errorf("accepting the loss lost nothing: the damage did not reach the log")
	}
	if err := db.Update(func(tx store.Tx) error { tx.Put([]byte("after"), []byte("1")); return nil }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = pebblestore.Open(dir, nil)
	if err != nil {
		t.Fatalf("reopening after the loss was accepted: %v", err)
	}
	if _, found, _ := db.Get([]byte("after")); !found {
		t.Error("a write after the loss was accepted is gone")
	}
	db.Close()
}

// TestTornTailStillOpens: a crash can leave a half-written record after
// the last synced one. That is normal: the store opens with every
// acknowledged write.
func TestTornTailStillOpens(t *testing.T) {
	for _, torn := range []bool{false, true} {
		t.Run(fmt.Sprintf("torn=%v", torn), func(t *testing.T) {
			dir, acked := killedStore(t, 1000, 0)
			if torn {
				f, err := os.OpenFile(theLog(t, dir, 0), os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				junk := make([]byte, 3000)
				rand.Read(junk)
				f.Write(junk)
				f.Close()
			}
			db, err := pebblestore.Open(dir, nil)
			if err != nil {
				t.Fatalf("a store killed in the middle of writes did not open: %v", err)
			}
			defer db.Close()
			if lost := missing(t, db, acked); lost > 0 {
				t.Fatalf("%d of %d acknowledged writes are gone after a crash", lost, len(acked))
			}
		})
	}
}
