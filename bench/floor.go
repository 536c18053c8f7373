package bench

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
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
// leave of that. Asked for more records (?records=N), it commits what a
// redemption cannot do without instead (see floorKeys).
//
// It listens on a port of its own so that the product's routes stay the
// product's; its keys sit under a prefix no record uses, in the run's
// temporary data directory.
type floorServer struct {
	db  store.DB
	ln  net.Listener
	srv *fasthttp.Server
	seq atomic.Uint64
}

// maxFloorRecords bounds the records one floor request may ask for.
const maxFloorRecords = 16

// floorMembers is how many members a many-record floor spreads its
// records over, as many as a bench run's default.
const floorMembers = 1000

// floorRecord is every value a many-record floor writes: 64 bytes, about
// what a compact binary record of a redemption, a member or a ledger entry
// would take, and less than yima's JSON records (125–225 bytes). So the
// floor it measures is one that a leaner record format could not beat.
var floorRecord = make([]byte, 64)

func startFloor(db store.DB) (*floorServer, error) {
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
	records := max(1, ctx.QueryArgs().GetUintOrZero("records"))
	if records > maxFloorRecords {
		ctx.Error("records: at most "+strconv.Itoa(maxFloorRecords), fasthttp.StatusBadRequest)
		return
	}
	keys := floorKeys(f.seq.Add(1), records)
	if err := f.db.Update(func(tx store.Tx) error {
		if len(keys) == 1 {
			tx.Put(keys[0], floorBody)
			return nil
		}
		for _, k := range keys {
			tx.Put(k, floorRecord)
		}
		return nil
	}); err != nil {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetBodyString(err.Error())
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(floorBody)
}

// floorKeys returns the keys the n-th floor request writes. One record is
// one key after the last. More are the records no redemption can do
// without, where a scan puts them: its redemption under a code-shaped key
// (codes come in no order, so these land all over the key space, which
// costs Pebble's memtable more than keys in order), the record of one of
// floorMembers members (its balance), and records-2 entries appended to
// that member's ledger.
func floorKeys(n uint64, records int) [][]byte {
	if records <= 1 {
		return [][]byte{binary.BigEndian.AppendUint64([]byte("bench-floor/"), n)}
	}
	member := strconv.AppendUint([]byte("bench-floor/m/member-"), n%floorMembers, 10)
	keys := [][]byte{
		fmt.Appendf(nil, "bench-floor/r/%016X%011X", mix64(n), mix64(^n)>>20),
		member,
	}
	for i := 2; i < records; i++ {
		k := append([]byte("bench-floor/l/"), member[len("bench-floor/m/"):]...)
		keys = append(keys, binary.BigEndian.AppendUint64(append(k, 0), n*maxFloorRecords+uint64(i)))
	}
	return keys
}

// mix64 is splitmix64's finaliser: consecutive n give unrelated values.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (f *floorServer) close() error { return f.srv.Shutdown() }
