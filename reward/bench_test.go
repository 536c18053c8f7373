package reward_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/codegentest"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore"
)

// benchScans redeems fresh codes from parallel goroutines against a real
// on-disk store (synced), with or without the example campaign.
func benchScans(b *testing.B, campaign bool) {
	dir := b.TempDir()
	db, err := pebblestore.Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	eng := rewardtest.NewEngine(b, db, reward.Options{})
	batch, err := eng.CreateBatch(reward.BatchSpec{Product: "SKU-1", Count: codegen.MaxSerial, Points: new(int64(5)), Activate: true})
	if err != nil {
		b.Fatal(err)
	}
	if campaign {
		c, err := reward.ParseCampaign([]byte(springMilk))
		if err != nil {
			b.Fatal(err)
		}
		c.PointsBudget, c.Coupon.Stock, c.DailyLimit = 0, reward.MaxBudget, 0
		if _, err := eng.ApplyCampaign(c); err != nil {
			b.Fatal(err)
		}
		rewardtest.MustStore(b, eng, "S1")
		if _, _, err := eng.AddGuide(reward.Guide{ID: "G1", Store: "S1"}); err != nil {
			b.Fatal(err)
		}
	}
	var serial atomic.Uint32
	b.SetParallelism(32) // many requests in flight, as behind an HTTP server
	cpu := codegentest.ProcessCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s, _ := eng.Signer(batch)
		for pb.Next() {
			n := serial.Add(1)
			_, err := eng.Scan(reward.ScanRequest{Code: s.Code(n), Member: fmt.Sprintf("m%d", n%5000), Guide: "G1"})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scans/s")
	// CPU per scan moves far less than the rate when other work shares
	// the machine: compare changes by it.
	b.ReportMetric(float64(codegentest.ProcessCPU()-cpu)/float64(b.N)/1e3, "cpu-µs/scan")
}

func BenchmarkScanFixedPoints(b *testing.B) { benchScans(b, false) }
func BenchmarkScanCampaign(b *testing.B)    { benchScans(b, true) }

// BenchmarkScanDecision redeems fresh codes of fixed points one at a time,
// through a store that does not sync: the decision and its records alone,
// with what it allocates and what it writes (records/scan: the keys each
// decision puts, each once, as the store applies them; B/scan their keys'
// and values' bytes). Members are spread as in benchScans.
func BenchmarkScanDecision(b *testing.B) {
	pdb, err := pebblestore.Open(b.TempDir(), &pebblestore.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer pdb.Close()
	db := &writesDB{DB: pdb}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	eng := rewardtest.NewEngine(b, db, reward.Options{Now: func() time.Time { return now }})
	_, s := rewardtest.MustMint(b, eng, reward.BatchSpec{Product: "SKU-1", Count: codegen.MaxSerial, Points: new(int64(5)), Activate: true})
	codes := rewardtest.Codes(s, b.N)
	db.records.Store(0)
	db.bytes.Store(0)
	b.ReportAllocs()
	cpu := codegentest.ProcessCPU()
	b.ResetTimer()
	for i, c := range codes {
		if _, err := eng.Scan(reward.ScanRequest{Code: c, Member: fmt.Sprintf("m%d", i%5000)}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(codegentest.ProcessCPU()-cpu)/float64(b.N)/1e3, "cpu-µs/scan")
	b.ReportMetric(float64(db.records.Load())/float64(b.N), "records/scan")
	b.ReportMetric(float64(db.bytes.Load())/float64(b.N), "B/scan")
}

// writesDB counts what the decisions it runs write, each key once per
// decision (its last value), as a store applies them.
type writesDB struct {
	store.DB
	records, bytes atomic.Int64
}

func (db *writesDB) Serial() bool { return store.IsSerial(db.DB) }

type writesTx struct {
	store.Tx
	written map[string]int
}

func (t *writesTx) Put(k, v []byte) { t.written[string(k)] = len(k) + len(v); t.Tx.Put(k, v) }

func (t *writesTx) Add(k []byte, n int64) {
	t.written[string(k)] = len(k) + store.CounterSize
	t.Tx.Add(k, n)
}

func (db *writesDB) Update(fn func(store.Tx) error) error {
	var t *writesTx
	err := db.DB.Update(func(tx store.Tx) error {
		t = &writesTx{Tx: tx, written: map[string]int{}}
		return fn(t)
	})
	if err == nil && t != nil {
		db.records.Add(int64(len(t.written)))
		for _, n := range t.written {
			db.bytes.Add(int64(n))
		}
	}
	return err
}
