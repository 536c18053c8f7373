package reward_test

import (
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

// TestStatusSeesBatchChanges: Status keeps the batches it decoded, yet a
// batch changed by another engine over the same database (another node
// sharing PostgreSQL) shows on the next status, as one changed by this
// engine does.
func TestStatusSeesBatchChanges(t *testing.T) {
	f := openFixture(t, 10, 5, fixtureOptions{sharedKeys: true})
	other := reward.New(f.db, rewardtest.Keys(t, true), reward.Options{Now: func() time.Time { return f.now }})
	state := func(serial uint32) string {
		t.Helper()
		st, err := f.eng.Status(f.signer.Code(serial))
		if err != nil || !st.Valid {
			t.Fatalf("status of serial %d: %+v %v", serial, st, err)
		}
		return st.State
	}
	if s := state(3); s != string(reward.Active) {
		t.Fatalf("serial 3 before: %s", s)
	}
	if _, err := other.SetRange(f.batch.ID, reward.Range{From: 3, To: 3, State: reward.Revoked}); err != nil {
		t.Fatal(err)
	}
	if s := state(3); s != string(reward.Revoked) {
		t.Errorf("serial 3 after another node revoked it: %s", s)
	}
	if _, err := f.eng.SetRange(f.batch.ID, reward.Range{From: 4, To: 4, State: reward.Revoked}); err != nil {
		t.Fatal(err)
	}
	if s := state(4); s != string(reward.Revoked) {
		t.Errorf("serial 4 after this node revoked it: %s", s)
	}
	if s := state(5); s != string(reward.Active) {
		t.Errorf("serial 5, never changed: %s", s)
	}
}
