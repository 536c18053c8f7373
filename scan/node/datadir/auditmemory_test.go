package datadir_test

import (
	"bytes"
	"context"
	"runtime"
	"sort"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/node/datadir"
)

// auditBytesPerCode bounds what the audit holds in memory for each redeemed
// code of the store. What it keeps that grows with the store is the filter
// that finds a ledger entry id written twice: 10 bits an entry, in filters
// that double as they fill (so up to twice that), and the ids it cannot
// rule out until it reads them again (one in about 120, each a map entry
// of a few dozen bytes). A redeemed code of fixed points writes one entry:
// under 4 bytes a code, 12 for the three entries of a campaign's scan. A
// store of 50M codes then audits in a few hundred MB at most; holding the
// records, as the audit once did, costs over a thousand bytes a code.
const auditBytesPerCode = 64

// TestAuditMemoryIsBoundedPerCode audits a preloaded store of 20,000 and
// one of 200,000 redeemed codes (a tenth of that under the race detector)
// and measures the audit's live heap: the scanner it reads through runs a
// garbage collection every few thousand records and notes the heap still
// in use, so what is measured is what the audit retains, not how fast it
// runs. The records are served from a sorted copy in memory, made before
// the audit, so that a backend's caches do not count as the audit's. The
// larger store may cost at most auditBytesPerCode more per extra code.
func TestAuditMemoryIsBoundedPerCode(t *testing.T) {
	if testing.Short() {
		t.Skip("preloads 220,000 codes")
	}
	small, large := 20_000, 200_000
	if raceEnabled {
		small, large = 2_000, 20_000
	}
	s, l := auditHeap(t, small), auditHeap(t, large)
	perCode := float64(int64(l)-int64(s)) / float64(large-small)
	t.Logf("audit's peak live heap: %d codes %.2f MiB, %d codes %.2f MiB: %.1f bytes a code", small, float64(s)/(1<<20), large, float64(l)/(1<<20), perCode)
	if perCode > auditBytesPerCode {
		t.Fatalf("the audit holds %.0f bytes more for each redeemed code, over the bound of %d: it keeps records in proportion to the store", perCode, auditBytesPerCode)
	}
}

// auditHeap preloads n redeemed codes into a fresh data directory and
// returns the audit's peak live heap above what was live without it.
func auditHeap(t *testing.T, n int) uint64 {
	t.Helper()
	recs := preloadedRecords(t, n)
	h := &heapScanner{recs: recs}
	h.base = liveHeap()
	rep, err := reward.Audit(h)
	if err != nil {
		t.Fatal(err)
	}
	h.sample()
	if len(rep.Violations) > 0 || rep.Redemptions != n {
		t.Fatalf("audit of %d preloaded codes: %d redemptions, violations %v", n, rep.Redemptions, rep.Violations)
	}
	runtime.KeepAlive(recs)
	return h.peak - min(h.peak, h.base)
}

// preloadedRecords preloads n redeemed codes, ten to a member, into a
// fresh data directory and returns a copy of all its records, in key
// order.
func preloadedRecords(t *testing.T, n int) *records {
	d, err := datadir.Open(t.TempDir(), datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	<-d.SeenLoaded()
	b, err := d.Engine.CreateBatch(reward.BatchSpec{Product: "SKU-M", Count: uint32(n), Points: new(int64(3)), Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Preload(context.Background(), reward.PreloadSpec{Batch: b.ID, Codes: n, PerMember: 10, Members: "m-"}); err != nil {
		t.Fatal(err)
	}
	snap, err := d.DB.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	recs := &records{}
	if err := snap.Scan(nil, nil, func(k, v []byte) bool {
		recs.data = append(append(recs.data, k...), v...)
		recs.ends = append(recs.ends, [2]int{len(recs.data) - len(v), len(recs.data)})
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// records are a store's records in key order, in one array without
// pointers, which a garbage collection need not read.
type records struct {
	data []byte
	ends [][2]int // where each key ends and its value ends
}

func (r *records) key(i int) []byte {
	from := 0
	if i > 0 {
		from = r.ends[i-1][1]
	}
	return r.data[from:r.ends[i][0]:r.ends[i][0]]
}

func (r *records) value(i int) []byte { return r.data[r.ends[i][0]:r.ends[i][1]:r.ends[i][1]] }

// heapScanner serves the audit its records from memory and, every
// sampleEvery of them and at each scan's start and end, measures the live
// heap.
type heapScanner struct {
	recs       *records
	base, peak uint64
	n          int
}

const sampleEvery = 4096

func (h *heapScanner) Scan(prefix, start []byte, fn func(key, value []byte) bool) error {
	h.sample()
	defer h.sample()
	if bytes.Compare(start, prefix) < 0 {
		start = prefix
	}
	r := h.recs
	i := sort.Search(len(r.ends), func(i int) bool { return bytes.Compare(r.key(i), start) >= 0 })
	for ; i < len(r.ends) && bytes.HasPrefix(r.key(i), prefix); i++ {
		if h.n++; h.n%sampleEvery == 0 {
			h.sample()
		}
		if !fn(r.key(i), r.value(i)) {
			break
		}
	}
	return nil
}

func (h *heapScanner) sample() { h.peak = max(h.peak, liveHeap()) }

// liveHeap is the heap in use once a collection has freed what is garbage.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
