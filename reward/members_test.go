package reward_test

// Members and the people behind them: signing in with a proved identity,
// which attaches and merges members (signin.go), and asking to be a
// store's guide through its enrolment QR (enrol.go).

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"13812345678":       "+8613812345678",
		"138 1234 5678":     "+8613812345678",
		"138-1234-5678":     "+8613812345678",
		"+86 138 1234 5678": "+8613812345678",
		"008613812345678":   "+8613812345678",
		"+14155550100":      "+14155550100",
	} {
		if got, err := reward.NormalizePhone(in); err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12345678901", "1381234567", "138123456789", "abc", "+86 12812345678", "+0123", "138<script>"} {
		if got, err := reward.NormalizePhone(in); reward.ErrorCode(err) != reward.CodeInvalidPhone {
			t.Errorf("NormalizePhone(%q) = %q, %v; want invalid_phone", in, got, err)
		}
	}
}

func TestOneTimeCodes(t *testing.T) {
	f := newFixture(t, 1, 0)
	const phone = "+8613812345678"
	right, wrong := []byte("hash-of-123456"), []byte("hash-of-654321")
	if err := f.eng.CheckOTP(phone, right); code(err) != reward.CodeOTPNone {
		t.Fatalf("check before any code: %v", err)
	}
	if err := f.eng.IssueOTP(phone, right); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.IssueOTP(phone, wrong); code(err) != reward.CodeSMSTooSoon {
		t.Fatalf("a second code at once: %v", err)
	}
	if err := f.eng.CheckOTP(phone, wrong); code(err) != reward.CodeOTPWrong {
		t.Fatalf("wrong code: %v", err)
	}
	if err := f.eng.CheckOTP(phone, right); err != nil {
		t.Fatalf("right code after one wrong try: %v", err)
	}
	if err := f.eng.CheckOTP(phone, right); code(err) != reward.CodeOTPUsed {
		t.Fatalf("the code reused: %v", err)
	}

	// Expiry: a code checked OTPTTL after it was sent is refused.
	f.now = f.now.Add(reward.OTPResend)
	if err := f.eng.IssueOTP(phone, right); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(reward.OTPTTL)
	if err := f.eng.CheckOTP(phone, right); code(err) != reward.CodeOTPExpired {
		t.Fatalf("expired code: %v", err)
	}

	// Tries: the fifth wrong try ends the code, even for the right one.
	if err := f.eng.IssueOTP(phone, right); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= reward.OTPMaxTries; i++ {
		err := f.eng.CheckOTP(phone, wrong)
		want := reward.CodeOTPWrong
		if i == reward.OTPMaxTries {
			want = reward.CodeOTPTooManyTries
		}
		if code(err) != want {
			t.Fatalf("wrong try %d: %v, want %s", i, err, want)
		}
	}
	if err := f.eng.CheckOTP(phone, right); code(err) != reward.CodeOTPTooManyTries {
		t.Fatalf("the right code after %d wrong tries: %v", reward.OTPMaxTries, err)
	}

	// A day's codes run out; the next day they start again.
	other := "+8613900000000"
	for i := range reward.OTPPerDay {
		if err := f.eng.IssueOTP(other, right); err != nil {
			t.Fatalf("code %d of the day: %v", i+1, err)
		}
		f.now = f.now.Add(reward.OTPResend)
	}
	if err := f.eng.IssueOTP(other, right); code(err) != reward.CodeSMSDailyLimit {
		t.Fatalf("code past the day's limit: %v", err)
	}
	f.now = f.now.Add(24 * time.Hour)
	if err := f.eng.IssueOTP(other, right); err != nil {
		t.Fatalf("the next day: %v", err)
	}
	if err := f.eng.IssueOTP("13812345678", right); code(err) != reward.CodeInvalidPhone {
		t.Fatalf("a phone not normalized: %v", err)
	}
}

// signInFixture pays 10 points and 10 growth a scan with a gift coupon on
// every scan, and has guide G1.
func signInFixture(t *testing.T, codes uint32) *fixture {
	t.Helper()
	f := newFixture(t, codes, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{
		"coupon": map[string]any{"title": "gift", "probability": 1, "stock": 100000, "valid_days": 30},
		"tiers":  []map[string]any{{"name": "silver", "min_growth": 15, "multiplier": 1}, {"name": "gold", "min_growth": 100, "multiplier": 2}},
	}))
	mustGuide(t, f, "G1", "")
	return f
}

func mustSignIn(t *testing.T, f *fixture, device, identity, want string) *reward.SignInResult {
	t.Helper()
	r, err := f.eng.SignIn(device, identity)
	if err != nil {
		t.Fatalf("sign-in of %s as %s: %v", device, identity, err)
	}
	if r.Outcome != want {
		t.Fatalf("sign-in of %s as %s: %+v, want outcome %s", device, identity, r, want)
	}
	return r
}

func TestSignInAttachesAndMerges(t *testing.T) {
	f := signInFixture(t, 10)
	const phone = "tel:+8613812345678"
	// Phone A claims, then signs in for the first time: the phone becomes
	// an identity of A's member.
	mustRedeem(t, f, f.signer.Code(1), "web:A")
	first := mustSignIn(t, f, "web:A", phone, reward.SignInNew)
	if first.Member != "web:A" {
		t.Fatalf("first sign-in: %+v", first)
	}
	mustSignIn(t, f, "web:A", phone, reward.SignInSame)

	// Phone B never earned: it simply points at the member.
	mustSignIn(t, f, "web:B", phone, reward.SignInJoined)

	// Phone C claimed twice and joined guide G1 before signing in: its
	// points, growth, coupons and guide move.
	if _, err := f.eng.Bind("web:C", "G1", false); err != nil {
		t.Fatal(err)
	}
	c2 := mustRedeem(t, f, f.signer.Code(2), "web:C")
	mustRedeem(t, f, f.signer.Code(3), "web:C")
	merged := mustSignIn(t, f, "web:C", phone, reward.SignInMerged)
	if merged.Points != 20 || merged.Growth != 20 {
		t.Fatalf("merge moved %+v, want 20 points and 20 growth", merged)
	}
	m := mustMember(t, f, phone)
	if m.ID != "web:A" || m.Points != 30 || m.Growth != 30 || m.Guide != "G1" {
		t.Fatalf("member after the merge: %+v", m.Member)
	}
	if c := mustMember(t, f, "web:C"); c.ID != "web:A" {
		t.Fatalf("the merged cookie reads %s, want the signed-in member", c.ID)
	}
	g, _ := f.eng.GuideByID("G1", 10)
	if g.Members != 1 || len(g.BoundMembers) != 1 || g.BoundMembers[0] != "web:A" {
		t.Fatalf("guide after the merge: %d members %v", g.Members, g.BoundMembers)
	}
	mustAudit(t, f)

	// A second sign-in of C does nothing more.
	mustSignIn(t, f, "web:C", phone, reward.SignInSame)
	// A claim under the old cookie credits the signed-in member.
	if res := mustRedeem(t, f, f.signer.Code(4), "web:C"); res.Member != "web:A" {
		t.Fatalf("claim under a merged cookie went to %s", res.Member)
	}

	// The centre shows everything: four scans, four coupons, the guide,
	// the phone, the tier.
	c, err := f.eng.MemberCentre(phone, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Scanned) != 4 || len(c.Coupons) != 4 || c.GuideInfo == nil || c.GuideInfo.ID != "G1" ||
		len(c.Identities) != 1 || c.Identities[0] != phone || c.Tier != "silver" || c.NextTier != "gold" {
		t.Fatalf("centre: %d scanned, %d coupons, guide %+v, identities %v, tier %q next %q", len(c.Scanned), len(c.Coupons), c.GuideInfo, c.Identities, c.Tier, c.NextTier)
	}
	for _, cp := range c.Coupons {
		if cp.State != reward.CouponStateUnused {
			t.Fatalf("coupon %s: %s", cp.ID, cp.State)
		}
	}
	// The person who claimed code 2 (through C) is told so; anyone else
	// is not.
	if cl, err := f.eng.ClaimBy(f.signer.Code(2), phone); err != nil || cl == nil || cl.Points != c2.Points || cl.Coupon == nil || cl.Coupon.ID != c2.Coupon.ID {
		t.Fatalf("claim of code 2 seen by its claimer: %+v %v", cl, err)
	}
	if cl, err := f.eng.ClaimBy(f.signer.Code(2), "web:stranger"); err != nil || cl != nil {
		t.Fatalf("claim of code 2 seen by a stranger: %+v %v", cl, err)
	}

	// A month on, the unused coupons show as expired.
	f.now = f.now.AddDate(0, 0, 31)
	if c, err := f.eng.MemberCentre(phone, "", 50); err != nil || c.Coupons[0].State != reward.CouponStateExpired {
		t.Fatalf("coupons a month on: %+v %v", c.Coupons, err)
	}

	// A shared phone: D is signed in with another number; signing in on
	// it with the first number keeps the two people apart.
	mustRedeem(t, f, f.signer.Code(5), "web:D")
	mustSignIn(t, f, "web:D", "tel:+8613900000000", reward.SignInNew)
	mustSignIn(t, f, "web:D", phone, reward.SignInSeparate)
	if d := mustMember(t, f, "tel:+8613900000000"); d.ID != "web:D" || d.Points != 10 {
		t.Fatalf("the other person's member: %+v", d.Member)
	}
	// And a number first seen on someone else's browser starts its own
	// member.
	r := mustSignIn(t, f, "web:D", "wx:openid-3", reward.SignInSeparate)
	if r.Member != "wx:openid-3" {
		t.Fatalf("new identity on a signed-in browser: %+v", r)
	}
	mustAudit(t, f)
}

// mergedAfterRedeem signs browser A in with a phone, redeems code 1 on
// browser B, then signs B in with the same phone: B's points move to A.
func mergedAfterRedeem(t *testing.T) *fixture {
	t.Helper()
	f := signInFixture(t, 4)
	mustSignIn(t, f, "web:A", "tel:+8613812345678", reward.SignInNew)
	mustRedeem(t, f, f.signer.Code(1), "web:B")
	mustSignIn(t, f, "web:B", "tel:+8613812345678", reward.SignInMerged)
	return f
}

// TestVoidAfterMerge voids a redemption made under a cookie that was
// merged since: the reversal must take the points from the member that
// holds them now (it once read the entries in the wrong ledger and
// reversed nothing).
func TestVoidAfterMerge(t *testing.T) {
	f := mergedAfterRedeem(t)
	if _, err := f.eng.VoidRedemption(f.signer.Code(1), "returned"); err != nil {
		t.Fatal(err)
	}
	if m := mustMember(t, f, "web:A"); m.Points != 0 || m.Growth != 0 {
		t.Fatalf("after the void the member holds %d points, %d growth", m.Points, m.Growth)
	}
	mustAudit(t, f)
}

// TestAuditChecksTransfers breaks one side of a merge and expects the
// audit to say so.
func TestAuditChecksTransfers(t *testing.T) {
	f := mergedAfterRedeem(t)
	mustAudit(t, f)
	// Rewrite the transfer into A so it names an entry that is not its pair.
	entries := ledgerOf(t, f.db, "l/", "web:A")
	var in reward.Entry
	for _, en := range entries {
		if en.Reason == reward.ReasonMergeIn {
			in = en
		}
	}
	if in.ID == "" {
		t.Fatalf("no merge_in entry in %+v", entries)
	}
	in.Transfer = "nothing"
	putEntry(t, f, "web:A", in)
	rep, err := f.eng.Audit()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Violations) == 0 {
		t.Fatal("the audit passed a transfer whose pair is missing")
	}
}

// TestConcurrentSignInsWhileClaiming signs many phones in to one number at
// once while every one of them, and the number, keeps claiming: one
// member in the end, every point paid held by it, the audit clean.
func TestConcurrentSignInsWhileClaiming(t *testing.T) {
	const devices, claims = 8, 6
	f := signInFixture(t, devices*claims*2+10)
	const phone = "tel:+8613812345678"
	next := uint32(0)
	var mu sync.Mutex
	nextCode := func() string {
		mu.Lock()
		defer mu.Unlock()
		next++
		return f.signer.Code(next)
	}
	// Each device earns before signing in, so every sign-in but the first
	// is a merge.
	var paid atomic.Int64
	for d := range devices {
		paid.Add(mustRedeem(t, f, nextCode(), fmt.Sprintf("web:d%d", d)).Points)
	}
	var wg sync.WaitGroup
	outcomes := make(chan string, devices)
	errs := make(chan error, devices*claims*2)
	for d := range devices {
		dev := fmt.Sprintf("web:d%d", d)
		wg.Add(2)
		go func() {
			defer wg.Done()
			r, err := f.eng.SignIn(dev, phone)
			if err != nil {
				errs <- err
				return
			}
			outcomes <- r.Outcome
		}()
		go func() {
			defer wg.Done()
			for range claims {
				for _, who := range []string{dev, phone} {
					res, err := f.scan(nextCode(), who)
					if err != nil {
						errs <- fmt.Errorf("claim by %s: %w", who, err)
					}
					paid.Add(res.Points)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(outcomes)
	for err := range errs {
		t.Fatal(err)
	}
	count := map[string]int{}
	for o := range outcomes {
		count[o]++
	}
	// The first sign-in finds the number new, unless a claim under the
	// number came first and made it a member: then every device merges.
	if count[reward.SignInNew]+count[reward.SignInMerged] != devices || count[reward.SignInMerged] < devices-1 {
		t.Fatalf("outcomes %v: want at most one new and the rest merged", count)
	}
	owner := mustMember(t, f, phone)
	for d := range devices {
		if m := mustMember(t, f, fmt.Sprintf("web:d%d", d)); m.ID != owner.ID {
			t.Fatalf("device %d is member %s, the phone is %s", d, m.ID, owner.ID)
		}
	}
	// Every point paid is the one member's.
	if owner.Points != paid.Load() {
		t.Fatalf("the member holds %d points, %d were paid", owner.Points, paid.Load())
	}
	mustAudit(t, f)
}

// putEntry overwrites a member's ledger entry in the store, as damage or a
// bug would.
func putEntry(t *testing.T, f *fixture, member string, en reward.Entry) {
	t.Helper()
	raw, err := json.Marshal(en)
	if err != nil {
		t.Fatal(err)
	}
	key := binary.BigEndian.AppendUint64([]byte("l/"+member+"\x00"), en.Seq)
	if err := f.db.Update(func(tx reward.Tx) error { tx.Put(key, raw); return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestBonusOncePerPersonAcrossMerge: two browsers each earned the
// new-member bonus before their owner signed in on both. The person is
// one member, so each merge keeps one bonus and takes the other back in
// the ledger, where the audit and the feed see it.
func TestBonusOncePerPersonAcrossMerge(t *testing.T) {
	f := newFixture(t, 10, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{"points": 10, "new_member_bonus": 50}))
	const phone = "tel:+8613812345678"
	if res := mustRedeem(t, f, f.signer.Code(1), "web:A"); res.Bonus != 50 {
		t.Fatalf("first browser's first scan: bonus %d, want 50", res.Bonus)
	}
	if res := mustRedeem(t, f, f.signer.Code(2), "web:B"); res.Bonus != 50 {
		t.Fatalf("second browser's first scan: bonus %d, want 50", res.Bonus)
	}
	mustSignIn(t, f, "web:A", phone, reward.SignInNew)
	mustSignIn(t, f, "web:B", phone, reward.SignInMerged)
	m := mustMember(t, f, phone)
	if m.Points != 70 || m.Bonus != 50 {
		t.Fatalf("the person after the merge: %d points holding a bonus of %d, want 70 (two scans, one bonus) and 50", m.Points, m.Bonus)
	}
	if b := mustMember(t, f, "web:B"); b.ID != m.ID {
		t.Fatalf("the merged browser reads as %s", b.ID)
	}

	// A third browser, welcomed with its own bonus, merges the same way:
	// the person still holds one.
	mustRedeem(t, f, f.signer.Code(3), "web:C")
	mustSignIn(t, f, "web:C", phone, reward.SignInMerged)
	if m := mustMember(t, f, phone); m.Points != 80 || m.Bonus != 50 {
		t.Fatalf("after a third browser: %d points, bonus %d; want 80 and 50", m.Points, m.Bonus)
	}
	mustAudit(t, f)
}

// TestCentreNamesScannedProducts: the centre names a scanned product from
// the catalog when its SKU has an entry, and leaves the name empty (the
// page shows the SKU) when it has none.
func TestCentreNamesScannedProducts(t *testing.T) {
	f := signInFixture(t, 10)
	mustRedeem(t, f, f.signer.Code(1), "web:A")
	c, err := f.eng.MemberCentre("web:A", "", 10)
	if err != nil || len(c.Scanned) != 1 || c.Scanned[0].ProductName != "" {
		t.Fatalf("centre before the catalog entry: %+v %v", c, err)
	}
	sku := c.Scanned[0].Product
	if _, _, err := f.eng.SetProduct(sku, reward.ProductChange{Name: new("Green tea 250 g")}); err != nil {
		t.Fatal(err)
	}
	mustRedeem(t, f, f.signer.Code(2), "web:A")
	c, err = f.eng.MemberCentre("web:A", "", 10)
	if err != nil || len(c.Scanned) != 2 {
		t.Fatalf("centre: %+v %v", c, err)
	}
	for _, s := range c.Scanned {
		if s.Product != sku || s.ProductName != "Green tea 250 g" {
			t.Fatalf("scan %s: product %q named %q, want %q named %q", s.Code, s.Product, s.ProductName, sku, "Green tea 250 g")
		}
	}
}

// Enrolment: a person asks to be a guide of a store.

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
	var out []string
	for _, ev := range readAll(t, f.eng, 1000, types...) {
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
	all := rewardtest.Codes(f.signer, codes) // a Signer is not for concurrent use
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
