package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/store"
)

// Options configures a Dispatcher. Zero fields take the defaults.
type Options struct {
	// AllowPrivate lets deliveries reach loopback, private, link-local
	// and other non-public addresses. Off, a URL whose host resolves to
	// one is refused when delivery connects, so an admin token cannot
	// turn the server into a probe of its own network.
	AllowPrivate bool
	// Timeout bounds one delivery: connect, send, and read the answer
	// (default 10s).
	Timeout time.Duration
	// RetryBase is the first retry's delay, doubled on each failure up
	// to RetryMax (defaults 10s and 1h), each with jitter.
	RetryBase, RetryMax time.Duration
	// GiveUpAfter is how long an endpoint may fail before it is paused
	// (default 25h: at least a day of retries).
	GiveUpAfter time.Duration
	// Reconcile is how often the list of endpoints is read (default 1s).
	Reconcile time.Duration
	Logger    *slog.Logger
	Now       func() time.Time
}

// Header names of a delivery.
const (
	SignatureHeader = "Yima-Signature"
	SeqHeader       = "Yima-Event-Seq"
	TypeHeader      = "Yima-Event-Type"
	WebhookHeader   = "Yima-Webhook-Id"
	// maxAnswer is what is read of an answer; the rest is dropped with
	// the connection, so a receiver sending a huge body costs nothing.
	maxAnswer = 64 << 10
	// standby is how often a node that is not the feed's relay looks
	// whether it became it (see deliver).
	standby = 200 * time.Millisecond
	// pageSize bounds the events held in memory per endpoint.
	pageSize = 50
	// longPoll is how long a caught-up endpoint waits for the next event.
	longPoll = 25 * time.Second
)

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 10 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 25 * time.Hour
	}
	if o.Reconcile <= 0 {
		o.Reconcile = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Sign returns the signature header of body sent at t: t=UNIX,v1=HEX where
// HEX is HMAC-SHA256 under secret of "UNIX.body".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a delivery's signature header against body, and that it
// was signed within tolerance of now (a replayed old delivery fails).
// Receivers do the same in their own language.
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("webhook: the signature header is not of the form t=<unix seconds>,v1=<hex signature>")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook: signed %s from now, outside the tolerance", d)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("webhook: the signature does not match the body")
}

// ErrForbiddenAddress is a delivery refused by the address guard.
var ErrForbiddenAddress = errors.New("webhook: the address is loopback, private or otherwise not public; the server refuses it unless started with --webhook-allow-private")

// Forbidden reports whether a delivery may not connect to ip.
func Forbidden(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip) || ip == broadcast
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	broadcast = netip.MustParseAddr("255.255.255.255")
)

// guard runs on every connection, after the name was resolved: checking
// the address actually dialled defeats a name that resolves to a public
// address when added and a private one when used.
func guard(allow bool) func(network, address string, c syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		if allow {
			return nil
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || Forbidden(ip) {
			return fmt.Errorf("%w (%s)", ErrForbiddenAddress, host)
		}
		return nil
	}
}

// NewClient is the HTTP client deliveries use: the address guard, one
// connection per endpoint host, no redirects followed (a 3xx is a
// failure), no proxy from the environment, everything under Timeout.
func NewClient(o Options) *http.Client {
	o.defaults()
	d := &net.Dialer{Timeout: min(o.Timeout, 5*time.Second), Control: guard(o.AllowPrivate)}
	return &http.Client{
		Timeout: o.Timeout,
		Transport: &http.Transport{
			DialContext:            d.DialContext,
			MaxIdleConnsPerHost:    1,
			MaxConnsPerHost:        2,
			IdleConnTimeout:        30 * time.Second,
			TLSHandshakeTimeout:    5 * time.Second,
			ResponseHeaderTimeout:  o.Timeout,
			MaxResponseHeaderBytes: 16 << 10,
			DisableCompression:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Dispatcher delivers the feed to every endpoint, one goroutine each, in
// sequence order, at least once. It reads the feed like any reader and
// writes only the endpoints' delivery state, so scans never wait for it.
// On a shared database every node runs one, and only the feed's relay's
// delivers (reward.Engine.IsFeedRelay).
type Dispatcher struct {
	eng    *reward.Engine
	opts   Options
	client *http.Client
	mu     sync.Mutex
	work   map[string]*worker
	wg     sync.WaitGroup
}

type worker struct {
	gen    uint64
	cancel context.CancelFunc
}

// New returns a dispatcher for eng's endpoints.
func New(eng *reward.Engine, o Options) *Dispatcher {
	o.defaults()
	return &Dispatcher{eng: eng, opts: o, client: NewClient(o), work: map[string]*worker{}}
}

// Run delivers until ctx ends, then waits for every delivery goroutine.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.opts.Reconcile)
	defer t.Stop()
	for {
		d.reconcile(ctx)
		select {
		case <-ctx.Done():
			d.mu.Lock()
			for _, w := range d.work {
				w.cancel()
			}
			d.mu.Unlock()
			d.wg.Wait()
			d.client.CloseIdleConnections()
			return
		case <-t.C:
		}
	}
}

// reconcile starts a goroutine for each endpoint that should deliver and
// stops those whose endpoint was removed, paused or changed.
func (d *Dispatcher) reconcile(ctx context.Context) {
	hooks, err := d.eng.Webhooks()
	if err != nil {
		if !errors.Is(err, store.ErrBusy) { // the store logs an outage once
			d.opts.Logger.Error("reading webhooks", "err", err)
		}
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	want := map[string]reward.Webhook{}
	for _, h := range hooks {
		if !h.Paused {
			want[h.ID] = h
		}
	}
	for id, w := range d.work {
		if h, ok := want[id]; !ok || h.Gen != w.gen {
			w.cancel()
			delete(d.work, id)
		}
	}
	for id, h := range want {
		if _, ok := d.work[id]; ok {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{gen: h.Gen, cancel: cancel}
		d.work[id] = w
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.deliver(wctx, id, h.Gen)
			// A goroutine that stopped by itself (paused) is forgotten,
			// so a resume starts a new one.
			d.mu.Lock()
			if d.work[id] == w {
				delete(d.work, id)
			}
			d.mu.Unlock()
			cancel()
		}()
	}
}

// deliver sends the endpoint its events from its cursor, until ctx ends
// or the endpoint is paused.
func (d *Dispatcher) deliver(ctx context.Context, id string, gen uint64) {
	for ctx.Err() == nil {
		h, err := d.eng.WebhookForDelivery(id)
		if err != nil || h.Gen != gen || h.Paused {
			return
		}
		// Several nodes on one database: only the feed's relay delivers,
		// so that an endpoint gets each event once; the others stand by
		// and take over with the relay's lease, from the cursor.
		if relay, err := d.eng.IsFeedRelay(); err != nil || !relay {
			if !sleep(ctx, standby) {
				return
			}
			continue
		}
		if wait := h.NextAttempt.Sub(d.opts.Now()); h.Failing && wait > 0 {
			if !sleep(ctx, wait) {
				return
			}
		}
		page, err := d.eng.Feed(ctx, reward.FeedQuery{After: h.Cursor, Limit: pageSize, Types: h.Types, Wait: longPoll})
		if err != nil {
			if reward.ErrorCode(err) == reward.CodeEventsCompacted {
				// The endpoint fell behind the retention: what it missed
				// is gone, so it is paused for the operator to decide.
				d.fail(h, 0, err.Error(), true)
				return
			}
			d.opts.Logger.Error("reading the feed for a webhook", "webhook", id, "err", err)
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		if relay, err := d.eng.IsFeedRelay(); err != nil || !relay {
			continue // the lease moved during the long poll
		}
		ok := true
		for _, raw := range page.Events {
			seq, status, err := d.post(ctx, h, raw)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				// This event is tried again after the backoff; those
				// before it are recorded as delivered.
				d.fail(h, status, err.Error(), false)
				ok = false
				break
			}
			// Each success is recorded, so a restart re-sends at most
			// the event that was in flight.
			if err := d.eng.WebhookDelivered(id, gen, seq, 1); err != nil {
				d.opts.Logger.Error("recording webhook delivery", "webhook", id, "err", err)
				return
			}
		}
		if ok && page.Next > h.Cursor {
			// Past the events the type filter left out too.
			if err := d.eng.WebhookDelivered(id, gen, page.Next, 0); err != nil {
				return
			}
		}
	}
}

// fail records a failure and its next attempt: RetryBase doubled per
// attempt up to RetryMax, each delay drawn in [½, 1] of it so endpoints
// failing together do not retry together; past GiveUpAfter of failing
// the endpoint is paused.
func (d *Dispatcher) fail(h *reward.Webhook, status int, why string, pause bool) {
	now := d.opts.Now()
	since := h.FailingSince
	if !h.Failing {
		since = now
	}
	delay := d.opts.RetryBase << min(h.Attempts, 30)
	if delay <= 0 || delay > d.opts.RetryMax {
		delay = d.opts.RetryMax
	}
	delay = delay/2 + time.Duration(rand.Int64N(int64(delay/2)+1))
	pause = pause || now.Sub(since) >= d.opts.GiveUpAfter
	if err := d.eng.WebhookFailed(h.ID, h.Gen, now, status, why, now.Add(delay), pause); err != nil {
		d.opts.Logger.Error("recording a webhook failure", "webhook", h.ID, "err", err)
	}
	if pause {
		d.opts.Logger.Warn("webhook paused: deliveries kept failing", "webhook", h.ID, "since", since, "last_error", why)
	}
}

// post sends one event; it returns its seq, and an error unless the
// endpoint answered 2xx.
func (d *Dispatcher) post(ctx context.Context, h *reward.Webhook, raw []byte) (uint64, int, error) {
	var ev struct {
		Seq  uint64 `json:"seq"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", h.URL, bytes.NewReader(raw))
	if err != nil {
		return ev.Seq, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "yima-webhook/1")
	req.Header.Set(SignatureHeader, Sign(h.Secret, d.opts.Now(), raw))
	req.Header.Set(SeqHeader, strconv.FormatUint(ev.Seq, 10))
	req.Header.Set(TypeHeader, ev.Type)
	req.Header.Set(WebhookHeader, h.ID)
	resp, err := d.client.Do(req)
	if err != nil {
		return ev.Seq, 0, err
	}
	// Read a little of the answer so the connection can be reused, and
	// drop the rest with the connection.
	n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer+1))
	resp.Body.Close()
	if n > maxAnswer {
		d.client.CloseIdleConnections()
	}
	if resp.StatusCode/100 != 2 {
		return ev.Seq, resp.StatusCode, fmt.Errorf("the endpoint answered %s", resp.Status)
	}
	return ev.Seq, resp.StatusCode, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
