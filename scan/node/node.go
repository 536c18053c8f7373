package node

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/yima-dev/yima/scan"
)

// Options configure a node. Zero fields take the defaults of scan.Options
// and scan.AppOptions.
type Options struct {
	// Dir is the data directory, created with a fresh keyset and admin
	// token if it does not hold them yet.
	Dir string
	// Server configures the HTTP service; its Logger is the node's, for
	// the store too. Addr "127.0.0.1:0" picks a free port (see Addr).
	Server scan.Options
	// StatsZone is where statistics' days begin; nil: UTC.
	StatsZone *time.Location
	// AcceptDataLoss opens a store whose log is damaged with what is
	// readable (pebblestore.Options.AcceptLoss).
	AcceptDataLoss bool
	// Now is the engine's clock; nil: time.Now.
	Now func() time.Time
}

// Node is one running yima: its data directory open (keys, store, engine)
// and its HTTP service listening.
type Node struct {
	// App is the open data directory; Server serves it.
	App    *scan.App
	Server *scan.Server

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
	if opts.Server.Logger == nil {
		opts.Server.Logger = slog.New(slog.DiscardHandler)
	}
	app, err := scan.Open(opts.Dir, scan.AppOptions{
		Logger:         opts.Server.Logger,
		StatsZone:      opts.StatsZone,
		AcceptDataLoss: opts.AcceptDataLoss,
		Now:            opts.Now,
		OnFail:         n.storageFailed,
	})
	if err != nil {
		return nil, err
	}
	n.App = app
	n.Server = scan.NewServer(app, opts.Server)
	if err := n.Server.Start(); err != nil {
		app.Close()
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

// storageFailed keeps the first storage failure for the server, which
// stops so that a restart replays the log.
func (n *Node) storageFailed(err error) {
	select {
	case n.failed <- err:
	default:
	}
}

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
// waiting for their fsync), then closes the store. It may be called more
// than once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		close(n.stop)
		n.closeErr = n.Server.Close()
	})
	return n.closeErr
}
