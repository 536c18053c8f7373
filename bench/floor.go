package bench

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/store"
)

// floorBody is the floor handler's answer: the size of a short scan answer.
var floorBody = []byte(`{"result":"redeemed","points":10,"balance":10,"coupon":null}`)

// floorServer answers the Floor kind for the in-process target: each
// request commits one key through the server's own store, so it pays for
// the same decider, group commit and WAL sync as a redemption, and nothing
// else: no authentication, no JSON, no rule, no record. The floor run's rate
// over the ceiling's is what durability alone leaves of the server's speed
// on this machine; the scan run's rate over the floor's is what the rules
// leave of that.
//
// It listens on a port of its own so that the product's routes stay the
// product's; its keys sit under a prefix no record uses, in the run's
// temporary data directory.
type floorServer struct {
	db  *store.DB
	ln  net.Listener
	srv *fasthttp.Server
	seq atomic.Uint64
}

func startFloor(db *store.DB) (*floorServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listening for the floor run: %w", err)
	}
	f := &floorServer{db: db, ln: ln}
	f.srv = &fasthttp.Server{Handler: f.handle, Name: "yima-bench-floor"}
	go f.srv.Serve(ln)
	return f, nil
}

func (f *floorServer) addr() string { return f.ln.Addr().String() }

func (f *floorServer) handle(ctx *fasthttp.RequestCtx) {
	key := binary.BigEndian.AppendUint64([]byte("bench-floor/"), f.seq.Add(1))
	if err := f.db.Update(func(tx *store.Tx) error {
		tx.Put(key, floorBody)
		return nil
	}); err != nil {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetBodyString(err.Error())
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(floorBody)
}

func (f *floorServer) close() error { return f.srv.Shutdown() }
