package reward_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/yima-dev/yima/reward"
)

// storeEvents returns the bodies of the store.changed events in the feed.
func storeEvents(t *testing.T, f *fixture) []reward.Store {
	t.Helper()
	return eventData[reward.Store](t, f.eng, reward.FeedStoreChanged)
}

// TestStoreRecords creates, changes and reads a store: fields left out
// stay, a change that changes nothing records no event, and each change
// is one store.changed event with the record after it.
func TestStoreRecords(t *testing.T) {
	f := newFixture(t, 10, 5)
	s, created, err := f.eng.PutStore("SH-001", reward.StoreChange{Name: new("徐汇旗舰店"), Region: new("east"), Address: new("上海市徐汇区漕溪北路88号"), Code: new("310104-01")})
	if err != nil || !created {
		t.Fatalf("PutStore: %v, created %v", err, created)
	}
	if s.ID != "SH-001" || s.Name != "徐汇旗舰店" || s.Region != "east" || s.Code != "310104-01" || s.Created.IsZero() {
		t.Fatalf("created %+v", s)
	}
	s, created, err = f.eng.PutStore("SH-001", reward.StoreChange{Address: new("上海市徐汇区漕溪北路99号")})
	if err != nil || created {
		t.Fatalf("change: %v, created %v", err, created)
	}
	if s.Name != "徐汇旗舰店" || s.Address != "上海市徐汇区漕溪北路99号" || s.Updated.IsZero() {
		t.Fatalf("changed %+v", s)
	}
	if _, _, err := f.eng.PutStore("SH-001", reward.StoreChange{Region: new("east")}); err != nil {
		t.Fatal(err)
	}
	got, err := f.eng.Store("SH-001")
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("Store = %+v, %v; want %+v", got, err, s)
	}
	evs := storeEvents(t, f)
	if len(evs) != 2 || evs[0].Address != "上海市徐汇区漕溪北路88号" || !reflect.DeepEqual(evs[1], *s) {
		t.Fatalf("store.changed events %+v", evs)
	}
	mustAudit(t, f)
}

// TestGuideOfANewStoreMakesItsRecord: `yima guide add --store S` works
// as the outside contract promises even before S has a record; the store
// gets one, named by its id, in the same decision, and a guide of a known
// store leaves the store's record as it was.
func TestGuideOfANewStoreMakesItsRecord(t *testing.T) {
	f := newFixture(t, 10, 5)
	if _, _, err := f.eng.AddGuide(reward.Guide{ID: "G9", Store: "S9"}); err != nil {
		t.Fatalf("a guide of a store with no record: %v", err)
	}
	st, err := f.eng.Store("S9")
	if err != nil || st.Name != "S9" || st.Created.IsZero() {
		t.Fatalf("the new store's record: %+v, %v", st, err)
	}
	if _, _, err := f.eng.PutStore("S9", reward.StoreChange{Name: new("静安店")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.eng.AddGuide(reward.Guide{ID: "G10", Store: "S9"}); err != nil {
		t.Fatal(err)
	}
	if st, err := f.eng.Store("S9"); err != nil || st.Name != "静安店" {
		t.Fatalf("a second guide changed the store: %+v, %v", st, err)
	}
	if evs := storeEvents(t, f); len(evs) != 2 || evs[0].Name != "S9" || evs[1].Name != "静安店" {
		t.Fatalf("store.changed events %+v", evs)
	}
	mustAudit(t, f)
}

// TestStoreBadInput refuses each bad store with a clear code and stores
// nothing.
func TestStoreBadInput(t *testing.T) {
	f := newFixture(t, 10, 5)
	for _, c := range []struct {
		name, id string
		ch       reward.StoreChange
		want     reward.Code
	}{
		{"no id", "", reward.StoreChange{Name: new("x")}, reward.CodeInvalidRequest},
		{"slash in id", "SH/1", reward.StoreChange{Name: new("x")}, reward.CodeInvalidRequest},
		{"dot dot", "..", reward.StoreChange{Name: new("x")}, reward.CodeInvalidRequest},
		{"control character", "S\x01", reward.StoreChange{Name: new("x")}, reward.CodeInvalidRequest},
		{"no name", "S1", reward.StoreChange{Region: new("east")}, reward.CodeInvalidRequest},
		{"empty name", "S1", reward.StoreChange{Name: new("")}, reward.CodeInvalidRequest},
		{"long name", "S1", reward.StoreChange{Name: new(strings.Repeat("店", 101))}, reward.CodeInvalidRequest},
		{"newline in address", "S1", reward.StoreChange{Name: new("x"), Address: new("a\nb")}, reward.CodeInvalidRequest},
		{"long id", strings.Repeat("s", 129), reward.StoreChange{Name: new("x")}, reward.CodeInvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := f.eng.PutStore(c.id, c.ch); code(err) != c.want {
				t.Fatalf("PutStore(%q) = %v, want %s", c.id, err, c.want)
			}
		})
	}
	if ss, _, err := f.eng.StorePage("", 0); err != nil || len(ss) != 0 {
		t.Fatalf("stores after refusals: %v, %v", ss, err)
	}
	if evs := storeEvents(t, f); len(evs) != 0 {
		t.Fatalf("events after refusals: %+v", evs)
	}
	if _, err := f.eng.Store("nope"); code(err) != reward.CodeNotFound {
		t.Fatalf("unknown store: %v", err)
	}
}

// TestStorePages walks every store by the pages' cursors.
func TestStorePages(t *testing.T) {
	f := newFixture(t, 10, 5)
	const n = 7
	for i := range n {
		if _, _, err := f.eng.PutStore(fmt.Sprintf("S%02d", i), reward.StoreChange{Name: new("store")}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	after := ""
	for range n {
		page, next, err := f.eng.StorePage(after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page {
			seen = append(seen, s.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if want := "S00 S01 S02 S03 S04 S05 S06"; strings.Join(seen, " ") != want {
		t.Fatalf("pages gave %v, want %s", seen, want)
	}
}
