package reward

import (
	"math"
	"testing"
)

// TestAddAmountIsChecked: the sum of two amounts is refused with
// errOverflow where it would leave int64, and exact up to its edge. The
// refusal of a whole payout on every store is TestLedgerArithmeticIsChecked.
func TestAddAmountIsChecked(t *testing.T) {
	for _, c := range []struct{ a, b int64 }{{math.MaxInt64, 1}, {math.MinInt64, -1}, {math.MaxInt64 - 5, 6}, {1, math.MaxInt64}} {
		if _, err := addAmount(c.a, c.b); err != errOverflow {
			t.Errorf("addAmount(%d, %d): %v, want errOverflow", c.a, c.b, err)
		}
	}
	if s, err := addAmount(math.MaxInt64-5, 5); err != nil || s != math.MaxInt64 {
		t.Errorf("addAmount(2^63-6, 5) = %d, %v", s, err)
	}
}
