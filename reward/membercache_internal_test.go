package reward

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/segmentio/encoding/json"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/codegentest"
	"github.com/yima-dev/yima/store"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

// A cached member is what decoding its record gives, field for field, and
// shares nothing a decision may change with the member it was copied from.
// A field added to Member fails this test until clone knows whether to copy
// it.
func TestMemberCloneIsTheDecodedRecord(t *testing.T) {
	var names []string
	for f := range reflect.TypeFor[Member]().Fields() {
		names = append(names, f.Name)
	}
	known := []string{"ID", "Points", "Growth", "Redemptions", "Created", "Seq", "Guide", "BoundAt", "Aliases", "Merged",
		"MergedInto", "Nickname", "Bonus", "Lots", "GrowthMonths", "Booked", "FirstTouch", "zone", "fresh"}
	if !reflect.DeepEqual(names, known) {
		t.Fatalf("Member's fields are %v; clone was written for %v: copy the new ones in clone", names, known)
	}
	at := time.Date(2026, 5, 1, 10, 0, 0, 123456789, time.UTC)
	shanghai := time.FixedZone("CST", 8*3600)
	cases := []struct {
		name string
		m    Member
	}{
		{"fresh", Member{ID: "m1", Created: at, fresh: true, zone: shanghai}},
		{"scanned", Member{ID: "m1", Points: 15, Redemptions: 3, Created: at, Seq: 3, Booked: true,
			Lots: []Lot{{Month: "202605", Amount: 15}}, FirstTouch: &Touch{At: at}}},
		{"everything", Member{ID: "m2", Points: 7, Growth: 9, Redemptions: 2, Created: at, Seq: 5, Guide: "G1", BoundAt: at.Add(time.Hour),
			Aliases: []string{"a1", "a2"}, Merged: []string{"m3"}, MergedInto: "", Nickname: "小明 \"<&>\"", Bonus: 10,
			Lots: []Lot{{"202604", 3}, {"202605", 4}}, GrowthMonths: []Lot{{"202605", 9}}, Booked: true,
			FirstTouch: &Touch{Source: "wechat", Guide: "G1", Store: "S1", Region: "SH", At: at}}},
		{"empty lists", Member{ID: "m4", Created: at, Aliases: []string{}, Merged: []string{}, Lots: []Lot{}, GrowthMonths: []Lot{}}},
		{"an empty touch", Member{ID: "m5", Created: at, FirstTouch: &Touch{}}},
		{"merged away", Member{ID: "m6", Created: at, MergedInto: "m2", Seq: 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.m.decodesAsIs() {
				t.Fatal("a member of UTC times is not cached")
			}
			var decoded Member
			if err := json.Unmarshal(marshalRecord(&c.m), &decoded); err != nil {
				t.Fatal(err)
			}
			got := c.m.clone()
			if !reflect.DeepEqual(*got, decoded) {
				t.Errorf("clone\n%+v\nwant the decoded record\n%+v", *got, decoded)
			}
			if len(got.Lots) > 0 {
				got.Lots[0].Amount++
				if got.Lots[0].Amount == c.m.Lots[0].Amount {
					t.Error("the clone's lots are the member's")
				}
			}
			if got.FirstTouch != nil && got.FirstTouch == c.m.FirstTouch {
				t.Error("the clone's first touch is the member's")
			}
			if len(got.Aliases) > 0 && &got.Aliases[0] == &c.m.Aliases[0] {
				t.Error("the clone's aliases are the member's")
			}
		})
	}
	for _, m := range []Member{
		{ID: "m7", Created: at.In(shanghai)},
		{ID: "m7", Created: at, BoundAt: at.In(shanghai)},
		{ID: "m7", Created: at, FirstTouch: &Touch{At: at.In(shanghai)}},
	} {
		if m.decodesAsIs() {
			t.Errorf("a member with a time in %v is cached; decoding would change it", m.Created.Location())
		}
	}
}

// cacheEngine returns an engine over db, its index of scanned codes
// loaded, and the signer of an active batch of count codes of SKU-1 paying
// 5 points a scan.
func cacheEngine(t *testing.T, db store.DB, opts Options, count uint32) (*Engine, *codegen.Signer) {
	t.Helper()
	e := New(db, codegentest.Keyset(t), opts)
	if err := e.LoadSeen(context.Background()); err != nil {
		t.Fatal(err)
	}
	batch, err := e.CreateBatch(BatchSpec{Product: "SKU-1", Count: count, Points: new(int64(5)), Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.Signer(batch)
	if err != nil {
		t.Fatal(err)
	}
	return e, s
}

// On the Pebble engine, a member's scans after the first read the member
// the last one wrote from the cache: the bytes the store hands back are
// the ones the cache holds. The balance stays right through scans that
// write the member and refusals that do not.
func TestScanReadsItsMemberFromTheCache(t *testing.T) {
	db := pebbletest.Open(t, nil)
	e, s := cacheEngine(t, db, Options{}, 10)
	for i, step := range []struct {
		serial  uint32
		balance int64 // 0: refused
	}{{1, 5}, {2, 10}, {2, 0}, {3, 15}} {
		raw, err := e.Scan(ScanRequest{Code: s.Code(step.serial), Member: "m1"})
		var res ScanResult
		if err == nil {
			err = json.Unmarshal(raw, &res)
		}
		var coded *Error
		switch {
		case step.balance == 0 && (!errors.As(err, &coded) || coded.Code != CodeAlreadyRedeemed):
			t.Fatalf("scan %d of a redeemed code: %s, %v; want already_redeemed", i+1, raw, err)
		case step.balance == 0:
		case err != nil:
			t.Fatal(err)
		case res.Balance != step.balance:
			t.Errorf("scan %d: balance %d, want %d", i+1, res.Balance, step.balance)
		}
	}
	key := memberKey("m1")
	err := db.Update(func(tx store.Tx) error {
		raw, _, err := tx.Get(key)
		c, ok := e.members.m[string(key)]
		if !ok || c.data != unsafe.SliceData(raw) || c.n != len(raw) {
			t.Errorf("the member's record is not the cached one (cached: %v)", ok)
		}
		if ok && c.m.Points != 15 {
			t.Errorf("the cached member holds %d points, want 15", c.m.Points)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSharedStoreKeepsNoMembers: an engine sharing its store (other
// engines write it, as on PostgreSQL) is handed back other bytes than it
// put, so it fills no member cache its lookups could never hit.
func TestSharedStoreKeepsNoMembers(t *testing.T) {
	e, s := cacheEngine(t, pebbletest.Open(t, nil), Options{NoSeenIndex: true}, 3)
	for serial := uint32(1); serial <= 3; serial++ {
		if _, err := e.Scan(ScanRequest{Code: s.Code(serial), Member: "m1"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.members.m); n != 0 {
		t.Errorf("an engine sharing its store cached %d members, want none", n)
	}
}
