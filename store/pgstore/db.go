package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/yima-dev/yima/store"
)

// The backend satisfies the store contract.
var (
	_ store.DB       = (*DB)(nil)
	_ store.Tx       = (*Tx)(nil)
	_ store.Snapshot = (*Snapshot)(nil)
	_ store.Laned    = (*DB)(nil)
)

// Options configures a DB. The zero value is ready to use.
type Options struct {
	// MaxGroup bounds how many decisions share one transaction (default
	// 512).
	MaxGroup int
	// Lanes is how many groups of decisions the node has in flight at
	// once (default 1): each lane forms groups of the decisions sent to
	// it and commits them one at a time on a connection of its own, so
	// that while one group's COMMIT waits for the database's disk, the
	// others decide. Groups of different lanes conflict as different
	// nodes' do. docs/cluster.md says how to size it, and why one lane
	// is the default until a quiet run shows more paying off.
	Lanes int
	// MaxConns bounds the connections the node opens (default 16): one
	// for each lane, the rest for reads and snapshots. It is raised to
	// Lanes+2 when lower.
	MaxConns int32
	// RetryFor is how long a call waits for a database that stopped
	// answering (a failover, a restart) before it is refused with
	// store.ErrBusy (default 30s). The store never fails closed for that:
	// it probes the database with backoff until it answers, refusing
	// calls at once meanwhile, and then serves again.
	RetryFor time.Duration
	// MaxConflicts is how many times a group that keeps meeting
	// serialization failures runs again before its decisions get
	// store.ErrConflict (default 50).
	MaxConflicts int
	// Logger receives retries and failures; nil discards them.
	Logger *slog.Logger
	// OnFail is called once, from any goroutine, when the store fails
	// closed. Servers use it to begin shutting down.
	OnFail func(error)

	// beforeCommit, for tests, runs before each COMMIT is sent.
	beforeCommit func()
}

func (o *Options) ensureDefaults() {
	if o.MaxGroup <= 0 {
		o.MaxGroup = 512
	}
	if o.Lanes <= 0 {
		o.Lanes = 1
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	o.MaxConns = max(o.MaxConns, int32(o.Lanes)+2)
	if o.RetryFor <= 0 {
		o.RetryFor = 30 * time.Second
	}
	if o.MaxConflicts <= 0 {
		o.MaxConflicts = 50
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// DB is an open store.
type DB struct {
	pool *pgxpool.Pool
	opts Options

	lanes []*lane
	// next is where the search for a quiet lane starts (pick).
	next    atomic.Uint32
	decided sync.WaitGroup // the lanes' deciders
	// submit guards the lanes' queues against a send after Close closed
	// them.
	submit  sync.RWMutex
	closing sync.Once
	closed  atomic.Bool

	failure store.Failure

	// down is the outage under way, nil while the database answers;
	// downMu orders its start and end.
	down    atomic.Pointer[outage]
	downMu  sync.Mutex
	probing sync.WaitGroup

	groupSizes atomic.Pointer[func(n int)]
	// trips counts the deciders' round trips to the database.
	trips atomic.Int64
	// The deciders' counters (Stats); groups also paces pruning.
	groups, decisions, conflicts atomic.Int64
	inFlight, maxInFlight        atomic.Int64
}

// lane is one decider: its queue, and the goroutine that forms groups from
// it and commits them one at a time.
type lane struct {
	ops chan *op
}

// Open connects to the database at dsn (a postgres:// URL or a key=value
// connection string) and checks that it holds this yima's schema and takes
// writes.
func Open(dsn string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.ensureDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), o.RetryFor)
	defer cancel()
	conn, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	err = checkWritable(ctx, conn)
	if err == nil {
		err = checkSchema(ctx, conn)
	}
	conn.Close(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: the --db URL: %w", err)
	}
	cfg.MaxConns = o.MaxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConnect, err)
	}
	db := &DB{pool: pool, opts: o}
	for range o.Lanes {
		l := &lane{ops: make(chan *op, 4096)}
		db.lanes = append(db.lanes, l)
		db.decided.Add(1)
		go db.decide(l)
	}
	return db, nil
}

func (db *DB) fail(err error) {
	if db.failure.Set(err, db.opts.OnFail) {
		db.opts.Logger.Error("store failed closed", "err", err)
	}
}

// Err returns the failure that closed the store, or nil while it is healthy.
func (db *DB) Err() error { return db.failure.Err(db.closed.Load()) }

// readErr wraps the error of a read outside decisions: the store stays
// open (the next read may find the database again). A database that does
// not answer begins an outage, and the read is refused as busy.
func (db *DB) readErr(err error) error {
	if unreachable(err) {
		db.markDown(err)
		return fmt.Errorf("%w: %v", store.ErrBusy, err)
	}
	return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
}

const (
	getSQL = `SELECT v, n FROM yima_records WHERE k = $1`
	// Pages of a scan: from a key on (or after it), before an end.
	scanSQL        = `SELECT k, v, n FROM yima_records WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3`
	scanOpenSQL    = `SELECT k, v, n FROM yima_records WHERE k >= $1 ORDER BY k LIMIT $2`
	reverseSQL     = `SELECT k, v, n FROM yima_records WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT $3`
	reverseOpenSQL = `SELECT k, v, n FROM yima_records WHERE k >= $1 ORDER BY k DESC LIMIT $2`
)

// querier is a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// decode turns a row's columns into the value the caller stored.
func decode(v []byte, n *int64) []byte {
	if n != nil {
		return store.AppendCounter(nil, *n)
	}
	if v == nil {
		return []byte{}
	}
	return v
}

func get(ctx context.Context, q querier, key []byte) ([]byte, bool, error) {
	return scanGet(q.QueryRow(ctx, getSQL, key))
}

// scanGet reads the answer to getSQL: found is false when there is no row.
func scanGet(row pgx.Row) ([]byte, bool, error) {
	var v []byte
	var n *int64
	err := row.Scan(&v, &n)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return decode(v, n), true, nil
}

// Get returns the value of key; found is false when it has none.
func (db *DB) Get(key []byte) ([]byte, bool, error) {
	for start := time.Now(); ; {
		if err := db.ready(); err != nil {
			return nil, false, err
		}
		v, found, err := get(context.Background(), db.pool, key)
		if err == nil {
			return v, found, nil
		}
		// One read is safe to run again: it waits out the outage.
		if err = db.readErr(err); !errors.Is(err, store.ErrBusy) || time.Since(start) > db.opts.RetryFor {
			return nil, false, err
		}
	}
}

// Scan is store.Reader's, page by page in one read-only transaction.
func (db *DB) Scan(prefix, start []byte, fn func(key, value []byte) bool) error {
	return db.readOnly(func(tx pgx.Tx) error { return scan(db.txPager(tx), prefix, start, fn) })
}

// ScanReverse is store.Reader's, page by page in one read-only transaction.
func (db *DB) ScanReverse(prefix []byte, fn func(key, value []byte) bool) error {
	return db.readOnly(func(tx pgx.Tx) error { return scanReverse(db.txPager(tx), prefix, fn) })
}

// readOnly runs fn in a REPEATABLE READ READ ONLY transaction: one view of
// the records however many pages a scan reads.
func (db *DB) readOnly(fn func(tx pgx.Tx) error) error {
	tx, err := db.beginRead()
	if err != nil {
		return err
	}
	ctx := context.Background()
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return db.readErr(err)
	}
	return nil
}

// beginRead begins a REPEATABLE READ READ ONLY transaction and takes its
// snapshot, waiting out an outage as Get does: nothing was read yet, so
// it is safe to try again.
func (db *DB) beginRead() (pgx.Tx, error) {
	ctx := context.Background()
	for start := time.Now(); ; {
		if err := db.ready(); err != nil {
			return nil, err
		}
		tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err == nil {
			// PostgreSQL takes the transaction's snapshot at its first
			// statement, not at BEGIN: take it now, so that it holds
			// what was acknowledged before the call and nothing decided
			// after it.
			if _, err = tx.Exec(ctx, `SELECT 1`); err == nil {
				return tx, nil
			}
			tx.Rollback(ctx)
		}
		if err = db.readErr(err); !errors.Is(err, store.ErrBusy) || time.Since(start) > db.opts.RetryFor {
			return nil, err
		}
	}
}

// page is how many records a scan reads at a time: the first page is small,
// since most scans stop early (the newest few, one record by prefix), and
// later pages grow.
const (
	firstPage = 64
	maxPage   = 4096
)

type kv struct{ k, v []byte }

func (db *DB) txPager(tx pgx.Tx) pager {
	return func(sql string, args ...any) ([]kv, error) {
		page, err := readPage(tx, sql, args...)
		if err != nil {
			return nil, db.readErr(err)
		}
		return page, nil
	}
}

// pager reads one page of a scan. The whole page is read before any
// callback runs, so a callback may use the same connection (a Get inside a
// snapshot's Scan).
type pager func(sql string, args ...any) ([]kv, error)

func readPage(q querier, sql string, args ...any) ([]kv, error) {
	rows, err := q.Query(context.Background(), sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []kv
	for rows.Next() {
		var k, v []byte
		var n *int64
		if err := rows.Scan(&k, &v, &n); err != nil {
			return nil, err
		}
		out = append(out, kv{k, decode(v, n)})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func scan(q pager, prefix, start []byte, fn func(key, value []byte) bool) error {
	from := prefix
	if start != nil && string(start) > string(prefix) {
		from = start
	}
	return pages(q, from, store.PrefixEnd(prefix), false, fn)
}

func scanReverse(q pager, prefix []byte, fn func(key, value []byte) bool) error {
	return pages(q, prefix, store.PrefixEnd(prefix), true, fn)
}

// pages calls fn on the records in [from, end) (no end when end is nil),
// in key order or, with reverse, in reverse key order, a page at a time,
// until fn returns false or the records run out.
func pages(q pager, from, end []byte, reverse bool, fn func(key, value []byte) bool) error {
	if from == nil {
		from = []byte{}
	}
	openSQL, boundSQL := scanOpenSQL, scanSQL
	if reverse {
		openSQL, boundSQL = reverseOpenSQL, reverseSQL
	}
	for size := firstPage; ; size = min(size*2, maxPage) {
		var page []kv
		var err error
		if end == nil {
			page, err = q(openSQL, from, size)
		} else {
			page, err = q(boundSQL, from, end, size)
		}
		if err != nil {
			return err
		}
		for _, r := range page {
			if !fn(r.k, r.v) {
				return nil
			}
		}
		if len(page) < size {
			return nil
		}
		last := page[len(page)-1].k
		if reverse {
			end = last // the next page ends at (before) the last key read
		} else {
			from = append(last, 0) // the next page starts just after the last key
		}
	}
}

// Snapshot is a REPEATABLE READ READ ONLY transaction held open: a
// consistent view for as long as the caller reads.
type Snapshot struct {
	db *DB
	mu sync.Mutex
	tx pgx.Tx
}

// Snapshot returns a consistent read view holding every decision
// acknowledged before the call.
func (db *DB) Snapshot() (store.Snapshot, error) {
	tx, err := db.beginRead()
	if err != nil {
		return nil, err
	}
	return &Snapshot{db: db, tx: tx}, nil
}

// Get is store.Reader's, in the snapshot.
func (s *Snapshot) Get(key []byte) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx == nil {
		return nil, false, store.ErrClosed
	}
	v, found, err := get(context.Background(), s.tx, key)
	if err != nil {
		return nil, false, s.db.readErr(err)
	}
	return v, found, nil
}

// Scan is store.Reader's, in the snapshot.
func (s *Snapshot) Scan(prefix, start []byte, fn func(key, value []byte) bool) error {
	return scan(s.page, prefix, start, fn)
}

// ScanReverse is store.Reader's, in the snapshot.
func (s *Snapshot) ScanReverse(prefix []byte, fn func(key, value []byte) bool) error {
	return scanReverse(s.page, prefix, fn)
}

// page reads one page under the snapshot's lock: the snapshot may be read
// from several goroutines, and its transaction runs one query at a time.
func (s *Snapshot) page(sql string, args ...any) ([]kv, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx == nil {
		return nil, store.ErrClosed
	}
	page, err := readPage(s.tx, sql, args...)
	if err != nil {
		return nil, s.db.readErr(err)
	}
	return page, nil
}

// Close ends the snapshot's transaction and returns its connection.
func (s *Snapshot) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx == nil {
		return nil
	}
	err := s.tx.Rollback(context.Background())
	s.tx = nil
	return err
}

// RoundTrips returns how many round trips to the database the deciders
// have made since the store opened: BEGIN, reads, writes and COMMIT,
// however many statements each carried. Decisions per round trip is what
// decides a node's rate on a database over a network (docs/cluster.md).
func (db *DB) RoundTrips() int64 { return db.trips.Load() }

// Conflicts returns how many times since the store opened a group's
// transaction was refused with a serialization failure or a deadlock
// (SQLSTATE 40001, 40P01) and ran again: decisions of other nodes (or of
// this node's other groups) met its reads. Against the number of commits
// it is what decides how well several nodes share one database
// (docs/cluster.md).
func (db *DB) Conflicts() int64 { return db.conflicts.Load() }

// Stats are the deciders' counters since the store opened, which say
// where a node's time goes (docs/cluster.md).
type Stats struct {
	// Lanes is Options.Lanes.
	Lanes int
	// Groups is how many groups committed, Decisions how many decisions
	// they answered.
	Groups, Decisions int64
	// Conflicts is how many attempts at a group the database refused
	// with a serialization failure or a deadlock (each ran again).
	Conflicts int64
	// MaxInFlight is the most groups that were in flight at once, from
	// their first statement to their COMMIT's answer.
	MaxInFlight int64
	// RoundTrips is RoundTrips'.
	RoundTrips int64
}

// Stats returns the deciders' counters.
func (db *DB) Stats() Stats {
	return Stats{
		Lanes:       len(db.lanes),
		Groups:      db.groups.Load(),
		Decisions:   db.decisions.Load(),
		Conflicts:   db.conflicts.Load(),
		MaxInFlight: db.maxInFlight.Load(),
		RoundTrips:  db.trips.Load(),
	}
}

// ObserveGroups makes fn receive the number of decisions in each commit
// from now on (a metrics hook).
func (db *DB) ObserveGroups(fn func(n int)) { db.groupSizes.Store(&fn) }

// Close waits for the decisions already submitted, then closes the
// connections; every later call returns store.ErrClosed.
func (db *DB) Close() error {
	db.closing.Do(func() {
		db.submit.Lock()
		db.closed.Store(true)
		for _, l := range db.lanes {
			close(l.ops) // each lane decides what it holds, then stops
		}
		db.endOutage() // calls waiting for the database return ErrClosed
		db.submit.Unlock()
		db.decided.Wait()
		db.probing.Wait()
		db.pool.Close()
	})
	return nil
}
