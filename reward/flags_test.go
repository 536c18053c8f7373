package reward_test

import (
	"slices"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

func flagKinds(fs []reward.Flag) (out []string) {
	for _, f := range fs {
		out = append(out, f.Kind+" "+f.Code)
	}
	return out
}

func TestFlagsForReview(t *testing.T) {
	f := newFixture(t, 20, 10)
	east, eastSigner := rewardtest.MustMint(t, f.eng, reward.BatchSpec{Product: "SKU-EAST", Count: 10, Region: "east", Points: new(int64(5)), Activate: true})
	diverted, atHome, unknown := eastSigner.Code(1), eastSigner.Code(2), eastSigner.Code(3)
	for _, s := range []struct{ code, region string }{{diverted, "west"}, {atHome, "east"}, {unknown, ""}} {
		if _, err := f.eng.Scan(reward.ScanRequest{Code: s.code, Member: "m-" + s.region, Region: s.region}); err != nil {
			t.Fatal(err)
		}
	}

	// One person retrying, then a second person, is ordinary; a third
	// person flags the code, once, whatever follows.
	copied := f.signer.Code(4)
	mustRedeem(t, f, copied, "buyer")
	for _, who := range []string{"buyer", "buyer", "neighbour"} {
		wantRefused(t, f, copied, who, reward.CodeAlreadyRedeemed)
	}
	page, err := f.eng.Flags(reward.FlagQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := flagKinds(page.Flags); !slices.Equal(got, []string{"diverted " + diverted}) {
		t.Fatalf("flags before a third scanner: %v", got)
	}
	d := page.Flags[0]
	if d.Product != "SKU-EAST" || d.Region != "west" || d.Intended != "east" || d.Member != "m-west" || d.Day != "20260501" || d.Batch != east.ID || d.Serial != 1 {
		t.Fatalf("diverted flag: %+v", d)
	}

	f.now = f.now.Add(24 * time.Hour)
	wantRefused(t, f, copied, "stranger", reward.CodeAlreadyRedeemed)
	wantRefused(t, f, copied, "another", reward.CodeAlreadyRedeemed)
	if _, err := f.eng.Scan(reward.ScanRequest{Code: eastSigner.Code(4), Member: "m2", Region: "north"}); err != nil {
		t.Fatal(err)
	}
	page, err = f.eng.Flags(reward.FlagQuery{From: "20260502"})
	if err != nil {
		t.Fatal(err)
	}
	// Same day: kinds in order, then codes.
	if got := flagKinds(page.Flags); !slices.Equal(got, []string{"diverted " + eastSigner.Code(4), "many_scanners " + copied}) {
		t.Fatalf("flags of the second day: %v", got)
	}
	m := page.Flags[1]
	if m.Member != "stranger" || m.Scanners != 3 || m.Product != "SKU-1" || !m.FirstScan.Before(m.At) {
		t.Fatalf("many-scanners flag: %+v", m)
	}

	for _, c := range []struct {
		q    reward.FlagQuery
		want []string
	}{
		{reward.FlagQuery{Kind: reward.FlagDiverted}, []string{"diverted " + diverted, "diverted " + eastSigner.Code(4)}},
		{reward.FlagQuery{Kind: reward.FlagManyScanners}, []string{"many_scanners " + copied}},
		{reward.FlagQuery{To: "20260501"}, []string{"diverted " + diverted}},
		{reward.FlagQuery{From: "20260503"}, nil},
	} {
		page, err := f.eng.Flags(c.q)
		if err != nil || !slices.Equal(flagKinds(page.Flags), c.want) {
			t.Errorf("flags %+v: %v %v, want %v", c.q, flagKinds(page.Flags), err, c.want)
		}
	}
	// Pages of one reach all three, in order, each once.
	var all []string
	q := reward.FlagQuery{Limit: 1}
	for range 5 {
		page, err := f.eng.Flags(q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, flagKinds(page.Flags)...)
		if q.After = page.Next; q.After == "" {
			break
		}
	}
	if want := []string{"diverted " + diverted, "diverted " + eastSigner.Code(4), "many_scanners " + copied}; !slices.Equal(all, want) {
		t.Fatalf("paging one at a time: %v, want %v", all, want)
	}
	for _, q := range []reward.FlagQuery{{Kind: "odd"}, {From: "2026-05-01"}, {After: "nonsense"}} {
		if _, err := f.eng.Flags(q); code(err) != reward.CodeInvalidRequest {
			t.Errorf("flags %+v: %v, want invalid_request", q, err)
		}
	}
	mustAudit(t, f)
}

// TestShipmentRegionOverridesTheBatch: a pallet of a batch with no region
// is activated for the south; its codes scanned in the north are diverted.
func TestShipmentRegionOverridesTheBatch(t *testing.T) {
	f := newFixture(t, 10, 5)
	if _, err := f.eng.SetRange(f.batch.ID, reward.Range{From: 3, To: 4, State: reward.Active, Region: "south"}); err != nil {
		t.Fatal(err)
	}
	for serial, wantDiverted := range map[uint32]bool{1: false, 3: true, 4: false} {
		region := "north"
		if serial == 4 {
			region = "south"
		}
		res, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(serial), Member: "m", Region: region})
		if err != nil || res.Diverted != wantDiverted {
			t.Fatalf("serial %d scanned in %s: diverted %v (%v), want %v", serial, region, res.Diverted, err, wantDiverted)
		}
	}
	page, err := f.eng.Flags(reward.FlagQuery{})
	if err != nil || len(page.Flags) != 1 || page.Flags[0].Intended != "south" || page.Flags[0].Region != "north" {
		t.Fatalf("flags: %+v %v", page, err)
	}
	if _, err := f.eng.SetRange(f.batch.ID, reward.Range{From: 1, To: 2, State: reward.Revoked, Region: "x"}); code(err) != reward.CodeInvalidRequest {
		t.Fatalf("revoking with a region: %v, want invalid_request", err)
	}
}

// TestAliasesAreOneScanner: a person scanning under their phone and their
// openid is one scanner, so their own retries never flag their code.
func TestAliasesAreOneScanner(t *testing.T) {
	f := newFixture(t, 5, 10)
	for _, alias := range []string{"phone:138", "openid:abc"} {
		if _, err := f.eng.LinkAlias("member-1", alias); err != nil {
			t.Fatal(err)
		}
	}
	code := f.signer.Code(1)
	mustRedeem(t, f, code, "member-1")
	for _, id := range []string{"phone:138", "openid:abc", "member-1"} {
		wantRefused(t, f, code, id, reward.CodeAlreadyRedeemed)
	}
	if err := f.eng.CountVisit(code, "openid:abc"); err != nil {
		t.Fatal(err)
	}
	if st, err := f.eng.Status(code); err != nil || st.Scans != 5 || st.Scanners != 1 {
		t.Fatalf("one person under three ids: %+v %v", st, err)
	}
	if page, err := f.eng.Flags(reward.FlagQuery{}); err != nil || len(page.Flags) != 0 {
		t.Fatalf("flags: %+v %v", page, err)
	}
}

// TestVisitAndClaimAreOneScanner: the landing page counts a view under the
// id its claim uses, so one person looking and then claiming is one.
func TestVisitAndClaimAreOneScanner(t *testing.T) {
	f := newFixture(t, 5, 10)
	code := f.signer.Code(1)
	if err := f.eng.CountVisit(code, "web:browser-1"); err != nil {
		t.Fatal(err)
	}
	mustRedeem(t, f, code, "web:browser-1")
	st, err := f.eng.Status(code)
	if err != nil || st.Scans != 2 || st.Scanners != 1 {
		t.Fatalf("status after a view and a claim by one browser: %+v %v", st, err)
	}
}
