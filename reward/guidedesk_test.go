package reward_test

import (
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// TestGuideOfIdentity finds a guide by their own phone, through the
// member it stands for too, and without the index (a guide added before
// it existed); a guide who left is no one's.
func TestGuideOfIdentity(t *testing.T) {
	f := newFixture(t, 1, 0)
	rewardtest.MustStore(t, f.eng, "s")
	if _, _, err := f.eng.AddGuide(reward.Guide{ID: "G1", Store: "s", Member: "tel:+8613800001111"}); err != nil {
		t.Fatal(err)
	}
	mustGuide(t, f, "G2", "")
	want := func(identity, guide string) {
		t.Helper()
		g, err := f.eng.GuideOfIdentity(identity)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if g != nil {
			got = g.ID
		}
		if got != guide {
			t.Fatalf("GuideOfIdentity(%s) = %q, want %q", identity, got, guide)
		}
	}
	want("tel:+8613800001111", "G1")
	want("tel:+8613812345678", "")
	// The phone signs in on a browser that held points: its member is
	// the browser's, and the phone an alias of it.
	if _, err := f.eng.SignIn("web:b1", "tel:+8613800001111"); err != nil {
		t.Fatal(err)
	}
	want("tel:+8613800001111", "G1")
	// Without the index.
	if err := f.db.Update(func(tx store.Tx) error { tx.Delete([]byte("mgd/tel:+8613800001111")); return nil }); err != nil {
		t.Fatal(err)
	}
	want("tel:+8613800001111", "G1")
	if _, err := f.eng.GuideLeaves("G1", "G2"); err != nil {
		t.Fatal(err)
	}
	want("tel:+8613800001111", "")
}
