package reward_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

// enrolFixture is a fixture with store S1 and its enrolment QR.
func enrolFixture(t *testing.T, count uint32, points int64) (*fixture, *reward.EnrolQR) {
	t.Helper()
	f := newFixture(t, count, points)
	rewardtest.MustStore(t, f.eng, "S1")
	q, err := f.eng.EnrolmentQR("S1", false, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f, q
}

// feedTypes lists the types of the feed's events, in order.
func feedTypes(t *testing.T, f *fixture, types ...string) []string {
	t.Helper()
	page, err := f.eng.Feed(context.Background(), reward.FeedQuery{Types: types, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, raw := range page.Events {
		var ev reward.FeedEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.Type)
	}
	return out
}

// TestEnrolmentApprovedMakesAGuide: a signed-in person scans the store's
// enrolment QR and waits; asking again changes nothing; the manager's
// approval makes them a guide of the store at once, whom their identity
// finds, who binds members and verifies; the feed tells each step.
func TestEnrolmentApprovedMakesAGuide(t *testing.T) {
	f, q := enrolFixture(t, 10, 5)
	const phone = "tel:+8613800000001"
	en, err := f.eng.Enrol(q.Code, phone, " 王芳 ")
	if err != nil {
		t.Fatal(err)
	}
	if en.Status != reward.EnrolmentPending || en.Store != "S1" || en.Name != "王芳" || en.Member != phone {
		t.Fatalf("enrolment %+v", en)
	}
	again, err := f.eng.Enrol(q.Code, phone, "someone else")
	if err != nil || again.ID != en.ID || again.Name != "王芳" {
		t.Fatalf("asking again: %+v, %v", again, err)
	}
	if g, err := f.eng.GuideOfMember(phone); err != nil || g != nil {
		t.Fatalf("a waiting person is a guide: %v %v", g, err)
	}
	done, err := f.eng.DecideEnrolment("S1", en.ID, true, "tel:+8613900000009")
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != reward.EnrolmentApproved || done.Guide == "" || done.DecidedBy != "tel:+8613900000009" {
		t.Fatalf("approved %+v", done)
	}
	g, err := f.eng.GuideOfMember(phone)
	if err != nil || g == nil || g.ID != done.Guide || g.Store != "S1" || g.Name != "王芳" {
		t.Fatalf("GuideOfMember = %+v, %v", g, err)
	}
	if gs, _, err := f.eng.StoreGuides("S1", "", 0); err != nil || len(gs) != 1 || gs[0].ID != g.ID {
		t.Fatalf("StoreGuides = %v, %v", gs, err)
	}
	if _, err := f.eng.Bind("mom", g.ID, false); err != nil {
		t.Fatal(err)
	}
	mine, err := f.eng.MyEnrolment(phone)
	if err != nil || mine.Status != reward.EnrolmentApproved || mine.Guide != g.ID {
		t.Fatalf("MyEnrolment = %+v, %v", mine, err)
	}
	if _, err := f.eng.Enrol(q.Code, phone, "王芳"); code(err) != reward.CodeAlreadyGuide {
		t.Fatalf("a guide enrolling again: %v", err)
	}
	want := []string{reward.FeedGuideEnrolled, reward.FeedGuideCreated, reward.FeedGuideApproved}
	if got := feedTypes(t, f, reward.FeedGuideEnrolled, reward.FeedGuideCreated, reward.FeedGuideApproved, reward.FeedGuideRejected); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	mustAudit(t, f)
	rewardtest.MustReplay(t, f.eng)
}

// TestEnrolmentRejected: a rejected person is no guide, may ask again,
// and a decided request cannot be decided again.
func TestEnrolmentRejected(t *testing.T) {
	f, q := enrolFixture(t, 10, 5)
	en, err := f.eng.Enrol(q.Code, "tel:+8613800000002", "李雷")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := f.eng.DecideEnrolment("S1", en.ID, false, "admin"); err != nil || r.Status != reward.EnrolmentRejected || r.Guide != "" {
		t.Fatalf("reject: %+v %v", r, err)
	}
	for _, approve := range []bool{true, false} {
		if _, err := f.eng.DecideEnrolment("S1", en.ID, approve, "admin"); code(err) != reward.CodeEnrolmentDecided {
			t.Fatalf("deciding a rejected request again: %v", err)
		}
	}
	if g, _ := f.eng.GuideOfMember("tel:+8613800000002"); g != nil {
		t.Fatalf("a rejected person is guide %+v", g)
	}
	if again, err := f.eng.Enrol(q.Code, "tel:+8613800000002", "李雷"); err != nil || again.ID == en.ID || again.Status != reward.EnrolmentPending {
		t.Fatalf("asking after a rejection: %+v %v", again, err)
	}
	if page, _, err := f.eng.EnrolmentPage("S1", reward.EnrolmentPending, "", 0); err != nil || len(page) != 1 {
		t.Fatalf("pending: %v %v", page, err)
	}
	mustAudit(t, f)
}

// TestEnrolmentBadInput: an expired or rotated QR, an unknown or
// malformed code, an unknown store, a person not signed in, a bad name,
// a malformed id: each a clear refusal, and nothing stored.
func TestEnrolmentBadInput(t *testing.T) {
	f, old := enrolFixture(t, 10, 5)
	cur, err := f.eng.EnrolmentQR("S1", true, 0)
	if err != nil || cur.Code == old.Code {
		t.Fatalf("rotate: %+v %v", cur, err)
	}
	if same, err := f.eng.EnrolmentQR("S1", false, 0); err != nil || same.Code != cur.Code {
		t.Fatalf("the current QR without rotate: %+v %v", same, err)
	}
	short, err := f.eng.EnrolmentQR("S1", true, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(2 * time.Hour)
	for _, c := range []struct {
		name, code, identity, who string
		want                      reward.Code
	}{
		{"rotated", old.Code, "tel:+8613800000003", "x", reward.CodeEnrolmentReplaced},
		{"rotated again", cur.Code, "tel:+8613800000003", "x", reward.CodeEnrolmentReplaced},
		{"expired", short.Code, "tel:+8613800000003", "x", reward.CodeEnrolmentExpired},
		{"unknown", "ABCDEFGHJKMNPQRS", "tel:+8613800000003", "x", reward.CodeNotFound},
		{"malformed", "<script>", "tel:+8613800000003", "x", reward.CodeNotFound},
		{"not signed in", short.Code, "web:abc", "x", reward.CodeInvalidRequest},
		{"no name", short.Code, "tel:+8613800000003", "  ", reward.CodeInvalidRequest},
		{"control character", short.Code, "tel:+8613800000003", "a\x01", reward.CodeInvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := f.eng.Enrol(c.code, c.identity, c.who); code(err) != c.want {
				t.Fatalf("Enrol = %v, want %s", err, c.want)
			}
		})
	}
	if _, err := f.eng.EnrolmentQR("nope", false, 0); code(err) != reward.CodeUnknownStore {
		t.Fatalf("QR of an unknown store: %v", err)
	}
	if _, err := f.eng.EnrolmentQR("S1", true, 400*24*time.Hour); code(err) != reward.CodeInvalidRequest {
		t.Fatalf("a QR valid 400 days: %v", err)
	}
	if _, err := f.eng.DecideEnrolment("S1", "not-an-id", true, "admin"); code(err) != reward.CodeInvalidRequest {
		t.Fatalf("a malformed enrolment id: %v", err)
	}
	if _, err := f.eng.DecideEnrolment("S1", "2JhB9kgQX0HeQhbN1k5yAIXj0Fa", true, "admin"); code(err) != reward.CodeNotFound {
		t.Fatalf("an unknown enrolment: %v", err)
	}
	if page, _, err := f.eng.EnrolmentPage("S1", "", "", 0); err != nil || len(page) != 0 {
		t.Fatalf("enrolments after refusals: %v %v", page, err)
	}
	if evs := feedTypes(t, f, reward.FeedGuideEnrolled, reward.FeedGuideCreated); len(evs) != 0 {
		t.Fatalf("events after refusals: %v", evs)
	}
	mustAudit(t, f)
}

// TestTwoManagersApproveOnce: managers approving (or one approving, one
// rejecting) the same waiting person at once: exactly one decision wins,
// the others are refused with enrolment_decided, and at most one guide
// is made for each person.
func TestTwoManagersApproveOnce(t *testing.T) {
	f, q := enrolFixture(t, 10, 5)
	const people = 20
	ids := make([]string, people)
	for i := range ids {
		en, err := f.eng.Enrol(q.Code, fmt.Sprintf("tel:+86138000100%02d", i), fmt.Sprintf("p%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = en.ID
	}
	// Three managers decide each request at once.
	var approved atomic.Int64
	wins, refused := race(t, 3*people, reward.CodeEnrolmentDecided, func(j int) error {
		i, m := j/3, j%3
		en, err := f.eng.DecideEnrolment("S1", ids[i], m != 2, fmt.Sprintf("manager-%d", m))
		if err == nil && en.Status == reward.EnrolmentApproved {
			approved.Add(1)
		}
		return err
	})
	if wins != people || refused != 2*people {
		t.Fatalf("%d decisions won and %d refused, want %d and %d", wins, refused, people, 2*people)
	}
	gs, _, err := f.eng.StoreGuides("S1", "", reward.MaxPage)
	if err != nil || int64(len(gs)) != approved.Load() {
		t.Fatalf("%d guides for %d approvals: %v", len(gs), approved.Load(), err)
	}
	mustAudit(t, f)
}

// TestEnrolledGuideVerifiesWhileScansGoOn: while members scan, a person
// enrols, is approved and verifies gifts as a guide of the store; every
// payout and commission adds up in the audit and the feed's replay.
func TestEnrolledGuideVerifiesWhileScansGoOn(t *testing.T) {
	const codes = 300
	f, q := enrolFixture(t, codes, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"points":           map[string]any{"min": 1, "max": 1},
		"coupon":           map[string]any{"title": "gift", "probability": 1, "stock": 1000, "valid_days": 30},
		"guide_commission": map[string]any{"per_coupon": 5},
	}))
	all := make([]string, codes)
	for i := range all {
		all[i] = f.signer.Code(uint32(i + 1)) // a Signer is not for concurrent use
	}
	coupons := make(chan string, codes)
	var wg sync.WaitGroup
	wg.Go(func() {
		rewardtest.Workers(8, codes, func(i int) {
			res, err := f.scan(all[i], fmt.Sprintf("m%d", i%40))
			if err != nil {
				t.Error(err)
				return
			}
			if res.Coupon != nil {
				coupons <- res.Coupon.ID
			}
		})
		close(coupons) // a verifier short of coupons stops, and fails
	})
	var verified atomic.Int64
	wg.Go(func() {
		const phone = "tel:+8613800000077"
		en, err := f.eng.Enrol(q.Code, phone, "张三")
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := f.eng.DecideEnrolment("S1", en.ID, true, "manager"); err != nil {
			t.Error(err)
			return
		}
		g, err := f.eng.GuideOfMember(phone)
		if err != nil || g == nil {
			t.Errorf("the approved guide: %v %v", g, err)
			return
		}
		for range 50 {
			if _, err := f.eng.VerifyCoupon(<-coupons, g.ID); err != nil {
				t.Error(err)
				return
			}
			verified.Add(1)
		}
	})
	wg.Wait()
	if verified.Load() != 50 {
		t.Fatalf("verified %d, want 50", verified.Load())
	}
	en, _, err := f.eng.EnrolmentPage("S1", reward.EnrolmentApproved, "", 0)
	if err != nil || len(en) != 1 {
		t.Fatal(en, err)
	}
	v, err := f.eng.GuideByID(en[0].Guide, 1)
	if err != nil || v.Commission != 250 || v.Verified != 50 {
		t.Fatalf("the guide earned %d on %d verifications: %v", v.Commission, v.Verified, err)
	}
	mustAudit(t, f)
	rewardtest.MustReplay(t, f.eng)
}
