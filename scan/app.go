package scan

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore"
)

// Files in a data directory.
const (
	KeysFile       = "keys.json"
	AdminTokenFile = "admin.token"

	dbDir = "db"
)

// ErrDataLocked is returned by Open when a running server holds the data
// directory. Its message tells the user how to reach that server instead.
var ErrDataLocked = errors.New("scan: the data directory is held by a running yima server; use --server URL (and --token or YIMA_TOKEN) to talk to it, or stop it first")

// App is an open data directory: keys, store and reward engine.
type App struct {
	Dir    string
	DB     *pebblestore.DB
	Engine *reward.Engine
	// adminHash is the SHA-256 of the admin token, compared in constant
	// time.
	adminHash [32]byte
	// keysMu guards keysSum, the SHA-256 of the keyset file in use (see
	// ReloadKeys).
	keysMu  sync.Mutex
	keysSum [32]byte
	log     *slog.Logger

	// The engine's index of scanned codes loads in the background; Close
	// stops it before closing the store it reads.
	stopSeen context.CancelFunc
	seenDone chan struct{}

	// observer receives the engine's events (see reward.Event); a Server
	// sets it to count them in its metrics.
	observer atomic.Pointer[func(reward.Event)]
}

// observe hands an engine event to the observer a Server set, if any.
func (a *App) observe(ev reward.Event) {
	if fn := a.observer.Load(); fn != nil {
		(*fn)(ev)
	}
}

// storedZone is the time zone of the brand's stored settings (yima brand
// set --tz), or UTC when none is set.
func storedZone(db store.DB, ks *codegen.Keyset) (*time.Location, error) {
	b, err := reward.New(db, ks, reward.Options{}).Brand()
	if err != nil {
		return nil, err
	}
	if b.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(b.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("scan: the brand's time zone %q is unknown here (%v): set another with yima brand set --tz", b.TimeZone, err)
	}
	return loc, nil
}

// AppOptions configures Open.
type AppOptions struct {
	Now    func() time.Time
	Logger *slog.Logger
	// OnFail is called when storage fails (see store.Options.OnFail).
	OnFail func(error)
	// StatsZone is the brand's time zone, where statistics' days begin
	// (reward.Options); nil means the stored settings' (yima brand set
	// --tz), or UTC.
	StatsZone *time.Location
	// AcceptDataLoss opens a store whose log is damaged with what is
	// readable (pebblestore.Options.AcceptLoss).
	AcceptDataLoss bool
}

// ErrKeysMissing is returned when keys.json is missing beside a store that
// holds batches: a new keyset would make every printed code answer "not
// genuine".
var ErrKeysMissing = errors.New("scan: the keyset is missing")

// Init creates the data directory with a fresh keyset and admin token if it
// does not hold them yet. It is idempotent and never overwrites. It makes
// no keyset beside an existing store: only Open, which can read the store,
// knows whether codes were signed with the lost one.
func Init(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("scan: creating data directory: %w", err)
	}
	tok := filepath.Join(dir, AdminTokenFile)
	if _, err := os.Stat(tok); errors.Is(err, fs.ErrNotExist) {
		if err := codegen.WriteFileAtomic(tok, []byte(reward.NewSecret()+"\n"), 0o600); err != nil {
			return fmt.Errorf("scan: writing admin token: %w", err)
		}
	}
	if !exists(filepath.Join(dir, KeysFile)) {
		if exists(filepath.Join(dir, dbDir)) {
			return keysMissing(dir, "a store")
		}
		return newKeyset(dir)
	}
	return nil
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
		return fmt.Errorf("scan: writing keyset: %w", err)
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
		return "", fmt.Errorf("scan: reading admin token: %w", err)
	}
	tok := strings.TrimSpace(string(raw))
	if len(tok) < minAdminToken {
		return "", fmt.Errorf("scan: %s holds no admin token (it needs at least %d characters); delete the file and yima makes a new one at the next start, or write a long random secret into it", path, minAdminToken)
	}
	return tok, nil
}

// Open initialises dir if needed and opens it. Only one process may hold a
// data directory at a time.
func Open(dir string, opts AppOptions) (*App, error) {
	if err := Init(dir); err != nil && !errors.Is(err, ErrKeysMissing) {
		return nil, err
	}
	tok, err := AdminToken(dir)
	if err != nil {
		return nil, err
	}
	db, err := pebblestore.Open(filepath.Join(dir, dbDir), &pebblestore.Options{Logger: opts.Logger, OnFail: opts.OnFail, AcceptLoss: opts.AcceptDataLoss})
	if errors.Is(err, pebblestore.ErrLocked) {
		return nil, ErrDataLocked
	}
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
		return nil, fmt.Errorf("scan: reading keyset: %w", err)
	}
	ks, err := codegen.ParseKeyset(keysRaw)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("scan: keyset %s: %w", filepath.Join(dir, KeysFile), err)
	}
	if opts.StatsZone == nil {
		if opts.StatsZone, err = storedZone(db, ks); err != nil {
			db.Close()
			return nil, err
		}
	}
	app := &App{
		Dir: dir, DB: db,
		adminHash: sha256.Sum256([]byte(tok)),
		keysSum:   sha256.Sum256(keysRaw),
		log:       opts.Logger,
		seenDone:  make(chan struct{}),
	}
	app.Engine = reward.New(db, ks, reward.Options{Now: opts.Now, StatsZone: opts.StatsZone, Observe: app.observe})
	if app.log == nil {
		app.log = slog.New(slog.DiscardHandler)
	}
	if err := app.Engine.CheckFormat(); err != nil {
		db.Close()
		return nil, fmt.Errorf("scan: data directory %s: %w", dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	app.stopSeen = cancel
	go func() {
		defer close(app.seenDone)
		start := time.Now()
		if err := app.Engine.LoadSeen(ctx); err != nil && ctx.Err() == nil {
			app.log.Warn("index of scanned codes not loaded; every scan reads the store", "err", err)
			return
		}
		app.log.Debug("index of scanned codes loaded", "took", time.Since(start))
	}()
	return app, nil
}

// Keys returns the keyset in use.
func (a *App) Keys() *codegen.Keyset { return a.Engine.Keys() }

// ReloadKeys reads the keyset file again and puts it in use when it
// differs from the one in use, so that a rotation or a retirement made with
// yima keys takes effect without a restart. It reports whether the keys
// changed. On error the keys in use stay.
func (a *App) ReloadKeys() (changed bool, err error) {
	a.keysMu.Lock()
	defer a.keysMu.Unlock()
	raw, err := os.ReadFile(filepath.Join(a.Dir, KeysFile))
	if err != nil {
		return false, fmt.Errorf("scan: reading keyset: %w", err)
	}
	sum := sha256.Sum256(raw)
	if sum == a.keysSum {
		return false, nil
	}
	ks, err := codegen.ParseKeyset(raw)
	if err != nil {
		return false, fmt.Errorf("scan: keyset %s: %w", KeysFile, err)
	}
	a.Engine.SetKeys(ks)
	a.keysSum = sum
	return true, nil
}

// Backup writes a restorable copy of the data directory into dest, which
// must not exist: a checkpoint of the store with every payout acknowledged
// before the call, statistics up to it, the keyset and the admin token. A
// server keeps serving meanwhile. To restore, serve the copy (--data dest).
func (a *App) Backup(dest string) (err error) {
	if _, err := os.Stat(dest); err == nil {
		return reward.Errorf(reward.CodeInvalidRequest, "%s already exists; a backup goes into a new directory", dest)
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dest)), 0o700); err != nil {
		return fmt.Errorf("scan: backup: %w", err)
	}
	if err := os.Mkdir(dest, 0o700); err != nil {
		return fmt.Errorf("scan: backup: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dest) // no half backup that looks whole
		}
	}()
	if err := a.Engine.FlushStats(); err != nil {
		return err
	}
	if err := a.DB.Checkpoint(filepath.Join(dest, dbDir)); err != nil {
		return err
	}
	// The keyset file only ever gains keys, so today's holds every key of
	// the codes in the checkpoint.
	for _, name := range []string{KeysFile, AdminTokenFile} {
		raw, err := os.ReadFile(filepath.Join(a.Dir, name))
		if err != nil {
			return fmt.Errorf("scan: backup: %w", err)
		}
		if err := codegen.WriteFileAtomic(filepath.Join(dest, name), raw, 0o600); err != nil {
			return fmt.Errorf("scan: backup: %w", err)
		}
	}
	return nil
}

// IsAdmin reports whether token is the admin token, in constant time. An
// empty token is never the admin token.
func (a *App) IsAdmin(token string) bool {
	if token == "" {
		return false
	}
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(h[:], a.adminHash[:]) == 1
}

// Close writes the statistics still in memory and closes the store after
// pending decisions are durable.
func (a *App) Close() error {
	a.stopSeen()
	<-a.seenDone
	ferr := a.Engine.FlushStats()
	if err := a.DB.Close(); err != nil {
		return err
	}
	if reward.ErrorCode(ferr) == reward.CodeUnavailable {
		return nil // the store failed already; Close reported what it could
	}
	return ferr
}

// Description is what yima verify prints of a genuine code.
type Description struct {
	Genuine bool   `json:"genuine"`
	Code    string `json:"code"`
	Version uint8  `json:"version"`
	KeyID   uint8  `json:"key_id"`
	Batch   uint32 `json:"batch"`
	Serial  uint32 `json:"serial"`
	Product string `json:"product,omitempty"`
	GTIN    string `json:"gtin,omitempty"`
	Region  string `json:"region,omitempty"`
	// State is the serial's state, or "unknown" when the batch records
	// cannot be read (a server holds the directory).
	State  string `json:"state"`
	Active bool   `json:"active"`
	// Reason and Message are set when the code is genuine but cannot be
	// honoured here (its batch is unknown).
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Describe adds what the batch records say to a verified code.
func Describe(dir string, p codegen.Parsed) Description {
	d := Description{Genuine: true, Code: p.String(), Version: p.Version, KeyID: p.Key, Batch: p.Batch, Serial: p.Serial, State: "unknown"}
	app, err := Open(dir, AppOptions{})
	if err != nil {
		d.Message = "batch records not read: " + err.Error()
		return d
	}
	defer app.Close()
	b, err := app.Engine.Batch(p.Batch)
	var re *reward.Error
	switch {
	case errors.As(err, &re) && re.Code == reward.CodeNotFound || (err == nil && reward.NotMinted(b, p) != ""):
		d.Genuine = false
		d.Reason = string(reward.CodeUnknownBatch)
		d.Message = fmt.Sprintf("the signature is right but batch %d serial %d is not in this deployment's records", p.Batch, p.Serial)
		if err == nil {
			d.Message = "the signature is right but " + reward.NotMinted(b, p)
		}
	case err != nil:
		d.Message = "batch records not read: " + err.Error()
	default:
		d.Product, d.GTIN, d.Region = b.Product, b.GTIN, b.Region
		d.State = string(b.State(p.Serial))
		d.Active = d.State == string(reward.Active)
	}
	return d
}
