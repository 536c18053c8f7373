package baseline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/yima-dev/yima/bench"
	"github.com/yima-dev/yima/store/pglocal"
)

// The Redis baseline: one redis-server started for the run on loopback, its
// append-only file fsynced before every reply (appendonly yes, appendfsync
// always: Redis writes and syncs the AOF once per event-loop turn, before
// answering the clients of that turn, so concurrent commands share a
// sync), and each decision one Lua script, which Redis runs atomically.
//
// Keys: r:{code} the redemption (set only if absent), m:{member} a hash of
// points, growth, redemptions and guide, l:{member} the ledger (a list of
// "account|reason|delta|ref"), cc the campaign's counters, cp:{id} a
// coupon, g:{id} a guide's commission and verifications, gl:{id} its
// ledger, req:{id} a spend's stored answer.

// redisScan: ARGV code, member, base, coupon id ("" for none), fixed
// ("1"), budget, bonus, stock, per-scan commission, tiers ("min:mult;").
// Returns {409} | {403} | {200, points, balance, coupon, guide, commission}.
const redisScan = `
local code, member = ARGV[1], ARGV[2]
local base = tonumber(ARGV[3])
if redis.call('EXISTS', 'r:'..code) == 1 then return {409} end
local mk, lk = 'm:'..member, 'l:'..member
if ARGV[5] == '1' then
  if base > 0 then redis.call('RPUSH', lk, 'points|scan|'..base..'|'..code) end
  local bal = redis.call('HINCRBY', mk, 'points', base)
  redis.call('HINCRBY', mk, 'redemptions', 1)
  redis.call('SET', 'r:'..code, member..'|'..base)
  return {200, base, bal, '', '', 0}
end
local m = redis.call('HMGET', mk, 'growth', 'redemptions', 'guide')
local growth = tonumber(m[1] or '0')
local points = base
for g, mult in string.gmatch(ARGV[10], '(%d+):([%d%.]+);') do
  if growth >= tonumber(g) then points = math.floor(base * tonumber(mult) + 0.5) end
end
local bonus = 0
if tonumber(m[2] or '0') == 0 then bonus = tonumber(ARGV[7]) end
local cc = redis.call('HMGET', 'cc', 'points_paid', 'coupons_issued')
local budget = tonumber(ARGV[6])
if budget > 0 then
  local left = budget - tonumber(cc[1] or '0')
  if left <= 0 and points + bonus > 0 then return {403} end
  if points + bonus > left then
    points = math.min(points, left)
    bonus = math.min(bonus, left - points)
  end
end
if points > 0 then redis.call('RPUSH', lk, 'points|scan|'..points..'|'..code) end
if bonus > 0 then redis.call('RPUSH', lk, 'points|new_member_bonus|'..bonus..'|'..code) end
if base > 0 then redis.call('RPUSH', lk, 'growth|scan|'..base..'|'..code) end
local bal = redis.call('HINCRBY', mk, 'points', points + bonus)
redis.call('HINCRBY', mk, 'growth', base)
redis.call('HINCRBY', mk, 'redemptions', 1)
redis.call('HINCRBY', 'cc', 'points_paid', points + bonus)
redis.call('HINCRBY', 'cc', 'rewarded_scans', 1)
local coupon = ''
if ARGV[4] ~= '' and tonumber(cc[2] or '0') < tonumber(ARGV[8]) then
  coupon = ARGV[4]
  redis.call('HSET', 'cp:'..coupon, 'member', member, 'code', code, 'status', 'issued')
  redis.call('HINCRBY', 'cc', 'coupons_issued', 1)
end
local guide, commission = '', 0
local per = tonumber(ARGV[9])
if m[3] and per > 0 then
  guide, commission = m[3], per
  redis.call('HINCRBY', 'g:'..guide, 'commission', per)
  redis.call('RPUSH', 'gl:'..guide, 'commission|scan_commission|'..per..'|'..code)
  redis.call('HINCRBY', 'cc', 'commission', per)
end
redis.call('SET', 'r:'..code, member..'|'..(points + bonus))
return {200, points + bonus, bal, coupon, guide, commission}
`

// redisVerify: ARGV coupon, guide, per-coupon commission.
// Returns {404} | {409} | {200, commission, member, code}.
const redisVerify = `
local ck = 'cp:'..ARGV[1]
local c = redis.call('HMGET', ck, 'status', 'member', 'code')
if not c[1] then return {404} end
if c[1] ~= 'issued' then return {409} end
local per = tonumber(ARGV[3])
redis.call('HSET', ck, 'status', 'used', 'used_by', ARGV[2], 'commission', per)
redis.call('HINCRBY', 'cc', 'coupons_used', 1)
if per > 0 then
  redis.call('HINCRBY', 'g:'..ARGV[2], 'commission', per)
  redis.call('RPUSH', 'gl:'..ARGV[2], 'commission|coupon_commission|'..per..'|'..ARGV[1])
  redis.call('HINCRBY', 'cc', 'commission', per)
end
redis.call('HINCRBY', 'g:'..ARGV[2], 'verified', 1)
return {200, per, c[2], c[3]}
`

// redisSpend: ARGV member, points, request id.
// Returns {404} | {409} | {200, balance}.
const redisSpend = `
local prev = redis.call('GET', 'req:'..ARGV[3])
if prev then return {200, tonumber(prev)} end
local mk = 'm:'..ARGV[1]
local m = redis.call('HMGET', mk, 'points', 'redemptions')
if tonumber(m[2] or '0') == 0 then return {404} end
local pts = tonumber(ARGV[2])
if tonumber(m[1] or '0') < pts then return {409} end
local bal = redis.call('HINCRBY', mk, 'points', -pts)
redis.call('RPUSH', 'l:'..ARGV[1], 'points|spend|'..(-pts)..'|'..ARGV[3])
redis.call('SET', 'req:'..ARGV[3], bal)
return {200, bal}
`

type redisBackend struct {
	server  *child
	dir     string
	version string
	rdb     *redis.Client
	rules   *rules

	scanScript, verifyScript, spendScript *redis.Script
}

// NewRedis starts redis-server on a free loopback port in a temporary
// directory, with appendonly yes and appendfsync always, and returns the
// baseline Target in front of it. It returns bench.ErrBaselineUnavailable when
// redis-server is not installed.
func NewRedis(conns int, timeout time.Duration, log *slog.Logger) (bench.Target, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("%w: redis-server is not installed (apt-get install -y redis-server, or make bench-compare)", bench.ErrBaselineUnavailable)
	}
	dir, err := os.MkdirTemp("", "yima-bench-redis-*")
	if err != nil {
		return nil, err
	}
	port, err := pglocal.FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	b := &redisBackend{dir: dir}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
		"--logfile", dir+"/redis.log", "--maxclients", strconv.Itoa(conns+64))
	// Its own process group, so a ^C that ends the load leaves it up for the
	// audit; and killed with the bench, so a killed run leaves nothing behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if b.server, err = startChild(cmd); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("bench: starting redis-server: %w", err)
	}
	b.rdb = redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), PoolSize: conns + 8,
		ReadTimeout: timeout, WriteTimeout: timeout, DisableIdentity: true})
	if err := b.waitReady(); err != nil {
		b.close()
		return nil, err
	}
	b.scanScript, b.verifyScript, b.spendScript = redis.NewScript(redisScan), redis.NewScript(redisVerify), redis.NewScript(redisSpend)
	log.Info("redis baseline started", "dir", dir, "port", port, "version", b.version)
	f, err := newFront(b, conns, timeout)
	if err != nil {
		b.close()
		return nil, err
	}
	return f, nil
}

// waitReady waits up to 15s for the server to answer, and reads its
// version.
func (b *redisBackend) waitReady() error {
	err := b.server.waitReady(15*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		info, err := b.rdb.Info(ctx, "server").Result()
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
				b.version = v
			}
		}
		return err
	})
	switch {
	case errors.Is(err, errExited):
		log, _ := os.ReadFile(b.dir + "/redis.log")
		return fmt.Errorf("bench: redis-server exited at start: %s", lastLines(string(log), 5))
	case err != nil:
		return fmt.Errorf("bench: redis-server did not answer: %w", err)
	}
	return nil
}

func (b *redisBackend) describe() string {
	return "Redis " + b.version + " (Lua script per decision, appendonly yes, appendfsync always)"
}

func (b *redisBackend) setup(ctx context.Context, s *bench.Setup, r *rules) error {
	b.rules = r
	pipe := b.rdb.Pipeline()
	for _, g := range s.Guides {
		pipe.HSet(ctx, "g:"+g, "commission", 0, "verified", 0)
	}
	for _, bd := range s.Bindings {
		pipe.HSet(ctx, "m:"+bd.Member, "guide", bd.Guide)
	}
	if !r.fixed {
		pipe.HSet(ctx, "cc", "points_paid", 0, "coupons_issued", 0, "coupons_used", 0, "commission", 0, "rewarded_scans", 0)
	}
	_, err := pipe.Exec(ctx)
	if err != nil {
		return fmt.Errorf("bench: redis setup: %w", err)
	}
	return nil
}

func (b *redisBackend) scan(ctx context.Context, r *rules, q *scanReq) (scanAns, error) {
	fixed := "0"
	if r.fixed {
		fixed = "1"
	}
	v, err := b.runScript(ctx, b.scanScript, "scan", 5, scanRefusals, q.code, q.member, q.base, q.coupon, fixed, r.budget, r.bonus, r.stock, r.perScan, r.tierString)
	if err != nil {
		return scanAns{}, err
	}
	return scanAns{points: toInt(v[0]), balance: toInt(v[1]), coupon: toStr(v[2]), guide: toStr(v[3]), commission: toInt(v[4])}, nil
}

func (b *redisBackend) verify(ctx context.Context, r *rules, coupon, guide string) (verifyAns, error) {
	v, err := b.runScript(ctx, b.verifyScript, "verify", 3, verifyRefusals, coupon, guide, r.perCoupon)
	if err != nil {
		return verifyAns{}, err
	}
	return verifyAns{commission: toInt(v[0]), member: toStr(v[1]), code: toStr(v[2])}, nil
}

func (b *redisBackend) spend(ctx context.Context, member string, points int64, requestID string) (int64, error) {
	v, err := b.runScript(ctx, b.spendScript, "spend", 1, spendRefusals, member, points, requestID)
	if err != nil {
		return 0, err
	}
	return toInt(v[0]), nil
}

// The statuses each script refuses with, and the front's errors for them.
var (
	scanRefusals   = map[int64]error{409: errAlreadyRedeemed, 403: errBudget}
	verifyRefusals = map[int64]error{404: errNoCoupon, 409: errAlreadyUsed}
	spendRefusals  = map[int64]error{404: errNoPoints, 409: errInsufficient}
)

// runScript runs the script name, s, with args and returns the n values
// after its status 200. A status in refusals is that error; any other
// answer is an error that shows it.
func (b *redisBackend) runScript(ctx context.Context, s *redis.Script, name string, n int, refusals map[int64]error, args ...any) ([]any, error) {
	res, err := s.Run(ctx, b.rdb, nil, args...).Slice()
	if err != nil {
		return nil, err
	}
	status := scriptStatus(res)
	if err, refused := refusals[status]; refused {
		return nil, err
	}
	if status != 200 || len(res) != n+1 {
		return nil, fmt.Errorf("bench: redis %s script answered %v", name, res)
	}
	return res[1:], nil
}

func scriptStatus(res []any) int64 {
	if len(res) == 0 {
		return 0
	}
	return toInt(res[0])
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

func toStr(v any) string {
	s, _ := v.(string)
	return s
}

func (b *redisBackend) cpuSeconds() float64 {
	if b.server == nil {
		return nan
	}
	return b.server.cpuSeconds()
}

func (b *redisBackend) close() error {
	if b.rdb != nil {
		b.rdb.Close()
	}
	if b.server != nil {
		b.server.stop(syscall.SIGTERM, 10*time.Second, nil)
	}
	return os.RemoveAll(b.dir)
}

// Checker: the audit reads Redis directly.

func (b *redisBackend) CodeRedeemed(ctx context.Context, code string) (bool, error) {
	n, err := b.rdb.Exists(ctx, "r:"+code).Result()
	return n == 1, err
}

// ledgerEntry is one "account|reason|delta|ref" line.
type ledgerEntry struct {
	account, reason, ref string
	delta                int64
}

func parseEntry(s string) (ledgerEntry, bool) {
	f := strings.SplitN(s, "|", 4)
	if len(f) != 4 {
		return ledgerEntry{}, false
	}
	d, err := strconv.ParseInt(f[2], 10, 64)
	return ledgerEntry{account: f[0], reason: f[1], delta: d, ref: f[3]}, err == nil
}

func (b *redisBackend) Member(ctx context.Context, member string) (bench.MemberState, error) {
	var ms bench.MemberState
	vals, err := b.rdb.HMGet(ctx, "m:"+member, "points", "redemptions", "guide").Result()
	if err != nil {
		return ms, err
	}
	if vals[0] == nil && vals[1] == nil && vals[2] == nil {
		return ms, nil
	}
	ms.Found, ms.Points = true, toInt(vals[0])
	lines, err := b.rdb.LRange(ctx, "l:"+member, 0, -1).Result()
	if err != nil {
		return ms, err
	}
	for _, l := range lines {
		e, ok := parseEntry(l)
		switch {
		case !ok:
			return ms, fmt.Errorf("bench: member %s: unreadable ledger entry %q", member, l)
		case e.account == "points" && e.reason == "scan":
			ms.Codes = append(ms.Codes, e.ref)
		case e.account == "points" && e.reason == "spend":
			ms.Spends = append(ms.Spends, e.ref)
		}
	}
	return ms, nil
}

func (b *redisBackend) Campaign(ctx context.Context, id string) (bench.CampaignState, error) {
	if b.rules == nil || b.rules.campaign != id {
		return bench.CampaignState{}, nil
	}
	v, err := b.rdb.HGetAll(ctx, "cc").Result()
	if err != nil || len(v) == 0 {
		return bench.CampaignState{}, err
	}
	n := func(k string) int64 { i, _ := strconv.ParseInt(v[k], 10, 64); return i }
	return bench.CampaignState{Found: true, PointsPaid: n("points_paid"), CouponsIssued: n("coupons_issued"),
		CouponsUsed: n("coupons_used"), Commission: n("commission"), RewardedScans: n("rewarded_scans")}, nil
}

func (b *redisBackend) Guide(ctx context.Context, id string) (bench.GuideState, error) {
	vals, err := b.rdb.HMGet(ctx, "g:"+id, "commission", "verified").Result()
	if err != nil || vals[0] == nil {
		return bench.GuideState{}, err
	}
	return bench.GuideState{Found: true, Commission: toInt(vals[0]), Verified: toInt(vals[1])}, nil
}

func (b *redisBackend) Coupon(ctx context.Context, id string) (bench.CouponState, error) {
	st, err := b.rdb.HGet(ctx, "cp:"+id, "status").Result()
	if errors.Is(err, redis.Nil) {
		return bench.CouponState{}, nil
	}
	return bench.CouponState{Found: err == nil, Status: st}, err
}

// ServerAudit is the baseline's own audit, done here since Redis has
// none: every member's balance equals its ledger, never negative; every
// code paid once, to the member its redemption names; guides' commissions
// equal their ledgers; the campaign's counters equal the ledgers and the
// coupons, within budget and stock.
func (b *redisBackend) ServerAudit(ctx context.Context) ([]string, error) {
	var a ledgerAudit
	a.init(b.rules)
	keys := func(pattern string, fn func(key string) error) error {
		it := b.rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		for it.Next(ctx) {
			if err := fn(it.Val()); err != nil {
				return err
			}
		}
		return it.Err()
	}
	err := keys("m:*", func(k string) error {
		member := k[2:]
		bal, lines, err := b.account(ctx, k, "points", "l:"+member)
		if err != nil {
			return err
		}
		var entries []ledgerEntry
		for _, l := range lines {
			e, ok := parseEntry(l)
			if !ok {
				a.violate("member %s: unreadable ledger entry %q", member, l)
				continue
			}
			entries = append(entries, e)
		}
		a.member(member, bal, entries)
		return nil
	})
	if err == nil {
		err = keys("g:*", func(k string) error {
			guide := k[2:]
			bal, lines, err := b.account(ctx, k, "commission", "gl:"+guide)
			if err != nil {
				return err
			}
			var sum int64
			for _, l := range lines {
				if e, ok := parseEntry(l); ok {
					sum += e.delta
				}
			}
			a.guide(guide, bal, sum)
			return nil
		})
	}
	var issued, used int64
	if err == nil {
		err = keys("cp:*", func(k string) error {
			st, err := b.rdb.HGet(ctx, k, "status").Result()
			if err != nil {
				return err
			}
			issued++
			if st == "used" {
				used++
			}
			return nil
		})
	}
	if err == nil {
		err = keys("r:*", func(k string) error {
			v, err := b.rdb.Get(ctx, k).Result()
			if err != nil {
				return err
			}
			member, _, _ := strings.Cut(v, "|")
			a.redemption(k[2:], member)
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("bench: redis audit: %w", err)
	}
	if b.rules != nil && !b.rules.fixed {
		c, err := b.Campaign(ctx, b.rules.campaign)
		if err != nil {
			return nil, err
		}
		a.campaign(c, issued, used)
	}
	return a.finish(), nil
}

// account reads an account's balance, field of the hash key, and its
// ledger, the list ledger; an account never written has none of either.
func (b *redisBackend) account(ctx context.Context, key, field, ledger string) (int64, []string, error) {
	bal, err := b.rdb.HGet(ctx, key, field).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, nil, err
	}
	lines, err := b.rdb.LRange(ctx, ledger, 0, -1).Result()
	return bal, lines, err
}

// lastLines returns the last n lines of s, for an error message.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
