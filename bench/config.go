package bench

import (
	"errors"
	"fmt"
	"github.com/yima-dev/yima/codegen/kek"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/scan/node/datadir"
)

// Config describes a run. Zero fields take the defaults listed with them,
// filled in one place (ensureDefaults).
type Config struct {
	// TargetURL is a running yima server (http://host:port). Empty starts
	// a server in-process on a fresh temporary data directory.
	TargetURL string
	// Token is the API token for TargetURL: it mints, scans and reads
	// members, so in practice the admin token.
	Token string
	// Target, when set, is used instead of TargetURL or the in-process
	// server: a baseline, or a fake in a test. Run closes it.
	Target Target
	// Dir is the in-process server's data directory. Empty (the default):
	// a fresh temporary directory, removed after the run.
	Dir string
	// Store, when set, is a PostgreSQL connection string: the in-process
	// server keeps its records there (yima serve --db), its schema
	// created if missing. Give an empty database: the server's audit
	// reads all of it.
	Store string
	// KEK is the key-encryption key the signing keys in Store are sealed
	// under (yima --key-file); nil: a fresh one for the run, which opens
	// an empty database only.
	KEK *kek.Key
	// Nodes is how many in-process yima nodes share Store (1); the load
	// sends its requests to each in turn.
	Nodes int
	// Lanes is how many groups of decisions each node has in flight on
	// Store at once (pgstore.Options.Lanes); 0: the store's default.
	Lanes int

	// Conns is the number of connections, and in a closed loop the number
	// of requests in flight (64).
	Conns int
	// Duration of the measured phase (10s), unless Requests is set.
	Duration time.Duration
	// Requests ends the phase after this many requests instead (0: by
	// Duration).
	Requests int64
	// Rate, when positive, makes the load open-loop: requests are started
	// at this many per second on a fixed schedule, whatever the answers
	// take, and latency is measured from each request's scheduled start so
	// that a stalled server cannot hide its stall (no coordinated
	// omission). Zero: closed loop, each connection sends its next request
	// when the last one is answered.
	Rate float64

	// FixedPoints runs without a campaign: every scan earns Points, no
	// coupons, guides or verifications (the workload of the first
	// benchmark). The default applies a campaign for the run (see
	// BenchCampaign): random points, tiers, a new-member bonus, gift
	// coupons, guide commissions, a budget and a stock.
	FixedPoints bool
	// Budget is the campaign's points budget (1,000,000,000,000: more
	// than a run pays); a small one shows budget_exhausted refusals.
	Budget int64
	// Stock is the campaign's coupon stock (1,000,000,000); a small one
	// shows coupon_stock_exhausted notes.
	Stock int64
	// Guides is how many guides the run creates (4), each with a token.
	Guides int
	// Bound is the fraction of members bound to a guide before the run
	// (0.5); negative binds none.
	Bound float64

	// Mix is the fraction of requests of each kind; fresh scans take the
	// rest. Nil: DefaultMix, or FixedPointsMix with FixedPoints.
	Mix []Share
	// Contenders is the number of members racing on one contested code (4).
	Contenders int
	// Members is the number of members requests are spread over (1000),
	// each request's member drawn at random. It bounds the audit's ledger
	// reads.
	Members int
	// Points is what a scan of the run's batch earns (10).
	Points int64
	// Timeout bounds one request, including the wait for a free connection
	// (10s).
	Timeout time.Duration

	// WebhookSlow, when positive, registers one webhook endpoint for every
	// event before the scan phase, served by a receiver in this process
	// that answers each delivery after WebhookSlow: delivery must not
	// slow scans (see WebhookRun). A --target server must allow private
	// webhook addresses (serve --webhook-allow-private).
	WebhookSlow time.Duration

	// NoCeiling skips the /healthz run before the scan run.
	NoCeiling bool
	// Preload fills the in-process server's store with this many redeemed
	// codes before the run (see Preload), then restarts the server and
	// measures how long it takes to serve again.
	Preload int
	// PreloadDir keeps the store of a run with Preload in a directory
	// under it named for the preload (PreloadDir/50M-fixed) instead of a
	// temporary one, and a later run with the same PreloadDir and Preload
	// opens that store instead of filling it again (the fill is marked
	// done only once finished: see openKept). A run without a preload
	// makes its temporary store under PreloadDir, on the same disk.
	PreloadDir string
	// PreloadedScans is the fraction of requests that scan a preloaded
	// code (kind Preloaded, expect 409) in a run with Preload (0.05); it
	// is added to the mix, the fresh codes' share giving way.
	PreloadedScans float64
	// NoServerAudit skips the server's own audit (GET /v1/audit), which
	// reads the whole store; the other checks still run.
	NoServerAudit bool
	// NoLanding skips the landing-page run (GET /C/{code} of genuine
	// codes, after the ceiling), which only yima targets have.
	NoLanding bool
	// NoFloor skips the durable floor run (see Floor), which only the
	// in-process target on its own temporary directory has.
	NoFloor bool
	// FloorRecords is how many records each floor request commits (1): one
	// key after the last, or with 2 or more the records a redemption cannot
	// do without (see floorKeys).
	FloorRecords int
	// AuditCodes bounds how many redeemed codes the audit looks up on the
	// server (200,000); past that it checks a random sample.
	AuditCodes int
	// AuditConns is the audit's concurrency (16).
	AuditConns int
	// Seed makes the workload's draws repeatable; 0 picks one, which the
	// report shows.
	Seed uint64

	// Progress, when set, receives a progress line every second, rewritten
	// in place with \r: give it a terminal.
	Progress io.Writer
	// CPUProfile, when set, receives a CPU profile of the scan phase. With
	// the in-process server it covers the server and the load generator.
	CPUProfile io.Writer
	// Logger receives the in-process server's log; nil discards it.
	Logger *slog.Logger
}

// Defaults returns c with its zero fields set to their defaults.
func (c Config) Defaults() Config {
	c.ensureDefaults()
	return c
}

func (c *Config) ensureDefaults() {
	setDefault(&c.Conns, 64)
	if c.Duration == 0 && c.Requests == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Mix == nil {
		c.Mix = DefaultMix
		if c.FixedPoints {
			c.Mix = FixedPointsMix
		}
	}
	if c.Preload > 0 && c.PreloadedScans == 0 {
		c.PreloadedScans = 0.05
	}
	if c.Preload > 0 && c.PreloadedScans > 0 && !slices.ContainsFunc(c.Mix, func(s Share) bool { return s.Kind == Preloaded }) {
		c.Mix = append(slices.Clone(c.Mix), Share{Preloaded, c.PreloadedScans})
	}
	setDefault(&c.Budget, 1_000_000_000_000)
	setDefault(&c.Stock, 1_000_000_000)
	setDefault(&c.Guides, 4)
	setDefault(&c.Bound, 0.5)
	setDefault(&c.Contenders, 4)
	setDefault(&c.Members, 1000)
	setDefault(&c.FloorRecords, 1)
	setDefault(&c.Points, 10)
	setDefault(&c.Timeout, 10*time.Second)
	setDefault(&c.AuditCodes, 200_000)
	setDefault(&c.AuditConns, 16)
	if c.Logger == nil {
		c.Logger = discardLogger()
	}
}

// setDefault gives *v the default d when the caller left it zero.
func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

func (c *Config) validate() error {
	switch {
	case c.Conns < 1:
		return fmt.Errorf("bench: conns must be at least 1, not %d", c.Conns)
	case c.Duration < 0 || c.Requests < 0:
		return errors.New("bench: duration and requests must not be negative")
	case c.Rate < 0:
		return fmt.Errorf("bench: rate must not be negative, not %g", c.Rate)
	case c.Rate > 0 && c.Requests == 0 && c.Duration <= 0:
		return errors.New("bench: an open-loop run needs a duration or a number of requests")
	case c.FloorRecords < 1 || c.FloorRecords > maxFloorRecords:
		return fmt.Errorf("bench: floor-records must be 1 to %d, not %d", maxFloorRecords, c.FloorRecords)
	case c.Members < 1:
		return fmt.Errorf("bench: members must be at least 1, not %d", c.Members)
	case c.Points < 0:
		return errors.New("bench: points must not be negative")
	case c.AuditCodes < 0 || c.AuditConns < 1:
		return errors.New("bench: audit-codes must not be negative and the audit needs at least one connection")
	case c.Target != nil && c.TargetURL != "":
		return errors.New("bench: give a Target or a TargetURL, not both")
	case c.Budget < 0 || c.Stock < 0:
		return errors.New("bench: budget and stock must not be negative")
	case c.WebhookSlow < 0:
		return errors.New("bench: webhook-slow must not be negative (0: no webhook endpoint)")
	case c.Preload < 0 || c.Preload > codegen.MaxSerial:
		return fmt.Errorf("bench: preload must be 0 to %d codes, not %d", codegen.MaxSerial, c.Preload)
	case c.Preload > 0 && (c.TargetURL != "" || c.Target != nil):
		return errors.New("bench: --preload fills the in-process server's store; it does not go with --target")
	case c.Nodes < 0 || c.Nodes > 16:
		return fmt.Errorf("bench: nodes must be 1 to 16, not %d", c.Nodes)
	case c.Nodes > 1 && c.Store == "":
		return errors.New("bench: several nodes share one database: give --db postgres://... with --nodes")
	case c.Lanes < 0 || c.Lanes > datadir.MaxLanes:
		return fmt.Errorf("bench: lanes must be 1 to %d, not %d", datadir.MaxLanes, c.Lanes)
	case c.Lanes > 0 && c.Store == "":
		return errors.New("bench: lanes are a PostgreSQL node's (--db postgres://...); Pebble decides in one")
	case c.Store != "" && (c.TargetURL != "" || c.Target != nil || c.Dir != ""):
		return errors.New("bench: --db starts in-process nodes on that database; it does not go with --target")
	case c.PreloadDir != "" && (c.TargetURL != "" || c.Target != nil || c.Store != "" || c.Dir != ""):
		return errors.New("bench: --preload-dir keeps the in-process server's Pebble store; it does not go with --target, --db or a data directory of the caller's")
	case c.Store != "" && c.Preload > 0:
		return errors.New("bench: --preload loads Pebble's files directly; it does not go with --db")
	case c.Guides < 0 || c.Bound > 1:
		return errors.New("bench: guides must not be negative and bound is a fraction of members, at most 1")
	}
	if c.FixedPoints {
		for _, s := range c.Mix {
			if s.Kind == Verify && s.Fraction > 0 {
				return errors.New("bench: verifications need the campaign workload (its coupons and guides); drop --verify or --campaign=false")
			}
		}
	}
	return nil
}
