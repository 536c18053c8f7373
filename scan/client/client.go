package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

// Client is scan.Admin.
var _ scan.Admin = (*Client)(nil)

// Client is scan.Admin over HTTP, for a data directory a server holds.
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

// call makes a request, with body as JSON (nil: none), and reads the answer
// into a new T.
func call[T any](c *Client, method, path string, body any) (*T, error) {
	var v T
	return &v, c.do(method, path, body, &v)
}

// download copies the answer to GET path into w: codes, images, a label
// sheet, a QR, as the server streams them.
func (c *Client) download(w io.Writer, path string) error {
	resp, err := c.send("GET", path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// putDocument PUTs doc, a campaign's or a catalog item's (what) document,
// into collection (/v1/campaigns, /v1/rewards) under the id it names. The
// document goes as it is, so that the server checks what the brand wrote.
func putDocument[T any](c *Client, collection, what string, doc []byte) (*T, error) {
	var probe struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(doc, &probe); err != nil || probe.ID == "" {
		return nil, reward.Errorf(reward.CodeInvalidRequest, "the %s document needs an \"id\"", what)
	}
	resp, err := c.send("PUT", collection+"/"+url.PathEscape(probe.ID), bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var v T
	return &v, json.NewDecoder(resp.Body).Decode(&v)
}

// send makes a request and turns an error answer into a *reward.Error.
func (c *Client) send(method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, strings.TrimRight(c.URL, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("client: bad server URL %q: %w", c.URL, err)
	}
	if c.Token == "" {
		return nil, errors.New("client: --server needs a token: pass --token or set YIMA_TOKEN")
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
		return nil, fmt.Errorf("client: reaching the server: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb scan.ErrorBody
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&eb) != nil || eb.Error.Code == "" {
		return nil, fmt.Errorf("client: server answered %s", resp.Status)
	}
	return nil, &reward.Error{Code: eb.Error.Code, Message: eb.Error.Message, Details: eb.Error.Details}
}

func (c *Client) CreateBatch(spec reward.BatchSpec) (*scan.BatchView, error) {
	return call[scan.BatchView](c, "POST", "/v1/batches", spec)
}

func (c *Client) ListBatches() ([]scan.BatchView, error) {
	return allPages[scan.BatchView](c, "/v1/batches", "batches")
}

// allPages reads every page of a listing at path, following "next", the
// items of each page under name.
func allPages[T any](c *Client, path, name string) ([]T, error) {
	all := []T{}
	after := ""
	for {
		var page map[string]json.RawMessage
		q := url.Values{"limit": {strconv.Itoa(reward.MaxPage)}}
		if after != "" {
			q.Set("after", after)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		if err := c.do("GET", path+sep+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		var items []T
		if err := json.Unmarshal(page[name], &items); err != nil {
			return nil, fmt.Errorf("client: reading %s: %w", path, err)
		}
		all = append(all, items...)
		next := ""
		if raw, ok := page["next"]; ok {
			if err := json.Unmarshal(raw, &next); err != nil {
				return nil, fmt.Errorf("client: reading %s: %w", path, err)
			}
		}
		if next == "" || next == after {
			return all, nil
		}
		after = next
	}
}

func (c *Client) Batch(id uint32) (*scan.BatchView, error) {
	return call[scan.BatchView](c, "GET", fmt.Sprintf("/v1/batches/%d", id), nil)
}

func (c *Client) SetRange(id uint32, r reward.Range) (*scan.BatchView, error) {
	action := "activate"
	if r.State == reward.Revoked {
		action = "revoke"
	}
	body := map[string]any{"from": r.From, "to": r.To}
	if r.Region != "" {
		body["region"] = r.Region
	}
	return call[scan.BatchView](c, "POST", fmt.Sprintf("/v1/batches/%d/%s", id, action), body)
}

func (c *Client) ReleaseBatch(id uint32, r reward.Release) (*scan.BatchView, error) {
	return call[scan.BatchView](c, "POST", fmt.Sprintf("/v1/batches/%d/release", id), r)
}

func (c *Client) CreateToken(role, name, factory string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	body := map[string]string{"role": role, "name": name}
	switch {
	case factory != "" && role == reward.RoleManager:
		body["store"] = factory
	case factory != "":
		body["factory"] = factory
	}
	return out.Token, c.do("POST", "/v1/tokens", body, &out)
}

func (c *Client) Tokens() ([]reward.Token, error) {
	return allPages[reward.Token](c, "/v1/tokens", "tokens")
}

func (c *Client) RevokeToken(id string) (*reward.Token, error) {
	return call[reward.Token](c, "DELETE", "/v1/tokens/"+url.PathEscape(id), nil)
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
	return c.download(w, fmt.Sprintf("/v1/batches/%d/codes?%s", id, q.Encode()))
}

func (c *Client) DeleteBatch(id uint32) error {
	return c.do("DELETE", fmt.Sprintf("/v1/batches/%d", id), nil, nil)
}

func (c *Client) WriteImages(w io.Writer, id uint32, img printing.ImageOptions, baseURL string) error {
	q := url.Values{"symbology": {string(img.Symbology)}, "format": {string(img.Format)}}
	if baseURL != "" {
		q.Set("base_url", baseURL)
	}
	return c.download(w, fmt.Sprintf("/v1/batches/%d/images.zip?%s", id, q.Encode()))
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
	return c.download(w, fmt.Sprintf("/v1/batches/%d/labels.pdf?%s", id, q.Encode()))
}

func (c *Client) WriteGuideQR(w io.Writer, id, format, baseURL string) error {
	q := url.Values{}
	if baseURL != "" {
		q.Set("base_url", baseURL)
	}
	return c.download(w, "/v1/guides/"+url.PathEscape(id)+"/qr."+url.PathEscape(format)+"?"+q.Encode())
}

func (c *Client) Prints(q reward.PrintQuery) (*reward.PrintPage, error) {
	v := url.Values{}
	if q.Batch != 0 {
		v.Set("batch", strconv.FormatUint(uint64(q.Batch), 10))
	}
	if q.After != "" {
		v.Set("after", q.After)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return call[reward.PrintPage](c, "GET", "/v1/prints?"+v.Encode(), nil)
}

func (c *Client) Brand() (*scan.BrandView, error) {
	return call[scan.BrandView](c, "GET", "/v1/brand", nil)
}

func (c *Client) SetBrand(ch reward.BrandChange) (*scan.BrandView, error) {
	return call[scan.BrandView](c, "PUT", "/v1/brand", ch)
}

func (c *Client) SetProduct(sku string, ch reward.ProductChange) (*reward.Product, error) {
	return call[reward.Product](c, "PUT", "/v1/products/"+url.PathEscape(sku), ch)
}

func (c *Client) Product(sku string) (*reward.Product, error) {
	return call[reward.Product](c, "GET", "/v1/products/"+url.PathEscape(sku), nil)
}

func (c *Client) Products() ([]*reward.Product, error) {
	var v struct {
		Products []*reward.Product `json:"products"`
	}
	return v.Products, c.do("GET", "/v1/products", nil, &v)
}

func (c *Client) PutStore(id string, ch reward.StoreChange) (*reward.Store, error) {
	return call[reward.Store](c, "PUT", "/v1/stores/"+url.PathEscape(id), ch)
}

func (c *Client) Store(id string) (*reward.Store, error) {
	return call[reward.Store](c, "GET", "/v1/stores/"+url.PathEscape(id), nil)
}

func (c *Client) Stores(after string, limit int) ([]*reward.Store, string, error) {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var v struct {
		Stores []*reward.Store `json:"stores"`
		Next   string          `json:"next"`
	}
	err := c.do("GET", "/v1/stores?"+q.Encode(), nil, &v)
	return v.Stores, v.Next, err
}

func (c *Client) EnrolmentQR(store string, rotate bool, valid time.Duration) (*reward.EnrolQR, error) {
	body := map[string]any{"rotate": rotate}
	if valid != 0 {
		body["valid"] = valid.String()
	}
	// The server prints with its base URL; the caller draws with its own.
	return call[reward.EnrolQR](c, "POST", "/v1/stores/"+url.PathEscape(store)+"/enrolment-qr", body)
}

func (c *Client) Enrolments(store, status, after string, limit int) ([]*reward.Enrolment, string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": status, "after": after} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var v struct {
		Enrolments []*reward.Enrolment `json:"enrolments"`
		Next       string              `json:"next"`
	}
	err := c.do("GET", "/v1/stores/"+url.PathEscape(store)+"/enrolments?"+q.Encode(), nil, &v)
	return v.Enrolments, v.Next, err
}

func (c *Client) DecideEnrolment(store, id string, approve bool) (*reward.Enrolment, error) {
	action := "reject"
	if approve {
		action = "approve"
	}
	return call[reward.Enrolment](c, "POST", "/v1/stores/"+url.PathEscape(store)+"/enrolments/"+url.PathEscape(id)+"/"+action, nil)
}

func (c *Client) ApplyCampaign(doc []byte) (*reward.CampaignView, error) {
	return putDocument[reward.CampaignView](c, "/v1/campaigns", "campaign", doc)
}

func (c *Client) Campaigns() ([]*reward.CampaignView, error) {
	return allPages[*reward.CampaignView](c, "/v1/campaigns", "campaigns")
}

func (c *Client) Campaign(id string) (*reward.CampaignView, error) {
	return call[reward.CampaignView](c, "GET", "/v1/campaigns/"+url.PathEscape(id), nil)
}

func (c *Client) AddGuide(g reward.Guide) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	body := map[string]string{"id": g.ID, "store": g.Store, "name": g.Name, "member": g.Member}
	return out.Token, c.do("POST", "/v1/guides", body, &out)
}

func (c *Client) GuideLeaves(id, successor string) (*reward.GuideLeaving, error) {
	return call[reward.GuideLeaving](c, "POST", "/v1/guides/"+url.PathEscape(id)+"/leave", map[string]string{"successor": successor})
}

func (c *Client) Settle(period string) (*reward.SettlementView, error) {
	return call[reward.SettlementView](c, "POST", "/v1/settlements", map[string]string{"period": period})
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
	return call[reward.GuideView](c, "GET", path, nil)
}

func (c *Client) Stats(by, from, to string, daily bool) ([]reward.Stat, error) {
	q := url.Values{"by": {by}, "daily": {strconv.FormatBool(daily)}}
	for k, v := range map[string]string{"from": from, "to": to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return allPages[reward.Stat](c, "/v1/stats?"+q.Encode(), "stats")
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
	return call[reward.FlagPage](c, "GET", "/v1/flags?"+v.Encode(), nil)
}

func (c *Client) Audit() (*reward.AuditReport, error) {
	return call[reward.AuditReport](c, "GET", "/v1/audit", nil)
}

func (c *Client) ExpirePoints(dryRun bool) (*reward.ExpiryReport, error) {
	return call[reward.ExpiryReport](c, "POST", "/v1/points/expire", map[string]bool{"dry_run": dryRun})
}

func (c *Client) Backup(dir string) error {
	return c.do("POST", "/v1/backups", map[string]string{"dir": dir}, nil)
}

func (c *Client) Close() error { return nil }
