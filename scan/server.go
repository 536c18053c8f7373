package scan

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/webhook"
)

// Options configures a Server. Zero fields take the defaults below.
type Options struct {
	// Addr to listen on; "127.0.0.1:0" picks a free port.
	Addr string
	// BaseURL is the public origin printed in codes' URLs and on pages.
	BaseURL string
	Logger  *slog.Logger
	// SharedStore says that other nodes decide on the same store (yima
	// on PostgreSQL): tokens are then read from the store at each
	// request, never kept, so that a token revoked through any node is
	// refused by this one at once.
	SharedStore bool

	ReadTimeout  time.Duration // whole request, so a slow client is cut off
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	MaxBodySize  int // bytes; larger bodies get 413
	// MaxConnsPerIP bounds the connections one client address holds open
	// (fasthttp counts them by the TCP peer). With TrustedProxies set it
	// is not applied: every connection then comes from a proxy, which
	// bounds its own clients.
	MaxConnsPerIP int
	Concurrency   int // requests handled at once; more are refused
	// AccessLog logs every request at info level: its id (also answered
	// in X-Request-Id), client address, method, path, status, size and
	// time.
	AccessLog bool
	// Language of the pages when a request names none with ?lang= and
	// its browser prefers none of Languages() (Accept-Language): one of
	// Languages(); empty is DefaultLanguage.
	Language string
	// MaxExports bounds the heavy downloads made at once, image archives
	// (images.zip), label sheets (labels.pdf) and exports (/v1/export)
	// together: each holds a CPU for as long as it lasts.
	MaxExports int
	// LabelFonts are the TrueType fonts label sheets draw text other than
	// plain ASCII in (a product's Chinese name); nil means
	// printing.DefaultLabelFonts.
	LabelFonts []string
	// MaxStreamTime bounds a download generated while it streams (a
	// batch's codes, its image archive), which WriteTimeout does not: it
	// bounds instead the time a client may go without reading (stream.go).
	MaxStreamTime time.Duration

	// TrustedProxies are the peers (a reverse proxy, a load balancer)
	// whose ClientIPHeader names the client; from any other peer the
	// header is ignored, so a client cannot choose its own address.
	TrustedProxies []netip.Prefix
	// SignIn configures consumers' sign-in (signin.go).
	SignIn SignInOptions
	// EventsRetention is how long the event feed keeps an event (zero:
	// DefaultEventsRetention; negative: forever).
	EventsRetention time.Duration
	// Webhooks configures delivery to webhook endpoints (webhooks.go).
	Webhooks webhook.Options

	// ClientIPHeader is X-Forwarded-For (the rightmost address not a
	// trusted proxy is the client) or a one-address header such as
	// X-Real-IP. Empty: X-Forwarded-For.
	ClientIPHeader string
	// RegionHeader names a header in which a trusted proxy gives the
	// client's region (its geo lookup), and Regions maps client addresses
	// to regions; a page's claim takes its region from them (region.go),
	// so that anti-diversion judges claims on the page too.
	RegionHeader string
	Regions      *RegionTable
	// Limits bounds requests per client address, member and device, and
	// locks out callers who try forged codes (see Limits).
	Limits Limits
}

func (o *Options) ensureDefaults() {
	o.Addr = cmp.Or(o.Addr, "127.0.0.1:8080")
	o.Logger = cmp.Or(o.Logger, slog.Default())
	o.ReadTimeout = cmp.Or(o.ReadTimeout, 5*time.Second)
	o.WriteTimeout = cmp.Or(o.WriteTimeout, 10*time.Second)
	o.IdleTimeout = cmp.Or(o.IdleTimeout, 60*time.Second)
	o.MaxBodySize = cmp.Or(o.MaxBodySize, 16<<10)
	o.MaxConnsPerIP = cmp.Or(o.MaxConnsPerIP, 4096)
	o.Concurrency = cmp.Or(o.Concurrency, 16384)
	o.MaxExports = cmp.Or(o.MaxExports, 2)
	o.MaxStreamTime = cmp.Or(o.MaxStreamTime, 2*time.Hour)
	o.ClientIPHeader = cmp.Or(o.ClientIPHeader, "X-Forwarded-For")
}

// Server serves the scan API over one Backend. Start it with Serve or
// Start; Close shuts it down gracefully.
type Server struct {
	app Backend
	// adminHash is the SHA-256 of the admin token, compared in constant
	// time (isAdmin).
	adminHash [32]byte
	// pageSecret keys the pages' form tokens, device cookies and members'
	// sign-in cookies: Backend.PageKey, or without one the admin token's
	// hash, as before shared databases.
	pageSecret [32]byte
	// csrfMAC and deviceMAC sign form tokens and device cookies (see
	// macs).
	macOnce            sync.Once
	csrfMAC, deviceMAC *keyedMAC
	opts               Options
	log                *slog.Logger
	m                  *metrics
	srv                *fasthttp.Server
	// bootID starts the request ids of this run (see setRequestID).
	bootID string
	ln     net.Listener

	tokens tokenCache // token secret → its caller, for tokens known to exist
	// sheets lets one label sheet be built at a time: a large one holds
	// hundreds of megabytes until it is sent.
	sheets chan struct{}
	// exports bounds the image archives streamed at once
	// (Options.MaxExports).
	exports     chan struct{}
	signin      SignInOptions
	smsAddr     smsLimit
	feedWaiters chan struct{} // long polls of /v1/events (feed.go)
	// background counts the tasks Start runs beside serving (keys,
	// feed compaction, sweeps, webhook delivery): Close waits for them.
	background   sync.WaitGroup
	limits       *limiter
	landingCache landingCache // the brand and products landing pages show
	stopping     atomic.Bool
	stopKeys     chan struct{} // closed by Close: stops the background tasks
	stopKeysOnce sync.Once
	failed       chan error
	done         chan struct{}
	serveErr     error
}

// NewServer returns a server for b, configured by opts. It does not listen
// yet. The caller wires the engine's events (reward.Options.Observe) to
// Observe and the store's commits to ObserveGroup, for the metrics.
func NewServer(b Backend, opts Options) *Server {
	opts.ensureDefaults()
	s := &Server{app: b, adminHash: sha256.Sum256([]byte(b.AdminToken)), opts: opts, log: opts.Logger, m: newMetrics(b.Engine), bootID: newBootID(), failed: make(chan error, 1), done: make(chan struct{}), stopKeys: make(chan struct{}), sheets: make(chan struct{}, 1), exports: make(chan struct{}, opts.MaxExports), limits: newLimiter(opts.Limits), feedWaiters: make(chan struct{}, maxFeedWaiters)}
	switch s.pageSecret = s.adminHash; {
	case len(b.PageKey) == len(s.pageSecret):
		// As given: a cluster moved from files keeps the admin token's
		// hash here, so that its cookies stay valid (datadir.UploadKeys).
		copy(s.pageSecret[:], b.PageKey)
	case len(b.PageKey) > 0:
		s.pageSecret = sha256.Sum256(b.PageKey)
	}
	s.signin = opts.SignIn
	s.signin.ensureDefaults()
	s.srv = &fasthttp.Server{
		Handler:               s.handle,
		ErrorHandler:          s.handleParseError,
		Name:                  "yima",
		ReadTimeout:           opts.ReadTimeout,
		WriteTimeout:          opts.WriteTimeout,
		IdleTimeout:           opts.IdleTimeout,
		MaxRequestBodySize:    opts.MaxBodySize,
		MaxConnsPerIP:         maxConnsPerPeer(opts),
		Concurrency:           opts.Concurrency,
		ReadBufferSize:        8 << 10,
		CloseOnShutdown:       true,
		NoDefaultServerHeader: true,
		Logger:                fasthttpLogger{opts.Logger},
	}
	return s
}

// Observe counts an engine event in the metrics; it may be called from any
// goroutine, before Start too.
func (s *Server) Observe(ev reward.Event) { s.m.observe(ev) }

// ObserveGroup records the number of decisions one commit made durable
// together.
func (s *Server) ObserveGroup(n int) { s.m.groups.Observe(float64(n)) }

// isAdmin reports whether token is the admin token, in constant time. An
// empty token is never the admin token.
func (s *Server) isAdmin(token string) bool { return s.isAdminBytes([]byte(token)) }

// isAdminBytes is isAdmin for a token in a request's bytes, with no copy.
func (s *Server) isAdminBytes(token []byte) bool {
	if len(token) == 0 {
		return false
	}
	h := sha256.Sum256(token)
	return subtle.ConstantTimeCompare(h[:], s.adminHash[:]) == 1
}

// StorageFailed is called (from any goroutine) when the store fails; the
// server stops so that a restart can replay the WAL.
func (s *Server) StorageFailed(err error) {
	select {
	case s.failed <- err:
	default:
	}
}

// Start listens on Options.Addr and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("scan: listening on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	go func() {
		defer close(s.done)
		s.serveErr = s.srv.Serve(ln)
	}()
	for _, task := range []func(){s.watchKeys, s.compactFeed, s.sweepCoupons, s.sweepSessions, s.runWebhooks} {
		s.background.Go(task)
	}
	s.log.Info("serving", "addr", ln.Addr().String())
	return nil
}

// keysPoll is how often a running server looks at the keyset file.
const keysPoll = time.Second

// watchKeys puts a rotated or retired key in use within keysPoll of yima
// keys writing the file: a brand that retires a leaked key must not have
// to remember a restart before forged codes stop verifying.
func (s *Server) watchKeys() {
	t := time.NewTicker(keysPoll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-s.stopKeys:
			return
		case <-t.C:
		}
		changed, err := s.app.Dir.ReloadKeys()
		switch {
		case err != nil && !failing:
			s.log.Error("keyset file unreadable; the keys in use stay", "err", err)
		case changed:
			s.log.Info("keyset reloaded", "primary", s.app.Engine.Keys().Primary)
		}
		failing = err != nil
	}
}

// Addr is the address the server listens on, once started.
// Addr is empty before Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Wait waits, once the server is started, until ctx is done, storage
// fails or the listener ends, and returns the failure, if that is why. It
// does not close the server.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
		return nil
	case err := <-s.failed:
		s.log.Error("storage failed; stopping so that a restart replays the log", "err", err)
		return err
	case <-s.done:
		return s.serveErr
	}
}

// untilClosed is a context for a long request (an export, a long poll)
// that ends when the server closes, or when cancel is called, which the
// request must do when it ends.
func (s *Server) untilClosed() (ctx context.Context, cancel context.CancelFunc) {
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.stopKeys:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// Close stops accepting connections, lets in-flight requests finish
// (their answers wait for their fsync) and waits for the background tasks
// to stop. It closes nothing it was given: the caller closes the data
// directory after.
func (s *Server) Close() error {
	s.stopping.Store(true)
	s.stopKeysOnce.Do(func() { close(s.stopKeys) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.ShutdownWithContext(ctx)
	// The background tasks read and write the store, which the caller
	// closes next: a sweep still reading a closed Pebble store panics.
	s.background.Wait()
	return err
}

// maxConnsPerPeer is fasthttp's per-address limit: none behind trusted
// proxies, whose one address carries every client.
func maxConnsPerPeer(o Options) int {
	if len(o.TrustedProxies) > 0 {
		return 0
	}
	return o.MaxConnsPerIP
}

// handleParseError answers requests fasthttp could not read.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	// A connection that sent nothing before the read timeout (a browser's
	// or a pool's spare connection) is closed without a word: fasthttp
	// passes that timeout here unwrapped, and an answer nobody asked for
	// would be read by the client as the answer to the request it sends
	// next. A request cut off midway still gets its 400 below.
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		ctx.Conn().Close()
		return
	}
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeError(ctx, errorf(codeBodyTooLarge, "request body is larger than %d bytes; send the fields the API documents, nothing more", s.opts.MaxBodySize))
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// A slow client: fasthttp closes the connection after this.
			ctx.SetConnectionClose()
			writeError(ctx, &reward.Error{Code: reward.CodeInvalidRequest, Message: "request not received in time"})
			return
		}
		writeError(ctx, errorf(reward.CodeInvalidRequest, "malformed HTTP request: %v", err))
	}
	ctx.SetConnectionClose()
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(fmt.Sprintf(format, args...), "src", "fasthttp")
}
