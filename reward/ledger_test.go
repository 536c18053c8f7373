package reward_test

import (
	"math"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
)

// TestLedgerArithmeticIsChecked: a balance near 2^63 that a payout would
// take past it is refused with amount_out_of_range, and the decision leaves
// nothing behind: no ledger entry, no redemption, the balance as it was.
// Before, the sum wrapped to a negative balance. It runs on the store
// YIMA_TEST_STORE names, like every rule test.
func TestLedgerArithmeticIsChecked(t *testing.T) {
	f := newFixture(t, 2, 10)
	// A record as a wrapped sum would have left it, one scan from the edge,
	// written past the engine.
	rich := reward.Member{ID: "rich", Points: math.MaxInt64 - 5, Seq: 1, Created: time.Now().UTC()}
	putRecords(t, f.db, map[string]any{"m/rich": rich})
	code := f.signer.Code(1)
	if _, err := f.scan(code, "rich"); reward.ErrorCode(err) != reward.CodeAmountOutOfRange {
		t.Fatalf("scan past 2^63-1: %v, want %s", err, reward.CodeAmountOutOfRange)
	}
	after, err := f.eng.Member("rich", "", reward.MaxPage)
	if err != nil {
		t.Fatal(err)
	}
	if after.Points != rich.Points || after.Seq != rich.Seq {
		t.Fatalf("the refused scan moved the member: %+v", after.Member)
	}
	if len(after.Ledger) != 0 {
		t.Fatalf("the refused scan left a ledger entry: %+v", after.Ledger)
	}
	if st, err := f.eng.Status(code); err != nil || st.Redeemed {
		t.Fatalf("the refused scan left a redemption: %+v, %v", st, err)
	}
	// The code is still there for someone whose balance has room.
	if _, err := f.scan(code, "m"); err != nil {
		t.Fatalf("the code after the refusal: %v", err)
	}
}
