package bench

import (
	"bytes"
	"maps"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

func TestFloorKeysHaveTheShapeOfAScan(t *testing.T) {
	if keys := floorKeys(7, 1); len(keys) != 1 || !bytes.HasPrefix(keys[0], []byte("bench-floor/")) {
		t.Fatalf("one record: %q", keys)
	}
	codes, members, ledger := map[string]bool{}, map[string]bool{}, map[string]bool{}
	const requests = 20000
	for n := uint64(1); n <= requests; n++ {
		keys := floorKeys(n, 4)
		if len(keys) != 4 {
			t.Fatalf("4 records gave %d keys", len(keys))
		}
		code, ok := strings.CutPrefix(string(keys[0]), "bench-floor/r/")
		if !ok || len(code) != 27 {
			t.Fatalf("redemption key %q: want a 27-character code under bench-floor/r/", keys[0])
		}
		codes[code] = true
		members[string(keys[1])] = true
		for _, k := range keys[2:] {
			ledger[string(k)] = true
		}
	}
	if len(codes) != requests || len(ledger) != 2*requests {
		t.Fatalf("%d codes and %d ledger keys in %d requests: every request must write new ones", len(codes), len(ledger), requests)
	}
	if len(members) != floorMembers {
		t.Fatalf("%d members, want the %d the records are spread over", len(members), floorMembers)
	}
}

func TestFloorCommitsTheRecordsItIsAskedFor(t *testing.T) {
	db := pebbletest.Open(t, nil)
	f, err := startFloor(db)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	for _, c := range []struct {
		uri    string
		status int
	}{{"/floor", 200}, {"/floor?records=3", 200}, {"/floor?records=17", 400}} {
		status, _, err := fasthttp.Post(nil, "http://"+f.addr()+c.uri, nil)
		if err != nil || status != c.status {
			t.Fatalf("POST %s: %d %v, want %d", c.uri, status, err, c.status)
		}
	}
	count := map[string]int{}
	if err := db.Scan([]byte("bench-floor/"), nil, func(k, _ []byte) bool {
		kind := "key"
		if rest := k[len("bench-floor/"):]; len(rest) > 2 && rest[1] == '/' {
			kind = string(rest[:1])
		}
		count[kind]++
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"key": 1, "r": 1, "m": 1, "l": 1}; !maps.Equal(count, want) {
		t.Fatalf("stored %v, want %v", count, want)
	}
}
