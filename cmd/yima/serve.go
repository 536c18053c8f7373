package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/codegen/printing"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
	"github.com/yima-dev/yima/scan/identity"
	"github.com/yima-dev/yima/scan/node"
	"github.com/yima-dev/yima/scan/node/datadir"
)

type serveOptions struct {
	scan.Options
	logLevel       string
	logFormat      string
	statsTZ        string
	acceptDataLoss bool
	proxies        []string
	smsSender      string
	smsURL         string
	smsKey         string
	wechat         identity.WeChat
	wechatScope    string
	regionTable    string
	lanes          int
}

func (o *serveOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&o.BaseURL, "base-url", "", "public origin of code URLs, overriding the brand's stored one (yima brand set --base-url)")
	fs.IntVar(&o.MaxConnsPerIP, "max-conns-per-ip", 0, "connections one client address may hold (0: default 4096)")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", 0, "time to read a whole request (0: default 5s)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error (debug adds the storage engine's own messages)")
	fs.StringVar(&o.logFormat, "log-format", "text", "text (key=value lines) or json (one JSON object a line, for log collectors)")
	fs.BoolVar(&o.AccessLog, "access-log", false, "log every request: its id (answered in X-Request-Id), client, method, path, status, size and time")
	fs.IntVar(&o.MaxExports, "max-exports", 0, "heavy downloads made at once, image archives (images.zip), label sheets (labels.pdf) and exports (/v1/export) together (0: default 2)")
	fs.StringSliceVar(&o.LabelFonts, "label-font", nil, fmt.Sprintf("TrueType (.ttf) font label sheets draw non-ASCII text in, each character in the first font that has it (repeatable; default %s)", strings.Join(printing.DefaultLabelFonts, ", ")))
	fs.StringSliceVar(&o.proxies, "trusted-proxy", nil, "address or CIDR of a reverse proxy whose --client-ip-header names the client (repeatable); turns off --max-conns-per-ip")
	fs.StringVar(&o.ClientIPHeader, "client-ip-header", "X-Forwarded-For", "header a trusted proxy puts the client's address in")
	fs.StringVar(&o.RegionHeader, "region-header", "", "header in which a --trusted-proxy gives the client's region (its geo lookup), for anti-diversion of claims on the pages")
	fs.StringVar(&o.regionTable, "region-table", "", "file of the brand's address ranges and their regions, one \"CIDR,region\" a line, for anti-diversion of claims on the pages")
	fs.StringVar(&o.statsTZ, "stats-tz", "", "deprecated: the brand's time zone while it stores none (yima brand set --time-zone wins), an IANA name; default "+reward.DefaultTimeZone)
	fs.StringVar(&o.Language, "lang", scan.DefaultLanguage, fmt.Sprintf("language of the pages when the browser prefers none of %s (?lang= and Accept-Language choose otherwise)", strings.Join(scan.Languages(), " or ")))
	fs.Float64Var(&o.Limits.PerAddress, "limit-per-address", 0, "requests a second one client address may send to the pages and public lookups (0: default 20, bursts of 200)")
	fs.Float64Var(&o.Limits.PerMember, "limit-per-member", 0, "scans a second one member, and one device, may send (0: default 1, bursts of 30)")
	fs.BoolVar(&o.Limits.Off, "no-limits", false, "turn off the request limits and the lockout after forged codes (a load test from one address)")
	fs.StringVar(&o.smsSender, "sms-sender", "log", "how consumers' one-time sign-in codes are sent: log (written to this server's log, for development only) or http (posted to --sms-url, signed with --sms-key)")
	fs.StringVar(&o.smsURL, "sms-url", "", "the SMS gateway's URL for --sms-sender http")
	fs.StringVar(&o.smsKey, "sms-key", "", "the key that signs each message to the SMS gateway (HMAC-SHA256 in X-Yima-Signature); prefer YIMA_SMS_KEY, which ps does not show")
	fs.StringVar(&o.wechat.AppID, "wechat-app-id", "", "the WeChat official account's app id (AppID); with --wechat-secret, pages offer WeChat sign-in")
	fs.StringVar(&o.wechat.Secret, "wechat-secret", "", "the official account's AppSecret; prefer YIMA_WECHAT_SECRET, which ps does not show")
	fs.StringVar(&o.wechat.APIBase, "wechat-api-base", "https://api.weixin.qq.com", "base URL of WeChat's sns API (access_token, userinfo)")
	fs.StringVar(&o.wechat.OpenBase, "wechat-open-base", "https://open.weixin.qq.com", "base URL of WeChat's authorize page")
	fs.StringVar(&o.wechatScope, "wechat-scope", "", "deprecated: what WeChat sign-in asks while the brand has not chosen (yima brand set --wechat-scope wins): base or userinfo; default base")
	fs.DurationVar(&o.SignIn.SessionTTL, "session-ttl", 0, "how long a consumer stays signed in (0: default 720h, 30 days)")
	fs.BoolVar(&o.Webhooks.AllowPrivate, "webhook-allow-private", false, "let webhooks reach loopback, private and link-local addresses (refused by default, so an admin token cannot probe this server's own network)")
	fs.DurationVar(&o.EventsRetention, "events-retention", scan.DefaultEventsRetention, "how long the event feed (/v1/events) keeps events; older ones are compacted away in the background (-1s: forever)")
	fs.IntVar(&o.lanes, "lanes", 0, "with --db: groups of decisions this node has in flight on the database at once, each on a connection of its own (0: the default, 1); see docs/cluster.md, Sizing the lanes")
	fs.BoolVar(&o.acceptDataLoss, "accept-data-loss", false, "start on a store whose log is damaged, with what is readable: payouts after the damage are forgotten and may pay again (use once, only without a backup)")
}

func newServeCommand(g *globalOptions) *cobra.Command {
	cmd := local(g, &cobra.Command{
		Use:   "serve",
		Short: "Run the scan service",
		Long: `serve answers consumers and integrators over HTTP until SIGINT or SIGTERM, then
stops accepting, finishes in-flight requests and closes the store. It exits
non-zero if storage fails, so that a supervisor restarts it.

Every flag but --accept-data-loss has an environment form, YIMA_ and the flag's name
in capitals with _ for - (--base-url is YIMA_BASE_URL); a flag on the command line
wins over its variable.`,
		Args: cobra.NoArgs,
	}, serveFunc)
	envFlags(cmd.Flags())
	return cmd
}

// serveFunc checks the flags, then runs a node on the data directory until
// SIGINT or SIGTERM, or until storage fails.
func serveFunc(cmd *cobra.Command, g *globalOptions, o *serveOptions, _ []string) error {
	if err := applyEnv(cmd.LocalFlags()); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usagef("--log-level %q: use debug, info, warn or error", o.logLevel)
	}
	var zone *time.Location // nil: reward.DefaultTimeZone, when the brand stores none
	if o.statsTZ != "" {
		var err error
		if zone, err = time.LoadLocation(o.statsTZ); err != nil {
			return usagef("--stats-tz %q: %v (use an IANA name such as Asia/Shanghai)", o.statsTZ, err)
		}
	}
	if !slices.Contains(scan.Languages(), o.Language) {
		return usagef("--lang %q: use %s", o.Language, strings.Join(scan.Languages(), " or "))
	}
	if err := checkLanes(o.lanes, g.db); err != nil {
		return err
	}
	if o.BaseURL != "" {
		if err := reward.CheckBaseURL(o.BaseURL); err != nil {
			return usageError{err}
		}
	}
	hopts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	switch o.logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), hopts))
	case "json":
		log = slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), hopts))
	default:
		return usagef("--log-format %q: use text or json", o.logFormat)
	}
	o.Logger = log
	for _, p := range o.proxies {
		prefix, err := parsePrefix(p)
		if err != nil {
			return usagef("--trusted-proxy %q: give an address or a CIDR such as 10.0.0.0/8", p)
		}
		o.TrustedProxies = append(o.TrustedProxies, prefix)
	}
	if err := o.signIn(log); err != nil {
		return err
	}
	if o.RegionHeader != "" && len(o.TrustedProxies) == 0 {
		return usagef("--region-header is read only from a --trusted-proxy: name the proxy that sets it")
	}
	if o.regionTable != "" {
		t, err := scan.LoadRegionTable(o.regionTable)
		if err != nil {
			return usagef("--region-table: %v", err)
		}
		o.Regions = t
	}
	if w := printing.BaseURLWarning(o.BaseURL); o.BaseURL != "" && w != "" {
		log.Warn(w)
	}
	// A signal once the node listens stops it gracefully.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dopts, err := g.dirOptions()
	if err != nil {
		return err
	}
	n, err := node.Open(node.Options{Dir: g.data, Store: dopts.Store, KEK: dopts.KEK, Lanes: o.lanes, Server: o.Options, Zone: zone, AcceptDataLoss: o.acceptDataLoss})
	if err != nil {
		return err
	}
	return n.Run(ctx)
}

// parsePrefix reads a CIDR, or one address as the prefix of just it.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// signIn sets the server's consumer sign-in from the flags.
func (o *serveOptions) signIn(log *slog.Logger) error {
	switch o.smsSender {
	case "log":
		o.SignIn.SMS = identity.LogSender{Log: log}
		log.Warn("--sms-sender log: one-time sign-in codes are written to this log, not sent; use --sms-sender http where consumers sign in")
	case "http":
		if o.smsURL == "" || o.smsKey == "" {
			return usagef("--sms-sender http needs --sms-url and --sms-key (or YIMA_SMS_URL and YIMA_SMS_KEY)")
		}
		if u, err := url.Parse(o.smsURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return usagef("--sms-url %q: give the gateway's http(s) URL", o.smsURL)
		}
		o.SignIn.SMS = identity.HTTPSender{URL: o.smsURL, Key: []byte(o.smsKey)}
	default:
		return usagef("--sms-sender %q: use log or http", o.smsSender)
	}
	switch o.wechatScope {
	case "":
	case "base":
		o.SignIn.WeChatScope = identity.ScopeBase
	case "userinfo":
		o.SignIn.WeChatScope = identity.ScopeUserInfo
	default:
		return usagef("--wechat-scope %q: use base or userinfo", o.wechatScope)
	}
	if (o.wechat.AppID == "") != (o.wechat.Secret == "") {
		return usagef("WeChat sign-in needs both --wechat-app-id and --wechat-secret (or YIMA_WECHAT_SECRET)")
	}
	if o.wechat.Configured() {
		w := o.wechat
		o.SignIn.WeChat = &w
	}
	if o.SignIn.SessionTTL < 0 {
		return usagef("--session-ttl %s: give a positive duration such as 720h", o.SignIn.SessionTTL)
	}
	return nil
}

// checkLanes refuses a --lanes out of range, or given without --db: a
// data directory's Pebble store decides in one lane.
func checkLanes(lanes int, db string) error {
	switch {
	case lanes < 0 || lanes > datadir.MaxLanes:
		return usagef("--lanes %d: give 1 to %d (groups in flight at once; each holds a database connection)", lanes, datadir.MaxLanes)
	case lanes > 0 && db == "":
		return usagef("--lanes is for a node on PostgreSQL (--db postgres://...); a data directory's store decides in one lane")
	}
	return nil
}
