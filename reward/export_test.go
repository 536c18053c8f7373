package reward_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/reward/rewardtest"
	"github.com/yima-dev/yima/store"
)

// export runs one export to the end and returns what it wrote.
func export(tb testing.TB, eng *reward.Engine, q reward.ExportQuery) (*reward.Export, []byte) {
	tb.Helper()
	x, err := eng.OpenExport(q)
	if err != nil {
		tb.Fatal(err)
	}
	defer x.Close()
	var buf bytes.Buffer
	n, err := x.WriteTo(context.Background(), &buf, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if n != x.Records {
		tb.Fatalf("%s: wrote %d records, counted %d", q.Kind, n, x.Records)
	}
	return x, buf.Bytes()
}

// ndjsonRows decodes an NDJSON export, one map a line.
func ndjsonRows(tb testing.TB, out []byte) []map[string]any {
	tb.Helper()
	var rows []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			tb.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows = append(rows, row)
	}
	return rows
}

// csvRows decodes a CSV export: its header and rows.
func csvRows(tb testing.TB, out []byte) ([]string, [][]string) {
	tb.Helper()
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(recs) == 0 {
		tb.Fatalf("the CSV does not parse (%v): %q", err, out)
	}
	return recs[0], recs[1:]
}

// storedKeys lists the keys under prefixes, in order.
func storedKeys(tb testing.TB, r store.Reader, prefixes ...string) []string {
	tb.Helper()
	var out []string
	for _, p := range prefixes {
		if err := r.Scan([]byte(p), nil, func(k, _ []byte) bool {
			out = append(out, string(k))
			return true
		}); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// TestExportEveryKindBothFormats: each kind, in NDJSON and CSV, holds one
// row per stored record, in the same order, with the record's values; the
// CSV's header is the documented columns and a BOM comes only when asked.
func TestExportEveryKindBothFormats(t *testing.T) {
	f := story(t)
	ids := map[string]struct {
		prefixes []string
		field    string
	}{
		reward.ExportMembers:     {[]string{"m/"}, "member"},
		reward.ExportLedger:      {[]string{"l/", "gl/"}, "id"},
		reward.ExportRedemptions: {[]string{"r/"}, "code"},
		reward.ExportCoupons:     {[]string{"cpn/"}, "id"},
	}
	for _, kind := range reward.ExportKinds {
		t.Run(kind, func(t *testing.T) {
			want := len(storedKeys(t, f.db, ids[kind].prefixes...))
			if want < 3 {
				t.Fatalf("the story stored %d %s; the test needs a few", want, kind)
			}
			x, out := export(t, f.eng, reward.ExportQuery{Kind: kind, Format: reward.FormatNDJSON})
			rows := ndjsonRows(t, out)
			if len(rows) != want || x.Records != int64(want) {
				t.Fatalf("NDJSON has %d rows (counted %d), the store %d records", len(rows), x.Records, want)
			}
			_, head, err := f.eng.FeedBounds()
			if err != nil || x.Seq != head {
				t.Fatalf("export at event %d, the feed's head is %d (%v)", x.Seq, head, err)
			}
			_, plain := export(t, f.eng, reward.ExportQuery{Kind: kind, Format: reward.FormatCSV})
			if bytes.HasPrefix(plain, []byte("\uFEFF")) {
				t.Fatal("a CSV without --bom starts with a BOM")
			}
			_, out = export(t, f.eng, reward.ExportQuery{Kind: kind, Format: reward.FormatCSV, BOM: true})
			if !bytes.HasPrefix(out, []byte("\uFEFF")) || !bytes.Equal(out[3:], plain) {
				t.Fatal("a CSV with a BOM is not the BOM then the same CSV")
			}
			header, recs := csvRows(t, out[3:])
			if !slices.Equal(header, reward.ExportColumns(kind)) {
				t.Fatalf("CSV header %q, documented %q", header, reward.ExportColumns(kind))
			}
			if len(recs) != want {
				t.Fatalf("CSV has %d rows, the store %d records", len(recs), want)
			}
			col := slices.Index(header, ids[kind].field)
			for i, rec := range recs {
				if len(rec) != len(header) {
					t.Fatalf("row %d has %d cells for %d columns", i, len(rec), len(header))
				}
				if got := rows[i][ids[kind].field]; got != rec[col] {
					t.Fatalf("row %d: NDJSON %s=%v, CSV %q: the formats disagree", i, ids[kind].field, got, rec[col])
				}
			}
		})
	}
	// Values: each member's row holds its balance.
	_, out := export(t, f.eng, reward.ExportQuery{Kind: reward.ExportMembers, Format: reward.FormatNDJSON})
	for _, row := range ndjsonRows(t, out) {
		id := row["member"].(string)
		m := rewardtest.MustMember(t, f.eng, id)
		if int64(row["points"].(float64)) != m.Points || int64(row["growth"].(float64)) != m.Growth {
			t.Fatalf("member %s exported with %v points, %v growth; the record says %d, %d", id, row["points"], row["growth"], m.Points, m.Growth)
		}
	}
	// Coupons carry the state a reader sees: the story verified and voided some.
	_, out = export(t, f.eng, reward.ExportQuery{Kind: reward.ExportCoupons, Format: reward.FormatNDJSON})
	states := map[string]int{}
	for _, row := range ndjsonRows(t, out) {
		states[row["state"].(string)]++
	}
	if states["used"] != 1 || states["void"] != 2 || states["unused"] == 0 {
		t.Fatalf("coupon states %v; the story used one, voided two and left the rest unused", states)
	}
}

// TestExportSince: since keeps the records created or changed at or after
// it, as a time or a date in the brand's zone.
func TestExportSince(t *testing.T) {
	f := newFixture(t, 20, 5)
	mustApply(t, f, campaignDoc(t, map[string]any{"coupon": map[string]any{"title": "Gift", "probability": 1, "stock": 100, "valid_days": 3}}))
	mustRedeem(t, f, f.signer.Code(1), "old")
	mustRedeem(t, f, f.signer.Code(2), "both")
	f.now = f.now.Add(48 * time.Hour)
	cut := f.now
	mustRedeem(t, f, f.signer.Code(3), "both")
	mustRedeem(t, f, f.signer.Code(4), "new")
	// The first two coupons expire a day later: changed since cut.
	f.now = f.now.Add(24 * time.Hour)

	since := cut.Format(time.RFC3339Nano)
	members := map[string]bool{}
	_, out := export(t, f.eng, reward.ExportQuery{Kind: reward.ExportMembers, Format: reward.FormatNDJSON, Since: since})
	for _, row := range ndjsonRows(t, out) {
		members[row["member"].(string)] = true
	}
	if !members["both"] || !members["new"] || members["old"] || len(members) != 2 {
		t.Fatalf("members since %s: %v; want both and new (old has not changed)", since, members)
	}
	_, out = export(t, f.eng, reward.ExportQuery{Kind: reward.ExportRedemptions, Format: reward.FormatCSV, Since: since})
	_, recs := csvRows(t, out)
	if len(recs) != 2 || recs[0][0] == f.signer.Code(1) || recs[1][0] == f.signer.Code(1) {
		t.Fatalf("redemptions since the cut: %q; want the codes 3 and 4", recs)
	}
	_, out = export(t, f.eng, reward.ExportQuery{Kind: reward.ExportLedger, Format: reward.FormatNDJSON, Since: since})
	for _, row := range ndjsonRows(t, out) {
		at, _ := time.Parse(time.RFC3339Nano, row["at"].(string))
		if at.Before(cut) {
			t.Fatalf("a ledger entry of %s before the cut %s was exported", at, cut)
		}
	}
	_, out = export(t, f.eng, reward.ExportQuery{Kind: reward.ExportCoupons, Format: reward.FormatNDJSON, Since: since})
	if rows := ndjsonRows(t, out); len(rows) != 4 {
		t.Fatalf("coupons since the cut: %d; want 4 (two issued after it, two expired after it)", len(rows))
	}
	// A date is a day in the brand's zone: the day after everything.
	day := f.now.Add(24 * time.Hour).Format(time.DateOnly)
	if x, _ := export(t, f.eng, reward.ExportQuery{Kind: reward.ExportLedger, Format: reward.FormatCSV, Since: day}); x.Records != 0 {
		t.Fatalf("ledger since %s: %d entries, want none", day, x.Records)
	}
	day = cut.Add(-24 * time.Hour).Format(time.DateOnly)
	if x, _ := export(t, f.eng, reward.ExportQuery{Kind: reward.ExportRedemptions, Format: reward.FormatCSV, Since: day}); x.Records != 2 {
		t.Fatalf("redemptions since %s: %d, want 2", day, x.Records)
	}
}

// TestExportRefusesBadQueries: a bad kind, format or since, or a BOM on
// NDJSON, is refused with a message that says what to give.
func TestExportRefusesBadQueries(t *testing.T) {
	f := newFixture(t, 1, 5)
	for _, c := range []struct {
		q    reward.ExportQuery
		want string
	}{
		{reward.ExportQuery{Kind: "orders", Format: "csv"}, "members, ledger, redemptions, coupons"},
		{reward.ExportQuery{Kind: "", Format: "csv"}, "unknown export"},
		{reward.ExportQuery{Kind: "members", Format: "xlsx"}, "ndjson"},
		{reward.ExportQuery{Kind: "members", Format: "csv", Since: "yesterday"}, "2026-11-01"},
		{reward.ExportQuery{Kind: "members", Format: "csv", Since: "2026-13-01"}, "RFC 3339"},
		{reward.ExportQuery{Kind: "members", Format: "ndjson", BOM: true}, "format csv"},
	} {
		_, err := f.eng.OpenExport(c.q)
		if code(err) != reward.CodeInvalidRequest || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want invalid_request naming %q", c.q, err, c.want)
		}
	}
}

// TestExportGuardsFormulas: a text cell a client chose that a spreadsheet
// would run as a formula is written as text; numbers keep their sign.
func TestExportGuardsFormulas(t *testing.T) {
	f := newFixture(t, 2, 5)
	mustRedeem(t, f, f.signer.Code(1), "=2+5")
	if _, err := f.eng.Spend("=2+5", reward.SpendRequest{Points: 2, Reason: "@SUM(A1)", RequestID: "s1"}); err != nil {
		t.Fatal(err)
	}
	_, out := export(t, f.eng, reward.ExportQuery{Kind: reward.ExportLedger, Format: reward.FormatCSV})
	header, recs := csvRows(t, out)
	member, delta, reason := slices.Index(header, "member"), slices.Index(header, "delta"), slices.Index(header, "reason")
	var spent bool
	for _, rec := range recs {
		if !strings.HasPrefix(rec[member], "'=") {
			t.Fatalf("member cell %q is not guarded", rec[member])
		}
		if rec[delta] == "-2" {
			spent = true
			if !strings.HasPrefix(rec[reason], "spend: @") && !strings.HasPrefix(rec[reason], "'") {
				t.Fatalf("reason cell %q", rec[reason])
			}
		}
	}
	if !spent {
		t.Fatalf("no row with delta -2 (a number keeps its minus sign): %q", recs)
	}
	// NDJSON is data, not a spreadsheet: values as they are.
	_, out = export(t, f.eng, reward.ExportQuery{Kind: reward.ExportMembers, Format: reward.FormatNDJSON})
	if rows := ndjsonRows(t, out); len(rows) != 1 || rows[0]["member"] != "=2+5" {
		t.Fatalf("NDJSON rows %v", rows)
	}
}

// redeemedBy lists the codes code.redeemed events up to seq name.
func redeemedBy(tb testing.TB, eng *reward.Engine, seq uint64) []string {
	tb.Helper()
	var out []string
	for _, ev := range readAll(tb, eng, 1000, reward.FeedCodeRedeemed) {
		if ev.Seq > seq {
			break
		}
		var r reward.Redemption
		if err := json.Unmarshal(ev.Data, &r); err != nil {
			tb.Fatal(err)
		}
		out = append(out, r.Code)
	}
	slices.Sort(out)
	return out
}

// exportedCodes lists the codes of an NDJSON redemptions export.
func exportedCodes(tb testing.TB, out []byte) []string {
	var codes []string
	for _, row := range ndjsonRows(tb, out) {
		codes = append(codes, row["code"].(string))
	}
	slices.Sort(codes)
	return codes
}

// TestExportIsOneSnapshot: scans go on while an export is written, and
// the export holds exactly the redemptions of the events up to its Seq,
// none of those that came after, on a store whose snapshots hold.
func TestExportIsOneSnapshot(t *testing.T) {
	f := newFixture(t, 401, 5)
	codes := allCodes(f, 400)
	for s := 1; s <= 100; s++ {
		mustRedeem(t, f, codes[s], fmt.Sprintf("m%d", s%7))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// On every path, a failed check too, the scans stop and are waited
	// for before the test ends: they report through t.
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
	})
	for w := range 4 {
		wg.Go(func() {
			for s := 101 + w; s <= 400; s += 4 {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := f.scan(codes[s], fmt.Sprintf("m%d", s%7)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 5 {
		x, out := export(t, f.eng, reward.ExportQuery{Kind: reward.ExportRedemptions, Format: reward.FormatNDJSON})
		got := exportedCodes(t, out)
		if want := redeemedBy(t, f.eng, x.Seq); !slices.Equal(got, want) {
			t.Fatalf("the export at event %d holds %d redemptions, the feed up to it %d", x.Seq, len(got), len(want))
		}
	}

	// Deterministically: codes redeemed between opening and writing are
	// not in the export.
	x, err := f.eng.OpenExport(reward.ExportQuery{Kind: reward.ExportRedemptions, Format: reward.FormatNDJSON})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	before := x.Records
	late := f.signer.Code(401) // never scanned
	mustRedeem(t, f, late, "late")
	var buf bytes.Buffer
	if _, err := x.WriteTo(context.Background(), &buf, nil); err != nil {
		t.Fatal(err)
	}
	if got := exportedCodes(t, buf.Bytes()); int64(len(got)) != before || slices.Contains(got, late) {
		t.Fatalf("the export holds %d redemptions (%d when opened), the late one %v", len(got), before, slices.Contains(got, late))
	}
}

// TestExportSeqIsServedByTheFeed: a scan whose decision is durable but
// whose caller has not yet moved on (held here in its observer, the last
// step before the feed's head moves) is in an export's snapshot, so it is
// in the feed up to the export's Seq too: a reader never sees the feed's
// head behind an export it already holds.
func TestExportSeqIsServedByTheFeed(t *testing.T) {
	var hold atomic.Bool
	held, release := make(chan struct{}), make(chan struct{})
	db := openStore(t, 0)
	eng := rewardtest.NewEngine(t, db, reward.Options{Now: func() time.Time { return rewardtest.Start }, Observe: func(ev reward.Event) {
		if ev.Kind == reward.EventRedeemed && hold.CompareAndSwap(true, false) {
			close(held)
			<-release
		}
	}})
	_, signer := rewardtest.MustMint(t, eng, reward.BatchSpec{Product: "SKU-1", Count: 2, Points: new(int64(5)), Activate: true})
	rewardtest.MustRedeem(t, eng, signer.Code(1), "a")
	// A reader has followed the feed: its head is in memory from now on.
	if _, head, err := eng.FeedBounds(); err != nil || head == 0 {
		t.Fatalf("the feed's head is %d (%v) after a scan", head, err)
	}
	hold.Store(true)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, _, err := rewardtest.Scan(eng, reward.ScanRequest{Code: signer.Code(2), Member: "b"}); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() {
		close(release)
		wg.Wait()
	})
	<-held
	x, out := export(t, eng, reward.ExportQuery{Kind: reward.ExportRedemptions, Format: reward.FormatNDJSON})
	got := exportedCodes(t, out)
	if len(got) != 2 {
		t.Fatalf("the export holds %d redemptions; the two scans' decisions are durable", len(got))
	}
	if want := redeemedBy(t, eng, x.Seq); !slices.Equal(got, want) {
		t.Fatalf("the export at event %d holds %d redemptions, the feed up to it %d", x.Seq, len(got), len(want))
	}
	if _, head, err := eng.FeedBounds(); err != nil || head < x.Seq {
		t.Fatalf("the feed's head is %d (%v) after an export at event %d", head, err, x.Seq)
	}
}

// TestExportNoticesALeakySnapshot: the export's own check (it writes what
// it counted) catches a store whose snapshot reads live records: the
// write fails rather than mixing two moments.
func TestExportNoticesALeakySnapshot(t *testing.T) {
	rf := rewardtest.Open(t, leakySnapshotStore(t), rewardtest.Options{Count: 5, Points: 5})
	rewardtest.MustRedeem(t, rf.Eng, rf.Signer.Code(1), "a")
	x, err := rf.Eng.OpenExport(reward.ExportQuery{Kind: reward.ExportRedemptions, Format: reward.FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rewardtest.MustRedeem(t, rf.Eng, rf.Signer.Code(2), "b")
	if _, err := x.WriteTo(context.Background(), &bytes.Buffer{}, nil); err == nil {
		t.Fatal("an export over a snapshot that reads live records wrote without an error")
	}
}

// TestExportStopsWithItsContext: a cancelled export ends with the
// context's error.
func TestExportStopsWithItsContext(t *testing.T) {
	f := newFixture(t, 1100, 5)
	for s := uint32(1); s <= 1100; s++ {
		mustRedeem(t, f, f.signer.Code(s), "m")
	}
	x, err := f.eng.OpenExport(reward.ExportQuery{Kind: reward.ExportLedger, Format: reward.FormatNDJSON})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx, cancel := context.WithCancel(context.Background())
	n, err := x.WriteTo(ctx, &bytes.Buffer{}, func(int64) { cancel() })
	if err != context.Canceled || n >= x.Records {
		t.Fatalf("cancelled export: %d of %d written, %v", n, x.Records, err)
	}
}
