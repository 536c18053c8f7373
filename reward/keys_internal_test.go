package reward

import "testing"

// TestCompositeKeysKeepTheirLayout holds the bytes of the keys joinKey
// builds: stores written before keep being read by them, and an id that
// is a prefix of another (m1, m12) never shares its entries' prefix.
func TestCompositeKeysKeepTheirLayout(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{string(ledgerPrefix("m1")), "l/m1\x00"},
		{string(ledgerKey("m1", 258)), "l/m1\x00\x00\x00\x00\x00\x00\x00\x01\x02"},
		{string(guideLedgerPrefix("G1")), "gl/G1\x00"},
		{string(guideLedgerKey("G1", 1)), "gl/G1\x00\x00\x00\x00\x00\x00\x00\x00\x01"},
		{string(guideMemberKey("G1", "m12")), "gm/G1\x00m12"},
		{string(guideMemberKey("G1", "")), "gm/G1\x00"},
		{string(dailyKey("promo", "m1", "2026-12-01")), "dl/promo\x00m1\x002026-12-01"},
		{string(deviceDailyKey("promo", "dev-9", "2026-12-01")), "dd/promo\x00dev-9\x002026-12-01"},
	} {
		if c.got != c.want {
			t.Errorf("key %q, want %q", c.got, c.want)
		}
	}
}
