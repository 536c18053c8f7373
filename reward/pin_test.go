package reward_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
)

// pinBatch mints an active batch of n codes of SKU-1 claimed with 8-digit
// PINs, paying 10 points, and returns its codes and their PINs.
func pinBatch(t *testing.T, f *fixture, n uint32) (codes, pins []string) {
	t.Helper()
	b, err := f.eng.CreateBatch(reward.BatchSpec{Product: "SKU-1", Count: n, Points: new(int64(10)), Activate: true, Claim: reward.ClaimPIN})
	if err != nil {
		t.Fatal(err)
	}
	if b.Claim != reward.ClaimPIN || b.PINDigits != 8 {
		t.Fatalf("a PIN batch's record: %+v", b)
	}
	s, err := f.eng.Signer(b)
	if err != nil {
		t.Fatal(err)
	}
	for serial := uint32(1); serial <= n; serial++ {
		c := s.Code(serial)
		p, err := f.eng.Keys().Verify(c)
		if err != nil {
			t.Fatal(err)
		}
		pin, err := f.eng.Keys().PIN(&p, 8)
		if err != nil {
			t.Fatal(err)
		}
		codes, pins = append(codes, c), append(pins, pin)
	}
	return codes, pins
}

func (f *fixture) claim(code, member, pin string) (reward.ScanResult, error) {
	res, _, err := rewardtest.Scan(f.eng, reward.ScanRequest{Code: code, Member: member, PIN: pin})
	return res, err
}

// wrongPIN returns a PIN of the right length that is not pin.
func wrongPIN(pin string, i int) string {
	b := []byte(pin)
	b[i%len(b)] = '0' + (b[i%len(b)]-'0'+1+byte(i/len(b))%9)%10
	return string(b)
}

// TestPINClaim: the outer code alone, photographed on the shelf, claimed
// the reward before the buyer. A batch minted with claim pin pays only
// with the inner PIN: without it or with a wrong one nothing is paid and
// the code stays unredeemed; the right PIN pays once.
func TestPINClaim(t *testing.T) {
	f := newFixture(t, 1, 10)
	codes, pins := pinBatch(t, f, 3)
	for _, c := range []struct {
		name, pin string
		want      reward.Code
	}{{"no PIN", "", reward.CodePINRequired}, {"wrong PIN", wrongPIN(pins[0], 0), reward.CodeWrongPIN}, {"short PIN", pins[0][:6], reward.CodeWrongPIN}, {"another code's PIN", pins[1], reward.CodeWrongPIN}} {
		if _, err := f.claim(codes[0], "thief", c.pin); code(err) != c.want {
			t.Fatalf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	if rewardtest.IsRedeemed(t, f.eng, codes[0]) {
		t.Fatal("a claim without the right PIN redeemed the code")
	}
	if _, err := f.eng.Member("thief", "", 10); code(err) != reward.CodeNotFound {
		t.Fatalf("a claim without the right PIN made the claimant an account: %v", err)
	}
	res, err := f.claim(codes[0], "buyer", pins[0])
	if err != nil || res.Points != 10 {
		t.Fatalf("the right PIN: %+v, %v", res, err)
	}
	if _, err := f.claim(codes[0], "thief", pins[0]); code(err) != reward.CodeAlreadyRedeemed {
		t.Fatalf("the right PIN again: %v, want already_redeemed", err)
	}
	if m := rewardtest.MustMember(t, f.eng, "buyer"); m.Points != 10 {
		t.Fatalf("the buyer's balance %d, want 10", m.Points)
	}
	// The code's status says how its reward is claimed.
	st, err := f.eng.Status(codes[1])
	if err != nil || st.Claim != reward.ClaimPIN || st.PINDigits != 8 {
		t.Fatalf("status of a PIN batch's code: %+v, %v", st, err)
	}
	// A batch minted without claim pin behaves as before: the code alone
	// pays, and a PIN sent along is ignored.
	plain := f.signer.Code(1)
	if _, err := f.claim(plain, "m2", "12345678"); err != nil {
		t.Fatalf("a plain batch's code with a PIN: %v", err)
	}
	rewardtest.MustAudit(t, f.eng)
}

// TestPINLockout: a burst of wrong PINs locks the code and flags it; while
// locked even the right PIN is refused, unpaid; the lock ends by itself
// (each next lock twice as long) and then the right PIN pays.
func TestPINLockout(t *testing.T) {
	f := newFixture(t, 1, 10)
	codes, pins := pinBatch(t, f, 1)
	guess := func(i int) error { _, err := f.claim(codes[0], "guesser", wrongPIN(pins[0], i)); return err }
	for i := range reward.PINTriesBeforeLock {
		err := guess(i)
		var re *reward.Error
		if !errors.As(err, &re) || re.Code != reward.CodeWrongPIN || re.Details["tries_left"] != reward.PINTriesBeforeLock-1-i {
			t.Fatalf("wrong PIN %d: %v %v", i+1, err, re.Details)
		}
	}
	if _, err := f.claim(codes[0], "buyer", pins[0]); code(err) != reward.CodePINLocked {
		t.Fatalf("the right PIN while locked: %v, want pin_locked", err)
	}
	flags, err := f.eng.LatestFlags(10)
	if err != nil || len(flags) != 1 || flags[0].Kind != reward.FlagPINGuessing || flags[0].Code != codes[0] || flags[0].WrongPINs != 5 || flags[0].Member != "guesser" {
		t.Fatalf("flags after the burst: %+v, %v", flags, err)
	}
	// The first lock lasts 15 minutes.
	f.now = f.now.Add(reward.PINFirstLock - time.Second)
	if _, err := f.claim(codes[0], "buyer", pins[0]); code(err) != reward.CodePINLocked {
		t.Fatalf("a second before the lock ends: %v", err)
	}
	f.now = f.now.Add(2 * time.Second)
	// A second burst locks it for twice as long.
	for i := range reward.PINTriesBeforeLock {
		if err := guess(10 + i); code(err) != reward.CodeWrongPIN {
			t.Fatalf("second burst, guess %d: %v", i+1, err)
		}
	}
	f.now = f.now.Add(2*reward.PINFirstLock - time.Second)
	if _, err := f.claim(codes[0], "buyer", pins[0]); code(err) != reward.CodePINLocked {
		t.Fatalf("the second lock ended early: %v", err)
	}
	f.now = f.now.Add(2 * time.Second)
	if rewardtest.IsRedeemed(t, f.eng, codes[0]) {
		t.Fatal("the lock redeemed the code")
	}
	if res, err := f.claim(codes[0], "buyer", pins[0]); err != nil || res.Points != 10 {
		t.Fatalf("the right PIN after the lock: %+v, %v", res, err)
	}
	rewardtest.MustAudit(t, f.eng)
}

// TestPINGuessesConcurrent: guesses that arrive at once are counted one
// by one: of 40 simultaneous wrong PINs exactly PINTriesBeforeLock are
// checked and the rest find the code locked; once the lock ends, of 16
// simultaneous claims with the right PIN exactly one pays.
func TestPINGuessesConcurrent(t *testing.T) {
	f := newFixture(t, 1, 10)
	codes, pins := pinBatch(t, f, 1)
	var mu sync.Mutex
	got := map[reward.Code]int{}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			_, err := f.claim(codes[0], "guesser", wrongPIN(pins[0], i))
			mu.Lock()
			got[code(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got[reward.CodeWrongPIN] != reward.PINTriesBeforeLock || got[reward.CodePINLocked] != 40-reward.PINTriesBeforeLock {
		t.Fatalf("40 simultaneous wrong PINs: %v", got)
	}
	f.now = f.now.Add(reward.PINFirstLock + time.Second)
	paid := 0
	others := map[reward.Code]int{}
	for i := range 16 {
		wg.Go(func() {
			_, err := f.claim(codes[0], "buyer"+string(rune('a'+i)), pins[0])
			mu.Lock()
			if err == nil {
				paid++
			} else {
				others[code(err)]++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if paid != 1 || others[reward.CodeAlreadyRedeemed] != 15 {
		t.Fatalf("16 simultaneous right PINs: %d paid, %v", paid, others)
	}
	rewardtest.MustAudit(t, f.eng)
}

// TestPINBatchNeedsAPINSecret: a key made before keys had PIN secrets
// mints no PIN batch, and says what to do.
func TestPINBatchNeedsAPINSecret(t *testing.T) {
	ks, err := codegen.NewKeysetFromSecret(1, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	_, eng := newEngine(t, reward.Options{})
	eng.SetKeys(ks)
	_, err = eng.CreateBatch(reward.BatchSpec{Product: "P", Count: 1, Claim: reward.ClaimPIN})
	if code(err) != reward.CodeInvalidRequest || !errorsContain(err, "yima keys rotate") {
		t.Fatalf("a PIN batch under a key without a PIN secret: %v", err)
	}
	for _, spec := range []reward.BatchSpec{{Product: "P", Count: 1, Claim: "sms"}, {Product: "P", Count: 1, PINDigits: 6}, {Product: "P", Count: 1, Claim: "pin", PINDigits: 9}} {
		if _, err := eng.CreateBatch(spec); code(err) != reward.CodeInvalidRequest {
			t.Errorf("%+v: %v, want invalid_request", spec, err)
		}
	}
}

func errorsContain(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}
