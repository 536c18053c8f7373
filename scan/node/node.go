package node

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yima-dev/yima/codegen/kek"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/node/datadir"
)

// Options configure a node. Zero fields take the defaults of scan.Options
// and datadir.Options.
type Options struct {
	// Dir is the data directory, created with a fresh keyset and admin
	// token if it does not hold them yet.
	Dir string
	// Server configures the HTTP service; its Logger is the node's, for
	// the store too. Addr "127.0.0.1:0" picks a free port (see Addr).
	Server scan.Options
	// Zone is the brand's time zone while its stored settings name none
	// (datadir.Options.Zone); nil: reward.DefaultTimeZone.
	Zone *time.Location
	// AcceptDataLoss opens a store whose log is damaged with what is
	// readable (pebblestore.Options.AcceptLoss).
	AcceptDataLoss bool
	// Store is a PostgreSQL connection string whose database holds the
	// records instead of Dir's db/ (datadir.Options.Store).
	Store string
	// KEK is the key-encryption key the database's signing keys are
	// sealed under (datadir.Options.KEK).
	KEK *kek.Key
	// Lanes is how many groups of decisions the node has in flight on
	// Store at once (datadir.Options.Lanes); 0: the store's default.
	Lanes int
	// Now is the engine's clock; nil: time.Now.
	Now func() time.Time
}

// Node is one running yima: its data directory open (keys, store, engine)
// and its HTTP service listening.
type Node struct {
	// Dir is the open data directory; Server serves it.
	Dir    *datadir.Dir
	Server *scan.Server

	// server is Server once it exists, for the engine's events, which
	// may come from the directory's own goroutines before.
	server atomic.Pointer[scan.Server]
	// failed holds a storage failure reported before Run watches for it:
	// the store may fail from its own goroutines while the node is still
	// being put together.
	failed    chan error
	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Open opens the data directory and starts the HTTP service listening. The
// caller must Close the node, or Run it, which closes it.
func Open(opts Options) (*Node, error) {
	n := &Node{failed: make(chan error, 1), stop: make(chan struct{})}
	// Other nodes write a PostgreSQL store too: the server keeps no
	// tokens of its own.
	opts.Server.SharedStore = opts.Store != ""
	if opts.Server.Logger == nil {
		opts.Server.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := datadir.Open(opts.Dir, datadir.Options{
		Logger:         opts.Server.Logger,
		Zone:           opts.Zone,
		AcceptDataLoss: opts.AcceptDataLoss,
		Store:          opts.Store,
		KEK:            opts.KEK,
		Lanes:          opts.Lanes,
		Now:            opts.Now,
		OnFail:         n.storageFailed,
		Observe:        n.observe,
	})
	if err != nil {
		return nil, err
	}
	n.Dir = d
	n.Server = scan.NewServer(scan.Backend{Engine: d.Engine, AdminToken: d.AdminToken(), PageKey: d.PageKey(), Dir: d}, opts.Server)
	n.server.Store(n.Server)
	d.DB.ObserveGroups(n.Server.ObserveGroup)
	if err := n.Server.Start(); err != nil {
		d.Close()
		return nil, err
	}
	go func() {
		select {
		case err := <-n.failed:
			n.Server.StorageFailed(err)
		case <-n.stop:
		}
	}()
	return n, nil
}

// observe hands an engine event to the server's metrics, once there is a
// server.
func (n *Node) observe(ev reward.Event) {
	if s := n.server.Load(); s != nil {
		s.Observe(ev)
	}
}

// storageFailed keeps the first storage failure for the server, which
// stops so that a restart replays the log.
func (n *Node) storageFailed(err error) {
	select {
	case n.failed <- err:
	default:
	}
}

// Admin is the admin's commands on this node's data directory, in this
// process (what the CLI does without --server).
func (n *Node) Admin() scan.Local { return Local(n.Dir) }

// Local is the admin's commands on an open data directory, in this process.
func Local(d *datadir.Dir) scan.Local { return scan.Local{Engine: d.Engine, Dir: d} }

// Addr is the address the node listens on, host:port.
func (n *Node) Addr() string { return n.Server.Addr() }

// URL is the node's origin, http://host:port.
func (n *Node) URL() string { return "http://" + n.Addr() }

// Run serves until ctx is done or storage fails, then closes the node. It
// returns the storage failure, if that is why it stopped.
func (n *Node) Run(ctx context.Context) error {
	err := n.Server.Wait(ctx)
	if cerr := n.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close stops the HTTP service (in-flight requests finish, their answers
// waiting for their fsync), then closes the data directory, whose store
// makes pending decisions durable first. It may be called more than once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		close(n.stop)
		err := n.Server.Close()
		if cerr := n.Dir.Close(); err == nil {
			err = cerr
		}
		n.closeErr = err
	})
	return n.closeErr
}
