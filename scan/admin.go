package scan

import (
	"bytes"
	"context"
	"io"
	"time"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/reward"
)

// Admin is what the admin CLI does, against the data directory (Local) or a
// running server (client.Client, in package scan/client): Pebble lets one
// process hold a directory, so the CLI talks to the server when one is
// running. Both have the event feed, the webhooks and the exports too, so
// the CLI never asks whether they do.
type Admin interface {
	FeedAdmin
	WebhookAdmin
	ExportAdmin
	CreateBatch(spec reward.BatchSpec) (*BatchView, error)
	ListBatches() ([]BatchView, error)
	Batch(id uint32) (*BatchView, error)
	// SetRange activates or revokes serials r.From..r.To (0, 0: all).
	SetRange(id uint32, r reward.Range) (*BatchView, error)
	// ReleaseBatch releases a factory's batch for payout.
	ReleaseBatch(id uint32, r reward.Release) (*BatchView, error)
	// CreateToken makes a token for role; a factory token may name the
	// factory it is for (see reward.Owner), a manager token names the
	// store it manages in the same argument.
	CreateToken(role, name, factory string) (string, error)
	// Tokens lists the stored tokens by id, without secrets.
	Tokens() ([]reward.Token, error)
	// RevokeToken ends the token named id and returns it.
	RevokeToken(id string) (*reward.Token, error)
	// DeleteBatch removes a batch none of whose serials was ever released.
	DeleteBatch(id uint32) error
	// WriteCodes writes serials from..to (0, 0: all) of batch id as csv
	// or txt.
	WriteCodes(w io.Writer, id, from, to uint32, format, baseURL string) error
	// WriteImages writes one image per code of batch id as a zip archive.
	WriteImages(w io.Writer, id uint32, img printing.ImageOptions, baseURL string) error
	// WriteLabels writes a PDF label sheet of serials From..To (0, 0: the
	// whole batch) of batch id; opts' Key, Batch and Header are the
	// batch's.
	WriteLabels(w io.Writer, id uint32, opts printing.LabelSheetOptions) error
	// WriteGuideQR writes guide id's poster QR (format png or svg), which
	// opens baseURL/G/{id}.
	WriteGuideQR(w io.Writer, id, format, baseURL string) error
	// Prints lists the print log: who printed which codes, when.
	Prints(q reward.PrintQuery) (*reward.PrintPage, error)
	// Brand returns the brand's stored settings and the base URL printing
	// uses there (a server's --base-url overrides the stored one).
	Brand() (*BrandView, error)
	// SetBrand changes the brand's stored settings.
	SetBrand(c reward.BrandChange) (*BrandView, error)
	// SetProduct creates or changes a product catalog entry.
	SetProduct(sku string, c reward.ProductChange) (*reward.Product, error)
	Product(sku string) (*reward.Product, error)
	Products() ([]*reward.Product, error)
	// PutStore creates or changes a store record.
	PutStore(id string, c reward.StoreChange) (*reward.Store, error)
	Store(id string) (*reward.Store, error)
	// Stores returns a page of stores after the store id after, and the
	// cursor of the next page.
	Stores(after string, limit int) ([]*reward.Store, string, error)
	// EnrolmentQR returns the store's enrolment QR, a new one with
	// rotate (see reward.Engine.EnrolmentQR).
	EnrolmentQR(store string, rotate bool, valid time.Duration) (*reward.EnrolQR, error)
	// Enrolments returns a page of the store's requests to be a guide.
	Enrolments(store, status, after string, limit int) ([]*reward.Enrolment, string, error)
	// DecideEnrolment approves or rejects a waiting request, as the brand.
	DecideEnrolment(store, id string, approve bool) (*reward.Enrolment, error)
	ApplyCampaign(doc []byte) (*reward.CampaignView, error)
	Campaigns() ([]*reward.CampaignView, error)
	Campaign(id string) (*reward.CampaignView, error)
	// AddGuide creates a guide and returns the secret of its token.
	AddGuide(g reward.Guide) (string, error)
	Guide(id string, page reward.GuidePage) (*reward.GuideView, error)
	// GuideLeaves records that a guide left: their tokens end and their
	// members move to successor (or are unbound when it is empty).
	GuideLeaves(id, successor string) (*reward.GuideLeaving, error)
	// Settle closes a month of guides' commissions (see reward.Settle).
	Settle(period string) (*reward.SettlementView, error)
	Stats(by, from, to string, daily bool) ([]reward.Stat, error)
	// Flags lists flagged scans for review: diverted goods, copied codes.
	Flags(q reward.FlagQuery) (*reward.FlagPage, error)
	Audit() (*reward.AuditReport, error)
	// ExpirePoints expires the points due by the brand's rule, or with
	// dryRun says what it would expire.
	ExpirePoints(dryRun bool) (*reward.ExpiryReport, error)
	// Backup writes a restorable copy of the data directory into dir, on
	// the machine that holds the data directory.
	Backup(dir string) error
	MallAdmin
	Close() error
}

// Local is Admin in this process, the brand (its prints are logged as
// the admin's), over an engine and its data directory
// (scan/node/datadir opens both).
type Local struct {
	Engine *reward.Engine
	// Dir writes backups, and Close closes it.
	Dir interface {
		Backup(dest string) error
		Close() error
	}
}

// localPrint is a printing action of the CLI on the data directory.
func localPrint(action string) reward.Print {
	return reward.Print{Role: reward.RoleAdmin, Action: action}
}

func (l Local) CreateBatch(spec reward.BatchSpec) (*BatchView, error) {
	return batchView(l.Engine.CreateBatch(spec))
}

// batchView is what a call that returns a batch answers with.
func batchView(b *reward.Batch, err error) (*BatchView, error) {
	if err != nil {
		return nil, err
	}
	v := viewBatch(b)
	return &v, nil
}

func (l Local) ListBatches() ([]BatchView, error) {
	bs, err := l.Engine.Batches()
	if err != nil {
		return nil, err
	}
	out := make([]BatchView, len(bs))
	for i, b := range bs {
		out[i] = viewBatch(b)
	}
	return out, nil
}

func (l Local) Batch(id uint32) (*BatchView, error) { return batchView(l.Engine.Batch(id)) }

func (l Local) SetRange(id uint32, r reward.Range) (*BatchView, error) {
	return batchView(l.Engine.SetRange(id, r))
}

func (l Local) ReleaseBatch(id uint32, r reward.Release) (*BatchView, error) {
	return batchView(l.Engine.ReleaseBatch(id, r))
}

func (l Local) CreateToken(role, name, factory string) (string, error) {
	return l.Engine.CreateFactoryToken(role, name, factory)
}

func (l Local) Tokens() ([]reward.Token, error) { return l.Engine.Tokens() }

func (l Local) RevokeToken(id string) (*reward.Token, error) { return l.Engine.RevokeToken(id) }

func (l Local) DeleteBatch(id uint32) error { return l.Engine.DeleteBatch(id) }

func (l Local) WriteCodes(w io.Writer, id, from, to uint32, format, baseURL string) error {
	b, err := l.Engine.Batch(id)
	if err != nil {
		return err
	}
	if from == 0 {
		from, to = 1, b.Count
	}
	if from > to || to > b.Count {
		return reward.Errorf(reward.CodeInvalidRequest, "serials %d..%d are not within batch %d's 1..%d", from, to, b.ID, b.Count)
	}
	if format == string(printing.FormatPINs) && b.Claim != reward.ClaimPIN {
		return reward.Errorf(reward.CodeInvalidRequest, "batch %d is claimed without PINs: it has no PINs to print (format csv or txt)", b.ID)
	}
	p := localPrint(reward.PrintCodes)
	p.Batch, p.From, p.To, p.Format, p.BaseURL = b.ID, from, to, format, baseURL
	if _, err := l.Engine.RecordPrint(p); err != nil {
		return err
	}
	_, err = printing.Export(context.Background(), w, l.Engine.Keys(), printing.ExportOptions{
		Version: b.Codes(), Key: b.KeyID, Batch: b.ID, From: from, To: to, Format: printing.Format(format), BaseURL: baseURL,
		PINDigits: int(b.PINDigits),
	})
	return err
}

func (l Local) WriteImages(w io.Writer, id uint32, img printing.ImageOptions, baseURL string) error {
	b, err := l.Engine.Batch(id)
	if err != nil {
		return err
	}
	p := localPrint(reward.PrintImages)
	p.Batch, p.From, p.To, p.Format, p.BaseURL = b.ID, 1, b.Count, string(img.Format), baseURL
	if _, err := l.Engine.RecordPrint(p); err != nil {
		return err
	}
	_, err = printing.ExportImagesZip(context.Background(), w, l.Engine.Keys(), printing.ImageExportOptions{
		Version: b.Codes(), Key: b.KeyID, Batch: b.ID, From: 1, To: b.Count, BaseURL: baseURL, Image: img,
	})
	return err
}

func (l Local) WriteLabels(w io.Writer, id uint32, opts printing.LabelSheetOptions) error {
	b, err := l.Engine.Batch(id)
	if err != nil {
		return err
	}
	return writeLabels(w, l.Engine.Keys(), b, opts, l.Engine, localPrint(reward.PrintLabels))
}

func (l Local) WriteGuideQR(w io.Writer, id, format, baseURL string) error {
	if _, err := l.Engine.GuideByID(id, 1); err != nil {
		return err
	}
	img, err := printing.Image(GuideURL(baseURL, id), printing.ImageOptions{Format: printing.ImageFormat(format)})
	if err != nil {
		return reward.Errorf(reward.CodeInvalidRequest, "%v", err)
	}
	p := localPrint(reward.PrintGuideQR)
	p.Guide, p.Format, p.BaseURL = id, format, baseURL
	if _, err := l.Engine.RecordPrint(p); err != nil {
		return err
	}
	_, err = w.Write(img)
	return err
}

func (l Local) Prints(q reward.PrintQuery) (*reward.PrintPage, error) {
	return l.Engine.Prints(q)
}

// writeLabels fills in what a label sheet takes from the batch, refuses a
// range the batch does not have before anything is written, and logs the
// print p (with the serials) in e's print log.
func writeLabels(w io.Writer, ks *codegen.Keyset, b *reward.Batch, opts printing.LabelSheetOptions, e *reward.Engine, p reward.Print) error {
	if opts.From == 0 && opts.To == 0 {
		opts.From, opts.To = 1, b.Count
	}
	if opts.From < 1 || opts.To < opts.From || opts.To > b.Count {
		return reward.Errorf(reward.CodeInvalidRequest, "serials %d..%d are not within batch %d's 1..%d", opts.From, opts.To, b.ID, b.Count)
	}
	if n := opts.To - opts.From + 1; n > printing.MaxLabelsPerSheet {
		return reward.Errorf(reward.CodeInvalidRequest, "%d labels in one document; print at most %d at a time (--from/--to)", n, printing.MaxLabelsPerSheet)
	}
	opts.Version, opts.Key, opts.Batch = b.Codes(), b.KeyID, b.ID
	opts.Header = b.Product
	if b.GTIN != "" {
		opts.Header += "  GTIN " + b.GTIN
	}
	// The sheet is built in memory first: a layout the printer refuses
	// is not logged as printed.
	var buf bytes.Buffer
	if _, err := printing.WriteLabelSheet(context.Background(), &buf, ks, opts); err != nil {
		return err
	}
	p.Batch, p.From, p.To, p.Format, p.BaseURL = b.ID, opts.From, opts.To, "pdf", opts.BaseURL
	if _, err := e.RecordPrint(p); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func (l Local) Brand() (*BrandView, error) {
	b, err := l.Engine.Brand()
	if err != nil {
		return nil, err
	}
	return &BrandView{Brand: b, PrintBaseURL: b.BaseURL, TimeZoneInUse: l.Engine.Zone().String()}, nil
}

func (l Local) SetBrand(c reward.BrandChange) (*BrandView, error) {
	b, err := l.Engine.SetBrand(c)
	if err != nil {
		return nil, err
	}
	return &BrandView{Brand: b, PrintBaseURL: b.BaseURL, TimeZoneInUse: l.Engine.Zone().String()}, nil
}

func (l Local) SetProduct(sku string, c reward.ProductChange) (*reward.Product, error) {
	p, _, err := l.Engine.SetProduct(sku, c)
	return p, err
}

func (l Local) Product(sku string) (*reward.Product, error) { return l.Engine.Product(sku) }

func (l Local) Products() ([]*reward.Product, error) { return l.Engine.Products() }

func (l Local) PutStore(id string, c reward.StoreChange) (*reward.Store, error) {
	st, _, err := l.Engine.PutStore(id, c)
	return st, err
}

func (l Local) Store(id string) (*reward.Store, error) { return l.Engine.Store(id) }

func (l Local) Stores(after string, limit int) ([]*reward.Store, string, error) {
	return l.Engine.StorePage(after, limit)
}

func (l Local) EnrolmentQR(store string, rotate bool, valid time.Duration) (*reward.EnrolQR, error) {
	return l.Engine.EnrolmentQR(store, rotate, valid)
}

func (l Local) Enrolments(store, status, after string, limit int) ([]*reward.Enrolment, string, error) {
	return l.Engine.EnrolmentPage(store, status, after, limit)
}

func (l Local) DecideEnrolment(store, id string, approve bool) (*reward.Enrolment, error) {
	return l.Engine.DecideEnrolment(store, id, approve, reward.RoleAdmin)
}

func (l Local) ApplyCampaign(doc []byte) (*reward.CampaignView, error) {
	c, err := reward.ParseCampaign(doc)
	if err != nil {
		return nil, err
	}
	return l.Engine.ApplyCampaign(c)
}

func (l Local) Campaigns() ([]*reward.CampaignView, error) { return l.Engine.Campaigns() }

func (l Local) Campaign(id string) (*reward.CampaignView, error) { return l.Engine.Campaign(id) }

func (l Local) AddGuide(g reward.Guide) (string, error) {
	_, tok, err := l.Engine.AddGuide(g)
	return tok, err
}

func (l Local) Guide(id string, page reward.GuidePage) (*reward.GuideView, error) {
	return l.Engine.GuideView(id, page)
}

func (l Local) GuideLeaves(id, successor string) (*reward.GuideLeaving, error) {
	return l.Engine.GuideLeaves(id, successor)
}

func (l Local) Settle(period string) (*reward.SettlementView, error) {
	return l.Engine.Settle(period)
}

func (l Local) Stats(by, from, to string, daily bool) ([]reward.Stat, error) {
	return l.Engine.Stats(by, from, to, daily)
}

func (l Local) Flags(q reward.FlagQuery) (*reward.FlagPage, error) { return l.Engine.Flags(q) }

func (l Local) Audit() (*reward.AuditReport, error) { return l.Engine.Audit() }

func (l Local) ExpirePoints(dryRun bool) (*reward.ExpiryReport, error) {
	return l.Engine.ExpirePoints(dryRun)
}

func (l Local) Backup(dir string) error { return l.Dir.Backup(dir) }

func (l Local) Close() error { return l.Dir.Close() }
