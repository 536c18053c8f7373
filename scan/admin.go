package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/reward"
)

// Admin is what the admin CLI does, against the data directory (Local) or a
// running server (Client): Pebble lets one process hold a directory, so the
// CLI talks to the server when one is running.
type Admin interface {
	CreateBatch(spec reward.BatchSpec) (*BatchView, error)
	ListBatches() ([]BatchView, error)
	Batch(id uint32) (*BatchView, error)
	// SetRange activates or revokes serials r.From..r.To (0, 0: all).
	SetRange(id uint32, r reward.Range) (*BatchView, error)
	CreateToken(role, name string) (string, error)
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
	ApplyCampaign(doc []byte) (*reward.CampaignView, error)
	Campaigns() ([]*reward.CampaignView, error)
	Campaign(id string) (*reward.CampaignView, error)
	// AddGuide creates a guide and returns the secret of its token.
	AddGuide(g reward.Guide) (string, error)
	Guide(id string, page reward.GuidePage) (*reward.GuideView, error)
	// GuideLeaves records that a guide left: their tokens end and their
	// members move to successor (or are unbound when it is empty).
	GuideLeaves(id, successor string) (*reward.GuideLeaving, error)
	Stats(by, from, to string, daily bool) ([]reward.Stat, error)
	// Flags lists flagged scans for review: diverted goods, copied codes.
	Flags(q reward.FlagQuery) (*reward.FlagPage, error)
	Audit() (*reward.AuditReport, error)
	// Backup writes a restorable copy of the data directory into dir, on
	// the machine that holds the data directory.
	Backup(dir string) error
	Close() error
}

// Local is Admin over an open App.
type Local struct{ App *App }

func (l Local) CreateBatch(spec reward.BatchSpec) (*BatchView, error) {
	b, err := l.App.Engine.CreateBatch(spec)
	if err != nil {
		return nil, err
	}
	v := viewBatch(b)
	return &v, nil
}

func (l Local) ListBatches() ([]BatchView, error) {
	bs, err := l.App.Engine.Batches()
	if err != nil {
		return nil, err
	}
	out := make([]BatchView, len(bs))
	for i, b := range bs {
		out[i] = viewBatch(b)
	}
	return out, nil
}

func (l Local) Batch(id uint32) (*BatchView, error) {
	b, err := l.App.Engine.Batch(id)
	if err != nil {
		return nil, err
	}
	v := viewBatch(b)
	return &v, nil
}

func (l Local) SetRange(id uint32, r reward.Range) (*BatchView, error) {
	b, err := l.App.Engine.SetRange(id, r)
	if err != nil {
		return nil, err
	}
	v := viewBatch(b)
	return &v, nil
}

func (l Local) CreateToken(role, name string) (string, error) {
	return l.App.Engine.CreateToken(role, name, "")
}

func (l Local) Tokens() ([]reward.Token, error) { return l.App.Engine.Tokens() }

func (l Local) RevokeToken(id string) (*reward.Token, error) { return l.App.Engine.RevokeToken(id) }

func (l Local) DeleteBatch(id uint32) error { return l.App.Engine.DeleteBatch(id) }

func (l Local) WriteCodes(w io.Writer, id, from, to uint32, format, baseURL string) error {
	b, err := l.App.Engine.Batch(id)
	if err != nil {
		return err
	}
	if from == 0 {
		from, to = 1, b.Count
	}
	_, err = printing.Export(context.Background(), w, l.App.Keys(), printing.ExportOptions{
		Version: b.Codes(), Key: b.KeyID, Batch: b.ID, From: from, To: to, Format: printing.Format(format), BaseURL: baseURL,
	})
	return err
}

func (l Local) WriteImages(w io.Writer, id uint32, img printing.ImageOptions, baseURL string) error {
	b, err := l.App.Engine.Batch(id)
	if err != nil {
		return err
	}
	_, err = printing.ExportImagesZip(context.Background(), w, l.App.Keys(), printing.ImageExportOptions{
		Version: b.Codes(), Key: b.KeyID, Batch: b.ID, From: 1, To: b.Count, BaseURL: baseURL, Image: img,
	})
	return err
}

func (l Local) WriteLabels(w io.Writer, id uint32, opts printing.LabelSheetOptions) error {
	b, err := l.App.Engine.Batch(id)
	if err != nil {
		return err
	}
	return writeLabels(w, l.App.Keys(), b, opts)
}

// writeLabels fills in what a label sheet takes from the batch, and refuses
// a range the batch does not have before anything is written.
func writeLabels(w io.Writer, ks *codegen.Keyset, b *reward.Batch, opts printing.LabelSheetOptions) error {
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
	_, err := printing.WriteLabelSheet(context.Background(), w, ks, opts)
	return err
}

func (l Local) ApplyCampaign(doc []byte) (*reward.CampaignView, error) {
	c, err := reward.ParseCampaign(doc)
	if err != nil {
		return nil, err
	}
	return l.App.Engine.ApplyCampaign(c)
}

func (l Local) Campaigns() ([]*reward.CampaignView, error) { return l.App.Engine.Campaigns() }

func (l Local) Campaign(id string) (*reward.CampaignView, error) { return l.App.Engine.Campaign(id) }

func (l Local) AddGuide(g reward.Guide) (string, error) {
	_, tok, err := l.App.Engine.AddGuide(g)
	return tok, err
}

func (l Local) Guide(id string, page reward.GuidePage) (*reward.GuideView, error) {
	return l.App.Engine.GuideView(id, page)
}

func (l Local) GuideLeaves(id, successor string) (*reward.GuideLeaving, error) {
	return l.App.Engine.GuideLeaves(id, successor)
}

func (l Local) Stats(by, from, to string, daily bool) ([]reward.Stat, error) {
	return l.App.Engine.Stats(by, from, to, daily)
}

func (l Local) Flags(q reward.FlagQuery) (*reward.FlagPage, error) { return l.App.Engine.Flags(q) }

func (l Local) Audit() (*reward.AuditReport, error) { return l.App.Engine.Audit() }

func (l Local) Backup(dir string) error { return l.App.Backup(dir) }

func (l Local) Close() error { return l.App.Close() }

// Client is Admin over HTTP, for a data directory a server holds.
type Client struct {
	URL   string
	Token string
	HTTP  *http.Client
}

func (c *Client) do(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	resp, err := c.send(method, path, rd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// send makes a request and turns an error answer into a *reward.Error.
func (c *Client) send(method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, strings.TrimRight(c.URL, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("scan: bad server URL %q: %w", c.URL, err)
	}
	if c.Token == "" {
		return nil, errors.New("scan: --server needs a token: pass --token or set YIMA_TOKEN")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 0} // code streams may be long
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scan: reaching the server: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb errorBody
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&eb) != nil || eb.Error.Code == "" {
		return nil, fmt.Errorf("scan: server answered %s", resp.Status)
	}
	return nil, &reward.Error{Code: eb.Error.Code, Message: eb.Error.Message, Details: eb.Error.Details}
}

func (c *Client) CreateBatch(spec reward.BatchSpec) (*BatchView, error) {
	var v BatchView
	return &v, c.do("POST", "/v1/batches", spec, &v)
}

func (c *Client) ListBatches() ([]BatchView, error) {
	var out struct {
		Batches []BatchView `json:"batches"`
	}
	return out.Batches, c.do("GET", "/v1/batches", nil, &out)
}

func (c *Client) Batch(id uint32) (*BatchView, error) {
	var v BatchView
	return &v, c.do("GET", fmt.Sprintf("/v1/batches/%d", id), nil, &v)
}

func (c *Client) SetRange(id uint32, r reward.Range) (*BatchView, error) {
	action := "activate"
	if r.State == reward.Revoked {
		action = "revoke"
	}
	body := map[string]any{"from": r.From, "to": r.To}
	if r.Region != "" {
		body["region"] = r.Region
	}
	var v BatchView
	return &v, c.do("POST", fmt.Sprintf("/v1/batches/%d/%s", id, action), body, &v)
}

func (c *Client) CreateToken(role, name string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	return out.Token, c.do("POST", "/v1/tokens", map[string]string{"role": role, "name": name}, &out)
}

func (c *Client) Tokens() ([]reward.Token, error) {
	var out struct {
		Tokens []reward.Token `json:"tokens"`
	}
	return out.Tokens, c.do("GET", "/v1/tokens", nil, &out)
}

func (c *Client) RevokeToken(id string) (*reward.Token, error) {
	var t reward.Token
	return &t, c.do("DELETE", "/v1/tokens/"+url.PathEscape(id), nil, &t)
}

func (c *Client) WriteCodes(w io.Writer, id, from, to uint32, format, baseURL string) error {
	q := url.Values{"format": {format}}
	if from != 0 {
		q.Set("from", strconv.FormatUint(uint64(from), 10))
		q.Set("to", strconv.FormatUint(uint64(to), 10))
	}
	if baseURL != "" {
		q.Set("base_url", baseURL)
	}
	resp, err := c.send("GET", fmt.Sprintf("/v1/batches/%d/codes?%s", id, q.Encode()), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

func (c *Client) DeleteBatch(id uint32) error {
	return c.do("DELETE", fmt.Sprintf("/v1/batches/%d", id), nil, nil)
}

func (c *Client) WriteImages(w io.Writer, id uint32, img printing.ImageOptions, baseURL string) error {
	q := url.Values{"symbology": {string(img.Symbology)}, "format": {string(img.Format)}}
	if baseURL != "" {
		q.Set("base_url", baseURL)
	}
	resp, err := c.send("GET", fmt.Sprintf("/v1/batches/%d/images.zip?%s", id, q.Encode()), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

func (c *Client) WriteLabels(w io.Writer, id uint32, opts printing.LabelSheetOptions) error {
	q := url.Values{}
	if opts.From != 0 {
		q.Set("from", strconv.FormatUint(uint64(opts.From), 10))
		q.Set("to", strconv.FormatUint(uint64(opts.To), 10))
	}
	if opts.Columns != 0 {
		q.Set("columns", strconv.Itoa(opts.Columns))
		q.Set("rows", strconv.Itoa(opts.Rows))
	}
	if opts.Symbology != "" {
		q.Set("symbology", string(opts.Symbology))
	}
	if opts.BaseURL != "" {
		q.Set("base_url", opts.BaseURL)
	}
	resp, err := c.send("GET", fmt.Sprintf("/v1/batches/%d/labels.pdf?%s", id, q.Encode()), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

func (c *Client) ApplyCampaign(doc []byte) (*reward.CampaignView, error) {
	var probe struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(doc, &probe); err != nil || probe.ID == "" {
		return nil, reward.Errorf(reward.CodeInvalidRequest, "the campaign document needs an \"id\"")
	}
	resp, err := c.send("PUT", "/v1/campaigns/"+url.PathEscape(probe.ID), bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var v reward.CampaignView
	return &v, json.NewDecoder(resp.Body).Decode(&v)
}

func (c *Client) Campaigns() ([]*reward.CampaignView, error) {
	var out struct {
		Campaigns []*reward.CampaignView `json:"campaigns"`
	}
	return out.Campaigns, c.do("GET", "/v1/campaigns", nil, &out)
}

func (c *Client) Campaign(id string) (*reward.CampaignView, error) {
	var v reward.CampaignView
	return &v, c.do("GET", "/v1/campaigns/"+url.PathEscape(id), nil, &v)
}

func (c *Client) AddGuide(g reward.Guide) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	body := map[string]string{"id": g.ID, "store": g.Store, "name": g.Name, "member": g.Member}
	return out.Token, c.do("POST", "/v1/guides", body, &out)
}

func (c *Client) GuideLeaves(id, successor string) (*reward.GuideLeaving, error) {
	var out reward.GuideLeaving
	return &out, c.do("POST", "/v1/guides/"+url.PathEscape(id)+"/leave", map[string]string{"successor": successor}, &out)
}

func (c *Client) Guide(id string, page reward.GuidePage) (*reward.GuideView, error) {
	q := url.Values{}
	if page.Limit > 0 {
		q.Set("limit", strconv.Itoa(page.Limit))
	}
	if page.MembersAfter != "" {
		q.Set("members_after", page.MembersAfter)
	}
	if page.LedgerBefore != "" {
		q.Set("ledger_before", page.LedgerBefore)
	}
	path := "/v1/guides/" + url.PathEscape(id)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var v reward.GuideView
	return &v, c.do("GET", path, nil, &v)
}

func (c *Client) Stats(by, from, to string, daily bool) ([]reward.Stat, error) {
	q := url.Values{"by": {by}, "from": {from}, "to": {to}, "daily": {strconv.FormatBool(daily)}}
	var out struct {
		Stats []reward.Stat `json:"stats"`
	}
	return out.Stats, c.do("GET", "/v1/stats?"+q.Encode(), nil, &out)
}

func (c *Client) Flags(q reward.FlagQuery) (*reward.FlagPage, error) {
	v := url.Values{}
	for k, s := range map[string]string{"kind": q.Kind, "from": q.From, "to": q.To, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var page reward.FlagPage
	return &page, c.do("GET", "/v1/flags?"+v.Encode(), nil, &page)
}

func (c *Client) Audit() (*reward.AuditReport, error) {
	var rep reward.AuditReport
	return &rep, c.do("GET", "/v1/audit", nil, &rep)
}

func (c *Client) Backup(dir string) error {
	return c.do("POST", "/v1/backups", map[string]string{"dir": dir}, nil)
}

func (c *Client) Close() error { return nil }
