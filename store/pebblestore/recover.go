package pebblestore

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/wal"
)

// ErrDamaged is returned by Open when the store's log is damaged before
// its last synced record, or holds fewer writes than the store
// acknowledged: opening it would forget answers clients were given (codes
// paid would pay again). A torn tail, the unsynced end a crash leaves, is
// not damage. Recover by serving a backup; or open with
// Options.AcceptLoss to keep what is readable and lose the rest.
var ErrDamaged = errors.New("store: the log is damaged: writes acknowledged to clients are missing")

// ErrRecovery is returned by Open when replaying the log needed to write
// (its contents go to a table first) and the disk refused: most often it
// is full. Pebble would retry for ever and Open would never return.
var ErrRecovery = errors.New("store: recovering the log failed writing to disk")

// openPebble is pebble.Open, except that a write failing in the
// background while it runs ends it with ErrRecovery. Pebble's Open waits
// for the flush of the replayed log and retries a failing flush at once,
// for ever; the listener parks that flush for good (the process is about
// to exit), and Open's own goroutine with it.
func (db *DB) openPebble(dir string, popts *pebble.Options) (*pebble.DB, error) {
	db.opening.Store(true)
	defer db.opening.Store(false)
	type result struct {
		pdb *pebble.DB
		err error
	}
	done := make(chan result, 1)
	go func() {
		pdb, err := pebble.Open(dir, popts)
		done <- result{pdb, err}
	}()
	select {
	case r := <-done:
		return r.pdb, r.err
	case err := <-db.openFailed:
		msg := "free space on its volume"
		if !errors.Is(err, syscall.ENOSPC) {
			msg = "check the disk"
		}
		return nil, fmt.Errorf("%w in %s: %v; %s and start again (docs/durability.md says how much a data directory needs)", ErrRecovery, dir, err, msg)
	}
}

// backgroundError is Pebble's report of a failed flush or compaction.
func (db *DB) backgroundError(err error) {
	if db.opening.Load() {
		select {
		case db.openFailed <- err:
		default:
		}
		select {} // park Pebble's retry loop; see openPebble
	}
	if pebble.IsCorruptionError(err) {
		db.opts.Logger.Error("stored data is corrupt; restore a backup", "err", err)
		return
	}
	// A table that cannot be written leaves memtables to pile up until
	// every write stalls: fail closed now, as for the log.
	db.opts.Logger.Error("storage failed in the background", "err", err)
	db.fail(fmt.Errorf("pebble: background write: %w", err))
}

// damaged is the error Open returns for a damaged log: what happened and
// what the operator can do.
func damaged(dir, what string) error {
	return fmt.Errorf("%w in %s: %s. Starting now would forget payouts and answers already given. "+
		"Restore the latest backup (serve the directory yima backup wrote) or, to start with what is readable and lose the rest, "+
		"open it once accepting the loss (yima serve --accept-data-loss)", ErrDamaged, dir, what)
}

// repairLogs cuts every log file in dir at its first unreadable record, so
// that Pebble replays what precedes the damage. Each file it cuts is first
// copied whole into a new directory damaged-<time> inside dir, which
// Pebble ignores. It returns the names of the files it cut.
func repairLogs(fs vfs.FS, dir string) ([]string, error) {
	logs, err := wal.Scan(wal.Dir{FS: fs, Dirname: dir})
	if err != nil {
		return nil, fmt.Errorf("store: listing logs: %w", err)
	}
	var cut []string
	keep := fs.PathJoin(dir, "damaged-"+time.Now().UTC().Format("20060102T150405Z"))
	for _, ll := range logs {
		file, off, bad := firstBadRecord(ll)
		if !bad {
			continue
		}
		if err := fs.MkdirAll(keep, 0o700); err != nil {
			return cut, err
		}
		kept := fs.PathJoin(keep, fs.PathBase(file))
		if err := fs.Rename(file, kept); err != nil {
			return cut, err
		}
		if err := copyPrefix(fs, kept, file, off); err != nil {
			return cut, err
		}
		cut = append(cut, fmt.Sprintf("%s at byte %d (the whole file is kept in %s)", fs.PathBase(file), off, keep))
	}
	if d, err := fs.OpenDir(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return cut, err
		}
	}
	return cut, nil
}

// firstBadRecord reads a log to its end and reports the file and offset
// of the first record that cannot be read, if any.
func firstBadRecord(ll wal.LogicalLog) (file string, off int64, bad bool) {
	r := ll.OpenForRead()
	defer r.Close()
	for {
		rec, o, err := r.NextRecord()
		if err == nil {
			_, err = io.Copy(io.Discard, rec)
		}
		if errors.Is(err, io.EOF) {
			return "", 0, false
		}
		if err != nil {
			return o.PhysicalFile, o.Physical, o.PhysicalFile != ""
		}
	}
}

// copyPrefix writes the first n bytes of src to a new file dst and syncs
// it.
func copyPrefix(fs vfs.FS, src, dst string, n int64) error {
	in, err := fs.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fs.Create(dst, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.LimitReader(in, n)); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
