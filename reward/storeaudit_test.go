package reward_test

import (
	"encoding/json"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// TestAuditCatchesForgedStoresAndEnrolments forges, one at a time, a
// store record, an enrolment, a store's list of guides and a manager's
// grant, each as a damaged or tampered store would hold it; the audit,
// clean before, names each forgery.
func TestAuditCatchesForgedStoresAndEnrolments(t *testing.T) {
	const manager = "tel:+8613900000009"
	for _, c := range []struct {
		name   string
		forge  func(tx store.Tx, s reward.Store, en reward.Enrolment)
		wanted string
	}{
		{"a store filed under another id", func(tx store.Tx, s reward.Store, _ reward.Enrolment) {
			putRaw(t, tx, "stores/S3", s)
		}, `store "S3" holds the record of store "S1"`},
		{"a store without a name", func(tx store.Tx, s reward.Store, _ reward.Enrolment) {
			s.Name = ""
			putRaw(t, tx, "stores/S1", s)
		}, `store "S1" has no name`},
		{"an enrolment of a store with no record", func(tx store.Tx, _ reward.Store, en reward.Enrolment) {
			en.Store = "S-gone"
			putRaw(t, tx, "en/"+en.ID, en)
		}, `names store "S-gone", which has no record`},
		{"an enrolment missing from its store's list", func(tx store.Tx, _ reward.Store, en reward.Enrolment) {
			tx.Delete([]byte("sen/S1\x00" + en.ID))
		}, "is missing from store S1's list"},
		{"an approval that made another person's guide", func(tx store.Tx, _ reward.Store, en reward.Enrolment) {
			en.Member = "tel:+8613800000099"
			putRaw(t, tx, "en/"+en.ID, en)
		}, "but the guide is of"},
		{"a store listing another store's guide", func(tx store.Tx, _ reward.Store, en reward.Enrolment) {
			tx.Put([]byte("stg/S2\x00"+en.Guide), nil)
		}, "who is not its guide"},
		{"a manager's grant the store does not name", func(tx store.Tx, _ reward.Store, _ reward.Enrolment) {
			tx.Put([]byte("smg/tel:+8613700000000\x00S1"), nil)
		}, `grants "tel:+8613700000000" store S1, whose record does not name them`},
		{"a manager the store names without a grant", func(tx store.Tx, _ reward.Store, _ reward.Enrolment) {
			tx.Delete([]byte("smg/" + manager + "\x00S1"))
		}, `store S1 names manager "` + manager + `", who has no grant`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, q := enrolFixture(t, 10, 5)
			rewardtest.MustStore(t, f.eng, "S2")
			s, _, err := f.eng.PutStore("S1", reward.StoreChange{Managers: &[]string{manager}})
			if err != nil {
				t.Fatal(err)
			}
			en, err := f.eng.Enrol(q.Code, "tel:+8613800000001", "王芳")
			if err != nil {
				t.Fatal(err)
			}
			if en, err = f.eng.DecideEnrolment("S1", en.ID, true, manager); err != nil {
				t.Fatal(err)
			}
			mustAudit(t, f)
			if err := f.db.Update(func(tx store.Tx) error {
				c.forge(tx, *s, *en)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			mustAuditSay(t, f.eng, c.wanted)
		})
	}
}

// putRaw writes v as JSON under key, as the engine files records.
func putRaw(t *testing.T, tx store.Tx, key string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	tx.Put([]byte(key), raw)
}
