package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/yima-dev/yima/store"
)

// An outage is a time the database does not answer: a failover whose
// promotion takes a while, a restart. The store does not fail closed for
// it. The first call that meets it starts one probe, which asks the
// database whether it takes writes, with backoff, until it does; calls
// meanwhile wait for it for up to RetryFor from the outage's start, then
// are refused with store.ErrBusy before they do anything, so that a
// node answers 503 (with Retry-After) and its health check says it is
// not ready until the database is back. A decision already under way
// when the outage began waits until its outcome is known: answered only
// once it did, or surely did not, commit.
type outage struct {
	since time.Time
	cause error
	// up is closed when the database answers again (or the store is
	// closed).
	up chan struct{}
}

// probeLogEvery bounds the log of a long outage: its start, its end, and
// a line this often between.
const probeLogEvery = 30 * time.Second

// unreachable reports whether err is the database not answering, or no
// longer the primary, rather than refusing a statement for a reason of its
// own: a connection that failed, a server shutting down (SQLSTATE class
// 57, 08, 53), a demoted primary (25006).
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return slices.Contains(transient, pgErr.Code[:2]) || pgErr.Code == "25006"
	}
	return !errors.Is(err, store.ErrClosed)
}

// markDown begins an outage caused by err, unless one is under way, and
// starts its probe.
func (db *DB) markDown(err error) {
	db.downMu.Lock()
	defer db.downMu.Unlock()
	if db.down.Load() != nil || db.closed.Load() {
		return
	}
	o := &outage{since: time.Now(), cause: err, up: make(chan struct{})}
	db.down.Store(o)
	db.opts.Logger.Warn("the database does not answer (a failover?); calls wait for it, then are refused as busy until it is back", "err", err)
	db.probing.Add(1)
	go db.probe(o)
}

// endOutage ends the outage under way, if any: its waiting calls go on.
func (db *DB) endOutage() {
	db.downMu.Lock()
	defer db.downMu.Unlock()
	if o := db.down.Load(); o != nil {
		db.down.Store(nil)
		close(o.up)
	}
}

// probe asks the database, with backoff, whether it takes writes, until it
// does or the store is closed, then ends the outage.
func (db *DB) probe(o *outage) {
	defer db.probing.Done()
	wait, tries, logged := 50*time.Millisecond, 0, time.Now()
	for !db.closed.Load() {
		time.Sleep(wait)
		err := db.ping()
		tries++
		if err == nil {
			db.opts.Logger.Info("the database answers again; serving", "after", time.Since(o.since).Round(time.Millisecond), "probes", tries)
			break
		}
		if time.Since(logged) >= probeLogEvery {
			db.opts.Logger.Warn("the database still does not answer; requests are refused as busy", "for", time.Since(o.since).Round(time.Second), "probes", tries, "err", err)
			logged = time.Now()
		}
		wait = min(wait*2, time.Second)
	}
	db.endOutage()
}

// ping checks that a connection of the pool reaches a server that takes
// writes. On failure the pool's connections are dropped, so that the next
// one finds the primary a failover made (target_session_attrs).
func (db *DB) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := db.pool.Acquire(ctx)
	if err == nil {
		err = checkWritable(ctx, c.Conn())
		c.Release()
	}
	if err != nil {
		db.pool.Reset()
	}
	return err
}

// ready waits while an outage is under way, for up to RetryFor from its
// start, and returns nil once the database answers again, store.ErrBusy
// if it does not by then, store.ErrClosed after Close.
func (db *DB) ready() error {
	if err := db.Err(); err != nil {
		return err
	}
	o := db.down.Load()
	if o == nil {
		return nil
	}
	if left := time.Until(o.since.Add(db.opts.RetryFor)); left > 0 {
		t := time.NewTimer(left)
		defer t.Stop()
		select {
		case <-o.up:
			return db.Err()
		case <-t.C:
		}
	}
	return fmt.Errorf("%w: it has not answered for %s (%v)", store.ErrBusy, time.Since(o.since).Round(time.Second), o.cause)
}

// Busy is store.ErrBusy while an outage is under way, nil otherwise: a
// node's health check answers "not ready" with it.
func (db *DB) Busy() error {
	if o := db.down.Load(); o != nil {
		return fmt.Errorf("%w: it has not answered for %s (%v)", store.ErrBusy, time.Since(o.since).Round(time.Second), o.cause)
	}
	return nil
}
