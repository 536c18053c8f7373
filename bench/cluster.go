package bench

import (
	"context"
	"fmt"
	"github.com/yima-dev/yima/codegen/kek"
	"log/slog"
	"maps"
	"os"
	"sync/atomic"
	"time"

	"github.com/yima-dev/yima/scan/node"
	"github.com/yima-dev/yima/scan/node/datadir"
)

// NewCluster starts the in-process server: on dir's own store when dsn is
// empty (NewInProcess), else nodes yima nodes on the PostgreSQL database
// dsn names (its schema created if missing), each on an empty temporary
// data directory of its own, their signing keys sealed in the database
// under k (a fresh key when nil), each deciding in lanes lanes (0: the
// store's default), on 127.0.0.1 with free ports. The load sends its
// requests to the nodes in turn, so contested codes are raced across nodes.
func NewCluster(dir, dsn string, k *kek.Key, lanes, nodes, conns int, timeout time.Duration, log *slog.Logger, allowPrivateWebhooks bool) (Target, error) {
	if dsn == "" {
		return NewInProcess(dir, conns, timeout, log, allowPrivateWebhooks)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _, err := datadir.MigrateSchema(ctx, dsn, "yima bench")
	if err != nil {
		return nil, fmt.Errorf("bench: preparing the --db database: %w", err)
	}
	if k == nil {
		if k, err = kek.Parse([]byte(kek.Generate())); err != nil {
			return nil, err
		}
	}
	first, err := newInProcess(dataDir{path: dir}, dsn, k, lanes, conns, timeout, log, allowPrivateWebhooks)
	if err != nil {
		return nil, err
	}
	c := &cluster{inProcess: first, loads: []*HTTPTarget{first.HTTPTarget}}
	for range nodes - 1 {
		if err := c.add(conns, timeout, dsn, k, lanes); err != nil {
			c.Close()
			return nil, err
		}
	}
	c.name = first.Name()
	if nodes > 1 {
		c.name = fmt.Sprintf("%d in-process yima nodes on one PostgreSQL database (node 1: %s)", nodes, first.Name())
	}
	return c, nil
}

// cluster is several in-process nodes on one database: the first one
// prepares the run and answers the audit, the load goes to all in turn.
type cluster struct {
	*inProcess
	name  string
	more  []*node.Node
	dirs  []string
	loads []*HTTPTarget // every node's load client, the first node's first
	next  atomic.Uint64
}

// add starts one more node on dsn, whose keys are sealed under k.
func (c *cluster) add(conns int, timeout time.Duration, dsn string, k *kek.Key, lanes int) error {
	dir, err := os.MkdirTemp("", "yima-bench-node-*")
	if err != nil {
		return fmt.Errorf("bench: making a temporary data directory: %w", err)
	}
	c.dirs = append(c.dirs, dir)
	n, err := node.Open(node.Options{Dir: dir, Server: c.srvOpts, Store: dsn, KEK: k, Lanes: lanes})
	if err != nil {
		return err
	}
	c.more = append(c.more, n)
	ht, err := NewHTTPTarget("yima at "+n.URL(), n.URL(), "-", conns, timeout)
	if err != nil {
		return err
	}
	// Tokens are records in the database: the first node's hold here.
	ht.auth, ht.adminAuth = c.auth, c.adminAuth
	c.loads = append(c.loads, ht)
	return nil
}

func (c *cluster) Name() string { return c.name }

// Prepare prepares the run on the first node and gives every node's client
// the guides' tokens.
func (c *cluster) Prepare(ctx context.Context, s *Setup) (Codes, error) {
	codes, err := c.inProcess.Prepare(ctx, s)
	for _, ht := range c.loads[1:] {
		maps.Copy(ht.guideAuth, c.guideAuth)
	}
	return codes, err
}

// Do sends op to the next node.
func (c *cluster) Do(op *Op) Outcome {
	return c.loads[c.next.Add(1)%uint64(len(c.loads))].Do(op)
}

// Stats adds up the nodes' commit groups; the CPU is the process's, which
// holds them all and the load.
func (c *cluster) Stats(ctx context.Context) (Stats, error) {
	st, err := c.inProcess.Stats(ctx)
	for _, ht := range c.loads[1:] {
		more, merr := ht.metrics(ctx)
		st.GroupSum += more.GroupSum
		st.GroupCount += more.GroupCount
		if err == nil {
			err = merr
		}
	}
	return st, err
}

func (c *cluster) Close() error {
	var first error
	for i, n := range c.more {
		if i+1 < len(c.loads) {
			c.loads[i+1].Close()
		}
		if err := n.Close(); err != nil && first == nil {
			first = err
		}
	}
	for _, d := range c.dirs {
		os.RemoveAll(d)
	}
	if err := c.inProcess.Close(); err != nil && first == nil {
		first = err
	}
	return first
}
