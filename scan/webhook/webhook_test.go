package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/scan/webhook"
	"github.com/yima-dev/yima/store/memstore"
	"github.com/yima-dev/yima/store/pebblestore/pebbletest"
)

type world struct {
	eng   *reward.Engine
	codes []string
	next  int
}

func newWorld(t *testing.T, n uint32) *world {
	t.Helper()
	eng := rewardtest.NewEngine(t, pebbletest.Open(t, nil), reward.Options{})
	_, s := rewardtest.MustMint(t, eng, reward.BatchSpec{Product: "SKU", Count: n, Points: new(int64(5)), Activate: true})
	return &world{eng: eng, codes: rewardtest.Codes(s, int(n))}
}

// scan redeems the next code; each redemption writes a few events.
func (w *world) scan(t *testing.T) {
	t.Helper()
	if _, err := w.eng.Scan(reward.ScanRequest{Code: w.codes[w.next], Member: fmt.Sprintf("m%d", w.next%4)}); err != nil {
		t.Fatal(err)
	}
	w.next++
}

func (w *world) head(t *testing.T) uint64 {
	t.Helper()
	_, head, err := w.eng.FeedBounds()
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// receiver is a test endpoint that verifies every signature and records
// the seqs it accepted, in arrival order.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	seqs   []uint64
	bad    []string
	answer func(w http.ResponseWriter) bool // nil: 200
	// after answers once the event is recorded (a huge body).
	after func(w http.ResponseWriter)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	secret := rc.secret
	rc.mu.Unlock()
	if err := webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), body, 5*time.Minute, time.Now()); err != nil {
		rc.mu.Lock()
		rc.bad = append(rc.bad, err.Error())
		rc.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev struct {
		Seq uint64 `json:"seq"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || strconv.FormatUint(ev.Seq, 10) != r.Header.Get(webhook.SeqHeader) {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if rc.answer != nil && rc.answer(w) {
		return
	}
	rc.mu.Lock()
	rc.seqs = append(rc.seqs, ev.Seq)
	rc.mu.Unlock()
	if rc.after != nil {
		rc.after(w)
	}
}

// got returns the distinct seqs received, checking they came in order (a
// repeat of the last one is at-least-once, allowed).
func (rc *receiver) got() ([]uint64, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []uint64
	for _, s := range rc.seqs {
		if n := len(out); n > 0 && s <= out[n-1] {
			if s == out[n-1] {
				continue
			}
			return nil, fmt.Errorf("seq %d arrived after %d", s, out[n-1])
		}
		out = append(out, s)
	}
	if len(rc.bad) > 0 {
		return nil, fmt.Errorf("bad signatures: %q", rc.bad)
	}
	return out, nil
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitProgress polls step until it reports done, and fails once the count
// it reports (of work done, growing as delivery goes on) has not moved for
// stall: on a loaded machine delivery is late, a stuck delivery never
// moves.
func waitProgress(t *testing.T, stall time.Duration, what string, step func() (n int, done bool)) {
	t.Helper()
	last, moved := -1, time.Now()
	for {
		n, done := step()
		if done {
			return
		}
		if n != last {
			last, moved = n, time.Now()
		} else if time.Since(moved) > stall {
			t.Fatalf("no progress for %v at %d: %s", stall, n, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serve runs h on ln until the test ends or stop is called.
func serve(t *testing.T, ln net.Listener, h http.Handler) (stop func()) {
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	var once sync.Once
	stop = func() { once.Do(func() { srv.Close() }) }
	t.Cleanup(stop)
	return stop
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func run(t *testing.T, eng *reward.Engine, o webhook.Options) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { webhook.New(eng, o).Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("the dispatcher did not stop")
		}
	})
}

func seqsUpTo(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func equal(a, b []uint64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestDeliveryKilledReceiver: every event reaches the endpoint in order,
// signed; the receiver is killed mid-stream and restarted, and then gets
// every event it missed, in order, none lost.
func TestDeliveryKilledReceiver(t *testing.T) {
	w := newWorld(t, 60)
	ln := listen(t, "127.0.0.1:0")
	addr := ln.Addr().String()
	rc := &receiver{t: t}
	h, err := w.eng.AddWebhook("http://"+addr+"/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.secret = h.Secret
	first := h.Cursor + 1
	stop := serve(t, ln, rc)
	run(t, w.eng, webhook.Options{AllowPrivate: true, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, Reconcile: 50 * time.Millisecond, Timeout: 2 * time.Second})
	for range 10 {
		w.scan(t)
	}
	mid := w.head(t)
	waitFor(t, 20*time.Second, "the first events were not delivered", func() bool {
		got, err := rc.got()
		return err == nil && len(got) > 0 && got[len(got)-1] >= mid/2
	})
	stop() // killed mid-stream
	for range 20 {
		w.scan(t)
	}
	waitFor(t, 10*time.Second, "deliveries to a dead receiver were not recorded as failing", func() bool {
		v, err := w.eng.Webhook(h.ID)
		return err == nil && v.Failing && v.Attempts > 0
	})
	// Restarted on the same address.
	serve(t, listen(t, addr), rc)
	end := w.head(t)
	waitFor(t, 30*time.Second, "the restarted receiver did not get every event", func() bool {
		got, err := rc.got()
		if err != nil {
			t.Fatal(err)
		}
		return len(got) > 0 && got[len(got)-1] == end
	})
	got, err := rc.got()
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got, seqsUpTo(first, end)) {
		t.Fatalf("received %v, want every seq from %d to %d", got, first, end)
	}
	// The receiver holds the last event before the sender has stored the
	// cursor past it: the cursor moves after the 2xx, so wait for it too.
	waitFor(t, 10*time.Second, "the cursor did not reach the last delivered event", func() bool {
		v, err := w.eng.Webhook(h.ID)
		return err == nil && v.Cursor == end
	})
	v, err := w.eng.Webhook(h.ID)
	if err != nil || v.Failing || v.Cursor != end || v.Secret != "" {
		t.Fatalf("endpoint state after recovery: %+v %v", v, err)
	}
	// A replay from a sequence sends everything again from there.
	if _, err := w.eng.ReplayWebhook(h.ID, first); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.seqs = nil
	rc.mu.Unlock()
	waitFor(t, 30*time.Second, "the replay did not resend every event", func() bool {
		got, err := rc.got()
		return err == nil && equal(got, seqsUpTo(first, end))
	})
}

// TestSignature: the signature verifies for the body it was made over,
// and fails for a tampered body, another secret, or an old timestamp.
func TestSignature(t *testing.T) {
	now := time.Now()
	body := []byte(`{"seq":7,"type":"code.redeemed"}`)
	h := webhook.Sign("whsec_a", now, body)
	if !strings.HasPrefix(h, "t="+strconv.FormatInt(now.Unix(), 10)+",v1=") {
		t.Fatalf("header %q is not t=...,v1=...", h)
	}
	if err := webhook.Verify("whsec_a", h, body, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"tampered body": webhook.Verify("whsec_a", h, []byte(`{"seq":7,"type":"code.redeemed "}`), time.Minute, now),
		"other secret":  webhook.Verify("whsec_b", h, body, time.Minute, now),
		"old":           webhook.Verify("whsec_a", h, body, time.Minute, now.Add(2*time.Minute)),
		"no signature":  webhook.Verify("whsec_a", "t=1", body, time.Minute, now),
	} {
		if err == nil {
			t.Errorf("%s verifies", name)
		}
	}
}

// TestTamperedDeliveryFails: a receiver that checks signatures refuses a
// delivery whose body was changed on the way.
func TestTamperedDeliveryFails(t *testing.T) {
	w := newWorld(t, 5)
	var mu sync.Mutex
	var verdicts []error
	ln := listen(t, "127.0.0.1:0")
	var secret string
	serve(t, ln, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tampered := []byte(strings.Replace(string(body), `"points":5`, `"points":500`, 1))
		mu.Lock()
		verdicts = append(verdicts, webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), body, time.Minute, time.Now()))
		if string(tampered) != string(body) {
			verdicts = append(verdicts, fmt.Errorf("tampered: %w", webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), tampered, time.Minute, time.Now())))
		}
		mu.Unlock()
	}))
	h, err := w.eng.AddWebhook("http://"+ln.Addr().String(), []string{reward.FeedCodeRedeemed})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = h.Secret
	mu.Unlock()
	run(t, w.eng, webhook.Options{AllowPrivate: true, Reconcile: 50 * time.Millisecond})
	w.scan(t)
	waitFor(t, 20*time.Second, "no delivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(verdicts) >= 2 })
	mu.Lock()
	defer mu.Unlock()
	if verdicts[0] != nil {
		t.Fatalf("the genuine body fails: %v", verdicts[0])
	}
	if !strings.Contains(fmt.Sprint(verdicts[1]), "does not match") {
		t.Fatalf("the tampered body: %v, want a mismatch", verdicts[1])
	}
}

// TestHostileReceivers: endpoints that never answer, answer slowly,
// answer 500, redirect, or send a huge body cost the scans nothing: scans
// go on at full speed, and each endpoint ends up failing or delivered as
// it deserves, the redirect never followed.
func TestHostileReceivers(t *testing.T) {
	w := newWorld(t, 200)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	var followed sync.Mutex
	redirectHits := 0
	tln := listen(t, "127.0.0.1:0")
	serve(t, tln, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		followed.Lock()
		redirectHits++
		followed.Unlock()
	}))
	huge := &receiver{t: t, after: func(rw http.ResponseWriter) {
		chunk := make([]byte, 1<<20)
		for range 256 { // 256 MiB, if anyone read it
			if _, err := rw.Write(chunk); err != nil {
				break
			}
		}
	}}
	handlers := map[string]http.Handler{
		"never":    http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }),
		"slow":     http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(2 * time.Second) }),
		"error":    http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { http.Error(rw, "no", 500) }),
		"redirect": http.RedirectHandler("http://"+tln.Addr().String()+"/", http.StatusFound),
		"huge":     huge,
	}
	ids := map[string]string{}
	for _, name := range []string{"never", "slow", "error", "redirect", "huge"} {
		ln := listen(t, "127.0.0.1:0")
		serve(t, ln, handlers[name])
		h, err := w.eng.AddWebhook("http://"+ln.Addr().String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = h.ID
		if name == "huge" {
			huge.secret = h.Secret
		}
	}
	run(t, w.eng, webhook.Options{AllowPrivate: true, Timeout: 500 * time.Millisecond, RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, Reconcile: 50 * time.Millisecond})
	start := time.Now()
	for range 100 {
		w.scan(t)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("100 scans took %v beside hostile endpoints", took)
	}
	end := w.head(t)
	// Each event costs the huge endpoint a connection of its own (the
	// one its answer was cut on is dropped): on a loaded machine some
	// hundred take a while, so what is watched is that it keeps getting
	// them.
	waitProgress(t, 15*time.Second, "the huge-body endpoint did not get every event", func() (int, bool) {
		got, err := huge.got()
		if err != nil {
			t.Fatal(err)
		}
		return len(got), len(got) > 0 && got[len(got)-1] == end
	})
	// An attempt that timed out on a loaded machine records no status;
	// the next attempts show the endpoint's own answer.
	status := map[string]int{"never": 0, "slow": 0, "error": http.StatusInternalServerError, "redirect": http.StatusFound}
	for _, name := range []string{"never", "slow", "error", "redirect"} {
		waitFor(t, 20*time.Second, fmt.Sprintf("the %s endpoint is not shown failing with status %d (a redirect not followed)", name, status[name]), func() bool {
			v, err := w.eng.Webhook(ids[name])
			return err == nil && v.Failing && v.Attempts > 0 && v.Cursor < end && (status[name] == 0 || v.LastStatus == status[name])
		})
	}
	followed.Lock()
	defer followed.Unlock()
	if redirectHits > 0 {
		t.Errorf("a redirect was followed %d times", redirectHits)
	}
}

// TestPausedAfterRetriesRunOut: an endpoint failing past GiveUpAfter is
// paused and shown failing; a resume delivers what it missed.
func TestPausedAfterRetriesRunOut(t *testing.T) {
	w := newWorld(t, 10)
	var mu sync.Mutex
	down := true
	rc := &receiver{t: t, answer: func(rw http.ResponseWriter) bool {
		mu.Lock()
		defer mu.Unlock()
		if down {
			http.Error(rw, "down", http.StatusServiceUnavailable)
		}
		return down
	}}
	ln := listen(t, "127.0.0.1:0")
	serve(t, ln, rc)
	h, err := w.eng.AddWebhook("http://"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.secret = h.Secret
	run(t, w.eng, webhook.Options{AllowPrivate: true, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, GiveUpAfter: 300 * time.Millisecond, Reconcile: 50 * time.Millisecond})
	w.scan(t)
	waitFor(t, 20*time.Second, "the endpoint was not paused", func() bool {
		v, err := w.eng.Webhook(h.ID)
		return err == nil && v.Paused && v.Failing
	})
	v, _ := w.eng.Webhook(h.ID)
	if v.Attempts < 3 || v.LastStatus != http.StatusServiceUnavailable {
		t.Fatalf("paused after %d attempts, last status %d", v.Attempts, v.LastStatus)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	if _, err := w.eng.ResumeWebhook(h.ID); err != nil {
		t.Fatal(err)
	}
	end := w.head(t)
	waitFor(t, 20*time.Second, "the resumed endpoint did not catch up", func() bool {
		got, err := rc.got()
		return err == nil && len(got) > 0 && got[len(got)-1] == end
	})
}

// TestAddressGuard: without AllowPrivate, a delivery to loopback is
// refused when it connects, and the reason is shown on the endpoint.
func TestAddressGuard(t *testing.T) {
	w := newWorld(t, 5)
	hits := 0
	var mu sync.Mutex
	ln := listen(t, "127.0.0.1:0")
	serve(t, ln, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { mu.Lock(); hits++; mu.Unlock() }))
	h, err := w.eng.AddWebhook("http://localhost:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, w.eng, webhook.Options{RetryBase: 20 * time.Millisecond, Reconcile: 50 * time.Millisecond})
	w.scan(t)
	waitFor(t, 20*time.Second, "the loopback delivery was not refused", func() bool {
		v, err := w.eng.Webhook(h.ID)
		return err == nil && v.Failing && strings.Contains(v.LastError, "not public")
	})
	mu.Lock()
	defer mu.Unlock()
	if hits > 0 {
		t.Fatalf("the guard let %d deliveries reach loopback", hits)
	}
	for _, bad := range []string{"ftp://example.com/", "http://", "example.com/hook", "http://user:pw@example.com/"} {
		if _, err := w.eng.AddWebhook(bad, nil); reward.ErrorCode(err) != reward.CodeInvalidRequest {
			t.Errorf("AddWebhook(%q): %v, want invalid_request", bad, err)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1": true, "10.1.2.3": true, "192.168.0.1": true, "172.16.5.4": true, "169.254.169.254": true,
		"100.64.0.1": true, "::1": true, "fe80::1": true, "fc00::1": true, "0.0.0.0": true, "::ffff:127.0.0.1": true, "8.8.8.8": false, "2001:4860:4860::8888": false} {
		if got := webhook.Forbidden(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Forbidden(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestDeliveryFromSeveralNodes: three nodes on one database, each running
// a dispatcher and the feed's relay, scan codes; the endpoint gets every
// event once, in order, though every node could deliver it. When the
// relay's node stops, another node's dispatcher carries on from the
// cursor.
func TestDeliveryFromSeveralNodes(t *testing.T) {
	db := memstore.New(memstore.Options{Retry: true})
	t.Cleanup(func() { db.Close() })
	ks := rewardtest.Keys(t, false)
	var nodes []*reward.Engine
	var stops []context.CancelFunc
	var wg sync.WaitGroup
	for i := range 3 {
		eng := reward.New(db, ks, reward.Options{NoSeenIndex: true, NodeID: fmt.Sprintf("node%d", i+1)})
		ctx, cancel := context.WithCancel(context.Background())
		wg.Go(func() { eng.RunFeedRelay(ctx) })
		nodes, stops = append(nodes, eng), append(stops, cancel)
	}
	t.Cleanup(func() {
		for _, stop := range stops {
			stop()
		}
		wg.Wait()
	})
	_, s := rewardtest.MustMint(t, nodes[0], reward.BatchSpec{Product: "SKU", Count: 40, Points: new(int64(5)), Activate: true})
	ln := listen(t, "127.0.0.1:0")
	rc := &receiver{t: t}
	h, err := nodes[1].AddWebhook("http://"+ln.Addr().String()+"/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	rc.secret = h.Secret
	serve(t, ln, rc)
	for _, n := range nodes {
		run(t, n, webhook.Options{AllowPrivate: true, Reconcile: 50 * time.Millisecond, Timeout: 2 * time.Second})
	}
	scan := func(from, to uint32) {
		for i := from; i <= to; i++ {
			if _, err := nodes[i%3].Scan(reward.ScanRequest{Code: s.Code(i), Member: fmt.Sprintf("m%d", i%4)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// delivered waits for every event up to the feed's head and checks
	// that each came once.
	delivered := func(what string) {
		t.Helper()
		var head uint64
		waitFor(t, 30*time.Second, what+": the events were not all delivered", func() bool {
			if _, head, err = nodes[2].FeedBounds(); err != nil {
				t.Fatal(err)
			}
			v, err := nodes[2].Webhook(h.ID)
			return err == nil && v.Cursor == head && head > h.Cursor
		})
		rc.mu.Lock()
		seqs := slices.Clone(rc.seqs)
		rc.mu.Unlock()
		if !equal(seqs, seqsUpTo(h.Cursor+1, head)) {
			t.Fatalf("%s: received %v, want each of %d to %d once, in order", what, seqs, h.Cursor+1, head)
		}
	}
	scan(1, 20)
	delivered("three nodes")
	// The relay's node stops cleanly: it hands the lease over, and with
	// it the deliveries.
	for i, n := range nodes {
		if relay, _ := n.IsFeedRelay(); relay {
			stops[i]()
		}
	}
	scan(21, 40)
	delivered("after the relay's node stopped")
}
