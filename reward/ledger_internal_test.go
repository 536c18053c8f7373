package reward

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// TestLedgerArithmeticIsChecked: a balance near 2^63 that a payout would
// take past it is refused with amount_out_of_range, and the decision leaves
// nothing behind: no ledger entry, no redemption, the balance as it was.
// Before, the sum wrapped to a negative balance.
func TestLedgerArithmeticIsChecked(t *testing.T) {
	db := pebbletest.Open(t, nil)
	ks, err := codegen.NewKeyset(time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	e := New(db, ks, Options{})
	if err := e.LoadSeen(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := e.CreateBatch(BatchSpec{Product: "SKU-1", Count: 2, Points: new(int64(10)), Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := e.Signer(b)
	if err != nil {
		t.Fatal(err)
	}
	// A record as a wrapped sum would have left it, one scan from the edge.
	rich := Member{ID: "rich", Points: math.MaxInt64 - 5, Seq: 1, Created: time.Now()}
	if err := e.update(func(tx Tx) error { putJSON(tx, memberKey(rich.ID), rich); return nil }); err != nil {
		t.Fatal(err)
	}
	code := signer.Code(1)
	if _, err := e.Scan(ScanRequest{Code: code, Member: "rich"}); ErrorCode(err) != CodeAmountOutOfRange {
		t.Fatalf("scan past 2^63-1: %v, want %s", err, CodeAmountOutOfRange)
	}
	var after Member
	if _, err := getJSON(db, memberKey("rich"), &after); err != nil {
		t.Fatal(err)
	}
	if after.Points != rich.Points || after.Seq != rich.Seq {
		t.Fatalf("the refused scan moved the member: %+v", after)
	}
	if found, err := getJSON(db, redemptionKey(code), &Redemption{}); err != nil || found {
		t.Fatalf("the refused scan left a redemption (%v, %v)", found, err)
	}
	if found, err := getJSON(db, ledgerKey("rich", 2), &Entry{}); err != nil || found {
		t.Fatalf("the refused scan left a ledger entry (%v, %v)", found, err)
	}
	// The code is still there for someone whose balance has room.
	if _, err := e.Scan(ScanRequest{Code: code, Member: "m"}); err != nil {
		t.Fatalf("the code after the refusal: %v", err)
	}

	for _, c := range []struct{ a, b int64 }{{math.MaxInt64, 1}, {math.MinInt64, -1}, {math.MaxInt64 - 5, 6}, {1, math.MaxInt64}} {
		if _, err := addAmount(c.a, c.b); err != errOverflow {
			t.Errorf("addAmount(%d, %d): %v, want errOverflow", c.a, c.b, err)
		}
	}
	if s, err := addAmount(math.MaxInt64-5, 5); err != nil || s != math.MaxInt64 {
		t.Errorf("addAmount(2^63-6, 5) = %d, %v", s, err)
	}
}
