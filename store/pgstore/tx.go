package pgstore

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/yima-dev/yima/store"
)

// entry is a write of a decision or of its group: a value (nil for a
// delete), or, when the key's value was never read, a pending counter
// delta that the database adds without reading.
type entry struct {
	known bool
	val   []byte
	delta int64
}

// Tx is what a decision sees: its own writes, its group's, then the
// database as the group's transaction sees it.
type Tx struct {
	g *group
	w map[string]*entry
	// failed is a database error met by a read: the group's transaction
	// is dead and the group runs again, whatever the decision returned.
	failed error
}

// Get returns the value of key as this decision would leave it. The slice
// may be shared with the group: read it, never modify it.
func (tx *Tx) Get(key []byte) ([]byte, bool, error) {
	e, ok := tx.w[string(key)]
	if ok && e.known {
		return e.val, e.val != nil, nil
	}
	v, found, err := tx.g.view(key)
	if err != nil {
		tx.failed = err
		return nil, false, fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	if !ok {
		return v, found, nil
	}
	// A pending add, now read: the decision depends on the sum anyway.
	e.known, e.val, e.delta = true, store.AppendCounter(nil, mustCounter(key, v, found)+e.delta), 0
	return e.val, true, nil
}

// Put records a write of value under key.
func (tx *Tx) Put(key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	tx.w[string(key)] = &entry{known: true, val: value}
}

// Delete records the removal of key.
func (tx *Tx) Delete(key []byte) { tx.w[string(key)] = &entry{known: true} }

// Add adds delta to the counter at key. Unless the decision or its group
// already know the value, nothing is read: the group's transaction adds to
// the stored bigint, so concurrent adds do not make a decision depend on
// the counter.
func (tx *Tx) Add(key []byte, delta int64) {
	if tx.g.strict {
		v, found, err := tx.Get(key)
		if err != nil {
			return // tx.failed runs the group again
		}
		tx.Put(key, store.AppendCounter(nil, mustCounter(key, v, found)+delta))
		return
	}
	e, ok := tx.w[string(key)]
	if !ok {
		e = &entry{}
		tx.w[string(key)] = e
	}
	if e.known {
		e.val = store.AppendCounter(nil, mustCounter(key, e.val, e.val != nil)+delta)
		return
	}
	e.delta += delta
}

func mustCounter(key, v []byte, found bool) int64 {
	if !found {
		return 0
	}
	n, ok := store.Counter(v)
	if !ok {
		panic(fmt.Sprintf("store: Add on %q, whose %d-byte value is not a counter", key, len(v)))
	}
	return n
}

// group is the decisions that share one transaction.
type group struct {
	ctx   context.Context
	conn  *pgx.Conn
	trips *atomic.Int64 // the DB's count of round trips
	w     map[string]*entry
	// read caches what the transaction read: its view does not change.
	read map[string][]byte // nil value: absent
	// held are the keys the group claimed (see claimSQL): true for a key
	// that was absent, whose placeholder row the commit must remove
	// unless a decision wrote the key.
	held map[string]bool
	// placed holds where each placeholder of held is (its ctid), on
	// PostgreSQL: see deletePlacedSQL.
	placed map[string]string
	// byTID is set on PostgreSQL, whose rows have a ctid (CockroachDB's
	// have none).
	byTID  bool
	strict bool
	begun  bool // BEGIN has been sent
	// gather is set while the group runs a decision that gave hints: a
	// read of a key the group has not read then costs no round trip but
	// is noted in missed and read as absent, for that run only: the run
	// goes on, naming more keys the group reads in the same round trip,
	// and is then discarded, to run again once the keys its group missed
	// are read together (see run).
	gather bool
	missed [][]byte
}

// view is the value of key after the group's writes so far.
func (g *group) view(key []byte) ([]byte, bool, error) {
	e, ok := g.w[string(key)]
	if ok && e.known {
		return e.val, e.val != nil, nil
	}
	v, cached := g.read[string(key)]
	if !cached && g.gather {
		g.missed = append(g.missed, bytes.Clone(key))
		return nil, false, nil
	}
	if !cached {
		var found bool
		var err error
		v, found, err = g.get(key)
		if err != nil {
			return nil, false, err
		}
		if !found {
			v = nil
		}
		g.read[string(key)] = v
	}
	if ok { // a pending add on what is stored
		return store.AppendCounter(nil, mustCounter(key, v, v != nil)+e.delta), true, nil
	}
	return v, v != nil, nil
}

// hint calls a decision's hints. Hints that panic name nothing: the
// decision itself will run, and fail on its own.
func hint(hints store.Hints) (reads, claims [][]byte) {
	if hints == nil {
		return nil, nil
	}
	defer func() {
		if recover() != nil {
			reads, claims = nil, nil
		}
	}()
	return hints()
}

// wanted returns the keys ops will probably read that the group has
// neither read nor written, each once, in key order: those the decisions
// claim apart from the others.
func (g *group) wanted(ops []*op) (reads, claims [][]byte) {
	claimed := map[string]bool{}
	named := make([][][]byte, len(ops))
	for i, o := range ops {
		r, c := hint(o.hints)
		for _, k := range c {
			claimed[string(k)] = true
		}
		named[i] = slices.Concat(r, c)
	}
	seen := map[string]bool{}
	for _, keys := range named {
		for _, k := range keys {
			if seen[string(k)] {
				continue
			}
			seen[string(k)] = true
			if _, ok := g.read[string(k)]; ok {
				continue
			}
			if e, ok := g.w[string(k)]; ok && e.known {
				continue
			}
			if claimed[string(k)] {
				claims = append(claims, k)
			} else {
				reads = append(reads, k)
			}
		}
	}
	byKey := func(a, b []byte) int { return bytes.Compare(a, b) }
	slices.SortFunc(reads, byKey)
	slices.SortFunc(claims, byKey)
	return reads, claims
}

// batch returns a batch for the group's next round trip. The first one
// begins the transaction: BEGIN goes with the group's first statement,
// whatever it is, rather than in a round trip of its own.
func (g *group) batch() *pgx.Batch {
	b := &pgx.Batch{}
	if !g.begun {
		b.Queue(beginSQL)
		g.begun = true
	}
	return b
}

// send runs b: one round trip.
func (g *group) send(b *pgx.Batch) error {
	g.trips.Add(1)
	return g.conn.SendBatch(g.ctx, b).Close()
}

// readAhead reads keys into the group's read cache in one statement, and
// claims claims in another, in the same round trip.
func (g *group) readAhead(keys, claims [][]byte) error {
	if len(keys) == 0 && len(claims) == 0 {
		return nil
	}
	b := g.batch()
	if len(claims) > 0 {
		g.queueClaims(b, claims)
	}
	if len(keys) == 0 {
		return g.send(b)
	}
	b.Queue(prefetchSQL, keys).Query(func(rows pgx.Rows) error {
		for _, k := range keys {
			g.read[string(k)] = nil // absent unless a row says otherwise
		}
		for rows.Next() {
			var k, v []byte
			var n *int64
			if err := rows.Scan(&k, &v, &n); err != nil {
				return err
			}
			g.read[string(k)] = decode(v, n)
		}
		return rows.Err()
	})
	return g.send(b)
}

// queueClaims queues the claim of keys (claimSQL): each key's row, or a
// placeholder for an absent one, is the group's to write until it ends,
// and its value goes to the read cache as a read's would.
func (g *group) queueClaims(b *pgx.Batch, keys [][]byte) {
	claim := claimSQL
	if g.byTID {
		claim = claimPlacingSQL
	}
	b.Queue(claim, keys).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k, v []byte
			var n *int64
			var j bool
			var tid string
			var err error
			if g.byTID {
				err = rows.Scan(&k, &v, &n, &j, &tid)
			} else {
				err = rows.Scan(&k, &v, &n, &j)
			}
			if err != nil {
				return err
			}
			absent := j && v != nil && len(v) == 0
			g.held[string(k)] = absent
			if absent {
				if g.byTID {
					g.placed[string(k)] = tid
				}
				g.read[string(k)] = nil
			} else {
				g.read[string(k)] = decode(v, n)
			}
		}
		return rows.Err()
	})
}

// get reads key in the group's transaction.
func (g *group) get(key []byte) (v []byte, found bool, err error) {
	if g.begun {
		g.trips.Add(1)
		return get(g.ctx, g.conn, key)
	}
	b := g.batch()
	b.Queue(getSQL, key).QueryRow(func(row pgx.Row) error {
		v, found, err = scanGet(row)
		return err
	})
	return v, found, g.send(b)
}

// run runs the decisions of ops, in order, setting their answers. A read
// of a key the reads ahead did not bring costs a round trip, and those of
// different decisions come one after the other (a member's guide, known
// once the member is read). So a run of a decision that gave hints which
// reads such a key goes on as if the key were absent, to name what else
// it reads, and is then discarded, to run again after the others once
// the keys missed by the whole pass are read in one statement (see
// store.Hints: such runs may see keys not named as absent, and are never
// kept). The decisions then commit in the order their runs were kept:
// all of them were in the group together, so any order is one their
// callers could have seen. A decision without hints reads key by key, as do those left
// after gatherRounds passes.
func (g *group) run(ops []*op) error {
	// Reads after the runs (the strict path's, say) see the database,
	// never a missed key as absent.
	defer func() { g.gather = false }()
	left := ops
	for round := 0; len(left) > 0; round++ {
		g.missed = g.missed[:0]
		var again []*op
		for _, o := range left {
			g.gather = round < gatherRounds && o.hints != nil
			tx := &Tx{g: g, w: map[string]*entry{}}
			missedBefore := len(g.missed)
			o.err = safeCall(o.fn, tx)
			if tx.failed != nil {
				return tx.failed
			}
			if len(g.missed) > missedBefore { // the run read a key the group had not
				again = append(again, o)
				continue
			}
			if o.err == nil {
				o.err = g.merge(tx)
			}
		}
		if len(again) == 0 {
			return nil
		}
		g.gather = false
		if err := g.readAhead(g.unread(g.missed), nil); err != nil {
			return err
		}
		left = again
	}
	return nil
}

// unread returns keys, each once and in key order, without those the
// group has read since they were noted.
func (g *group) unread(keys [][]byte) [][]byte {
	slices.SortFunc(keys, bytes.Compare)
	keys = slices.CompactFunc(keys, bytes.Equal)
	return slices.DeleteFunc(keys, func(k []byte) bool { _, ok := g.read[string(k)]; return ok })
}

// merge moves a successful decision's writes into the group. A pending add
// on a value the group wrote is summed here, and an add on a value that is
// no counter fails the decision as a panic would.
func (g *group) merge(tx *Tx) error {
	for k, e := range tx.w {
		if ge, ok := g.w[k]; !e.known && ok && ge.known && ge.val != nil {
			if _, ok := store.Counter(ge.val); !ok {
				return fmt.Errorf("%w: Add on %q, whose %d-byte value is not a counter", store.ErrDecisionPanicked, k, len(ge.val))
			}
		}
	}
	for k, e := range tx.w {
		ge, ok := g.w[k]
		switch {
		case e.known || !ok:
			g.w[k] = e
		case ge.known:
			ge.val = store.AppendCounter(nil, mustCounter([]byte(k), ge.val, ge.val != nil)+e.delta)
		default:
			ge.delta += e.delta
		}
	}
	return nil
}

type op struct {
	fn    func(store.Tx) error
	hints store.Hints // what fn will probably read and write; nil: unknown
	err   error
	done  chan error
}

// Update runs fn in the next group of lane 0 and returns once the group's
// transaction committed, or once it is certain it did not. A caller that
// names no lane (store.Laned) sees one decider, as before there were
// lanes: its decisions never run concurrently with each other.
func (db *DB) Update(fn func(store.Tx) error) error { return db.UpdateIn(0, nil, fn) }

// UpdateReading is Update, with keys naming what fn will probably read: the
// decider reads the keys of every decision of a group in one statement
// before running them (see store.Prefetcher).
func (db *DB) UpdateReading(keys func() [][]byte, fn func(store.Tx) error) error {
	return db.UpdateIn(0, readsOnly(keys), fn)
}

// readsOnly is the hints of a decision that names only what it reads.
func readsOnly(keys func() [][]byte) store.Hints {
	if keys == nil {
		return nil
	}
	return func() (reads, claims [][]byte) { return keys(), nil }
}

// UpdateClaiming is UpdateReading, with hints naming apart the keys fn
// will probably write: the decider takes those for writing in the
// statement that reads the others (see store.Claimer and claimSQL).
func (db *DB) UpdateClaiming(hints store.Hints, fn func(store.Tx) error) error {
	return db.UpdateIn(0, hints, fn)
}

// Lanes is store.Laned's: Options.Lanes.
func (db *DB) Lanes() int { return len(db.lanes) }

// UpdateIn is store.Laned's: UpdateClaiming in the next group of lane, or
// of the lane with the fewest decisions queued when lane is out of range.
func (db *DB) UpdateIn(lane int, hints store.Hints, fn func(store.Tx) error) error {
	// During an outage a decision waits for the database before it is
	// queued, or is refused, untried, as busy.
	if err := db.ready(); err != nil {
		return err
	}
	o := &op{fn: fn, hints: hints, done: make(chan error, 1)}
	db.submit.RLock()
	if db.closed.Load() {
		db.submit.RUnlock()
		return store.ErrClosed
	}
	if lane < 0 || lane >= len(db.lanes) {
		lane = db.pick()
	}
	db.lanes[lane].ops <- o
	db.submit.RUnlock()
	return <-o.done
}

// pick chooses a lane for a decision that names none: the one with the
// fewest decisions queued, searched from a point that moves on each time,
// so that ties spread over the lanes.
func (db *DB) pick() int {
	n := len(db.lanes)
	start := int(db.next.Add(1) % uint32(n))
	best := start
	for i := 1; i < n; i++ {
		if j := (start + i) % n; len(db.lanes[j].ops) < len(db.lanes[best].ops) {
			best = j
		}
	}
	return best
}

// decide forms groups of what has queued on lane l and commits them one at
// a time; the other lanes do the same meanwhile, each on a connection of
// its own.
func (db *DB) decide(l *lane) {
	defer db.decided.Done()
	for first := range l.ops {
		ops := []*op{first}
		ops = db.drain(l, ops)
		ops = db.commitGroup(ops)
		if fn := db.groupSizes.Load(); fn != nil {
			(*fn)(len(ops))
		}
		for _, o := range ops {
			o.done <- o.err
		}
	}
}

// drain adds the decisions waiting in l's queue, up to MaxGroup.
func (db *DB) drain(l *lane, ops []*op) []*op {
	for len(ops) < db.opts.MaxGroup {
		select {
		case o, ok := <-l.ops:
			if !ok {
				return ops
			}
			ops = append(ops, o)
		default:
			return ops
		}
	}
	return ops
}

// Why an attempt at a group did not commit.
var (
	// errStrict: a blind add met a value that is no counter; the group
	// runs again reading every counter it adds to, so that the decision
	// at fault panics on its own.
	errStrict = errors.New("store: an add met a value that is no counter")
)

// gatherRounds bounds how many times a group gathers its decisions'
// unnamed reads into one round trip before its remaining decisions read
// key by key: a decision that finds each next key in the last one read
// would otherwise run once per key.
const gatherRounds = 3

// commitGroup runs ops in one transaction until it commits, retrying
// conflicts and lost connections, and sets each op's answer. It returns
// the group.
func (db *DB) commitGroup(ops []*op) []*op {
	conflicts, strict := 0, false
	for attempt := 0; ; attempt++ {
		// Every attempt that did not return nil left nothing committed:
		// during an outage the group waits, then is refused as busy.
		if err := db.ready(); err != nil {
			return answerAll(ops, err)
		}
		var err error
		ops, err = db.attempt(ops, strict)
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			return ops
		case errors.Is(err, errStrict):
			strict = true
			continue
		case errors.As(err, &pgErr) && pgErr.Code[:2] == "40":
			// 40001 serialization failure, 40P01 deadlock: another
			// transaction won; the group runs again on what it wrote.
			conflicts++
			db.conflicts.Add(1)
			db.opts.Logger.Debug("a group conflicted and runs again", "decisions", len(ops), "code", pgErr.Code, "detail", pgErr.Detail, "err", err)
			if conflicts > db.opts.MaxConflicts {
				db.opts.Logger.Warn("a group kept conflicting; its decisions are refused", "decisions", len(ops), "err", err)
				return answerAll(ops, fmt.Errorf("%w: %v", store.ErrConflict, err))
			}
		case isReadOnly(err):
			// The server under the connection is no longer the primary
			// (a failover demoted it). abort closed the connection and
			// the pool dropped its others; a new one finds the primary
			// (target_session_attrs=read-write), once there is one: an
			// outage until then.
			db.markDown(err)
		case errors.As(err, &pgErr) && !pgconn.SafeToRetry(err) && !slices.Contains(transient, pgErr.Code[:2]):
			// The server refused a statement for a reason of its own
			// (a broken schema, a full disk): not ours to retry.
			db.fail(err)
			return answerAll(ops, db.Err())
		default:
			// The database does not answer: an outage, which the next
			// attempt waits out (ready).
			db.markDown(err)
		}
		// Back off a little, more with each try, with jitter so that
		// nodes that conflicted do not meet again.
		time.Sleep(time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 7))))
	}
}

// transient are the SQLSTATE classes of a server that will come back:
// connection exceptions, too many connections, an operator's shutdown (a
// failover).
var transient = []string{"08", "53", "57"}

func answerAll(ops []*op, err error) []*op {
	for _, o := range ops {
		o.err = err
	}
	return ops
}

// attempt runs the decisions of ops in one SERIALIZABLE transaction and
// commits it. On nil every op has its answer. Decisions that queue
// meanwhile wait for the next group: the transaction reads one snapshot,
// taken at its first read, and a decision asked after that could not see
// what other nodes committed in between, though their answers were out
// (a coupon issued on one node, then verified on another, would be "not
// found" there).
func (db *DB) attempt(ops []*op, strict bool) ([]*op, error) {
	ctx, cancel := context.WithTimeout(context.Background(), db.opts.RetryFor)
	defer cancel()
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return ops, err
	}
	defer pc.Release()
	conn := pc.Conn()
	// In flight from here to COMMIT's answer, beside the other lanes'.
	if n := db.inFlight.Add(1); n > db.maxInFlight.Load() {
		db.raiseMaxInFlight(n)
	}
	defer db.inFlight.Add(-1)
	g := &group{ctx: ctx, conn: conn, trips: &db.trips, w: map[string]*entry{}, read: map[string][]byte{}, held: map[string]bool{}, placed: map[string]string{}, strict: strict}
	g.byTID = conn.PgConn().ParameterStatus("crdb_version") == ""
	// The keys the decisions name, read in one statement: each
	// decision's reads of them then cost no round trip.
	if err := g.readAhead(g.wanted(ops)); err != nil {
		return ops, db.abort(pc, err)
	}
	if err := g.run(ops); err != nil {
		return ops, db.abort(pc, err)
	}
	if !g.writes() && !g.begun {
		db.committed(ops)
		return ops, nil // nothing read, nothing written: nothing sent
	}
	if !g.writes() {
		// Only reads: COMMIT still matters, since a serializable
		// transaction's reads hold only if it commits.
		db.trips.Add(1)
		if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
			return ops, db.abort(pc, err)
		}
		db.committed(ops)
		return ops, nil
	}
	id := make([]byte, 16)
	crand.Read(id)
	b := g.batch()
	added := g.queueWrites(b, id)
	if added != nil {
		// A blind add that met a value that is no counter must stop
		// the commit: COMMIT waits for the adds' count.
		if err := g.send(b); err != nil {
			return ops, db.abort(pc, err)
		}
		if err := added(); err != nil {
			return ops, db.abort(pc, err)
		}
		b = &pgx.Batch{}
	}
	if db.opts.beforeCommit != nil {
		db.opts.beforeCommit()
	}
	// Otherwise COMMIT goes with the writes: one round trip. Either way,
	// a connection lost before its answer leaves the outcome unknown.
	var tag pgconn.CommandTag
	db.trips.Add(1)
	if b.Len() == 0 {
		tag, err = conn.Exec(ctx, "COMMIT")
	} else {
		b.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
		err = conn.SendBatch(ctx, b).Close()
	}
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("store: COMMIT answered %q", tag)
	}
	if err == nil {
		db.committed(ops)
		return ops, nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server refused a write or the commit: not made (in a
		// pipeline, nothing after a failed statement runs).
		return ops, db.abort(pc, err)
	}
	// The connection failed during COMMIT: it may have committed.
	pc.Conn().Close(context.Background())
	committed, rerr := db.resolve(id)
	if rerr != nil {
		db.fail(fmt.Errorf("a commit's outcome is unknown (%v) and could not be resolved: %w", err, rerr))
		return answerAll(ops, db.Err()), nil
	}
	if committed {
		db.opts.Logger.Warn("a commit's connection failed after the commit; its answers stand", "err", err)
		db.committed(ops)
		return ops, nil
	}
	return ops, err
}

// abort ends a failed attempt's transaction. A connection in an unknown
// state is closed, so that the pool does not hand it out again; so is one
// to a server that has become read-only, and with it every other
// connection of the pool, which reach the same demoted server.
func (db *DB) abort(pc *pgxpool.Conn, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if isReadOnly(err) {
		pc.Conn().Close(ctx)
		db.pool.Reset()
		return err
	}
	if _, rerr := pc.Conn().Exec(ctx, "ROLLBACK"); rerr != nil {
		pc.Conn().Close(ctx)
	}
	return err
}

// isReadOnly reports whether err is the server refusing a write in a
// read-only transaction (SQLSTATE 25006): a standby, or a primary being
// demoted, answers so to every write however often it is retried.
func isReadOnly(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "25006"
}

// The statements of a group's writes, each one round trip for all the
// group's keys of its kind, in key order (so that two nodes writing the
// same keys lock them in the same order).
const (
	deleteSQL = `DELETE FROM yima_records WHERE k = ANY($1::BYTEA[])`
	putSQL    = `INSERT INTO yima_records (k, v, n, j)
	SELECT * FROM unnest($1::BYTEA[], $2::BYTEA[], $3::INT8[], $4::BOOL[])
	ON CONFLICT (k) DO UPDATE SET v = excluded.v, n = excluded.n, j = excluded.j`
	// A blind add: no read, so two nodes adding to one counter do not
	// make their decisions depend on each other. WHERE skips a stored
	// value that is not a counter; the count returned shows it.
	addSQL = `INSERT INTO yima_records (k, n)
	SELECT * FROM unnest($1::BYTEA[], $2::INT8[])
	ON CONFLICT (k) DO UPDATE SET n = yima_records.n + excluded.n WHERE yima_records.n IS NOT NULL`
	commitIDSQL = `INSERT INTO yima_commits (id) VALUES ($1)`
	beginSQL    = `BEGIN ISOLATION LEVEL SERIALIZABLE`
	// The keys a group's decisions will read, read ahead in one
	// statement inside the group's transaction.
	prefetchSQL = `SELECT k, v, n FROM yima_records WHERE k = ANY($1::BYTEA[])`
	// The keys a group's decisions will write, claimed: read by taking
	// them for writing. A SELECT in a SERIALIZABLE transaction leaves a
	// predicate lock on the index page the key is on, or would be on,
	// and any other transaction inserting a key into that page then
	// conflicts with it: a fresh code's absent records sit beside the
	// codes other nodes redeem at the same time. INSERT ... ON CONFLICT
	// finds the row without one: it locks the existing row, or inserts
	// a placeholder (an empty value marked JSON, which no record is, see
	// isJSON) that holds the key, and it refuses with a serialization
	// failure a row another transaction changed after this one's view
	// was taken, as the write itself would. The row comes back as it is
	// (SET only rewrites it unchanged). A placeholder the group does not
	// overwrite is deleted with its writes.
	claimSQL = `INSERT INTO yima_records (k, v, j)
	SELECT k, '\x'::BYTEA, true FROM unnest($1::BYTEA[]) AS u (k)
	ON CONFLICT (k) DO UPDATE SET j = yima_records.j
	RETURNING k, v, n, j`
	// On PostgreSQL a claim also returns where each row is, so that a
	// placeholder the group does not overwrite is deleted there
	// (deletePlacedSQL) rather than looked up by its key: DELETE ...
	// WHERE k = ANY finds its rows through the index, which leaves a
	// predicate lock on each index page it visits, as a read does. A
	// placeholder's page is where the fresh codes' records go, so every
	// other node inserting its next code's placeholder or record there
	// while the group's COMMIT waited for the disk conflicted with it,
	// though no decision shared a key (docs/cluster.md, "The claims'
	// placeholders"). A row found by its ctid leaves no predicate lock
	// when this transaction wrote it, as it did its placeholder, and the
	// placeholder stays where the claim put it: no one else can change
	// a row not yet committed. CockroachDB has no ctid (and no predicate
	// locks): there the placeholders are deleted by key.
	claimPlacingSQL = `INSERT INTO yima_records (k, v, j)
	SELECT k, '\x'::BYTEA, true FROM unnest($1::BYTEA[]) AS u (k)
	ON CONFLICT (k) DO UPDATE SET j = yima_records.j
	RETURNING k, v, n, j, ctid::TEXT`
	deletePlacedSQL = `DELETE FROM yima_records WHERE ctid = ANY($1::TEXT[]::TID[])`
)

// writes reports whether the group has anything to write: a decision's
// write, or a placeholder of a claim to remove.
func (g *group) writes() bool {
	if len(g.w) > 0 {
		return true
	}
	for _, absent := range g.held {
		if absent {
			return true
		}
	}
	return false
}

// queueWrites queues the group's writes and its commit id in b, each one
// statement for all the group's keys of its kind. When the group adds
// blindly, it returns a check to run once b has run: errStrict when an add
// met a value that is no counter.
func (g *group) queueWrites(b *pgx.Batch, id []byte) (added func() error) {
	keys := make([]string, 0, len(g.w))
	for k := range g.w {
		keys = append(keys, k)
	}
	for k, absent := range g.held {
		if _, ok := g.w[k]; absent && !ok {
			keys = append(keys, k) // a placeholder, deleted below
		}
	}
	slices.Sort(keys)
	var placed []string // placeholders' ctids, deleted where they are
	var (
		dels, putK, putV, addK [][]byte
		putN                   []*int64
		putJ                   []bool
		addN                   []int64
	)
	for _, k := range keys {
		e, ok := g.w[k]
		if !ok {
			e = &entry{known: true} // a claim's placeholder: deleted
		}
		if _, held := g.held[k]; held && !e.known {
			// An add to a claimed key: the group knows its value, and
			// a placeholder is no counter the add could meet.
			if v := g.read[k]; v == nil || len(v) == store.CounterSize {
				e = &entry{known: true, val: store.AppendCounter(nil, mustCounter([]byte(k), v, v != nil)+e.delta)}
			}
		}
		switch {
		case !e.known:
			addK, addN = append(addK, []byte(k)), append(addN, e.delta)
		case e.val == nil && !ok && g.placed[k] != "":
			placed = append(placed, g.placed[k])
		case e.val == nil:
			dels = append(dels, []byte(k))
		case len(e.val) == store.CounterSize && !isJSON(e.val):
			// Any 8 bytes are a counter's encoding: stored as the
			// bigint, a later blind add can add to it.
			n, _ := store.Counter(e.val)
			putK, putV, putN, putJ = append(putK, []byte(k)), append(putV, nil), append(putN, &n), append(putJ, false)
		default:
			putK, putV, putN, putJ = append(putK, []byte(k)), append(putV, e.val), append(putN, nil), append(putJ, isJSON(e.val))
		}
	}
	if len(dels) > 0 {
		b.Queue(deleteSQL, dels)
	}
	if len(placed) > 0 {
		b.Queue(deletePlacedSQL, placed)
	}
	if len(putK) > 0 {
		b.Queue(putSQL, putK, putV, putN, putJ)
	}
	if len(addK) > 0 {
		var n int64 = -1
		b.Queue(addSQL, addK, addN).Exec(func(tag pgconn.CommandTag) error {
			n = tag.RowsAffected()
			return nil
		})
		added = func() error {
			if n != int64(len(addK)) {
				return errStrict
			}
			return nil
		}
	}
	b.Queue(commitIDSQL, id)
	return added
}

// isJSON reports whether v is a JSON object or array, which the view
// yima_json shows as jsonb.
func isJSON(v []byte) bool {
	return len(v) > 0 && (v[0] == '{' || v[0] == '[') && json.Valid(v)
}

// resolve finds out whether the transaction that wrote commit id committed.
// It inserts the id itself, marked aborted: the insert waits for that
// transaction to end, then finds its row (committed) or writes the mark,
// which keeps the id from ever committing. Running it twice answers the
// same. Its group cannot be answered before, so it tries for as long as
// the database does not answer (an outage meanwhile refuses other calls
// as busy), until the store is closed.
func (db *DB) resolve(id []byte) (committed bool, err error) {
	for wait := 10 * time.Millisecond; ; wait = min(wait*2, 2*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), db.opts.RetryFor)
		var aborted bool
		err = db.pool.QueryRow(ctx, `INSERT INTO yima_commits (id, aborted) VALUES ($1, true)
			ON CONFLICT (id) DO UPDATE SET aborted = yima_commits.aborted RETURNING aborted`, id).Scan(&aborted)
		cancel()
		if isReadOnly(err) {
			db.pool.Reset() // a demoted server: find the primary
		}
		if err == nil {
			return !aborted, nil
		}
		if db.closed.Load() || !unreachable(err) {
			return false, err
		}
		db.markDown(err)
		time.Sleep(wait)
	}
}

// commitRetention is how long commit ids are kept: far longer than a
// commit's outcome takes to resolve.
const commitRetention = "1 hour"

// raiseMaxInFlight records n groups in flight, if no count seen was
// higher.
func (db *DB) raiseMaxInFlight(n int64) {
	for {
		m := db.maxInFlight.Load()
		if n <= m || db.maxInFlight.CompareAndSwap(m, n) {
			return
		}
	}
}

// committed counts a group that committed, and prunes old commit ids
// every few thousand groups.
func (db *DB) committed(ops []*op) {
	db.decisions.Add(int64(len(ops)))
	if db.groups.Add(1)%4096 != 1 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), db.opts.RetryFor)
	defer cancel()
	if _, err := db.pool.Exec(ctx, `DELETE FROM yima_commits WHERE at < now() - INTERVAL '`+commitRetention+`'`); err != nil {
		db.opts.Logger.Warn("pruning old commit ids", "err", err)
	}
}

func safeCall(fn func(store.Tx) error, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v\n%s", store.ErrDecisionPanicked, r, debug.Stack())
		}
	}()
	return fn(tx)
}
