package reward_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// leaveFixture runs a campaign that pays guides per scan and per gift, with
// a coupon on every scan, and guides G1 (who will leave), G2 (whose own
// consumer id is g2-self) and G3.
func leaveFixture(t *testing.T, codes uint32) *fixture {
	t.Helper()
	f := giftFixture(t, codes, 100000, map[string]any{"per_scan": 2, "per_coupon": 5})
	mustGuide(t, f, "G3", "")
	return f
}

func TestGuideLeavesWithASuccessor(t *testing.T) {
	f := leaveFixture(t, 100)
	// More members than one decision moves, and the successor's own id.
	members := []string{"g2-self"}
	for i := range 600 {
		members = append(members, fmt.Sprintf("m%03d", i))
	}
	for _, m := range members {
		if _, err := f.eng.Bind(m, "G1", false); err != nil {
			t.Fatal(err)
		}
	}
	rewardtest.MustStore(t, f.eng, "s")
	_, secret, err := f.eng.AddGuide(reward.Guide{ID: "G4", Store: "s"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.eng.CreateToken(reward.RoleGuide, "G1's tablet", "G1")
	if err != nil {
		t.Fatal(err)
	}
	// Before leaving, G1 earns on m000's scan, and m000 gets a gift.
	before := mustRedeem(t, f, f.signer.Code(1), "m000")
	if before.Guide != "G1" || before.Commission != 2 || before.Coupon == nil {
		t.Fatalf("scan before the departure: %+v", before)
	}
	historyBefore := mustMember(t, f, "m000").Ledger

	out, err := f.eng.GuideLeaves("G1", "G2")
	if err != nil {
		t.Fatal(err)
	}
	if out.Moved != len(members) || len(out.RevokedTokens) != 2 || out.Guide.LeftAt.IsZero() || out.Guide.Successor != "G2" {
		t.Fatalf("departure: moved %d of %d, revoked %v, guide %+v", out.Moved, len(members), out.RevokedTokens, out.Guide)
	}
	for _, tok := range []string{second} {
		if tk, err := f.eng.Token(tok); err != nil || tk != nil {
			t.Fatalf("G1's token still known after the departure: %+v %v", tk, err)
		}
	}
	if tk, err := f.eng.Token(secret); err != nil || tk == nil {
		t.Fatalf("another guide's token was revoked: %v", err)
	}

	g1, _ := f.eng.GuideByID("G1", 10)
	if g1.Members != 0 || len(g1.BoundMembers) != 0 || g1.Commission != 2 || len(g1.Ledger) != 1 {
		t.Fatalf("G1 after leaving: %d members %v, commission %d, ledger %v", g1.Members, g1.BoundMembers, g1.Commission, g1.Ledger)
	}
	var bound []string
	page := reward.GuidePage{Limit: reward.MaxPage}
	for {
		g2, err := f.eng.GuideView("G2", page)
		if err != nil {
			t.Fatal(err)
		}
		bound = append(bound, g2.BoundMembers...)
		if page.MembersAfter = g2.NextMembers; page.MembersAfter == "" {
			if g2.Members != 600 {
				t.Fatalf("G2 counts %d members after taking over 600", g2.Members)
			}
			break
		}
	}
	if !slices.Equal(bound, members[1:]) {
		t.Fatalf("G2 lists %d members after taking over, want the 600 of G1 but its own id", len(bound))
	}
	if m := mustMember(t, f, "g2-self"); m.Guide != "" {
		t.Fatalf("the successor's own id is bound to %q, want unbound", m.Guide)
	}
	if m := mustMember(t, f, "m000"); m.Guide != "G2" || !slices.Equal(m.Ledger, historyBefore) {
		t.Fatalf("m000 after the move: guide %q, ledger %v (was %v)", m.Guide, m.Ledger, historyBefore)
	}

	// From now on the successor earns, and G1 nothing, even where a
	// poster still names G1.
	if r := mustRedeem(t, f, f.signer.Code(2), "m001"); r.Guide != "G2" || r.Commission != 2 {
		t.Fatalf("a moved member's scan: guide %q commission %d", r.Guide, r.Commission)
	}
	r, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(3), Member: "walk-in", Guide: "G1"})
	if err != nil || r.Guide != "" || r.Commission != 0 || !slices.Equal(r.Notes, []string{reward.NoteGuideLeft}) {
		t.Fatalf("a scan naming G1 after the departure: %+v %v", r, err)
	}
	if _, err := f.eng.Bind("walk-in", "G1", false); code(err) != reward.CodeGuideLeft {
		t.Fatalf("binding to G1 after the departure: %v, want %s", err, reward.CodeGuideLeft)
	}
	if _, err := f.eng.VerifyCoupon(before.Coupon.ID, "G1"); code(err) != reward.CodeGuideLeft {
		t.Fatalf("G1 verifying a gift after the departure: %v, want %s", err, reward.CodeGuideLeft)
	}
	if c, err := f.eng.VerifyCoupon(before.Coupon.ID, "G2"); err != nil || c.Commission != 5 {
		t.Fatalf("the successor verifying the gift of G1's member: %+v %v", c, err)
	}

	// Again with the same successor: nothing left to move. Another one, a
	// guide succeeding themselves, or a successor who left: refused.
	if again, err := f.eng.GuideLeaves("G1", "G2"); err != nil || again.Moved != 0 {
		t.Fatalf("leaving again: %+v %v", again, err)
	}
	for _, c := range []struct {
		guide, successor string
		want             reward.Code
	}{
		{"G1", "G3", reward.CodeGuideLeft},
		{"G3", "G3", reward.CodeInvalidRequest},
		{"G3", "G1", reward.CodeGuideLeft},
		{"G3", "ghost", reward.CodeUnknownGuide},
		{"ghost", "", reward.CodeNotFound},
	} {
		if _, err := f.eng.GuideLeaves(c.guide, c.successor); code(err) != c.want {
			t.Errorf("%s leaving for %q: %v, want %s", c.guide, c.successor, err, c.want)
		}
	}
	mustAudit(t, f)
}

func TestGuideLeavesWithoutSuccessor(t *testing.T) {
	f := leaveFixture(t, 10)
	for _, m := range []string{"a", "b", "c"} {
		if _, err := f.eng.Bind(m, "G3", false); err != nil {
			t.Fatal(err)
		}
	}
	out, err := f.eng.GuideLeaves("G3", "")
	if err != nil || out.Moved != 3 || out.Guide.Members != 0 {
		t.Fatalf("leaving with no successor: %+v %v", out, err)
	}
	// Unbound, the members are free for the next guide's QR: the first
	// binding wins again.
	if m, err := f.eng.Bind("a", "G2", false); err != nil || m.Guide != "G2" {
		t.Fatalf("binding a former member of G3: %+v %v", m, err)
	}
	if r := mustRedeem(t, f, f.signer.Code(1), "b"); r.Guide != "" || r.Commission != 0 {
		t.Fatalf("an unbound former member's scan: %+v", r)
	}
	mustAudit(t, f)
}

// TestGuideLeavesWhileScanning moves members while they scan: every scan
// pays G1 or G2 or no one, never more, and the ledgers stay whole.
func TestGuideLeavesWhileScanning(t *testing.T) {
	const members, scansEach = 300, 4
	f := leaveFixture(t, members*scansEach)
	for i := range members {
		if _, err := f.eng.Bind(fmt.Sprintf("m%03d", i), "G1", false); err != nil {
			t.Fatal(err)
		}
	}
	codes := rewardtest.Codes(f.signer, members*scansEach) // a Signer is one goroutine's
	var wg sync.WaitGroup
	var commissions sync.Map // code → guide paid
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < members*scansEach; i += 8 {
				r, err := f.scan(codes[i], fmt.Sprintf("m%03d", i%members))
				if err != nil {
					t.Error(err)
					return
				}
				if r.Commission > 0 {
					commissions.Store(r.Code, r.Guide)
				}
			}
		})
	}
	out, err := f.eng.GuideLeaves("G1", "G2")
	wg.Wait()
	if err != nil || out.Moved != members {
		t.Fatalf("departure during scans: %+v %v", out, err)
	}
	paid := map[string]int64{}
	commissions.Range(func(_, g any) bool {
		paid[g.(string)] += 2
		return true
	})
	g1, _ := f.eng.GuideByID("G1", 1)
	g2, _ := f.eng.GuideByID("G2", 1)
	if g1.Commission != paid["G1"] || g2.Commission != paid["G2"] || g1.Members != 0 || g2.Members != members {
		t.Fatalf("G1 earned %d (answers say %d), G2 %d (%d); members %d and %d", g1.Commission, paid["G1"], g2.Commission, paid["G2"], g1.Members, g2.Members)
	}
	mustAudit(t, f)
}

// TestGuideLeavingResumes: a departure that stopped after marking the
// guide left (a crash before the members moved) is finished by calling it
// again with the same successor; meanwhile the guide's members earn no one
// a commission.
func TestGuideLeavingResumes(t *testing.T) {
	f := leaveFixture(t, 10)
	for i := range 300 {
		if _, err := f.eng.Bind(fmt.Sprintf("m%03d", i), "G1", false); err != nil {
			t.Fatal(err)
		}
	}
	// What the first decision of GuideLeaves writes, and nothing after.
	if err := f.db.Update(func(tx store.Tx) error {
		raw, found, err := tx.Get([]byte("g/G1"))
		if err != nil {
			return err
		}
		if !found {
			return errors.New("guide G1 has no record")
		}
		var g map[string]any
		if err := json.Unmarshal(raw, &g); err != nil {
			return err
		}
		g["left_at"], g["successor"] = f.now, "G2"
		raw, err = json.Marshal(g)
		tx.Put([]byte("g/G1"), raw)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if r := mustRedeem(t, f, f.signer.Code(1), "m007"); r.Guide != "" || r.Commission != 0 || !slices.Equal(r.Notes, []string{reward.NoteGuideLeft}) {
		t.Fatalf("a member of the departing guide, mid-move: %+v", r)
	}
	out, err := f.eng.GuideLeaves("G1", "G2")
	if err != nil || out.Moved != 300 {
		t.Fatalf("finishing the departure: %+v %v", out, err)
	}
	if g2, _ := f.eng.GuideByID("G2", 1); g2.Members != 300 {
		t.Fatalf("G2 has %d members after the move, want 300", g2.Members)
	}
	if r := mustRedeem(t, f, f.signer.Code(2), "m007"); r.Guide != "G2" || r.Commission != 2 {
		t.Fatalf("a moved member's scan: %+v", r)
	}
	mustAudit(t, f)
}
