package reward_test

import (
	"slices"
	"testing"

	"github.com/yima-dev/yima/reward"
)

// TestTheScanNamesANewMembersGuide: a new member's first redeemed scan that
// names a guide binds them to that guide, who earns on their later scans
// whatever guide those name. A refused scan, an unknown guide and the
// member's own guide id bind no one.
func TestTheScanNamesANewMembersGuide(t *testing.T) {
	f := newFixture(t, 20, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{"guide_commission": map[string]any{"per_scan": 2}}))
	mustGuide(t, f, "G1", "")
	mustGuide(t, f, "G2", "g2-self")

	for i, s := range []struct {
		member, guide, wantGuide string
	}{
		{"n1", "G2", "G2"}, // first scan: binds n1 to G2
		{"n1", "G1", "G2"}, // later scans: G2 earns, whatever they name
		{"n1", "", "G2"},
		{"ghost-fan", "ghost", ""},
		{"g2-self", "G2", "G2"}, // no commission, and no binding to themselves
	} {
		res, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(uint32(i + 1)), Member: s.member, Guide: s.guide})
		if err != nil || res.Guide != s.wantGuide {
			t.Fatalf("scan %d by %s naming %q: guide %q (%v), want %q", i, s.member, s.guide, res.Guide, err, s.wantGuide)
		}
	}
	// A scan refused (the code was redeemed) binds no one.
	if _, _, err := scanReq(f, reward.ScanRequest{Code: f.signer.Code(1), Member: "n2", Guide: "G1"}); code(err) != reward.CodeAlreadyRedeemed {
		t.Fatalf("a scan of a redeemed code: %v", err)
	}
	for m, want := range map[string]string{"n1": "G2", "ghost-fan": "", "g2-self": ""} {
		if v, err := f.eng.Member(m, "", 1); err != nil || v.Guide != want {
			t.Fatalf("%s after their scans: %+v %v, want bound to %q", m, v, err, want)
		}
	}
	if _, err := f.eng.Member("n2", "", 1); code(err) != reward.CodeNotFound {
		t.Fatalf("n2 after a refused scan: %v, want no account", err)
	}
	g1, _ := f.eng.GuideByID("G1", 10)
	g2, _ := f.eng.GuideByID("G2", 10)
	if g1.Members != 0 || g1.Commission != 0 || g2.Members != 1 || !slices.Equal(g2.BoundMembers, []string{"n1"}) || g2.Commission != 6 {
		t.Fatalf("G1 %d members %d commission; G2 %v (%d) %d commission", g1.Members, g1.Commission, g2.BoundMembers, g2.Members, g2.Commission)
	}
	mustAudit(t, f)
}

// TestLinkingAnIDAGuideBoundEarlier: a guide-bound id that had never
// redeemed blocked the brand's alias link for good (409 alias_taken). The
// link now goes through: the member keeps their own guide if they have one
// (the first binding wins), an unbound member takes the id's guide, and the
// guide's member count and list follow. An id with points of its own is
// still refused.
func TestLinkingAnIDAGuideBoundEarlier(t *testing.T) {
	f := newFixture(t, 20, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{"guide_commission": map[string]any{"per_scan": 2}}))
	mustGuide(t, f, "G1", "")
	mustGuide(t, f, "G2", "")
	for _, b := range [][2]string{{"13800000001", "G1"}, {"13800000002", "G1"}, {"13800000003", "G2"}, {"loyal", "G2"}} {
		if _, err := f.eng.Bind(b[0], b[1], false); err != nil {
			t.Fatal(err)
		}
	}
	mustRedeem(t, f, f.signer.Code(1), "web:a") // unbound, with points
	mustRedeem(t, f, f.signer.Code(2), "loyal") // bound to G2, with points
	mustRedeem(t, f, f.signer.Code(3), "rich")  // an account of its own

	// An unbound member takes the id's guide.
	m, err := f.eng.LinkAlias("web:a", "13800000001")
	if err != nil || m.Guide != "G1" || !slices.Contains(m.Aliases, "13800000001") {
		t.Fatalf("linking an id G1 bound to an unbound member: %+v %v", m, err)
	}
	// A bound member keeps their guide; the id's guide loses it.
	if m, err = f.eng.LinkAlias("loyal", "13800000002"); err != nil || m.Guide != "G2" {
		t.Fatalf("linking an id G1 bound to G2's member: %+v %v", m, err)
	}
	// The same guide on both sides: one member, counted once.
	if m, err = f.eng.LinkAlias("loyal", "13800000003"); err != nil || m.Guide != "G2" {
		t.Fatalf("linking an id G2 bound to G2's member: %+v %v", m, err)
	}
	if _, err := f.eng.LinkAlias("loyal", "rich"); code(err) != reward.CodeAliasTaken {
		t.Fatalf("linking an id with points of its own: %v, want alias_taken", err)
	}
	g1, _ := f.eng.GuideByID("G1", 10)
	g2, _ := f.eng.GuideByID("G2", 10)
	if g1.Members != 1 || !slices.Equal(g1.BoundMembers, []string{"web:a"}) || g2.Members != 1 || !slices.Equal(g2.BoundMembers, []string{"loyal"}) {
		t.Fatalf("after the links: G1 %v (%d), G2 %v (%d)", g1.BoundMembers, g1.Members, g2.BoundMembers, g2.Members)
	}
	// The id now reads, earns and pays commission as its member.
	res := mustRedeem(t, f, f.signer.Code(4), "13800000001")
	if res.Member != "web:a" || res.Guide != "G1" || res.Commission != 2 {
		t.Fatalf("a scan under the linked id: %+v", res)
	}
	if v, err := f.eng.Member("13800000002", "", 1); err != nil || v.ID != "loyal" {
		t.Fatalf("reading the linked id: %+v %v", v, err)
	}
	mustAudit(t, f)
}
