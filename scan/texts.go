package scan

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// Every word a page shows lives in locales/<language>.json, one catalog per
// language with the same keys (TestCatalogsHaveTheSameKeys); handlers and
// templates name a key, never a sentence. A page speaks the language the
// request asks for with ?lang=, else the one its browser prefers
// (Accept-Language), else the server's (Options.Language), which is
// Chinese unless the brand says otherwise.
//
//go:embed locales/*.json
var localeFiles embed.FS

// locale is one language the pages speak: its catalog, a printer that
// formats with it, and the page templates bound to that printer.
type locale struct {
	name  string       // as Options.Language and ?lang= name it
	tag   language.Tag // as the browser and the lang attribute name it
	keys  map[string]string
	p     *message.Printer
	pages *template.Template
	// dashboard is the operator's /admin page in this language.
	dashboard *template.Template
	// landing is the landing page's words (landingpage.go).
	landing *landingWords
}

var (
	locales = []*locale{
		{name: "zh", tag: language.MustParse("zh-CN")},
		{name: "en", tag: language.English},
	}
	pageCatalog = catalog.NewBuilder(catalog.Fallback(language.English))
)

func init() {
	for _, l := range locales {
		raw, err := localeFiles.ReadFile("locales/" + l.name + ".json")
		if err != nil {
			panic(err)
		}
		if err := json.Unmarshal(raw, &l.keys); err != nil {
			panic(fmt.Sprintf("locales/%s.json: %v", l.name, err))
		}
		for k, v := range l.keys {
			if err := pageCatalog.SetString(l.tag, k, v); err != nil {
				panic(fmt.Sprintf("locales/%s.json %q: %v", l.name, k, err))
			}
		}
		l.p = message.NewPrinter(l.tag, message.Catalog(pageCatalog))
		l.pages = template.Must(pages.Clone()).Funcs(l.funcs())
		l.dashboard = template.Must(dashboardPage.Clone()).Funcs(l.funcs())
		l.landing = newLandingWords(l)
	}
}

// funcs are the templates' words in l: t looks a key up, n writes an
// amount, status a coupon's state, left what a budget has left, dim,
// cstatus, flag and whstate the dashboard's names of the engine's words.
func (l *locale) funcs() template.FuncMap {
	return template.FuncMap{"t": l.T, "n": l.N, "status": l.status, "left": l.left,
		"dim":     func(d string) string { return l.word(dimensionKeys, d) },
		"cstatus": func(st string) string { return l.word(campaignStatusKeys, st) },
		"flag":    func(k string) string { return l.word(flagKeys, k) },
		"whstate": func(st string) string { return l.word(webhookStateKeys, st) }}
}

// left writes what remains of a budget or a stock; nil is no limit.
func (l *locale) left(p *int64) string {
	if p == nil {
		return l.T("dash.nolimit")
	}
	return l.N(*p)
}

// langQuery is "?lang=xx" when the request named its language, so that a
// redirect keeps it; else "".
func langQuery(ctx *fasthttp.RequestCtx) string {
	if l := localeNamed(string(ctx.QueryArgs().Peek("lang"))); l != nil {
		return "?lang=" + l.name
	}
	return ""
}

// DefaultLanguage is the pages' language when Options.Language is empty
// and the browser prefers none of Languages().
const DefaultLanguage = "zh"

// Languages lists the languages Options.Language and ?lang= may name.
func Languages() []string {
	var out []string
	for _, l := range locales {
		out = append(out, l.name)
	}
	slices.Sort(out)
	return out
}

// Lang is the pages' lang attribute.
func (l *locale) Lang() string { return l.tag.String() }

// T is the text of key in this language, with args in its verbs (numbers
// written the language's way).
func (l *locale) T(key string, args ...any) string { return l.p.Sprintf(key, args...) }

// text is the text of a key taken from one of the lookup tables below
// (refusalKeys, couponStatusKeys): the key-usage test reads the tables
// themselves, since it cannot follow a key held in a variable, and it
// requires every T call to name its key literally.
func (l *locale) text(key string) string { return l.p.Sprintf(key) }

// N writes an amount the language's way, with its thousands separators.
func (l *locale) N(n int64) string { return l.p.Sprint(n) }

func localeNamed(name string) *locale {
	if name == "" {
		return nil // most requests: no ?lang=, and not worth a Tag.String each
	}
	for _, l := range locales {
		if l.name == name || strings.EqualFold(l.tag.String(), name) {
			return l
		}
	}
	return nil
}

// pageWords picks the request's language: ?lang= when it names one of
// Languages(), else the best match for Accept-Language by its q-values,
// else the server's.
func (s *Server) pageWords(ctx *fasthttp.RequestCtx) *locale {
	if l := localeNamed(string(ctx.QueryArgs().Peek("lang"))); l != nil {
		return l
	}
	def := localeNamed(s.opts.Language)
	if def == nil {
		def = localeNamed(DefaultLanguage)
	}
	// A cache between a phone and the server must not hand one language's
	// page to a browser that asked for another.
	ctx.Response.Header.Add("Vary", "Accept-Language")
	if accept := ctx.Request.Header.Peek("Accept-Language"); len(accept) > 0 {
		return acceptedLocale(def, accept)
	}
	return def
}

// acceptChoices remembers the language chosen for each Accept-Language
// header (and server language) seen: matching one costs more than a
// landing page, and phones send few different headers. It holds at most
// maxAcceptChoices; others are matched each time.
var (
	acceptChoices    sync.Map // def.name + "\x00" + header → *locale
	acceptChoiceSize atomic.Int64
)

const maxAcceptChoices = 1024

// acceptedLocale is the best match for an Accept-Language header by its
// q-values, def when none matches.
func acceptedLocale(def *locale, accept []byte) *locale {
	key := def.name + "\x00" + string(accept)
	if l, ok := acceptChoices.Load(key); ok {
		return l.(*locale)
	}
	l := def
	if prefs, _, err := language.ParseAcceptLanguage(string(accept)); err == nil && len(prefs) > 0 {
		// The server's language comes first: it wins ties and answers a
		// browser that wants none of them.
		supported := []language.Tag{def.tag}
		for _, o := range locales {
			if o != def {
				supported = append(supported, o.tag)
			}
		}
		if _, i, conf := language.NewMatcher(supported).Match(prefs...); conf != language.No {
			l = localeNamed(supported[i].String())
		}
	}
	if acceptChoiceSize.Load() < maxAcceptChoices {
		if _, loaded := acceptChoices.LoadOrStore(key, l); !loaded {
			acceptChoiceSize.Add(1)
		}
	}
	return l
}

// refusalKeys are the words of the engine's refusals a page may show; a
// refusal not here shows error.other, so that a page never shows the
// engine's English to a Chinese reader.
var refusalKeys = map[reward.Code]string{
	reward.CodeInternal:           "error.internal",
	reward.CodeUnavailable:        "error.unavailable",
	reward.CodeNotFound:           "error.not_found",
	reward.CodeInvalidRequest:     "error.invalid_request",
	reward.CodeInvalidCode:        "error.invalid_code",
	reward.CodeAlreadyRedeemed:    "refusal.already_redeemed",
	reward.CodeDailyLimit:         "refusal.daily_limit",
	reward.CodeCampaignEnded:      "refusal.campaign_ended",
	reward.CodeCampaignNotStarted: "refusal.campaign_not_started",
	reward.CodeBudgetExhausted:    "refusal.budget_exhausted",
	reward.CodeBatchInactive:      "refusal.batch_inactive",
	reward.CodeBatchRevoked:       "refusal.batch_revoked",
	reward.CodePayoutHeld:         "refusal.payout_held",
	reward.CodePINRequired:        "refusal.pin_required",
	reward.CodeWrongPIN:           "refusal.wrong_pin",
	reward.CodePINLocked:          "refusal.pin_locked",
	reward.CodeAlreadyUsed:        "refusal.already_used",
	reward.CodeExpired:            "refusal.expired",
	reward.CodeCouponVoid:         "refusal.coupon_void",
	reward.CodeWrongStore:         "refusal.wrong_store",
	reward.CodeForbidden:          "refusal.forbidden",
	reward.CodeInsufficientPoints: "refusal.insufficient_points",
	reward.CodeOutOfStock:         "refusal.out_of_stock",
	reward.CodeLimitReached:       "refusal.limit_reached",
	reward.CodeRewardNotStarted:   "refusal.reward_not_started",
	reward.CodeRewardEnded:        "refusal.reward_ended",
	reward.CodeInvalidPhone:       "refusal.invalid_phone",
	reward.CodeOTPNone:            "refusal.otp_none",
	reward.CodeOTPWrong:           "refusal.otp_wrong",
	reward.CodeOTPExpired:         "refusal.otp_expired",
	reward.CodeOTPUsed:            "refusal.otp_used",
	reward.CodeOTPTooManyTries:    "refusal.otp_too_many_tries",
	reward.CodeSMSTooSoon:         "refusal.sms_too_soon",
	reward.CodeSMSDailyLimit:      "refusal.sms_daily_limit",
	codeRateLimited:               "refusal.rate_limited",
	codeWeChatRefused:             "refusal.wechat_refused",
}

// refusal is a refusal's words in this language.
func (l *locale) refusal(code reward.Code) string {
	if k, ok := refusalKeys[code]; ok {
		return l.text(k)
	}
	return l.T("error.other")
}

// couponStatusKeys are the words of a coupon's states.
var couponStatusKeys = map[string]string{
	reward.CouponIssued: "coupon.issued",
	reward.CouponUsed:   "coupon.used",
	reward.CouponVoid:   "coupon.void",
}

// status is a coupon's state in this language; an unknown one shows as
// stored.
func (l *locale) status(s string) string { return l.word(couponStatusKeys, s) }

// The dashboard's words for the engine's names: its statistics'
// dimensions, a campaign's status, a flag's kind and a webhook's state
// (WebhookView.State).
var (
	dimensionKeys = map[string]string{
		"product": "dim.product", "region": "dim.region", "guide": "dim.guide", "batch": "dim.batch",
		"source": "dim.source", "store": "dim.store",
	}
	campaignStatusKeys = map[string]string{
		"scheduled": "campaign.scheduled", "live": "campaign.live", "ended": "campaign.ended",
	}
	flagKeys = map[string]string{
		reward.FlagDiverted: "flag.diverted", reward.FlagManyScanners: "flag.many_scanners",
	}
	webhookStateKeys = map[string]string{
		"delivering": "webhook.delivering", "retrying": "webhook.retrying", "paused": "webhook.paused",
	}
)

// word is the name v in this language by one of the tables above; a name
// the table lacks shows as the engine has it.
func (l *locale) word(table map[string]string, v string) string {
	if k, ok := table[v]; ok {
		return l.text(k)
	}
	return v
}

// id writes a batch or serial number as digits only: it is a name, not
// an amount, so no thousands separators.
func id(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
