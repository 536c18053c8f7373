package datadir

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/kek"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore"
	"github.com/yima-dev/yima/store/pgstore"
)

// Files in a data directory.
const (
	KeysFile       = "keys.json"
	AdminTokenFile = "admin.token"

	dbDir = "db"
)

// ErrLocked is returned by Open when a running server holds the data
// directory. Its message tells the user how to reach that server instead.
var ErrLocked = errors.New("datadir: the data directory is held by a running yima server; use --server URL (and --token or YIMA_TOKEN) to talk to it, or stop it first")

// DB is the store a data directory opens: the Pebble engine in db/, or the
// PostgreSQL database Options.Store names.
type DB interface {
	store.DB
	// Err is the failure that closed the store, nil while it is healthy.
	Err() error
	// ObserveGroups makes fn receive the number of decisions in each
	// commit (a metrics hook).
	ObserveGroups(fn func(n int))
}

// Dir is an open data directory: its keyset, the store and the reward
// engine over them.
type Dir struct {
	// Path is the directory's path, as given to Open.
	Path string
	// DB is the store in db/ or in PostgreSQL; Engine decides against it.
	DB     DB
	Engine *reward.Engine
	// adminToken is the admin's secret, read from admin.token; empty on a
	// shared database with sealed keys, where admins hold token records.
	adminToken string
	// kek opens the sealed keyset and page key of a shared database; nil
	// when the keyset is keys.json.
	kek     *kek.Key
	pageKey []byte
	// keysMu guards keysSum, the SHA-256 of the keyset file (or of the
	// sealed record) in use (see ReloadKeys).
	keysMu  sync.Mutex
	keysSum [32]byte
	log     *slog.Logger

	// The engine's index of scanned codes loads in the background; Close
	// stops it before closing the store it reads.
	stopSeen context.CancelFunc
	seenDone chan struct{}
	// zoneDone is closed when followZone stopped; nil when it never ran.
	zoneDone chan struct{}
	// relayDone is closed when the feed's relay stopped; nil when it never
	// ran (one node: its decisions number their events themselves).
	relayDone chan struct{}
}

// MaxLanes bounds Options.Lanes, as yima serve and yima bench take it:
// each lane holds a database connection while its group runs.
const MaxLanes = 64

// Options configures Open.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// OnFail is called when storage fails (see store.Options.OnFail).
	OnFail func(error)
	// Zone is the brand's time zone while its stored settings name none
	// (reward.Options.Zone): yima serve --stats-tz; nil means
	// reward.DefaultTimeZone.
	Zone *time.Location
	// AcceptDataLoss opens a store whose log is damaged with what is
	// readable (pebblestore.Options.AcceptLoss).
	AcceptDataLoss bool
	// Store, when set, is a PostgreSQL connection string (postgres://...)
	// whose database holds the records instead of db/. See
	// docs/cluster.md.
	Store string
	// KEK, required with Store, is the key-encryption key the database's
	// signing keys are sealed under: the keyset and the pages' secret are
	// records (made on a new database) and the directory holds nothing.
	// Without it Open refuses (ErrNoKEK). Ignored without Store.
	KEK *kek.Key
	// Lanes, with Store, is how many groups of decisions the node has in
	// flight at once (pgstore.Options.Lanes), at most MaxLanes; 0 is the
	// store's default. Ignored without Store.
	Lanes int
	// Observe receives the engine's events (reward.Options.Observe), to
	// count them in metrics; nil: none.
	Observe func(reward.Event)
}

// ErrKeysMissing is returned when keys.json is missing beside a store that
// holds batches: a new keyset would make every printed code answer "not
// genuine".
var ErrKeysMissing = errors.New("datadir: the keyset is missing")

// Init creates the data directory with a fresh keyset and admin token if it
// does not hold them yet. It is idempotent and never overwrites. It makes
// no keyset beside an existing store: only Open, which can read the store,
// knows whether codes were signed with the lost one.
func Init(dir string) error {
	if err := initToken(dir); err != nil {
		return err
	}
	if !exists(filepath.Join(dir, KeysFile)) {
		if exists(filepath.Join(dir, dbDir)) {
			return keysMissing(dir, "a store")
		}
		return newKeyset(dir)
	}
	return nil
}

// initToken creates the directory and its admin token, not the keyset.
func initToken(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("datadir: creating data directory: %w", err)
	}
	tok := filepath.Join(dir, AdminTokenFile)
	if _, err := os.Stat(tok); errors.Is(err, fs.ErrNotExist) {
		if err := codegen.WriteFileAtomic(tok, []byte(reward.NewSecret()+"\n"), 0o600); err != nil {
			return fmt.Errorf("datadir: writing admin token: %w", err)
		}
	}
	return nil
}

// openStore opens the Pebble engine in db/, or the database opts.Store
// names.
func openStore(dir string, opts Options) (DB, error) {
	if opts.Store != "" {
		db, err := pgstore.Open(opts.Store, &pgstore.Options{Logger: opts.Logger, OnFail: opts.OnFail, Lanes: opts.Lanes})
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	db, err := pebblestore.Open(filepath.Join(dir, dbDir), &pebblestore.Options{Logger: opts.Logger, OnFail: opts.OnFail, AcceptLoss: opts.AcceptDataLoss})
	if errors.Is(err, pebblestore.ErrLocked) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, err
	}
	return db, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

func newKeyset(dir string) error {
	ks, err := codegen.NewKeyset(time.Now())
	if err != nil {
		return err
	}
	if err := ks.Save(filepath.Join(dir, KeysFile)); err != nil {
		return fmt.Errorf("datadir: writing keyset: %w", err)
	}
	return nil
}

func keysMissing(dir, holds string) error {
	return fmt.Errorf("%w: %s is missing, but %s holds %s whose codes are signed with its keys; "+
		"with a new keyset every printed code would answer \"not genuine\". Nothing was changed. "+
		"Restore keys.json from a backup (yima backup writes it beside db/) into %s and start again",
		ErrKeysMissing, filepath.Join(dir, KeysFile), filepath.Join(dir, dbDir), holds, dir)
}

// LoadKeys reads the data directory's keyset.
func LoadKeys(dir string) (*codegen.Keyset, error) {
	return codegen.LoadKeyset(filepath.Join(dir, KeysFile))
}

// minAdminToken is the shortest admin token accepted from the file: a
// token an attacker could guess would open the whole API.
const minAdminToken = 16

// AdminToken reads the data directory's admin token. An empty, short or
// unreadable file is an error, never an empty token: an empty credential
// would let anyone in.
func AdminToken(dir string) (string, error) {
	path := filepath.Join(dir, AdminTokenFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("datadir: reading admin token: %w", err)
	}
	tok := strings.TrimSpace(string(raw))
	if len(tok) < minAdminToken {
		return "", fmt.Errorf("datadir: %s holds no admin token (it needs at least %d characters); delete the file and yima makes a new one at the next start, or write a long random secret into it", path, minAdminToken)
	}
	return tok, nil
}

// Open initialises dir if needed and opens it. Only one process may hold a
// data directory at a time. With opts.Store the directory holds nothing:
// the keys are sealed in the database, and opts.KEK must open them.
func Open(dir string, opts Options) (*Dir, error) {
	if opts.Store != "" {
		if opts.KEK == nil {
			// Never the files beside the process: a node signing with a
			// keys.json of its own would mint codes the cluster's other
			// nodes call forged.
			return nil, ErrNoKEK
		}
		return openSharedDir(dir, opts)
	}
	if err := Init(dir); err != nil && !errors.Is(err, ErrKeysMissing) {
		return nil, err
	}
	tok, err := AdminToken(dir)
	if err != nil {
		return nil, err
	}
	db, err := openStore(dir, opts)
	if err != nil {
		return nil, err
	}
	if !exists(filepath.Join(dir, KeysFile)) {
		// A store without batches signed nothing: a new keyset loses
		// nothing.
		n, err := reward.CountBatches(db)
		if err == nil && n > 0 {
			err = keysMissing(dir, fmt.Sprintf("%d batches", n))
		}
		if err == nil {
			err = newKeyset(dir)
		}
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	keysRaw, err := os.ReadFile(filepath.Join(dir, KeysFile))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("datadir: reading keyset: %w", err)
	}
	ks, err := codegen.ParseKeyset(keysRaw)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("datadir: keyset %s: %w", filepath.Join(dir, KeysFile), err)
	}
	d := &Dir{
		Path: dir, DB: db,
		adminToken: tok,
		keysSum:    sha256.Sum256(keysRaw),
	}
	return d.start(ks, opts)
}

// openSharedDir opens a node of a shared database whose keyset is sealed
// in it: the directory needs to hold nothing.
func openSharedDir(dir string, opts Options) (*Dir, error) {
	db, err := openStore(dir, opts)
	if err != nil {
		return nil, err
	}
	ks, sum, pageKey, err := openShared(db, dir, opts.KEK)
	if err != nil {
		db.Close()
		return nil, err
	}
	d := &Dir{Path: dir, DB: db, kek: opts.KEK, pageKey: pageKey, keysSum: sum}
	return d.start(ks, opts)
}

// start puts the engine over the open store and starts the background
// work: loading the index of scanned codes, and on a shared database
// following the brand's time zone.
func (d *Dir) start(ks *codegen.Keyset, opts Options) (*Dir, error) {
	d.log = opts.Logger
	d.seenDone = make(chan struct{})
	db := d.DB
	// On PostgreSQL other nodes write too: the index of scanned codes,
	// which knows only this engine's scans, would call a code redeemed
	// elsewhere fresh and pay it again.
	// On PostgreSQL each open directory is a node of its own: the
	// campaigns' budgets and stocks are escrowed in a slice per node, so
	// that the nodes' paying scans write no record in common.
	var node string
	if opts.Store != "" {
		node = nodeID()
	}
	d.Engine = reward.New(db, ks, reward.Options{Now: opts.Now, Zone: opts.Zone, Observe: opts.Observe, NoSeenIndex: opts.Store != "", NodeID: node})
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if err := d.Engine.CheckFormat(); err != nil {
		db.Close()
		return nil, fmt.Errorf("datadir: data directory %s: %w", d.Path, err)
	}
	if err := d.Engine.LoadZone(); err != nil {
		db.Close()
		return nil, fmt.Errorf("datadir: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.stopSeen = cancel
	if opts.Store != "" {
		d.zoneDone = make(chan struct{})
		go func() {
			defer close(d.zoneDone)
			d.followZone(ctx)
		}()
		// The nodes' decisions leave their events for the feed's relay
		// to number; each node stands ready to be it.
		d.relayDone = make(chan struct{})
		go func() {
			defer close(d.relayDone)
			d.Engine.RunFeedRelay(ctx)
		}()
	}
	go func() {
		defer close(d.seenDone)
		start := time.Now()
		if err := d.Engine.LoadSeen(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("index of scanned codes not loaded; every scan reads the store", "err", err)
			return
		}
		d.log.Debug("index of scanned codes loaded", "took", time.Since(start))
	}()
	return d, nil
}

// zonePoll is how often a node of a shared database reads the brand's time
// zone again: another node may have changed it (yima brand set), and the
// engine keeps it in memory.
const zonePoll = time.Second

// followZone reads the brand's time zone every zonePoll until ctx ends.
// A failure is logged once until a read succeeds again: a database away
// for minutes must not write a line a second.
func (d *Dir) followZone(ctx context.Context) {
	t := time.NewTicker(zonePoll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := d.Engine.LoadZone()
		if err != nil && !failing && ctx.Err() == nil {
			d.log.Warn("the brand's time zone was not read again; the one in use stays until it is", "err", err)
		}
		failing = err != nil
	}
}

// Keys returns the keyset in use.
func (d *Dir) Keys() *codegen.Keyset { return d.Engine.Keys() }

// ReloadKeys reads the keyset file (on a shared database with sealed
// keys, the sealed record) again and puts it in use when it differs from
// the one in use, so that a rotation or a retirement made with yima keys
// takes effect without a restart. It reports whether the keys changed. On
// error the keys in use stay.
func (d *Dir) ReloadKeys() (changed bool, err error) {
	d.keysMu.Lock()
	defer d.keysMu.Unlock()
	if d.kek != nil {
		ks, sum, found, err := sealedKeys(d.DB, d.kek)
		if err == nil && !found {
			err = fmt.Errorf("%w: the database holds no signing keys any more", ErrKeysMissing)
		}
		if err != nil || sum == d.keysSum {
			return false, err
		}
		d.Engine.SetKeys(ks)
		d.keysSum = sum
		return true, nil
	}
	raw, err := os.ReadFile(filepath.Join(d.Path, KeysFile))
	if err != nil {
		return false, fmt.Errorf("datadir: reading keyset: %w", err)
	}
	sum := sha256.Sum256(raw)
	if sum == d.keysSum {
		return false, nil
	}
	ks, err := codegen.ParseKeyset(raw)
	if err != nil {
		return false, fmt.Errorf("datadir: keyset %s: %w", KeysFile, err)
	}
	d.Engine.SetKeys(ks)
	d.keysSum = sum
	return true, nil
}

// SealedKeys reports whether the keyset is sealed in a shared database
// rather than in keys.json.
func (d *Dir) SealedKeys() bool { return d.kek != nil }

// PageKey is the secret the pages' cookies and form tokens are keyed from
// on a shared database with sealed keys, the same on every node; nil
// otherwise, where they are keyed from the admin token.
func (d *Dir) PageKey() []byte { return d.pageKey }

// Backup writes a restorable copy of the data directory into dest, which
// must not exist: a checkpoint of the store with every payout acknowledged
// before the call, statistics up to it, the keyset and the admin token. A
// server keeps serving meanwhile. To restore, serve the copy (--data dest).
func (d *Dir) Backup(dest string) (err error) {
	if _, err := os.Stat(dest); err == nil {
		return reward.Errorf(reward.CodeInvalidRequest, "%s already exists; a backup goes into a new directory", dest)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dest)), 0o700); err != nil {
		return fmt.Errorf("datadir: backup: %w", err)
	}
	if err := os.Mkdir(dest, 0o700); err != nil {
		return fmt.Errorf("datadir: backup: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dest) // no half backup that looks whole
		}
	}()
	if err := d.Engine.FlushStats(); err != nil {
		return err
	}
	cp, ok := d.DB.(interface{ Checkpoint(dest string) error })
	if !ok {
		return reward.Errorf(reward.CodeInvalidRequest, "the records are in PostgreSQL: back them up with the database's own tools (pg_dump, pg_basebackup or continuous archiving); the signing keys are in it, sealed: keep a copy of the key-encryption key apart from the backups")
	}
	if err := cp.Checkpoint(filepath.Join(dest, dbDir)); err != nil {
		return err
	}
	// The keyset file only ever gains keys, so today's holds every key of
	// the codes in the checkpoint.
	for _, name := range []string{KeysFile, AdminTokenFile} {
		raw, err := os.ReadFile(filepath.Join(d.Path, name))
		if err != nil {
			return fmt.Errorf("datadir: backup: %w", err)
		}
		if err := codegen.WriteFileAtomic(filepath.Join(dest, name), raw, 0o600); err != nil {
			return fmt.Errorf("datadir: backup: %w", err)
		}
	}
	return nil
}

// AdminToken is the admin's secret, from admin.token; empty on a shared
// database with sealed keys, whose admins hold token records (yima token
// create --role admin).
func (d *Dir) AdminToken() string { return d.adminToken }

// Err is the storage failure that stopped the store, if any; else, on a
// shared database that does not answer for now (a failover), an error
// that is store.ErrBusy, until it answers again.
func (d *Dir) Err() error {
	if err := d.DB.Err(); err != nil {
		return err
	}
	if b, ok := d.DB.(interface{ Busy() error }); ok {
		return b.Busy()
	}
	return nil
}

// Close writes the statistics still in memory and closes the store after
// pending decisions are durable.
func (d *Dir) Close() error {
	d.stopSeen()
	<-d.seenDone
	if d.zoneDone != nil {
		<-d.zoneDone
	}
	if d.relayDone != nil {
		// Stopped, the relay numbered what it could and gave its lease
		// up: another node relays at once.
		<-d.relayDone
	}
	// A node's unused slices of campaigns go back to them; a node that
	// dies leaves its slices to the others once their lease runs out.
	ferr := errors.Join(d.Engine.ReturnSlices(), d.Engine.FlushStats())
	if err := d.DB.Close(); err != nil {
		return err
	}
	if reward.ErrorCode(ferr) == reward.CodeUnavailable {
		return nil // the store failed already; Close reported what it could
	}
	return ferr
}

// Preload fills the store with spec's redeemed codes through the Pebble
// engine's bulk load (see reward.Engine.Preload): for growth benchmarks, on
// a store nothing else writes to meanwhile.
func (d *Dir) Preload(ctx context.Context, spec reward.PreloadSpec) (*reward.Preloaded, error) {
	pdb, ok := d.DB.(*pebblestore.DB)
	if !ok {
		return nil, reward.Errorf(reward.CodeInvalidRequest, "preloading loads Pebble's files directly: it needs a data directory's own store, not PostgreSQL (--db)")
	}
	l, err := pdb.NewLoader()
	if err != nil {
		return nil, err
	}
	defer l.Close()
	p, err := d.Engine.Preload(ctx, spec, l)
	if err != nil {
		return nil, err
	}
	if err := l.Ingest(p.Guard); err != nil {
		return nil, err
	}
	return p, d.Engine.Preloaded(p)
}

// SeenLoaded is closed once the index of scanned codes has loaded in the
// background (or given up): from then on a fresh code's scan reads nothing.
func (d *Dir) SeenLoaded() <-chan struct{} { return d.seenDone }

// MigrateSchema creates yima's schema in the PostgreSQL database at url, or
// raises it to this yima's version, and returns the versions before and
// after. writtenBy (this yima's version) is recorded beside it.
func MigrateSchema(ctx context.Context, url, writtenBy string) (from, to int64, err error) {
	return pgstore.Migrate(ctx, url, writtenBy)
}

// ErrNotEmpty is returned by CopyStore for a target that holds records.
var ErrNotEmpty = errors.New("datadir: the target database already holds records; copy into an empty one (a fresh database, after yima migrate-schema)")

// CopyStore copies every record of the Pebble store in the data directory
// dir into the PostgreSQL database at url, which must hold this yima's
// schema and no records, and returns how many it copied. It opens the
// directory as a server does, so it refuses one a running server holds:
// the source must be stopped. progress, when not nil, is told the count
// after each chunk. keys.json and admin.token stay files: the caller copies
// them to each node.
func CopyStore(dir, url string, progress func(n int)) (int, error) {
	src, err := pebblestore.Open(filepath.Join(dir, dbDir), nil)
	if errors.Is(err, pebblestore.ErrLocked) {
		return 0, ErrLocked
	}
	if err != nil {
		return 0, err
	}
	defer src.Close()
	dst, err := pgstore.Open(url, nil)
	if err != nil {
		return 0, err
	}
	defer dst.Close()
	empty := true
	if err := dst.Scan(nil, nil, func(_, _ []byte) bool { empty = false; return false }); err != nil {
		return 0, err
	}
	if !empty {
		return 0, ErrNotEmpty
	}
	snap, err := src.Snapshot()
	if err != nil {
		return 0, err
	}
	defer snap.Close()
	// Chunks of records, each one decision: a chunk is small enough for
	// one transaction, and the copy needs no more than the snapshot's
	// order to resume in a rerun (into an emptied database).
	const chunk = 2000
	var keys, vals [][]byte
	n := 0
	flush := func() error {
		err := dst.Update(func(tx store.Tx) error {
			for i, k := range keys {
				tx.Put(k, vals[i])
			}
			return nil
		})
		if err != nil {
			return err
		}
		n += len(keys)
		keys, vals = keys[:0], vals[:0]
		if progress != nil {
			progress(n)
		}
		return nil
	}
	var ferr error
	err = snap.Scan(nil, nil, func(k, v []byte) bool {
		keys = append(keys, bytes.Clone(k))
		vals = append(vals, bytes.Clone(v))
		if len(keys) == chunk {
			ferr = flush()
		}
		return ferr == nil
	})
	if err == nil {
		err = ferr
	}
	if err == nil && len(keys) > 0 {
		err = flush()
	}
	return n, err
}

// nodeID names a node on a shared database: its host and a random part,
// new at each start, so that two processes never share a slice.
func nodeID() string {
	host, _ := os.Hostname()
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%x", host, b)
}
