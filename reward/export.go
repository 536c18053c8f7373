package reward

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/yima-dev/yima/store"
)

// Exports write every record of one kind (members, ledger entries,
// redemptions, coupons) as NDJSON or CSV, for a brand's CRM or data
// warehouse. An export reads one store snapshot from start to end, so it is
// consistent (a member and the ledger it sums are from the same moment)
// while scans go on, and it streams: a record is read, written and
// forgotten, never the whole set in memory. It is made in two passes over
// the snapshot: the first counts what the second writes, so that a reader
// can show progress and notice an export cut short.

// Export kinds and formats.
const (
	ExportMembers     = "members"
	ExportLedger      = "ledger"
	ExportRedemptions = "redemptions"
	ExportCoupons     = "coupons"
	FormatNDJSON      = "ndjson"
	FormatCSV         = "csv"
)

// ExportKinds lists the kinds, in the order help texts name them.
var ExportKinds = []string{ExportMembers, ExportLedger, ExportRedemptions, ExportCoupons}

// utf8BOM makes Excel read a CSV file as UTF-8 (Chinese names, product
// titles); without it Excel guesses the machine's code page.
const utf8BOM = "\uFEFF"

// ExportQuery asks for one export.
type ExportQuery struct {
	Kind   string
	Format string
	// Since keeps only records created or changed at or after it: an
	// RFC 3339 time, or a date (YYYY-MM-DD) that starts in the brand's
	// time zone. Empty: every record.
	Since string
	// BOM starts a CSV export with a UTF-8 byte order mark, for Excel.
	BOM bool
}

// CheckExportQuery validates q's kind, format and since, and returns the
// time since stands for (zero when empty), days read in zone.
func CheckExportQuery(q ExportQuery, zone *time.Location) (time.Time, error) {
	if !slices.Contains(ExportKinds, q.Kind) {
		return time.Time{}, Errorf(CodeInvalidRequest, "unknown export %q; export one of %s", q.Kind, strings.Join(ExportKinds, ", "))
	}
	if q.Format != FormatNDJSON && q.Format != FormatCSV {
		return time.Time{}, Errorf(CodeInvalidRequest, "unknown format %q; use ndjson (one JSON object a line) or csv", q.Format)
	}
	if q.BOM && q.Format != FormatCSV {
		return time.Time{}, Errorf(CodeInvalidRequest, "a byte order mark is for CSV files opened in Excel; drop bom, or use format csv")
	}
	if q.Since == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, q.Since); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, q.Since, zone); err == nil {
		return t, nil
	}
	return time.Time{}, Errorf(CodeInvalidRequest, "since %q is neither a date (2026-11-01) nor an RFC 3339 time (2026-11-01T08:00:00+08:00)", q.Since)
}

// Export is an export opened on a snapshot: Records and Seq describe what
// WriteTo writes. Close it when done, written or not.
type Export struct {
	q     ExportQuery
	since time.Time
	snap  store.Snapshot
	kind  *exportKind
	at    time.Time
	// Records is how many records WriteTo writes.
	Records int64
	// Seq is the last event of the feed the snapshot holds: the export
	// shows the records as they were after it, so a reader that follows
	// the feed from Seq misses nothing and sees nothing twice.
	Seq uint64
}

// OpenExport validates q, takes a snapshot and counts the records the
// export will write. Every decision the snapshot holds is durable before
// it returns, so an export never shows a payout a crash could still undo.
func (e *Engine) OpenExport(q ExportQuery) (*Export, error) {
	since, err := CheckExportQuery(q, e.Zone())
	if err != nil {
		return nil, err
	}
	if e.node != "" {
		// A shared database: events of the snapshot may be pending, to be
		// numbered after Seq; the fence numbers them first.
		snap, seq, err := e.fenceFeed()
		if err != nil {
			return nil, err
		}
		x := &Export{q: q, since: since, snap: snap, kind: exportKinds[q.Kind], at: e.now(), Seq: seq}
		e.feed.advance(x.Seq)
		if x.Records, err = x.count(); err != nil {
			x.Close()
			return nil, wrapStore(err)
		}
		return x, nil
	}
	snap, err := e.db.Snapshot()
	if err != nil {
		return nil, wrapStore(err)
	}
	x := &Export{q: q, since: since, snap: snap, kind: exportKinds[q.Kind], at: e.now()}
	// The snapshot may hold decisions applied but not yet synced; a
	// decision submitted after them returns once they are durable.
	if err := e.db.Update(func(Tx) error { return nil }); err != nil {
		x.Close()
		return nil, wrapStore(err)
	}
	head, err := storedFeedHead(snap)
	if err == nil {
		x.Seq = head
		// Every event up to Seq is durable now, though the decisions that
		// wrote the last of them may not have moved the feed's head yet:
		// move it, so that the feed serves every event the export stands
		// for as soon as the export is open, never a head behind it.
		e.feed.advance(x.Seq)
		x.Records, err = x.count()
	}
	if err != nil {
		x.Close()
		return nil, wrapStore(err)
	}
	return x, nil
}

// Close releases the snapshot.
func (x *Export) Close() error { return x.snap.Close() }

// ContentType is the export's media type.
func (x *Export) ContentType() string {
	if x.q.Format == FormatCSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson"
}

// count is the first pass: without since every record counts, and only
// the keys are looked at.
func (x *Export) count() (int64, error) {
	var n int64
	err := x.each(func(rec exportRecord) error {
		n++
		return nil
	}, x.since.IsZero())
	return n, err
}

// each calls fn with every record of the export in key order; skipDecode
// counts keys without decoding them (fn then gets nil).
func (x *Export) each(fn func(exportRecord) error, skipDecode bool) error {
	var ferr error
	for _, prefix := range x.kind.prefixes {
		err := x.snap.Scan(prefix, nil, func(k, v []byte) bool {
			if skipDecode {
				ferr = fn(nil)
				return ferr == nil
			}
			rec, err := x.kind.decode(v)
			if err != nil {
				ferr = fmt.Errorf("reward: the record %q does not decode: %w", k, err)
				return false
			}
			if !x.since.IsZero() {
				keep, err := rec.changedSince(x.snap, x.since, x.at)
				if err != nil || !keep {
					ferr = err
					return err == nil
				}
			}
			ferr = fn(rec)
			return ferr == nil
		})
		if err = firstErr(err, ferr); err != nil {
			return err
		}
	}
	return nil
}

// WriteTo writes the export to w and returns how many records it wrote;
// progress, when set, is told the count now and then. An error leaves w
// holding a part of the export: the caller must discard it.
func (x *Export) WriteTo(ctx context.Context, w io.Writer, progress func(written int64)) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var cw *csv.Writer
	if x.q.Format == FormatCSV {
		if x.q.BOM {
			bw.WriteString(utf8BOM)
		}
		cw = csv.NewWriter(bw)
		cw.UseCRLF = true // RFC 4180, and what Excel writes
		if err := cw.Write(x.kind.header); err != nil {
			return 0, err
		}
	}
	var n int64
	cells := make([]string, len(x.kind.header))
	err := x.each(func(rec exportRecord) error {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if progress != nil {
				progress(n)
			}
		}
		if n == x.Records {
			return fmt.Errorf("reward: the snapshot holds more records than it counted (%d)", x.Records)
		}
		n++
		if cw == nil {
			raw, err := json.Marshal(rec.row(x.at))
			if err != nil {
				return err
			}
			bw.Write(raw)
			return bw.WriteByte('\n')
		}
		cells = rec.cells(cells[:0], x.at)
		for i, c := range cells {
			if x.kind.text[i] {
				cells[i] = guardCell(c)
			}
		}
		return cw.Write(cells)
	}, false)
	if cw != nil {
		cw.Flush()
		err = firstErr(err, cw.Error())
	}
	if err == nil && n != x.Records {
		err = fmt.Errorf("reward: the export wrote %d records of the %d it counted", n, x.Records)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return n, exportErr(err)
	}
	if progress != nil {
		progress(n)
	}
	return n, nil
}

// exportErr codes a storage failure; a failure to write (a full disk, a
// reader gone) is returned as it is, since it says what went wrong.
func exportErr(err error) error {
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrBusy) || errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrCorrupt) {
		return wrapStore(err)
	}
	return err
}

// guardCell keeps a spreadsheet from running a text cell as a formula
// (CSV injection): a member id, a nickname or a title a consumer or an
// integrator chose that starts with = + - @ (or a tab or carriage return,
// which some spreadsheets strip first) gets a leading apostrophe, which
// Excel shows as text and hides. Numeric columns are never guarded: their
// minus signs are numbers.
func guardCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// exportRecord is one record of an export, decoded.
type exportRecord interface {
	// changedSince reports whether the record was created or changed at
	// or after since (at is the export's time).
	changedSince(r getter, since, at time.Time) (bool, error)
	// row is the record as one NDJSON line.
	row(at time.Time) any
	// cells appends the record's CSV cells, in the header's order.
	cells(out []string, at time.Time) []string
}

// exportKind is how one kind is read and written.
type exportKind struct {
	prefixes [][]byte
	header   []string
	// text marks the columns a person or a client typed (guarded against
	// formulas), as opposed to numbers, times and yima's own ids.
	text   []bool
	decode func([]byte) (exportRecord, error)
}

func decodeAs[T any, P interface {
	*T
	exportRecord
}](v []byte) (exportRecord, error) {
	var rec T
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, err
	}
	return P(&rec), nil
}

// columns splits a header of "name" and "name:text" entries.
func columns(spec ...string) ([]string, []bool) {
	names := make([]string, len(spec))
	text := make([]bool, len(spec))
	for i, s := range spec {
		names[i], _, _ = strings.Cut(s, ":")
		text[i] = strings.HasSuffix(s, ":text")
	}
	return names, text
}

var exportKinds = func() map[string]*exportKind {
	kinds := map[string]*exportKind{
		ExportMembers:     {prefixes: [][]byte{[]byte("m/")}, decode: decodeAs[exportMember]},
		ExportLedger:      {prefixes: [][]byte{[]byte("l/"), []byte("gl/")}, decode: decodeAs[exportEntry]},
		ExportRedemptions: {prefixes: [][]byte{[]byte("r/")}, decode: decodeAs[exportRedemption]},
		ExportCoupons:     {prefixes: [][]byte{[]byte("cpn/")}, decode: decodeAs[exportCoupon]},
	}
	kinds[ExportMembers].header, kinds[ExportMembers].text = columns(
		"member:text", "points", "growth", "redemptions", "created", "guide:text", "bound_at", "aliases:text", "merged_into:text", "nickname:text")
	kinds[ExportLedger].header, kinds[ExportLedger].text = columns(
		"id", "at", "member:text", "guide:text", "account", "delta", "balance", "reason:text", "code", "coupon", "campaign:text", "request_id:text", "transfer", "counterpart:text")
	kinds[ExportRedemptions].header, kinds[ExportRedemptions].text = columns(
		"code", "at", "member:text", "guide:text", "region:text", "batch", "serial", "product:text", "points", "campaign:text", "campaign_version", "coupon", "commission", "diverted", "voided", "voided_at", "void_reason:text", "request_id:text", "source:text", "store:text")
	kinds[ExportCoupons].header, kinds[ExportCoupons].text = columns(
		"id", "state", "campaign:text", "title:text", "member:text", "code", "issued_at", "expires_at", "used_at", "used_by:text", "commission", "voided_at", "void_reason:text")
	return kinds
}()

// ExportColumns returns the CSV columns of kind, for documentation and
// tests.
func ExportColumns(kind string) []string {
	if k := exportKinds[kind]; k != nil {
		return slices.Clone(k.header)
	}
	return nil
}

func atOrAfter(t, since time.Time) bool { return !t.IsZero() && !t.Before(since) }

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func intCell(n int64) string { return strconv.FormatInt(n, 10) }

func boolCell(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// exportMember is a member's row: balances and binding, not its ledger.
type exportMember struct{ Member }

type memberRow struct {
	Member      string    `json:"member"`
	Points      int64     `json:"points"`
	Growth      int64     `json:"growth"`
	Redemptions uint64    `json:"redemptions"`
	Created     time.Time `json:"created"`
	Guide       string    `json:"guide,omitempty"`
	BoundAt     time.Time `json:"bound_at,omitzero"`
	Aliases     []string  `json:"aliases,omitempty"`
	MergedInto  string    `json:"merged_into,omitempty"`
	Nickname    string    `json:"nickname,omitempty"`
}

// changedSince: created, bound, or a balance moved (its last ledger entry)
// at or after since.
func (m *exportMember) changedSince(r getter, since, _ time.Time) (bool, error) {
	if atOrAfter(m.Created, since) || atOrAfter(m.BoundAt, since) {
		return true, nil
	}
	if m.Seq == 0 {
		return false, nil
	}
	var last Entry
	found, err := getJSON(r, ledgerKey(m.ID, m.Seq), &last)
	return found && atOrAfter(last.At, since), err
}

func (m *exportMember) row(time.Time) any {
	return memberRow{m.ID, m.Points, m.Growth, m.Redemptions, m.Created, m.Guide, m.BoundAt, m.Aliases, m.MergedInto, m.Nickname}
}

func (m *exportMember) cells(out []string, _ time.Time) []string {
	return append(out, m.ID, intCell(m.Points), intCell(m.Growth), strconv.FormatUint(m.Redemptions, 10), timeCell(m.Created),
		m.Guide, timeCell(m.BoundAt), strings.Join(m.Aliases, ";"), m.MergedInto, m.Nickname)
}

// exportEntry is a ledger entry, a member's or a guide's.
type exportEntry struct{ Entry }

func (en *exportEntry) changedSince(_ getter, since, _ time.Time) (bool, error) {
	return atOrAfter(en.At, since), nil
}

func (en *exportEntry) row(time.Time) any { return en.Entry }

func (en *exportEntry) cells(out []string, _ time.Time) []string {
	return append(out, en.ID, timeCell(en.At), en.Member, en.Guide, en.Account, intCell(en.Delta), intCell(en.Balance),
		en.Reason, en.Code, en.Coupon, en.Campaign, en.Request, en.Transfer, en.Counterpart)
}

// exportRedemption is a code's redemption.
type exportRedemption struct{ Redemption }

type redemptionRow struct {
	Code       string    `json:"code"`
	At         time.Time `json:"at"`
	Member     string    `json:"member"`
	Guide      string    `json:"guide,omitempty"`
	Region     string    `json:"region,omitempty"`
	Batch      uint32    `json:"batch"`
	Serial     uint32    `json:"serial"`
	Product    string    `json:"product"`
	Points     int64     `json:"points"`
	Campaign   string    `json:"campaign,omitempty"`
	Version    int       `json:"campaign_version,omitempty"`
	Coupon     string    `json:"coupon,omitempty"`
	Commission int64     `json:"commission,omitempty"`
	Diverted   bool      `json:"diverted,omitempty"`
	Voided     bool      `json:"voided,omitempty"`
	VoidedAt   time.Time `json:"voided_at,omitzero"`
	VoidReason string    `json:"void_reason,omitempty"`
	RequestID  string    `json:"request_id,omitempty"`
	// Source and Store come last: columns added after the others, so
	// that a reader of the earlier columns keeps its places.
	Source string `json:"source,omitempty"`
	Store  string `json:"store,omitempty"`
}

func (r *exportRedemption) changedSince(_ getter, since, _ time.Time) (bool, error) {
	return atOrAfter(r.At, since) || atOrAfter(r.VoidedAt, since), nil
}

func (r *exportRedemption) row(time.Time) any {
	return redemptionRow{r.Code, r.At, r.Member, r.Guide, r.Region, r.Batch, r.Serial, r.Product, r.Points, r.Campaign,
		r.Version, r.Coupon, r.Commission, r.Diverted, r.Voided, r.VoidedAt, r.VoidReason, r.RequestID, r.Source, r.Store}
}

func (r *exportRedemption) cells(out []string, _ time.Time) []string {
	return append(out, r.Code, timeCell(r.At), r.Member, r.Guide, r.Region, strconv.FormatUint(uint64(r.Batch), 10),
		strconv.FormatUint(uint64(r.Serial), 10), r.Product, intCell(r.Points), r.Campaign, strconv.Itoa(r.Version), r.Coupon,
		intCell(r.Commission), boolCell(r.Diverted), boolCell(r.Voided), timeCell(r.VoidedAt), r.VoidReason, r.RequestID, r.Source, r.Store)
}

// exportCoupon is a gift coupon with its state at the export's time.
type exportCoupon struct{ Coupon }

type couponRow struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Campaign   string    `json:"campaign"`
	Title      string    `json:"title"`
	Member     string    `json:"member"`
	Code       string    `json:"code"`
	Issued     time.Time `json:"issued_at"`
	Expires    time.Time `json:"expires_at"`
	UsedAt     time.Time `json:"used_at,omitzero"`
	UsedBy     string    `json:"used_by,omitempty"`
	Commission int64     `json:"commission,omitempty"`
	VoidedAt   time.Time `json:"voided_at,omitzero"`
	VoidReason string    `json:"void_reason,omitempty"`
}

// changedSince: issued, used, voided, or expired at or after since.
func (c *exportCoupon) changedSince(_ getter, since, at time.Time) (bool, error) {
	expired := c.Status == CouponIssued && atOrAfter(c.Expires, since) && !at.Before(c.Expires)
	return expired || atOrAfter(c.Issued, since) || atOrAfter(c.UsedAt, since) || atOrAfter(c.VoidedAt, since), nil
}

func (c *exportCoupon) row(at time.Time) any {
	return couponRow{c.ID, couponState(&c.Coupon, at), c.Campaign, c.Title, c.Member, c.Code, c.Issued, c.Expires,
		c.UsedAt, c.UsedBy, c.Commission, c.VoidedAt, c.VoidReason}
}

func (c *exportCoupon) cells(out []string, at time.Time) []string {
	return append(out, c.ID, couponState(&c.Coupon, at), c.Campaign, c.Title, c.Member, c.Code, timeCell(c.Issued),
		timeCell(c.Expires), timeCell(c.UsedAt), c.UsedBy, intCell(c.Commission), timeCell(c.VoidedAt), c.VoidReason)
}
