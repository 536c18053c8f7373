package baseline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/yima-dev/yima/bench"
	"github.com/yima-dev/yima/store/pglocal"
)

// The PostgreSQL baseline: a cluster made for the run with initdb in a
// temporary directory and started as this process's child on a free
// loopback port,
// fsync on and synchronous_commit on (a commit returns once its WAL is
// flushed; concurrent commits share flushes), and each decision one
// transaction of plain statements from the front, as an application would
// write it: claim the code with INSERT ... ON CONFLICT DO NOTHING, lock and
// read the member, append the ledger, update the balances, and take the
// campaign's counter row last, with a conditional UPDATE that enforces the
// budget and the stock, so that the hot row is held as briefly as a
// transaction allows (when the condition fails, the scan is decided again
// with the row locked first, to pay exactly what is left).

const pgSchema = `
CREATE TABLE members (id text PRIMARY KEY, points bigint NOT NULL DEFAULT 0, growth bigint NOT NULL DEFAULT 0,
  redemptions bigint NOT NULL DEFAULT 0, guide text);
CREATE TABLE redemptions (code text PRIMARY KEY, member text NOT NULL, points bigint NOT NULL DEFAULT 0,
  coupon text, guide text, commission bigint NOT NULL DEFAULT 0, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ledger (id bigserial PRIMARY KEY, account text NOT NULL, kind text NOT NULL, reason text NOT NULL,
  delta bigint NOT NULL, ref text NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ledger_account ON ledger (account, kind);
CREATE TABLE coupons (id text PRIMARY KEY, member text NOT NULL, code text NOT NULL, status text NOT NULL,
  used_by text, commission bigint NOT NULL DEFAULT 0);
CREATE TABLE guides (id text PRIMARY KEY, commission bigint NOT NULL DEFAULT 0, verified bigint NOT NULL DEFAULT 0);
CREATE TABLE campaigns (id text PRIMARY KEY, points_paid bigint NOT NULL DEFAULT 0, coupons_issued bigint NOT NULL DEFAULT 0,
  coupons_used bigint NOT NULL DEFAULT 0, commission bigint NOT NULL DEFAULT 0, rewarded_scans bigint NOT NULL DEFAULT 0);
CREATE TABLE requests (id text PRIMARY KEY, balance bigint NOT NULL);
`

type pgBackend struct {
	dir, data string
	bin       string // the directory of initdb, pg_isready and postgres
	cred      *syscall.Credential
	version   string
	pool      *pgxpool.Pool
	server    *child // the postmaster, nil until started
	rules     *rules
	log       *slog.Logger
}

// errRetryExact asks for a scan to be decided again with the campaign's
// row locked first: the budget or the stock is nearly out.
var errRetryExact = errors.New("bench: budget or stock nearly out")

// findPostgres returns the directory holding initdb and postgres, or
// bench.ErrBaselineUnavailable when PostgreSQL is not installed.
func findPostgres() (string, error) {
	bin, err := pglocal.Bin()
	if err != nil {
		return "", fmt.Errorf("%w: PostgreSQL is not installed: %v (apt-get install -y postgresql, or make bench-compare)", bench.ErrBaselineUnavailable, err)
	}
	return bin, nil
}

// NewPostgres makes a PostgreSQL cluster in a temporary directory, starts
// it on a free loopback port and returns the baseline Target in front of
// it. As root it runs the server as the user nobody (initdb refuses root).
// It returns bench.ErrBaselineUnavailable when PostgreSQL is not installed or
// cannot run here.
func NewPostgres(conns int, timeout time.Duration, log *slog.Logger) (bench.Target, error) {
	bin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	b := &pgBackend{bin: bin, log: log}
	if b.cred, err = pglocal.Unprivileged(); err != nil {
		return nil, fmt.Errorf("%w: %v", bench.ErrBaselineUnavailable, err)
	}
	if b.dir, err = pglocal.TempDir("yima-bench-pg-*", b.cred); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	b.data = filepath.Join(b.dir, "data")
	if out, err := b.command("initdb", "-D", b.data, "-U", "bench", "-A", "trust", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		b.close()
		return nil, fmt.Errorf("bench: initdb: %v: %s", err, lastLines(string(out), 5))
	}
	port, err := pglocal.FreePort()
	if err != nil {
		b.close()
		return nil, err
	}
	// postgres runs as this process's child rather than daemonized by
	// pg_ctl, so that it gets a fast shutdown (SIGINT) when the bench dies,
	// even by SIGKILL, instead of outliving it.
	logFile, err := os.Create(filepath.Join(b.dir, "postgres.log"))
	if err != nil {
		b.close()
		return nil, err
	}
	defer logFile.Close()
	server := b.command("postgres", "-D", b.data, "-p", strconv.Itoa(port), "-k", b.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "synchronous_commit=on",
		"-c", fmt.Sprintf("max_connections=%d", conns+32))
	server.SysProcAttr.Pdeathsig = syscall.SIGINT
	server.Stdout, server.Stderr = logFile, logFile
	if b.server, err = startChild(server); err != nil {
		b.close()
		return nil, fmt.Errorf("bench: starting postgres: %w", err)
	}
	if err := b.server.waitReady(time.Minute, b.ready(port)); err != nil {
		logText, _ := os.ReadFile(filepath.Join(b.dir, "postgres.log"))
		b.close()
		return nil, fmt.Errorf("bench: postgres did not start: %v: %s", err, lastLines(string(logText), 5))
	}
	cfg, err := pgxpool.ParseConfig(fmt.Sprintf("postgres://bench@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		b.close()
		return nil, err
	}
	cfg.MaxConns = int32(conns + 8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if b.pool, err = pgxpool.NewWithConfig(ctx, cfg); err == nil {
		_, err = b.pool.Exec(ctx, pgSchema)
	}
	if err == nil {
		err = b.pool.QueryRow(ctx, "SHOW server_version").Scan(&b.version)
	}
	if err != nil {
		b.close()
		return nil, fmt.Errorf("bench: preparing PostgreSQL: %w", err)
	}
	log.Info("postgres baseline started", "dir", b.dir, "port", port, "version", b.version)
	f, err := newFront(b, conns, timeout)
	if err != nil {
		b.close()
		return nil, err
	}
	return f, nil
}

// command runs one of PostgreSQL's programs as the cluster's user (nil
// Credential: this process's), in the cluster's directory.
func (b *pgBackend) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(b.bin, name), args...)
	cmd.Dir = b.dir
	// A process group of its own: the terminal's ^C, which ends the load
	// and lets the audit run, must not stop the server the audit reads.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: b.cred}
	return cmd
}

// ready asks pg_isready whether the server accepts connections.
func (b *pgBackend) ready(port int) func() error {
	return func() error {
		out, err := b.command("pg_isready", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(port)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v %s", err, out)
		}
		return nil
	}
}

func (b *pgBackend) describe() string {
	v, _, _ := strings.Cut(b.version, " ")
	return "PostgreSQL " + v + " (a transaction per decision, fsync on, synchronous_commit on)"
}

func (b *pgBackend) close() error {
	if b.pool != nil {
		b.pool.Close()
	}
	if b.server != nil {
		// SIGINT is PostgreSQL's fast shutdown: it ends sessions and writes
		// a checkpoint.
		b.server.stop(syscall.SIGINT, time.Minute, func() { b.log.Warn("postgres did not stop within a minute; killing it") })
	}
	return os.RemoveAll(b.dir)
}

func (b *pgBackend) cpuSeconds() float64 {
	if b.server == nil {
		return nan
	}
	return b.server.cpuSeconds()
}

func (b *pgBackend) setup(ctx context.Context, s *bench.Setup, r *rules) error {
	b.rules = r
	batch := &pgx.Batch{}
	for _, g := range s.Guides {
		batch.Queue(`INSERT INTO guides (id) VALUES ($1)`, g)
	}
	for _, bd := range s.Bindings {
		batch.Queue(`INSERT INTO members (id, guide) VALUES ($1, $2)`, bd.Member, bd.Guide)
	}
	if !r.fixed {
		batch.Queue(`INSERT INTO campaigns (id) VALUES ($1)`, r.campaign)
	}
	if batch.Len() == 0 {
		return nil
	}
	if err := b.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("bench: postgres setup: %w", err)
	}
	return nil
}

func (b *pgBackend) scan(ctx context.Context, r *rules, q *scanReq) (scanAns, error) {
	if r.fixed {
		return b.scanFixed(ctx, q)
	}
	ans, err := b.scanCampaign(ctx, r, q, false)
	if errors.Is(err, errRetryExact) {
		ans, err = b.scanCampaign(ctx, r, q, true)
	}
	return ans, err
}

// scanFixed pays a fixed number of points: claim, ledger, balance.
func (b *pgBackend) scanFixed(ctx context.Context, q *scanReq) (scanAns, error) {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return scanAns{}, err
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `INSERT INTO redemptions (code, member, points) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, q.code, q.member, q.base)
	if err != nil {
		return scanAns{}, err
	}
	if tag.RowsAffected() == 0 {
		return scanAns{}, errAlreadyRedeemed
	}
	if q.base > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO ledger (account, kind, reason, delta, ref) VALUES ($1, 'points', 'scan', $2, $3)`, q.member, q.base, q.code); err != nil {
			return scanAns{}, err
		}
	}
	var bal int64
	err = tx.QueryRow(ctx, `INSERT INTO members (id, points, redemptions) VALUES ($1, $2, 1)
		ON CONFLICT (id) DO UPDATE SET points = members.points + EXCLUDED.points, redemptions = members.redemptions + 1
		RETURNING points`, q.member, q.base).Scan(&bal)
	if err != nil {
		return scanAns{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return scanAns{}, err
	}
	return scanAns{points: q.base, balance: bal}, nil
}

// scanCampaign applies the campaign. exact locks the campaign's row before
// deciding, to pay exactly what is left of the budget and stock; otherwise
// the row is updated last, on condition that the budget and the stock
// allow the payout, and errRetryExact says they did not.
func (b *pgBackend) scanCampaign(ctx context.Context, r *rules, q *scanReq, exact bool) (scanAns, error) {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return scanAns{}, err
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `INSERT INTO redemptions (code, member) VALUES ($1, $2) ON CONFLICT DO NOTHING`, q.code, q.member)
	if err != nil {
		return scanAns{}, err
	}
	if tag.RowsAffected() == 0 {
		return scanAns{}, errAlreadyRedeemed
	}
	var growth, reds int64
	var bound *string
	err = tx.QueryRow(ctx, `INSERT INTO members (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id
		RETURNING growth, redemptions, guide`, q.member).Scan(&growth, &reds, &bound)
	if err != nil {
		return scanAns{}, err
	}
	points := tierPoints(q.base, r.multiplier(growth))
	var bonus int64
	if reds == 0 {
		bonus = r.bonus
	}
	// Lock order, the same in every transaction: member, guide, campaign.
	var guide string
	var commission int64
	if bound != nil && r.perScan > 0 {
		guide, commission = *bound, r.perScan
		if _, err := tx.Exec(ctx, `UPDATE guides SET commission = commission + $2 WHERE id = $1`, guide, commission); err != nil {
			return scanAns{}, err
		}
	}
	coupon := q.coupon
	if exact {
		var paid, issued int64
		if err := tx.QueryRow(ctx, `SELECT points_paid, coupons_issued FROM campaigns WHERE id = $1 FOR UPDATE`, r.campaign).Scan(&paid, &issued); err != nil {
			return scanAns{}, err
		}
		if r.budget > 0 {
			left := r.budget - paid
			if left <= 0 && points+bonus > 0 {
				return scanAns{}, errBudget
			}
			if points+bonus > left {
				points = min(points, left)
				bonus = min(bonus, left-points)
			}
		}
		if issued >= r.stock {
			coupon = ""
		}
	}
	accounts, kinds, reasons, deltas, refs := []string{}, []string{}, []string{}, []int64{}, []string{}
	entry := func(account, kind, reason string, delta int64, ref string) {
		accounts, kinds, reasons, deltas, refs = append(accounts, account), append(kinds, kind), append(reasons, reason), append(deltas, delta), append(refs, ref)
	}
	if points > 0 {
		entry(q.member, "points", "scan", points, q.code)
	}
	if bonus > 0 {
		entry(q.member, "points", "new_member_bonus", bonus, q.code)
	}
	if q.base > 0 {
		entry(q.member, "growth", "scan", q.base, q.code)
	}
	if commission > 0 {
		entry(guide, "commission", "scan_commission", commission, q.code)
	}
	if len(accounts) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO ledger (account, kind, reason, delta, ref)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])`, accounts, kinds, reasons, deltas, refs); err != nil {
			return scanAns{}, err
		}
	}
	var bal int64
	err = tx.QueryRow(ctx, `UPDATE members SET points = points + $2, growth = growth + $3, redemptions = redemptions + 1
		WHERE id = $1 RETURNING points`, q.member, points+bonus, q.base).Scan(&bal)
	if err != nil {
		return scanAns{}, err
	}
	var issued int64
	if coupon != "" {
		issued = 1
		if _, err := tx.Exec(ctx, `INSERT INTO coupons (id, member, code, status) VALUES ($1, $2, $3, 'issued')`, coupon, q.member, q.code); err != nil {
			return scanAns{}, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE redemptions SET points = $2, coupon = $3, guide = $4, commission = $5 WHERE code = $1`,
		q.code, points+bonus, coupon, guide, commission); err != nil {
		return scanAns{}, err
	}
	tag, err = tx.Exec(ctx, `UPDATE campaigns SET points_paid = points_paid + $2, coupons_issued = coupons_issued + $3,
		commission = commission + $4, rewarded_scans = rewarded_scans + 1
		WHERE id = $1 AND ($5::bigint = 0 OR points_paid + $2 <= $5::bigint) AND coupons_issued + $3 <= $6::bigint`,
		r.campaign, points+bonus, issued, commission, r.budget, r.stock)
	if err != nil {
		return scanAns{}, err
	}
	if tag.RowsAffected() == 0 {
		if exact {
			return scanAns{}, fmt.Errorf("bench: campaign %s vanished", r.campaign)
		}
		return scanAns{}, errRetryExact
	}
	if err := tx.Commit(ctx); err != nil {
		return scanAns{}, err
	}
	return scanAns{points: points + bonus, balance: bal, coupon: coupon, guide: guide, commission: commission}, nil
}

func (b *pgBackend) verify(ctx context.Context, r *rules, coupon, guide string) (verifyAns, error) {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return verifyAns{}, err
	}
	defer tx.Rollback(ctx)
	ans := verifyAns{commission: r.perCoupon}
	err = tx.QueryRow(ctx, `UPDATE coupons SET status = 'used', used_by = $2, commission = $3 WHERE id = $1 AND status = 'issued'
		RETURNING member, code`, coupon, guide, r.perCoupon).Scan(&ans.member, &ans.code)
	if errors.Is(err, pgx.ErrNoRows) {
		var st string
		if err := tx.QueryRow(ctx, `SELECT status FROM coupons WHERE id = $1`, coupon).Scan(&st); errors.Is(err, pgx.ErrNoRows) {
			return verifyAns{}, errNoCoupon
		} else if err != nil {
			return verifyAns{}, err
		}
		return verifyAns{}, errAlreadyUsed
	}
	if err != nil {
		return verifyAns{}, err
	}
	if r.perCoupon > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO ledger (account, kind, reason, delta, ref) VALUES ($1, 'commission', 'coupon_commission', $2, $3)`, guide, r.perCoupon, coupon); err != nil {
			return verifyAns{}, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE guides SET commission = commission + $2, verified = verified + 1 WHERE id = $1`, guide, r.perCoupon); err != nil {
		return verifyAns{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE campaigns SET coupons_used = coupons_used + 1, commission = commission + $2 WHERE id = $1`, r.campaign, r.perCoupon); err != nil {
		return verifyAns{}, err
	}
	return ans, tx.Commit(ctx)
}

func (b *pgBackend) spend(ctx context.Context, member string, points int64, requestID string) (int64, error) {
	tx, err := b.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	var bal int64
	err = tx.QueryRow(ctx, `SELECT balance FROM requests WHERE id = $1`, requestID).Scan(&bal)
	if err == nil {
		return bal, nil // a retry: the stored answer
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	err = tx.QueryRow(ctx, `UPDATE members SET points = points - $2 WHERE id = $1 AND redemptions > 0 AND points >= $2 RETURNING points`,
		member, points).Scan(&bal)
	if errors.Is(err, pgx.ErrNoRows) {
		var reds int64
		if err := tx.QueryRow(ctx, `SELECT redemptions FROM members WHERE id = $1`, member).Scan(&reds); errors.Is(err, pgx.ErrNoRows) || (err == nil && reds == 0) {
			return 0, errNoPoints
		} else if err != nil {
			return 0, err
		}
		return 0, errInsufficient
	}
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO ledger (account, kind, reason, delta, ref) VALUES ($1, 'points', 'spend', $2, $3)`, member, -points, requestID); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO requests (id, balance) VALUES ($1, $2)`, requestID, bal); err != nil {
		return 0, err
	}
	return bal, tx.Commit(ctx)
}

// Checker: the audit reads the tables directly.

func (b *pgBackend) CodeRedeemed(ctx context.Context, code string) (bool, error) {
	var ok bool
	err := b.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM redemptions WHERE code = $1)`, code).Scan(&ok)
	return ok, err
}

func (b *pgBackend) Member(ctx context.Context, member string) (bench.MemberState, error) {
	var ms bench.MemberState
	err := b.pool.QueryRow(ctx, `SELECT points FROM members WHERE id = $1`, member).Scan(&ms.Points)
	if errors.Is(err, pgx.ErrNoRows) {
		return ms, nil
	}
	if err != nil {
		return ms, err
	}
	ms.Found = true
	rows, err := b.pool.Query(ctx, `SELECT reason, ref FROM ledger WHERE account = $1 AND kind = 'points' ORDER BY id`, member)
	if err != nil {
		return ms, err
	}
	defer rows.Close()
	for rows.Next() {
		var reason, ref string
		if err := rows.Scan(&reason, &ref); err != nil {
			return ms, err
		}
		switch reason {
		case "scan":
			ms.Codes = append(ms.Codes, ref)
		case "spend":
			ms.Spends = append(ms.Spends, ref)
		}
	}
	return ms, rows.Err()
}

func (b *pgBackend) Campaign(ctx context.Context, id string) (bench.CampaignState, error) {
	c := bench.CampaignState{Found: true}
	err := b.pool.QueryRow(ctx, `SELECT points_paid, coupons_issued, coupons_used, commission, rewarded_scans FROM campaigns WHERE id = $1`, id).
		Scan(&c.PointsPaid, &c.CouponsIssued, &c.CouponsUsed, &c.Commission, &c.RewardedScans)
	if errors.Is(err, pgx.ErrNoRows) {
		return bench.CampaignState{}, nil
	}
	return c, err
}

func (b *pgBackend) Guide(ctx context.Context, id string) (bench.GuideState, error) {
	g := bench.GuideState{Found: true}
	err := b.pool.QueryRow(ctx, `SELECT commission, verified FROM guides WHERE id = $1`, id).Scan(&g.Commission, &g.Verified)
	if errors.Is(err, pgx.ErrNoRows) {
		return bench.GuideState{}, nil
	}
	return g, err
}

func (b *pgBackend) Coupon(ctx context.Context, id string) (bench.CouponState, error) {
	c := bench.CouponState{Found: true}
	err := b.pool.QueryRow(ctx, `SELECT status FROM coupons WHERE id = $1`, id).Scan(&c.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return bench.CouponState{}, nil
	}
	return c, err
}

// ServerAudit is the baseline's own audit over its tables, the same checks
// as the Redis baseline's (see ledgerAudit).
func (b *pgBackend) ServerAudit(ctx context.Context) ([]string, error) {
	var a ledgerAudit
	a.init(b.rules)
	fail := func(err error) ([]string, error) { return nil, fmt.Errorf("bench: postgres audit: %w", err) }

	// Each query's rows are scanned into the variables named and handed
	// to the audit one at a time; a failed query or scan fails the audit.
	each := func(sql string, scans []any, fn func()) error {
		rows, _ := b.pool.Query(ctx, sql) // an error stays in rows, and ForEachRow returns it
		_, err := pgx.ForEachRow(rows, scans, func() error { fn(); return nil })
		return err
	}
	entries := map[string][]ledgerEntry{}
	var (
		id, account, code, member string
		e                         ledgerEntry
		points, bal, sum          int64
	)
	if err := each(`SELECT account, kind, reason, delta, ref FROM ledger WHERE kind = 'points' ORDER BY id`,
		[]any{&account, &e.account, &e.reason, &e.delta, &e.ref},
		func() { entries[account] = append(entries[account], e) }); err != nil {
		return fail(err)
	}
	if err := each(`SELECT id, points FROM members`, []any{&id, &points},
		func() { a.member(id, points, entries[id]) }); err != nil {
		return fail(err)
	}
	if err := each(`SELECT g.id, g.commission, coalesce((SELECT sum(delta) FROM ledger l WHERE l.account = g.id AND l.kind = 'commission'), 0)::bigint FROM guides g`,
		[]any{&id, &bal, &sum}, func() { a.guide(id, bal, sum) }); err != nil {
		return fail(err)
	}
	if err := each(`SELECT code, member FROM redemptions`, []any{&code, &member},
		func() { a.redemption(code, member) }); err != nil {
		return fail(err)
	}
	if b.rules != nil && !b.rules.fixed {
		var issued, used int64
		if err := b.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'used') FROM coupons`).Scan(&issued, &used); err != nil {
			return fail(err)
		}
		c, err := b.Campaign(ctx, b.rules.campaign)
		if err != nil {
			return fail(err)
		}
		a.campaign(c, issued, used)
	}
	return a.finish(), nil
}
