package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// WeChat is the web sign-in of a WeChat official account (网页授权): the
// browser is sent to AuthorizeURL, WeChat sends it back to the redirect
// URL with a code, and Exchange turns the code into the person's openid
// (and unionid, when the account is bound to an open platform), UserInfo
// into their nickname under snsapi_userinfo.
type WeChat struct {
	AppID, Secret string
	// APIBase answers sns/oauth2/access_token and sns/userinfo; default
	// https://api.weixin.qq.com. OpenBase answers connect/oauth2/authorize;
	// default https://open.weixin.qq.com. Tests point both at a fake.
	APIBase, OpenBase string
	// Client defaults to one with a 10 s timeout.
	Client *http.Client
}

// Scopes of the authorize step: snsapi_base is silent and yields the
// openid; snsapi_userinfo asks the person and yields their nickname too.
const (
	ScopeBase     = "snsapi_base"
	ScopeUserInfo = "snsapi_userinfo"
)

// Configured reports whether an official account is set.
func (w *WeChat) Configured() bool { return w != nil && w.AppID != "" && w.Secret != "" }

func (w *WeChat) apiBase() string {
	if w.APIBase != "" {
		return strings.TrimRight(w.APIBase, "/")
	}
	return "https://api.weixin.qq.com"
}

func (w *WeChat) openBase() string {
	if w.OpenBase != "" {
		return strings.TrimRight(w.OpenBase, "/")
	}
	return "https://open.weixin.qq.com"
}

// AuthorizeURL is where a browser goes to sign in: WeChat returns it to
// redirect with ?code=...&state=state.
func (w *WeChat) AuthorizeURL(redirect, scope, state string) string {
	// WeChat checks the parameters' order, so they are written by hand.
	return w.openBase() + "/connect/oauth2/authorize?appid=" + url.QueryEscape(w.AppID) +
		"&redirect_uri=" + url.QueryEscape(redirect) + "&response_type=code&scope=" + url.QueryEscape(scope) +
		"&state=" + url.QueryEscape(state) + "#wechat_redirect"
}

// Token is what a code is exchanged for.
type Token struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	OpenID      string `json:"openid"`
	UnionID     string `json:"unionid"`
	Scope       string `json:"scope"`
}

// UserInfo is a person's profile under snsapi_userinfo.
type UserInfo struct {
	OpenID   string `json:"openid"`
	UnionID  string `json:"unionid"`
	Nickname string `json:"nickname"`
}

// Error is an answer of WeChat's with an errcode: 40029 an invalid or
// expired code, 40163 a code already used, 40013 a wrong app id, 40125 a
// wrong secret.
type Error struct {
	Code    int    `json:"errcode"`
	Message string `json:"errmsg"`
}

func (e *Error) Error() string { return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Message) }

// Errcodes a sign-in meets.
const (
	ErrCodeInvalidCode = 40029
	ErrCodeCodeUsed    = 40163
	ErrCodeBadAppID    = 40013
	ErrCodeBadSecret   = 40125
)

// ErrUnreachable wraps a failure to hear from WeChat at all.
var ErrUnreachable = errors.New("identity: WeChat did not answer")

// Exchange trades the code WeChat gave the browser for the person's ids.
func (w *WeChat) Exchange(ctx context.Context, code string) (*Token, error) {
	q := url.Values{"appid": {w.AppID}, "secret": {w.Secret}, "code": {code}, "grant_type": {"authorization_code"}}
	var t Token
	if err := w.get(ctx, "/sns/oauth2/access_token?"+q.Encode(), &t); err != nil {
		return nil, err
	}
	if t.OpenID == "" {
		return nil, fmt.Errorf("%w: an answer without an openid", ErrUnreachable)
	}
	return &t, nil
}

// UserInfo reads the person's profile with a snsapi_userinfo token.
func (w *WeChat) UserInfo(ctx context.Context, t *Token) (*UserInfo, error) {
	q := url.Values{"access_token": {t.AccessToken}, "openid": {t.OpenID}, "lang": {"zh_CN"}}
	var u UserInfo
	if err := w.get(ctx, "/sns/userinfo?"+q.Encode(), &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// get reads one of WeChat's JSON answers into v, or its Error. WeChat
// answers errors with status 200 and an errcode.
func (w *WeChat) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.apiBase()+path, nil)
	if err != nil {
		return err
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL holds the secret: keep it out of the error.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: status %d", ErrUnreachable, resp.StatusCode)
	}
	var e Error
	if json.Unmarshal(body, &e) == nil && e.Code != 0 {
		return &e
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: an answer that is not JSON", ErrUnreachable)
	}
	return nil
}
