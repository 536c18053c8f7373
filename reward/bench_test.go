package reward_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/codegentest"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
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
