package baseline_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/yima-dev/yima/bench"
	"github.com/yima-dev/yima/bench/baseline"
)

// TestBaselines runs a short campaign load against each baseline installed
// here and asserts its audit, never its speed. The budget and the stock run
// out halfway, so that both ways a baseline decides are taken: paying
// freely, then paying exactly what is left and refusing. A baseline that is
// not installed is skipped (make bench-compare installs them), unless
// YIMA_REQUIRE_BASELINES is set, as CI sets it.
func TestBaselines(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis and PostgreSQL servers")
	}
	for _, name := range baseline.Names {
		t.Run(name, func(t *testing.T) {
			cfg := bench.Config{Requests: 3_000, Conns: 4, Members: 20, NoCeiling: true, Timeout: 30 * time.Second,
				Budget: 15_000, Stock: 50, Seed: 11}
			tgt, err := baseline.New(name, cfg)
			if errors.Is(err, bench.ErrBaselineUnavailable) {
				if os.Getenv("YIMA_REQUIRE_BASELINES") != "" {
					t.Fatalf("YIMA_REQUIRE_BASELINES is set: %v", err)
				}
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg.Target = tgt
			rep, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			a := rep.Audit
			if !a.Passed || a.ServerAudit != "clean" || !a.Campaign || !a.Exact || a.Coupons == 0 || a.Verified == 0 || a.Spends == 0 {
				t.Fatalf("audit %+v", a)
			}
			answers := rep.Scans.Answers()
			for _, want := range []string{"fresh 200", "fresh 403 budget_exhausted", "duplicate 409 already_redeemed", "contested 200", "forged 400 invalid_code", "verify 200", "spend 200"} {
				if answers[want] == 0 {
					t.Errorf("no %q answers: %v", want, answers)
				}
			}
			if a.Coupons > 50 {
				t.Errorf("%d coupons issued from a stock of 50", a.Coupons)
			}
			if len(rep.Notes) > 0 {
				t.Errorf("notes: %v", rep.Notes)
			}
		})
	}
}
