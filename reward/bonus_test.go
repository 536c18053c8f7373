package reward_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/yima-dev/yima/reward"
)

// TestNewMemberBonusOncePerDevice: a browser that drops its cookies is a
// fresh member on each claim, and each fresh member was paid the
// new-member bonus (100 of 100). The bonus is now paid once per device, and
// once per alias of the member, whatever member id scans.
func TestNewMemberBonusOncePerDevice(t *testing.T) {
	f := newFixture(t, 20, 0)
	mustApply(t, f, campaignDoc(t, map[string]any{"points": 10, "new_member_bonus": 50}))
	scan := func(serial uint32, member, device string) reward.ScanResult {
		t.Helper()
		raw, err := f.eng.Scan(reward.ScanRequest{Code: f.signer.Code(serial), Member: member, Device: device})
		if err != nil {
			t.Fatalf("scan %d by %s on %q: %v", serial, member, device, err)
		}
		var res reward.ScanResult
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := scan(1, "web:a", "web:phone-1"); res.Bonus != 50 {
		t.Fatalf("the device's first member: %+v, want the bonus", res)
	}
	for i, m := range []string{"web:b", "web:c", "web:d"} {
		res := scan(uint32(2+i), m, "web:phone-1")
		if res.Bonus != 0 || res.Points != 10 || !slices.Contains(res.Notes, reward.NoteBonusAlreadyPaid) {
			t.Fatalf("fresh member %s on the same device: %+v, want 10 points, no bonus, a note", m, res)
		}
	}
	if res := scan(5, "web:e", "web:phone-2"); res.Bonus != 50 {
		t.Fatalf("another device's first member: %+v, want the bonus", res)
	}
	// A scan naming no device is judged by the member alone, as before.
	if res := scan(6, "app-f", ""); res.Bonus != 50 {
		t.Fatalf("a first scan naming no device: %+v, want the bonus", res)
	}
	if who, paid, err := f.eng.BonusPaidTo("device:web:phone-1"); err != nil || !paid || who != "web:a" {
		t.Fatalf("BonusPaidTo(phone-1) = %q, %v, %v; want web:a", who, paid, err)
	}
	if _, paid, err := f.eng.BonusPaidTo("device:web:phone-3"); err != nil || paid {
		t.Fatalf("BonusPaidTo(an unseen device) = %v, %v", paid, err)
	}
	// A member's aliases (a phone, once sign-in proves it) are recorded
	// with the bonus too.
	if _, err := f.eng.LinkAlias("g", "tel:+8613800000001"); err != nil {
		t.Fatal(err)
	}
	if res := scan(7, "g", "web:phone-4"); res.Bonus != 50 {
		t.Fatalf("g's first scan: %+v", res)
	}
	if who, paid, _ := f.eng.BonusPaidTo("tel:+8613800000001"); !paid || who != "g" {
		t.Fatalf("the phone alias of a paid member: %q %v", who, paid)
	}
	// A member whose id is a proven identity is recorded as that person.
	if res := scan(8, "wxu:union-1", "web:phone-5"); res.Bonus != 50 {
		t.Fatalf("a signed-in person's first scan: %+v", res)
	}
	if who, paid, _ := f.eng.BonusPaidTo("wxu:union-1"); !paid || who != "wxu:union-1" {
		t.Fatalf("the signed-in person: %q %v", who, paid)
	}
	mustAudit(t, f)
}
