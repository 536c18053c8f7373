package reward_test

import (
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
)

// TestMessagesInTheBrandsZone: the times an answer's message names are in
// the brand's time zone, Asia/Shanghai by default, and follow the brand's
// setting from the next decision on.
func TestMessagesInTheBrandsZone(t *testing.T) {
	f := newFixture(t, 2, 10)
	mustRedeem(t, f, f.signer.Code(1), "m1")
	again := func() string {
		t.Helper()
		_, err := f.scan(f.signer.Code(1), "m2")
		if code(err) != reward.CodeAlreadyRedeemed {
			t.Fatalf("a second scan: %v", err)
		}
		return err.Error()
	}
	for _, tc := range []struct{ zone, want string }{
		{"", "2026-05-01T18:00:00+08:00"}, // the fixture's clock: 10:00 UTC
		{"UTC", "2026-05-01T10:00:00Z"},
	} {
		if tc.zone != "" {
			if _, err := f.eng.SetBrand(reward.BrandChange{TimeZone: &tc.zone}); err != nil {
				t.Fatal(err)
			}
		}
		if msg := again(); !strings.Contains(msg, "redeemed on "+tc.want) {
			t.Errorf("zone %q: %q, want the time %s", tc.zone, msg, tc.want)
		}
	}
}
