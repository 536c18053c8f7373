package reward

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Brand is the brand's settings, stored once with the data so that every
// process that prints or serves from it agrees: whatever is printed cannot
// be recalled, so the URL on a package must not depend on which command
// line printed it.
type Brand struct {
	// BaseURL is the public origin printed in every code's URL and QR
	// symbol, e.g. HTTPS://YIMA.BRAND.CN (upper case keeps a QR symbol in
	// its compact alphanumeric mode).
	BaseURL string `json:"base_url,omitempty"`
	// Name is the brand's name as consumers' pages show it.
	Name string `json:"name,omitempty"`
	// TimeZone is the brand's time zone, an IANA name such as
	// Asia/Shanghai: its days (statistics, flags, daily limits) and every
	// date and time its pages and messages show. Empty: the server's
	// fallback, DefaultTimeZone unless yima serve --stats-tz names
	// another (see Engine.Zone).
	TimeZone string `json:"time_zone,omitempty"`
	// LogoURL is the brand's logo as consumers' pages show it: an https
	// (or http) URL, or a path on the scan service's own site.
	LogoURL string `json:"logo_url,omitempty"`
	// Color is the brand's colour, #RRGGBB, of the pages' header and
	// buttons.
	Color string `json:"color,omitempty"`
	// FactoryPrints is how many times over a factory's tokens may
	// download each batch's codes (files, images, labels); 0 means
	// DefaultFactoryPrints. The brand's own prints are logged, not limited.
	FactoryPrints int `json:"factory_prints,omitempty"`
	// WeChatScope is what WeChat sign-in asks of the person: WeChatBase
	// (their openid, silently) or WeChatUserInfo (their nickname too,
	// after they agree). Empty: the server's fallback (yima serve
	// --wechat-scope, deprecated), else WeChatBase.
	WeChatScope string `json:"wechat_scope,omitempty"`
	// OrderPointsPerYuan is what a purchase order earns (POST /v1/orders),
	// in points per yuan of its amount, before the tier multiplier: 1
	// gives a point a yuan, 0.1 a point per 10 yuan. 0: orders earn
	// nothing and are refused.
	OrderPointsPerYuan float64 `json:"order_points_per_yuan,omitempty"`
	// Tiers is the brand's tier ladder, for every campaign that lists
	// none, and TierWindowMonths the months of growth it counts (0: all);
	// see tier.go.
	Tiers            []Tier `json:"tiers,omitempty"`
	TierWindowMonths int    `json:"tier_window_months,omitempty"`
	// PointsExpiry is when points expire (see expiry.go); nil: never.
	PointsExpiry *ExpiryRule `json:"points_expiry,omitempty"`
	Updated      time.Time   `json:"updated,omitzero"`
}

// FactoryPrintsOrDefault is FactoryPrints, or DefaultFactoryPrints when unset.
func (b *Brand) FactoryPrintsOrDefault() int {
	if b.FactoryPrints <= 0 {
		return DefaultFactoryPrints
	}
	return b.FactoryPrints
}

// BrandChange is a change of the brand's settings: nil fields stay as they
// are, an empty string clears one.
type BrandChange struct {
	BaseURL  *string `json:"base_url,omitempty"`
	Name     *string `json:"name,omitempty"`
	TimeZone *string `json:"time_zone,omitempty"`
	LogoURL  *string `json:"logo_url,omitempty"`
	Color    *string `json:"color,omitempty"`
	// FactoryPrints sets Brand.FactoryPrints; 0 restores the default.
	FactoryPrints *int    `json:"factory_prints,omitempty"`
	WeChatScope   *string `json:"wechat_scope,omitempty"`
	// OrderPointsPerYuan sets Brand.OrderPointsPerYuan.
	OrderPointsPerYuan *float64 `json:"order_points_per_yuan,omitempty"`
	// Tiers replaces the ladder ([] removes it); TierWindowMonths sets
	// the window, 0 for all growth.
	Tiers            *[]Tier `json:"tiers,omitempty"`
	TierWindowMonths *int    `json:"tier_window_months,omitempty"`
	// PointsExpiry sets the expiry rule; {} (no unit) removes it.
	PointsExpiry *ExpiryRule `json:"points_expiry,omitempty"`
}

// The brand's choices of what WeChat sign-in asks (Brand.WeChatScope).
const (
	WeChatBase     = "base"
	WeChatUserInfo = "userinfo"
)

var brandKey = []byte("meta/brand")

// MaxOrderPointsPerYuan bounds the purchase rate.
const MaxOrderPointsPerYuan = 100

// maxBaseURL bounds a base URL: it is printed in every QR symbol, and a
// longer URL makes every symbol denser and harder to scan.
const maxBaseURL = 100

// CheckBaseURL says what is wrong with a base URL, or nil: an absolute
// http or https URL with a host and nothing after it but an optional path
// (no query, no fragment, no user), because codes' paths (/C/CODE) are
// appended to it.
func CheckBaseURL(s string) error {
	if s == "" {
		return Errorf(CodeInvalidRequest, "the base URL is empty; give the public origin of the scan service, e.g. HTTPS://YIMA.YOURBRAND.CN")
	}
	if len(s) > maxBaseURL {
		return Errorf(CodeInvalidRequest, "base URL %q is longer than %d bytes; every QR symbol carries it, keep it short", s, maxBaseURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		return Errorf(CodeInvalidRequest, "base URL %q: %v", s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "https" && scheme != "http":
		return Errorf(CodeInvalidRequest, "base URL %q must start with https:// (or HTTPS://)", s)
	case u.Host == "" || u.Hostname() == "":
		return Errorf(CodeInvalidRequest, "base URL %q has no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#"):
		return Errorf(CodeInvalidRequest, "base URL %q may hold only a scheme, a host and a path: /C/CODE is appended to it", s)
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f {
			return Errorf(CodeInvalidRequest, "base URL %q must be plain ASCII without spaces (write an IDN host in its xn-- form)", s)
		}
	}
	return nil
}

func (c BrandChange) check() error {
	if c.BaseURL != nil && *c.BaseURL != "" {
		if err := CheckBaseURL(*c.BaseURL); err != nil {
			return err
		}
	}
	if c.Name != nil {
		n := *c.Name
		if utf8.RuneCountInString(n) > 64 || checkID("name", n, false) != nil {
			return Errorf(CodeInvalidRequest, "brand name %q: at most 64 characters, no control characters", n)
		}
	}
	if c.LogoURL != nil && *c.LogoURL != "" {
		if err := checkImageURL("logo URL", *c.LogoURL); err != nil {
			return err
		}
	}
	if c.Color != nil && *c.Color != "" && !isColor(*c.Color) {
		return Errorf(CodeInvalidRequest, "colour %q: write it as #RRGGBB, e.g. #C8102E", *c.Color)
	}
	if c.TimeZone != nil && *c.TimeZone != "" {
		if err := CheckTimeZone(*c.TimeZone); err != nil {
			return err
		}
	}
	if c.WeChatScope != nil && *c.WeChatScope != "" && *c.WeChatScope != WeChatBase && *c.WeChatScope != WeChatUserInfo {
		return Errorf(CodeInvalidRequest, "wechat_scope %q: use %q (the openid, silently) or %q (the nickname too, after the person agrees)", *c.WeChatScope, WeChatBase, WeChatUserInfo)
	}
	if r := c.OrderPointsPerYuan; r != nil && (*r < 0 || *r > MaxOrderPointsPerYuan || math.Abs(*r*100-math.Round(*r*100)) > 1e-6) {
		return Errorf(CodeInvalidRequest, "order_points_per_yuan %v: points per yuan of a purchase, 0 to %d with at most two decimals (1 is a point a yuan, 0.1 a point per 10 yuan)", *r, MaxOrderPointsPerYuan)
	}
	if c.FactoryPrints != nil && (*c.FactoryPrints < 0 || *c.FactoryPrints > MaxFactoryPrints) {
		return Errorf(CodeInvalidRequest, "factory_prints %d: a factory may download a batch's codes 1 to %d times over (0 restores the default, %d)", *c.FactoryPrints, MaxFactoryPrints, DefaultFactoryPrints)
	}
	if c.Tiers != nil {
		if err := checkLadder("the brand's tiers", *c.Tiers); err != nil {
			return err
		}
	}
	if c.PointsExpiry != nil && c.PointsExpiry.Unit != "" {
		if err := c.PointsExpiry.check(); err != nil {
			return err
		}
	}
	if c.TierWindowMonths != nil && (*c.TierWindowMonths < 0 || *c.TierWindowMonths > MaxTierWindowMonths) {
		return Errorf(CodeInvalidRequest, "tier_window_months %d: count growth over 1 to %d months (0 counts all growth)", *c.TierWindowMonths, MaxTierWindowMonths)
	}
	return nil
}

// maxImageURL bounds a logo's or a product picture's URL; pages carry it.
const maxImageURL = 300

// checkImageURL says what is wrong with an image's URL (what names it), or
// nil: an absolute http(s) URL or a path on this site, plain ASCII, so
// that a page never loads a script or a data: URL in its place.
func checkImageURL(what, s string) error {
	bad := func(why string) error {
		return Errorf(CodeInvalidRequest, "%s %q: %s; give an https:// URL of an image, or a path on this site such as /logo.png", what, s, why)
	}
	if len(s) > maxImageURL {
		return bad(fmt.Sprintf("longer than %d bytes", maxImageURL))
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || r == '"' || r == '<' || r == '>' || r == '\\' {
			return bad("it must be plain ASCII without spaces, quotes or angle brackets")
		}
	}
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad(err.Error())
	}
	if scheme := strings.ToLower(u.Scheme); (scheme != "https" && scheme != "http") || u.Host == "" || u.User != nil {
		return bad("not an http(s) URL with a host")
	}
	return nil
}

// isColor reports whether s is #RRGGBB.
func isColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, r := range s[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// Brand returns the brand's settings; a store where none were set gives
// the zero Brand.
func (e *Engine) Brand() (*Brand, error) {
	var b Brand
	if _, err := getJSON(e.db, brandKey, &b); err != nil {
		return nil, wrapStore(fmt.Errorf("reward: brand settings: %w", err))
	}
	return &b, nil
}

// SetBrand applies c to the stored settings and returns them.
func (e *Engine) SetBrand(c BrandChange) (*Brand, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var zone *time.Location
	if c.TimeZone != nil {
		var err error
		if zone, err = e.zoneOf(*c.TimeZone); err != nil {
			return nil, err
		}
	}
	var out Brand
	err := e.update(func(tx Tx) error {
		var b Brand
		if _, err := getJSON(tx, brandKey, &b); err != nil {
			return err
		}
		if c.BaseURL != nil {
			b.BaseURL = strings.TrimRight(*c.BaseURL, "/")
		}
		if c.Name != nil {
			b.Name = *c.Name
		}
		if c.TimeZone != nil {
			b.TimeZone = *c.TimeZone
		}
		if c.LogoURL != nil {
			b.LogoURL = *c.LogoURL
		}
		if c.Color != nil {
			b.Color = strings.ToLower(*c.Color)
		}
		if c.FactoryPrints != nil {
			b.FactoryPrints = *c.FactoryPrints
		}
		if c.WeChatScope != nil {
			b.WeChatScope = *c.WeChatScope
		}
		if c.OrderPointsPerYuan != nil {
			b.OrderPointsPerYuan = math.Round(*c.OrderPointsPerYuan*100) / 100
		}
		if c.Tiers != nil {
			b.Tiers = *c.Tiers
		}
		if c.TierWindowMonths != nil {
			b.TierWindowMonths = *c.TierWindowMonths
		}
		if c.PointsExpiry != nil {
			b.PointsExpiry = nil
			if c.PointsExpiry.Unit != "" {
				r := *c.PointsExpiry
				b.PointsExpiry = &r
			}
		}
		b.Updated = e.now()
		putJSON(tx, brandKey, &b)
		out = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	if zone != nil {
		e.zone.Store(zone) // after the commit: a refused change leaves the zone
	}
	e.brand.set(out)
	return &out, nil
}

// CodeBaseURLUnset refuses to print codes while no base URL is known:
// codes printed with a made-up one would open nothing, for good.
const CodeBaseURLUnset Code = "base_url_unset"

// ErrBaseURLUnset is the refusal, with what to do about it.
var ErrBaseURLUnset = &Error{Code: CodeBaseURLUnset, Message: "no base URL is set for this brand, so printed codes would open nothing: set it once with yima brand set --base-url HTTPS://YOUR.HOST (or PUT /v1/brand), or give --base-url for this run"}
