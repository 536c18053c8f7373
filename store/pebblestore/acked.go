package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Pebble tells a torn tail (the unsynced end of the log, cut by a crash)
// from damage inside the log only when a later synced record survives the
// damage. A log cut short, or damaged at its very end, looks like a torn
// tail, and Pebble would open without the writes it held: codes already
// paid would pay again. So the store keeps its own count of what it
// acknowledged, outside the log:
//
//   - every group's batch carries commitKey, the group's number, so the
//     store knows after a restart the last group the log replayed;
//   - once a group's sync is confirmed (and its answers released), a
//     background goroutine writes the number to the file ACKED and syncs
//     it, at most every ackInterval, off the answer path;
//   - Open refuses a store whose log replays fewer groups than ACKED
//     records (ErrDamaged).
//
// ACKED lags the answers by at most ackInterval and one sync: damage that
// loses only the answers of that last moment cannot be told from a crash.
const (
	ackedName   = "ACKED"
	ackInterval = 10 * time.Millisecond
)

// commitKey holds the number of the last group written. It sorts before
// every record of the rules, whose keys are printable.
var commitKey = []byte("\x00pebblestore/commit")

// ackedMagic marks the file's format; a torn or foreign file fails it.
const ackedMagic = 0x59414b31 // "YAK1"

func encodeAcked(seq uint64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), seq)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return binary.BigEndian.AppendUint32(b, ackedMagic)
}

// readAcked returns the number ACKED records, 0 when there is no file (a
// new store, one restored from a checkpoint, or one written before ACKED
// existed).
func readAcked(fs vfs.FS, dir string) (uint64, error) {
	path := fs.PathJoin(dir, ackedName)
	f, err := fs.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	var b [16]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return 0, fmt.Errorf("%s is damaged: %w", path, err)
	}
	seq := binary.BigEndian.Uint64(b[:8])
	if binary.BigEndian.Uint32(b[12:]) != ackedMagic || binary.BigEndian.Uint32(b[8:12]) != crc32.ChecksumIEEE(b[:8]) {
		return 0, fmt.Errorf("%s is damaged: its checksum fails", path)
	}
	return seq, nil
}

// ackWriter keeps ACKED up to date with the last group whose sync was
// confirmed.
type ackWriter struct {
	f       vfs.File
	written uint64
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func openAckWriter(fs vfs.FS, dir string, seq uint64) (*ackWriter, error) {
	path := fs.PathJoin(dir, ackedName)
	f, err := fs.OpenReadWrite(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	w := &ackWriter{f: f, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := w.write(seq); err != nil {
		f.Close()
		return nil, err
	}
	// A new file's name must survive a crash too.
	if d, err := fs.OpenDir(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("store: syncing %s: %w", dir, err)
		}
	}
	return w, nil
}

// write records seq and syncs it. 16 bytes at offset 0 lie in one sector,
// which a disk writes whole.
func (w *ackWriter) write(seq uint64) error {
	if _, err := w.f.WriteAt(encodeAcked(seq), 0); err != nil {
		return fmt.Errorf("store: writing %s: %w", ackedName, err)
	}
	if err := w.f.SyncData(); err != nil {
		return fmt.Errorf("store: syncing %s: %w", ackedName, err)
	}
	w.written = seq
	return nil
}

// notify tells the writer that a group's sync was confirmed. It never
// blocks the releaser.
func (w *ackWriter) notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// recordAcks writes the last synced group to ACKED whenever it moved, at
// most every ackInterval, until stop; then once more, unless the store
// failed.
func (db *DB) recordAcks(w *ackWriter) {
	defer close(w.done)
	defer w.f.Close()
	for {
		select {
		case <-w.wake:
		case <-w.stop:
		}
		stopping := isClosed(w.stop)
		if s := db.synced.Load(); s > w.written && !db.failure.Failed() {
			if err := w.write(s); err != nil {
				// A disk that cannot sync this file cannot be trusted
				// with the log either.
				db.fail(err)
			}
		}
		if stopping {
			return
		}
		// Bound the rate of this file's syncs.
		select {
		case <-time.After(ackInterval):
		case <-w.stop:
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
