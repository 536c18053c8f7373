package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

func newBrandCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{
		Use:   "brand",
		Short: "Show or set the brand's settings: the base URL printed on every code, name, time zone, logo, colour",
		Long: `The brand's settings are stored once, with the data, so that every command and the
server print the same URL. Set the base URL before printing anything: printed
packaging cannot be recalled.`,
	}, g,
		runResult(&cobra.Command{Use: "show", Short: "Print the brand's settings as JSON", Args: cobra.NoArgs},
			func(a scan.Admin, _ []string) (*scan.BrandView, error) { return a.Brand() }),
		run(&cobra.Command{
			Use: "set [--base-url URL] [--name NAME] [--time-zone ZONE] [--logo-url URL] [--color #RRGGBB] [--factory-prints N] [--wechat-scope base|userinfo] [--order-points-per-yuan R] [--tiers FILE] [--tier-window-months N] [--points-expiry year+N|month+N|never]", Short: "Change the brand's settings (flags not given stay as they are)",
			Example: `  yima brand set --base-url HTTPS://YIMA.YOURBRAND.CN --name 一码乳业 --time-zone Asia/Shanghai
  yima brand set --wechat-scope userinfo   # pages greet members by their WeChat nickname
  yima brand set --logo-url https://cdn.yourbrand.cn/logo.png --color '#C8102E'
  yima brand set --tiers docs/examples/tiers.json --tier-window-months 12 --points-expiry year+1
  (upper case keeps every QR symbol in its compact alphanumeric mode)`,
			Args: cobra.NoArgs,
		}, brandSetFunc),
	)
}

type brandSetOptions struct {
	baseURL, name, tz, logo, color, wechatScope string
	factoryPrints                               int
	orderRate                                   float64
	tiersFile                                   string
	tierWindow                                  int
	expiry                                      string
}

func (o *brandSetOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.baseURL, "base-url", "", "public origin of the scan service, printed in every code's URL, e.g. HTTPS://YIMA.YOURBRAND.CN")
	fs.StringVar(&o.name, "name", "", "the brand's name, as consumers' pages show it")
	fs.StringVar(&o.tz, "time-zone", "", "the brand's time zone, an IANA name such as Asia/Shanghai: its days (statistics, flags, daily limits) and every date and time on its pages (default "+reward.DefaultTimeZone+"; \"\" restores it)")
	fs.StringVar(&o.tz, "tz", "", "the same as --time-zone")
	_ = fs.MarkDeprecated("tz", "use --time-zone")
	fs.StringVar(&o.wechatScope, "wechat-scope", "", "what WeChat sign-in asks: base (the openid, silently) or userinfo (the nickname too, after the person agrees)")
	fs.StringVar(&o.logo, "logo-url", "", "the brand's logo on every page: an https URL of an image, or a path on this site")
	fs.StringVar(&o.color, "color", "", "the brand's colour of the pages' header and buttons, #RRGGBB")
	fs.Float64Var(&o.orderRate, "order-points-per-yuan", 0, "points a purchase order (POST /v1/orders) earns per yuan, before the tier multiplier; at most two decimals, 0 refuses orders")
	fs.StringVar(&o.tiersFile, "tiers", "", "a JSON file of the brand's tier ladder, [{\"name\",\"min_growth\",\"multiplier\",\"benefit\"}] by increasing min_growth ([] removes it)")
	fs.IntVar(&o.tierWindow, "tier-window-months", 0, fmt.Sprintf("the months of growth a tier counts, the current one included (1 to %d; 0 counts all growth)", reward.MaxTierWindowMonths))
	fs.StringVar(&o.expiry, "points-expiry", "", "when points expire: year+N (the end of the Nth year after the one they were earned in: year+1 is the end of next year), month+N, or never")
	fs.IntVar(&o.factoryPrints, "factory-prints", 0, fmt.Sprintf("how many times over a factory token may download each batch's codes (files, images, labels; default %d)", reward.DefaultFactoryPrints))
}

// brandSetFunc changes the settings whose flags were given.
func brandSetFunc(cmd *cobra.Command, r *remoteOptions, o *brandSetOptions, _ []string) error {
	var c reward.BrandChange
	fs := cmd.Flags()
	if fs.Changed("base-url") {
		if err := reward.CheckBaseURL(o.baseURL); err != nil {
			return usageError{err}
		}
		c.BaseURL = &o.baseURL
	}
	setIfChanged(fs, "name", &o.name, &c.Name)
	if fs.Changed("time-zone") || fs.Changed("tz") {
		if o.tz != "" {
			if err := reward.CheckTimeZone(o.tz); err != nil {
				return usageError{err}
			}
		}
		c.TimeZone = &o.tz
	}
	if fs.Changed("wechat-scope") {
		if o.wechatScope != reward.WeChatBase && o.wechatScope != reward.WeChatUserInfo && o.wechatScope != "" {
			return usagef("--wechat-scope %q: use base or userinfo", o.wechatScope)
		}
		c.WeChatScope = &o.wechatScope
	}
	setIfChanged(fs, "logo-url", &o.logo, &c.LogoURL)
	setIfChanged(fs, "color", &o.color, &c.Color)
	if fs.Changed("factory-prints") {
		if o.factoryPrints < 0 || o.factoryPrints > reward.MaxFactoryPrints {
			return usagef("--factory-prints %d: 1 to %d (0 restores the default, %d)", o.factoryPrints, reward.MaxFactoryPrints, reward.DefaultFactoryPrints)
		}
		c.FactoryPrints = &o.factoryPrints
	}
	setIfChanged(fs, "order-points-per-yuan", &o.orderRate, &c.OrderPointsPerYuan)
	if fs.Changed("tiers") {
		raw, err := os.ReadFile(o.tiersFile)
		if err != nil {
			return usagef("--tiers: %v", err)
		}
		var tiers []reward.Tier
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tiers); err != nil {
			return usagef("--tiers %s: not a JSON list of tiers: %v", o.tiersFile, err)
		}
		c.Tiers = &tiers
	}
	if fs.Changed("points-expiry") {
		r, err := parseExpiry(o.expiry)
		if err != nil {
			return err
		}
		c.PointsExpiry = r
	}
	setIfChanged(fs, "tier-window-months", &o.tierWindow, &c.TierWindowMonths)
	if c == (reward.BrandChange{}) {
		return usagef("give at least one of --base-url, --name, --time-zone, --logo-url, --color, --factory-prints, --wechat-scope, --order-points-per-yuan, --tiers, --tier-window-months, --points-expiry")
	}
	return printResult(cmd, r, func(a scan.Admin) (*scan.BrandView, error) {
		b, err := a.SetBrand(c)
		if err == nil && c.BaseURL != nil {
			if w := printing.BaseURLWarning(b.BaseURL); w != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), w)
			}
		}
		return b, err
	})
}

// baseURLFlag is the --base-url of a printing command: it overrides the
// brand's stored URL for one run.
type baseURLFlag struct {
	value string
	// warning is what warn says once the printing succeeded: before it, a
	// failure's message stays the first thing on stderr.
	warning string
}

func (f *baseURLFlag) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.value, "base-url", "", "origin of the printed URLs for this run only (default: the brand's, see yima brand set)")
}

// resolve returns the base URL to print with: --base-url, else the one a
// server prints with, else the brand's stored one. With none it refuses.
// A URL no consumer could open is warned about by warn.
func (f *baseURLFlag) resolve(cmd *cobra.Command, a scan.Admin) (string, error) {
	base := f.value
	if cmd.Flags().Changed("base-url") {
		if err := reward.CheckBaseURL(base); err != nil {
			return "", usageError{err}
		}
	} else {
		b, err := a.Brand()
		if err != nil {
			return "", err
		}
		if base = b.PrintBaseURL; base == "" {
			return "", reward.ErrBaseURLUnset
		}
	}
	f.warning = printing.BaseURLWarning(base)
	return base, nil
}

// warn writes the warning about the URL printed with, if any, on stderr.
func (f *baseURLFlag) warn(cmd *cobra.Command) {
	if f.warning != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), f.warning)
	}
}

// parseExpiry reads --points-expiry: year+N, month+N or never.
func parseExpiry(s string) (*reward.ExpiryRule, error) {
	if s == "never" {
		return &reward.ExpiryRule{}, nil
	}
	unit, n, ok := strings.Cut(s, "+")
	after, err := strconv.Atoi(n)
	if !ok || err != nil || (unit != reward.ExpiryYear && unit != reward.ExpiryMonth) {
		return nil, usagef("--points-expiry %q: write year+N (year+1: the end of the year after the points were earned), month+N, or never", s)
	}
	return &reward.ExpiryRule{Unit: unit, After: after}, nil
}
