package scan

import (
	"cmp"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
	"golang.org/x/time/rate"
)

// Codes of refusals by the limiter.
const (
	codeRateLimited reward.Code = "rate_limited"
	codeLockedOut   reward.Code = "locked_out"
)

// Limits bounds what one caller may ask of the public pages and of
// consumers' scans (OWASP OAT-002, OAT-011: forged codes tried by the
// thousand). A caller is a client address on the public routes (pages,
// GET /v1/codes, coupons) and a member or a device on POST /v1/scans, where
// the address is the integrator's server and stands for all its users.
// The admin token is never limited. Zero fields take the defaults below;
// docs/security.md, "Request limits", gives the figures.
type Limits struct {
	// Off turns every limit off (a benchmark measuring the service).
	Off bool
	// PerAddress and AddressBurst bound requests a second from one client
	// address to the public routes; PerMember, MemberBurst the scans a
	// second of one member, and of one device.
	PerAddress   float64
	AddressBurst int
	PerMember    float64
	MemberBurst  int
	// NewDevices and NewDeviceBurst bound the claims on the pages, an hour
	// from one address, by browsers whose device cookie is less than a day
	// old: a script that drops its cookies is a new member on a new device
	// each time (see device.go).
	NewDevices     float64
	NewDeviceBurst int
	// ForgedRun forged codes from one caller within ForgedWindow lock the
	// caller out for LockOut: every request of theirs, genuine codes
	// included, is refused with 429 locked_out meanwhile.
	ForgedRun    int
	ForgedWindow time.Duration
	LockOut      time.Duration
	// MaxCallers bounds the callers remembered, and so the memory: about
	// 300 bytes each. Past it the longest idle are forgotten first.
	MaxCallers int
}

func (l *Limits) ensureDefaults() {
	l.PerAddress = cmp.Or(l.PerAddress, 20)
	l.AddressBurst = cmp.Or(l.AddressBurst, 200)
	l.PerMember = cmp.Or(l.PerMember, 1)
	l.MemberBurst = cmp.Or(l.MemberBurst, 30)
	l.NewDevices = cmp.Or(l.NewDevices, 60)
	l.NewDeviceBurst = cmp.Or(l.NewDeviceBurst, 30)
	l.ForgedRun = cmp.Or(l.ForgedRun, 20)
	l.ForgedWindow = cmp.Or(l.ForgedWindow, 10*time.Minute)
	l.LockOut = cmp.Or(l.LockOut, 15*time.Minute)
	l.MaxCallers = cmp.Or(l.MaxCallers, 1<<18)
}

// limiter keeps a token bucket and a forged-code count per caller, in
// shards of bounded maps.
type limiter struct {
	opts   Limits
	now    func() time.Time
	seed   maphash.Seed
	shards [64]limiterShard
}

type limiterShard struct {
	mu sync.Mutex
	m  map[string]*callerState
}

type callerState struct {
	req    *rate.Limiter
	forged *rate.Limiter // a bucket of ForgedRun forged codes a window
	until  time.Time     // locked out until
	seen   time.Time
}

func newLimiter(opts Limits) *limiter {
	opts.ensureDefaults()
	l := &limiter{opts: opts, now: time.Now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = map[string]*callerState{}
	}
	return l
}

// state returns key's state, creating it; the shard is locked.
func (l *limiter) state(key string, perSec float64, burst int) (*callerState, *limiterShard) {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	st := sh.m[key]
	if st == nil {
		if max := l.opts.MaxCallers / len(l.shards); len(sh.m) >= max {
			sh.evict()
		}
		st = &callerState{
			req:    rate.NewLimiter(rate.Limit(perSec), burst),
			forged: rate.NewLimiter(rate.Every(l.opts.ForgedWindow/time.Duration(l.opts.ForgedRun)), l.opts.ForgedRun),
		}
		sh.m[key] = st
	}
	st.seen = l.now()
	return st, sh
}

// evict forgets the longest idle of a sample of callers: a full shard
// drops an eighth of itself at a time, so eviction is rare and cheap.
func (sh *limiterShard) evict() {
	n := max(1, len(sh.m)/8)
	for n > 0 {
		var oldest string
		var at time.Time
		i := 0
		for k, st := range sh.m { // random order: a sample
			if oldest == "" || st.seen.Before(at) {
				oldest, at = k, st.seen
			}
			if i++; i == 16 {
				break
			}
		}
		delete(sh.m, oldest)
		n--
	}
}

// allow takes one request of key: nil, or a 429 refusal with the seconds
// to wait.
func (l *limiter) allow(key string, perSec float64, burst int) error {
	if l.opts.Off {
		return nil
	}
	now := l.now()
	st, sh := l.state(key, perSec, burst)
	defer sh.mu.Unlock()
	if now.Before(st.until) {
		return lockedOut(st.until.Sub(now))
	}
	r := st.req.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &retryError{err: reward.Errorf(codeRateLimited, "too many requests; slow down and try again in a moment"), after: d}
	}
	return nil
}

// known reports whether key is remembered.
func (l *limiter) known(key string) bool {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.m[key]
	return ok
}

// mark remembers key.
func (l *limiter) mark(key string) {
	_, sh := l.state(key, 1, 1)
	sh.mu.Unlock()
}

// forged records a forged code from key; a run of them locks key out.
func (l *limiter) forged(key string) {
	if l.opts.Off {
		return
	}
	now := l.now()
	st, sh := l.state(key, l.opts.PerAddress, l.opts.AddressBurst)
	defer sh.mu.Unlock()
	if !st.forged.AllowN(now, 1) {
		st.until = now.Add(l.opts.LockOut)
	}
}

func lockedOut(d time.Duration) error {
	return &retryError{err: reward.Errorf(codeLockedOut, "too many codes that are not genuine came from here; scanning is paused, try again later"), after: d}
}

// retryError is a refusal that says when to try again (Retry-After).
type retryError struct {
	err   *reward.Error
	after time.Duration
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }
func (e *retryError) retryAfter() string {
	return strconv.Itoa(max(1, int((e.after+time.Second-1)/time.Second)))
}

// setRetryAfter sets Retry-After for a refusal that carries one.
func setRetryAfter(ctx *fasthttp.RequestCtx, err error) {
	if re, ok := err.(*retryError); ok {
		ctx.Response.Header.Set("Retry-After", re.retryAfter())
	}
}

// pageRoutes are the routes a phone opens: their refusals are pages.
var pageRoutes = map[string]bool{"/c/": true, "/C/": true, "/g/": true, "/G/": true, "/v/": true, "/V/": true, "/guide": true,
	"/E/": true, "/e/": true, "/store/": true}

// addressRoutes are the public routes limited per client address: the
// pages and the public lookups, which anyone can call without a token.
var addressRoutes = map[string]bool{"/c/": true, "/C/": true, "/g/": true, "/G/": true, "/v/": true, "/V/": true, "/guide": true,
	"/E/": true, "/e/": true, "/store/": true,
	"/v1/codes/": true, "/v1/coupons/": true}

// limitAddress takes one request of the client's address on the limited
// routes.
func (s *Server) limitAddress(ctx *fasthttp.RequestCtx, prefix string) error {
	if !addressRoutes[prefix] {
		return nil
	}
	return s.limits.allow("a:"+s.clientIP(ctx).String(), s.limits.opts.PerAddress, s.limits.opts.AddressBurst)
}

// limitScanner takes one scan of the request's member and device.
func (s *Server) limitScanner(req reward.ScanRequest) error {
	o := s.limits.opts
	if err := s.limits.allow("m:"+req.Member, o.PerMember, o.MemberBurst); err != nil {
		return err
	}
	if req.Device != "" {
		return s.limits.allow("d:"+req.Device, o.PerMember, o.MemberBurst)
	}
	return nil
}

// scannerForged records a forged code scanned by the request's member and
// device.
func (s *Server) scannerForged(req reward.ScanRequest) {
	s.limits.forged("m:" + req.Member)
	if req.Device != "" {
		s.limits.forged("d:" + req.Device)
	}
}

// noteForged records a lookup of a code that is not genuine (forged,
// malformed, under an unknown key) from the client's address. A retired
// key or an unknown batch is the brand's doing, not the caller's.
func (s *Server) noteForged(ctx *fasthttp.RequestCtx, st *reward.CodeStatus) {
	if st.Valid || st.Reason == string(reward.CodeKeyRetired) || st.Reason == string(reward.CodeUnknownBatch) {
		return
	}
	s.limits.forged("a:" + s.clientIP(ctx).String())
}
