package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/yima-dev/yima/codegen/kek"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/client"
	"github.com/yima-dev/yima/scan/node"
	"github.com/yima-dev/yima/scan/webhook"
)

// Product is the SKU of the batches a run mints.
const Product = "BENCH"

// NewRemote returns a Target for the yima server at rawURL. token must be
// allowed to mint, apply campaigns, create guides, scan and read members
// and the audit: the admin token. conns bounds the connections the run
// opens.
func NewRemote(rawURL, token string, conns int, timeout time.Duration) (Target, error) {
	if token == "" {
		return nil, fmt.Errorf("bench: --target needs a token that may mint and scan: pass --token or set YIMA_TOKEN (the admin token is in DATA/admin.token)")
	}
	ht, err := NewHTTPTarget("yima at "+strings.TrimRight(rawURL, "/"), strings.TrimRight(rawURL, "/"), token, conns, timeout)
	if err != nil {
		return nil, err
	}
	return &remoteTarget{remote: remote{HTTPTarget: ht, token: token}}, nil
}

type remoteTarget struct {
	remote
}

// hasLanding: a yima server serves the landing page.
func (r *remoteTarget) hasLanding() bool { return true }

// prepareYima applies the setup's campaign, creates its guides (keeping
// their tokens for verifications) and binds its members, through admin
// and the HTTP API, then mints the run's active batch of s.Codes codes.
func prepareYima(ctx context.Context, admin scan.Admin, ht *HTTPTarget, s *Setup) (*scan.BatchView, error) {
	spec := reward.BatchSpec{Product: Product, Count: uint32(s.Codes), Points: new(int64(s.Points)), Activate: true}
	if s.Codes < 1 || s.Codes > codegen.MaxSerial {
		return nil, fmt.Errorf("bench: cannot mint %d codes in one batch (1..%d)", s.Codes, codegen.MaxSerial)
	}
	if s.Campaign != nil {
		doc, err := json.Marshal(s.Campaign)
		if err != nil {
			return nil, err
		}
		if _, err := admin.ApplyCampaign(doc); err != nil {
			return nil, fmt.Errorf("bench: applying campaign %s: %w", s.Campaign.ID, err)
		}
		spec.Campaign = s.Campaign.ID
	}
	if len(s.Guides) > 0 {
		name := "Bench store"
		if _, err := admin.PutStore("bench", reward.StoreChange{Name: &name}); err != nil {
			return nil, fmt.Errorf("bench: creating the guides' store: %w", err)
		}
	}
	for _, g := range s.Guides {
		tok, err := admin.AddGuide(reward.Guide{ID: g, Store: "bench"})
		if err != nil {
			return nil, fmt.Errorf("bench: creating guide %s: %w", g, err)
		}
		ht.SetGuideToken(g, tok)
	}
	if err := ht.bind(ctx, s.Bindings, 16); err != nil {
		return nil, err
	}
	b, err := admin.CreateBatch(spec)
	if err != nil {
		return nil, fmt.Errorf("bench: minting %d codes on %s: %w", s.Codes, ht.origin, err)
	}
	return b, nil
}

// Prepare sets the run up through the admin API, mints an active batch and
// streams its codes.
func (r *remoteTarget) Prepare(ctx context.Context, s *Setup) (Codes, error) {
	c := &client.Client{URL: r.origin, Token: r.token}
	b, err := prepareYima(ctx, c, r.HTTPTarget, s)
	if err != nil {
		return nil, err
	}
	n := s.Codes
	codes := make(listCodes, 0, n)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(c.WriteCodes(pw, b.ID, 0, 0, "txt", "")) }()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.LastIndexByte(line, '/'); i >= 0 {
			line = line[i+1:]
		}
		if line != "" {
			codes = append(codes, line)
		}
	}
	pr.Close()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bench: reading the codes of batch %d: %w", b.ID, err)
	}
	if len(codes) != n {
		return nil, fmt.Errorf("bench: batch %d: got %d codes, want %d", b.ID, len(codes), n)
	}
	return codes, nil
}

type listCodes []string

func (l listCodes) Len() int          { return len(l) }
func (l listCodes) Code(i int) string { return l[i] }

// inProcess is a yima server started by the run on a data directory of its
// own, listening on 127.0.0.1 with a free port.
type inProcess struct {
	*HTTPTarget
	node  *node.Node
	floor *floorServer // nil unless the data directory is the bench's own
	dir   dataDir
	// srvOpts are the server's options, for a restart (see preload).
	srvOpts scan.Options
	// preloaded are the codes of the preload, nil without one.
	preloaded Codes
	// kept is the marker of a store a --preload-dir run filled earlier,
	// which the preload opens rather than fills; keep is true for a store
	// of a --preload-dir that the preload fills, marking it once filled.
	kept *preloadMarker
	keep bool
}

// dataDir is the in-process server's data directory.
type dataDir struct {
	path string
	// own: the bench made it (a temporary directory, or a store that
	// --preload-dir keeps), so the floor may write its keys there.
	own bool
	// temporary: Close removes it.
	temporary bool
}

// tempDataDir makes a fresh temporary data directory under parent (the
// system's temporary directory when empty).
func tempDataDir(parent string) (dataDir, error) {
	d, err := os.MkdirTemp(parent, "yima-bench-*")
	if err != nil {
		return dataDir{}, fmt.Errorf("bench: making a temporary data directory: %w", err)
	}
	return dataDir{path: d, own: true, temporary: true}, nil
}

// NewInProcess opens dir (a fresh temporary directory when empty, removed
// by Close) and starts a yima node on it, on 127.0.0.1 with a free port.
//
// allowPrivateWebhooks lets the server deliver to webhook endpoints on
// private and loopback addresses, as the slow receiver of a run with
// Config.WebhookSlow is.
func NewInProcess(dir string, conns int, timeout time.Duration, log *slog.Logger, allowPrivateWebhooks bool) (Target, error) {
	t, err := newInProcess(dataDir{path: dir}, "", nil, 0, conns, timeout, log, allowPrivateWebhooks)
	if err != nil {
		return nil, err // not a nil *inProcess in a Target
	}
	return t, nil
}

// newInProcess is NewInProcess on the PostgreSQL database dsn names, when
// given, rather than dir's own store, with its keys sealed under k, deciding
// in lanes lanes (0: the store's default).
func newInProcess(dir dataDir, dsn string, k *kek.Key, lanes, conns int, timeout time.Duration, log *slog.Logger, allowPrivateWebhooks bool) (*inProcess, error) {
	if dir.path == "" {
		var err error
		if dir, err = tempDataDir(""); err != nil {
			return nil, err
		}
	}
	t := &inProcess{dir: dir, srvOpts: scan.Options{Addr: "127.0.0.1:0", Logger: log, Limits: scan.Limits{Off: true},
		Webhooks: webhook.Options{AllowPrivate: allowPrivateWebhooks}}}
	n, err := node.Open(node.Options{Dir: dir.path, Server: t.srvOpts, Store: dsn, KEK: k, Lanes: lanes})
	if err != nil {
		t.cleanup()
		return nil, err
	}
	t.node = n
	tok, err := n.Admin().CreateToken(reward.RoleApp, "bench", "")
	if err == nil {
		what := "data " + dir.path
		if dir.temporary {
			what = "fresh temporary data directory " + dir.path + ", removed after"
		}
		if dsn != "" {
			what += ", records on PostgreSQL"
		}
		t.HTTPTarget, err = NewHTTPTarget("in-process yima on "+n.Addr()+" ("+what+")", n.URL(), tok, conns, timeout)
	}
	if err == nil && dir.own && dsn == "" {
		// The floor writes keys of its own: only into a directory the
		// bench made.
		if t.floor, err = startFloor(n.Dir.DB); err == nil {
			t.floorURI = "http://" + t.floor.addr() + "/floor"
			t.floorHC = loadClient(t.floor.addr(), false, conns, timeout)
		}
	}
	admin := n.Dir.AdminToken()
	if err == nil && admin == "" {
		// Sealed keys: the admin is a token record, as on a cluster.
		admin, err = n.Admin().CreateToken(reward.RoleAdmin, "bench admin", "")
	}
	t.adminAuth = "Bearer " + admin
	if err != nil {
		if t.floor != nil {
			t.floor.close()
		}
		n.Close()
		t.cleanup()
		return nil, err
	}
	return t, nil
}

// hasLanding: a yima server serves the landing page.
func (t *inProcess) hasLanding() bool { return true }

// Prepare sets the run up and mints an active batch in the open data
// directory; its codes are computed when asked for, never stored.
func (t *inProcess) Prepare(ctx context.Context, s *Setup) (Codes, error) {
	b, err := prepareYima(ctx, t.node.Admin(), t.HTTPTarget, s)
	if err != nil {
		return nil, err
	}
	return SignerCodes(s.Codes, func() (*codegen.Signer, error) { return t.node.Dir.Engine.Signer(b.Batch) })
}

// SignerCodes computes serials 1..n of a batch with the signers newSigner
// makes. Signers are not safe for concurrent use, so each call of Code
// borrows one; newSigner is called once here, and again only when every
// signer is borrowed, so its error is reported here or never.
func SignerCodes(n int, newSigner func() (*codegen.Signer, error)) (Codes, error) {
	first, err := newSigner()
	if err != nil {
		return nil, err
	}
	sc := &signerCodes{n: n}
	sc.pool.New = func() any {
		s, _ := newSigner() // cannot fail: the first call did not
		return s
	}
	sc.pool.Put(first)
	return sc, nil
}

// signerCodes is what SignerCodes returns.
type signerCodes struct {
	n    int
	pool sync.Pool
}

func (s *signerCodes) Len() int { return s.n }

func (s *signerCodes) Code(i int) string {
	sg := s.pool.Get().(*codegen.Signer)
	c := sg.Code(uint32(i + 1))
	s.pool.Put(sg)
	return c
}

// Stats takes the process's CPU time from the kernel (the load generator
// shares the process) and the commit groups from /metrics.
func (t *inProcess) Stats(ctx context.Context) (Stats, error) {
	st, err := t.metrics(ctx)
	st.CPUSeconds = ProcessCPU()
	st.CPUIncludesClient = true
	return st, err
}

func (t *inProcess) Close() error {
	t.HTTPTarget.Close()
	if t.floor != nil {
		t.floor.close()
	}
	err := t.node.Close()
	t.cleanup()
	return err
}

func (t *inProcess) cleanup() {
	if t.dir.temporary {
		os.RemoveAll(t.dir.path)
	}
}

// discardLogger is the in-process server's logger when the caller gives none.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
