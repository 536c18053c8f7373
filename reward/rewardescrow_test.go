package reward_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// The mall's rewards escrowed in a slice per node (rewardescrow.go).

// putReward applies a reward document through eng.
func putReward(t *testing.T, eng *reward.Engine, id, kind string, price, stock int64) *reward.RewardView {
	t.Helper()
	return rewardtest.MustPutReward(t, eng, rewardDoc(id, kind, price, stock, 0))
}

// uploadVouchers uploads n codes named prefix-1 … prefix-n for reward id.
func uploadVouchers(t *testing.T, eng *reward.Engine, id, prefix string, n int) {
	t.Helper()
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("%s-%d", prefix, i+1)
	}
	if _, err := eng.AddVouchers(id, codes); err != nil {
		t.Fatal(err)
	}
}

// grant gives member points through eng.
func grant(t *testing.T, eng *reward.Engine, member string, points int64) {
	t.Helper()
	if _, err := eng.Adjust(member, reward.AdjustRequest{Points: points, Reason: "welcome", RequestID: "grant-" + member}); err != nil {
		t.Fatal(err)
	}
}

// exchange redeems units of rewardID for member on eng, retrying
// "unavailable" with the same request_id as a client does; it returns the
// result, or the refusal's code.
func exchange(t *testing.T, eng *reward.Engine, member, rewardID string, units int64, reqID string) (reward.RedeemResult, reward.Code) {
	t.Helper()
	req := reward.RedeemRequest{Reward: rewardID, Quantity: units, RequestID: member + "-" + reqID}
	raw, err := eng.Redeem(member, req)
	for try := 0; try < 20 && reward.ErrorCode(err) == reward.CodeUnavailable; try++ {
		raw, err = eng.Redeem(member, req)
	}
	var res reward.RedeemResult
	if err == nil {
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatal(err)
		}
	}
	return res, reward.ErrorCode(err)
}

// mustReward reads a reward's view on eng.
func mustReward(t *testing.T, eng *reward.Engine, id string) *reward.RewardView {
	t.Helper()
	v, err := eng.RewardByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMallEscrowThreeNodesRacing: three nodes race 15 members, each with
// points for everything, over a coupon reward of stock 23 and a voucher
// reward of stock 30 with 17 codes, one or two units at a time. Exactly
// the stock (the codes, for the vouchers) is exchanged, no view ever shows
// less than nothing left, each member's balance lost exactly the price of
// the units it got, every code went to one exchange, and nothing stayed
// stranded in another node's slice. The audit is clean on every node, and
// again once the nodes return their slices.
func TestMallEscrowThreeNodesRacing(t *testing.T) {
	onBackends(t, []string{"memory", "postgres"}, func(t *testing.T, backend string) {
		const stock, codes, price, members, rich = 23, 17, 10, 15, 10_000
		dbs, nodes := startNodes(t, backend, 3)
		putReward(t, nodes[0], "cup", reward.KindCoupon, price, stock)
		putReward(t, nodes[1], "cafe", reward.KindVoucher, price, 30)
		uploadVouchers(t, nodes[2], "cafe", "CAFE", codes)
		for i := range members {
			grant(t, nodes[i%3], fmt.Sprintf("m%d", i), rich)
		}
		var (
			mu       sync.Mutex
			units    = map[string]int64{}
			spent    = map[string]int64{}
			vouchers = map[string]int{}
			wg       sync.WaitGroup
		)
		for i := range members {
			wg.Go(func() {
				member, node := fmt.Sprintf("m%d", i), nodes[i%3]
				for j := range 12 {
					id, n := "cup", int64(1+(i+j)%2)
					if j%2 == 1 {
						id = "cafe"
					}
					res, code := exchange(t, node, member, id, n, fmt.Sprintf("x%d-%d", i, j))
					switch code {
					case "":
						mu.Lock()
						units[id] += res.Exchange.Quantity
						spent[member] += res.Exchange.Points
						for _, c := range res.Exchange.Vouchers {
							vouchers[c]++
						}
						mu.Unlock()
					case reward.CodeOutOfStock:
					default:
						t.Errorf("exchange on node %d: %s", i%3+1, code)
						return
					}
					if v := mustReward(t, node, id); v.Left < 0 || v.Counters.Redeemed > v.Stock {
						t.Errorf("node %d shows %s with %d left, %d redeemed of %d", i%3+1, id, v.Left, v.Counters.Redeemed, v.Stock)
					}
				}
			})
		}
		wg.Wait()
		// One or two units at a time, the last unit can be left when
		// two were asked: every member asked enough for it to go.
		if units["cup"] != stock || units["cafe"] != codes {
			t.Errorf("exchanged %d of cup (stock %d) and %d of cafe (%d codes); want both used exactly", units["cup"], stock, units["cafe"], codes)
		}
		if len(vouchers) != codes {
			t.Errorf("%d distinct codes handed out, want %d", len(vouchers), codes)
		}
		for c, n := range vouchers {
			if n != 1 {
				t.Errorf("code %s handed out %d times", c, n)
			}
		}
		if keys := storedKeys(t, dbs[0], "rs/"); !slices.Contains(keys, "rs/cup") || len(keys) < 4 {
			t.Errorf("the escrow records %q: want the pool of cup and the nodes' slices", keys)
		}
		check := func(when string) {
			t.Helper()
			for i, n := range nodes {
				for _, w := range []struct {
					id   string
					want int64
				}{{"cup", stock}, {"cafe", codes}} {
					if v := mustReward(t, n, w.id); v.Counters.Redeemed != w.want || v.Left != 0 || v.Status != "sold_out" {
						t.Errorf("%s, node %d shows %s %+v, %d left, %s; want %d redeemed, sold out", when, i+1, w.id, v.Counters, v.Left, v.Status, w.want)
					}
				}
				if v := mustReward(t, n, "cafe"); *v.VouchersLeft != 0 {
					t.Errorf("%s, node %d shows %d codes left", when, i+1, *v.VouchersLeft)
				}
				for m := range members {
					member := fmt.Sprintf("m%d", m)
					if got := rewardtest.MustMember(t, n, member).Points; got != rich-spent[member] {
						t.Errorf("%s, node %d: %s has %d points, want %d less the %d its exchanges took", when, i+1, member, got, rich, spent[member])
					}
				}
				rewardtest.MustAudit(t, n)
			}
		}
		check("racing done")
		for _, n := range nodes {
			if err := n.ReturnSlices(); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range storedKeys(t, dbs[0], "rs/") {
			if strings.Contains(k, "\x00") {
				t.Errorf("slice %q is left after every node returned its slices", k)
			}
		}
		check("slices returned")
	})
}

// TestMallEscrowExchangesWriteNoSharedRecord: once each node holds a
// slice of a reward, an exchange writes neither the reward's counters,
// its pool nor its voucher list, only its node's slice. A single engine
// (no node id) takes from the counters and the list as before and writes
// no slice.
func TestMallEscrowExchangesWriteNoSharedRecord(t *testing.T) {
	db, nodes, ks, clock := recordedNodes(t)
	putReward(t, nodes[0], "cup", reward.KindCoupon, 10, 1000)
	putReward(t, nodes[0], "cafe", reward.KindVoucher, 10, 1000)
	uploadVouchers(t, nodes[0], "cafe", "CAFE", 100)
	for i, n := range nodes {
		grant(t, n, fmt.Sprintf("m%d", i), 1000)
		for _, id := range []string{"cup", "cafe"} {
			if _, code := exchange(t, n, fmt.Sprintf("m%d", i), id, 1, "warm-"+id); code != "" {
				t.Fatal(code)
			}
		}
	}
	db.take()
	for i, n := range nodes {
		for _, id := range []string{"cup", "cafe"} {
			if _, code := exchange(t, n, fmt.Sprintf("m%d", i), id, 2, "hot-"+id); code != "" {
				t.Fatal(code)
			}
			written := db.take()
			for _, shared := range []string{"rwc/" + id, "rs/" + id, "vcp/" + id} {
				if slices.Contains(written, shared) {
					t.Errorf("an exchange of %s on node %d wrote the shared %q (all: %q)", id, i+1, shared, written)
				}
			}
			if mine := fmt.Sprintf("rs/%s\x00node%d", id, i+1); !slices.Contains(written, mine) {
				t.Errorf("an exchange of %s on node %d did not write its slice %q (all: %q)", id, i+1, mine, written)
			}
		}
	}
	rewardtest.MustAudit(t, nodes[1])

	alone := memoryStore(t, false)
	single := reward.New(alone, ks, reward.Options{Now: clock})
	putReward(t, single, "cafe", reward.KindVoucher, 10, 5)
	uploadVouchers(t, single, "cafe", "CAFE", 5)
	grant(t, single, "alice", 100)
	if _, code := exchange(t, single, "alice", "cafe", 2, "one"); code != "" {
		t.Fatal(code)
	}
	if keys := storedKeys(t, alone, "rs/"); len(keys) > 0 {
		t.Errorf("a single engine wrote reward slices %q", keys)
	}
	for key, want := range map[string]string{"rwc/cafe": `{"redeemed":2,"redemptions":1}`, "vcp/cafe": `{"uploaded":5,"issued":2}`} {
		if got, _, err := alone.Get([]byte(key)); err != nil || string(got) != want {
			t.Errorf("a single engine's %s reads %s (%v), want %s as before slices", key, got, err, want)
		}
	}
}

// TestMallEscrowDeadNodeSliceReclaimed: a node takes a slice of a voucher
// reward and dies. The other node still exchanges every code, taking back
// what the dead slice held; once the dead slice's lease ran out it is
// folded into the reward's counters and removed.
func TestMallEscrowDeadNodeSliceReclaimed(t *testing.T) {
	deadNodeCases(t, func(t *testing.T, expired bool, db store.DB, live, dead *reward.Engine, expire func()) {
		putReward(t, live, "cafe", reward.KindVoucher, 1, 100)
		uploadVouchers(t, live, "cafe", "CAFE", 40)
		grant(t, live, "d", 10)
		grant(t, live, "alive", 1000)
		if _, code := exchange(t, dead, "d", "cafe", 1, "dead"); code != "" {
			t.Fatal(code)
		}
		if keys := storedKeys(t, db, "rs/"); !slices.Contains(keys, "rs/cafe\x00node2") {
			t.Fatalf("the node that dies holds no slice: %q", keys)
		}
		expire()
		got := int64(1)
		for i := range 50 {
			res, code := exchange(t, live, "alive", "cafe", 1, fmt.Sprintf("a%d", i))
			switch code {
			case "":
				got += res.Exchange.Quantity
			case reward.CodeOutOfStock:
			default:
				t.Fatal(code)
			}
		}
		if got != 40 {
			t.Errorf("%d codes exchanged of 40 while a dead node held a slice; want all of them", got)
		}
		if held := slices.Contains(storedKeys(t, db, "rs/"), "rs/cafe\x00node2"); held == expired {
			t.Errorf("dead node's slice still held: %v, want %v", held, !expired)
		}
		if v := mustReward(t, live, "cafe"); v.Counters.Redeemed != 40 || *v.VouchersLeft != 0 {
			t.Errorf("counters %+v, %d codes left; want 40 redeemed, none left", v.Counters, *v.VouchersLeft)
		}
		rewardtest.MustAudit(t, live)
	})
}

// TestMallEscrowPutRewardBindsSlices: a new version of a reward holds at
// once against what the nodes' slices held: lowering the stock to what
// was redeemed stops every node, and a stock below it is refused.
func TestMallEscrowPutRewardBindsSlices(t *testing.T) {
	_, nodes := startNodes(t, "memory", 3)
	putReward(t, nodes[0], "cup", reward.KindCoupon, 10, 100)
	for i, n := range nodes {
		grant(t, n, fmt.Sprintf("m%d", i), 1000)
		if _, code := exchange(t, n, fmt.Sprintf("m%d", i), "cup", 1, "first"); code != "" {
			t.Fatal(code)
		}
	}
	low, err := reward.ParseReward([]byte(rewardDoc("cup", reward.KindCoupon, 10, 2, 0)), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[1].PutReward(low); reward.ErrorCode(err) != reward.CodeInvalidRequest {
		t.Errorf("a stock of 2 below the 3 redeemed: %v, want invalid_request", err)
	}
	putReward(t, nodes[1], "cup", reward.KindCoupon, 10, 3)
	for i, n := range nodes {
		if _, code := exchange(t, n, fmt.Sprintf("m%d", i), "cup", 1, "second"); code != reward.CodeOutOfStock {
			t.Errorf("node %d exchanged past a stock lowered to what was redeemed: %q, want out_of_stock", i+1, code)
		}
	}
	putReward(t, nodes[2], "cup", reward.KindCoupon, 10, 4)
	if _, code := exchange(t, nodes[0], "m0", "cup", 1, "third"); code != "" {
		t.Errorf("the unit added back: %s", code)
	}
	if _, code := exchange(t, nodes[1], "m1", "cup", 1, "third"); code != reward.CodeOutOfStock {
		t.Errorf("past the stock of 4: %q, want out_of_stock", code)
	}
	if v := mustReward(t, nodes[2], "cup"); v.Counters.Redeemed != 4 || v.Left != 0 {
		t.Errorf("counters %+v, %d left; want 4 redeemed, none left", v.Counters, v.Left)
	}
	rewardtest.MustAudit(t, nodes[0])
}

// TestMallEscrowAuditCatchesForgery: the audit holds the slices to the
// identity redeemed + held + rest = stock, rest ≥ 0, and each code of a
// voucher list to one place: handed out, held by one slice, or given back.
func TestMallEscrowAuditCatchesForgery(t *testing.T) {
	for _, c := range []struct {
		name, key, value, want string
	}{
		{"grant past the stock", "rs/cafe", `{"granted":500,"nodes":["node1"]}`, "pass its stock of 100"},
		{"code held twice", "rs/cafe\x00node1", `{"granted":5,"used":{"redeemed":1,"redemptions":1},"vouchers":[{"from":1,"to":4}],"vouchers_issued":1,"lease":"2030-01-01T00:00:00Z"}`, "voucher 1 is both handed out and held by a slice"},
		{"slice outside its pool", "rs/cafe\x00node9", `{"granted":0,"used":{"redeemed":0,"redemptions":0},"lease":"2030-01-01T00:00:00Z"}`, "node node9's slice is not in its pool"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dbs, nodes := startNodes(t, "memory", 1)
			db := dbs[0]
			putReward(t, nodes[0], "cafe", reward.KindVoucher, 1, 100)
			uploadVouchers(t, nodes[0], "cafe", "CAFE", 40)
			grant(t, nodes[0], "m", 10)
			if _, code := exchange(t, nodes[0], "m", "cafe", 1, "one"); code != "" {
				t.Fatal(code)
			}
			rewardtest.MustAudit(t, nodes[0])
			putBytes(t, db, []byte(c.key), []byte(c.value))
			mustAuditSay(t, nodes[0], c.want)
		})
	}
}
