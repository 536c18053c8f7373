package scan

import (
	"crypto/hmac"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/ksuid"
	"github.com/valyala/fasthttp"
)

// deviceCookie names the browser itself, apart from whoever uses it: the
// visitor cookie (yima_v) is the member of a browser that has not signed
// in, and a sign-in may change the member, never the device. A web claim
// names the device, so that a campaign's daily_limit_per_device and the
// once-per-device new-member bonus apply to the page as to an app.
const deviceCookie = "yima_d"

// freshDevice is how long a device counts as new: claims from devices
// younger than this are what a script that drops its cookies makes, and
// are held to Limits.NewDevices per address.
const freshDevice = 24 * time.Hour

// device returns the browser's device id, setting the cookie when it has
// none (or one the server did not sign), and when the id was made.
func (s *Server) device(ctx *fasthttp.RequestCtx) (id string, born time.Time) {
	if id, ok := ctx.UserValue(deviceCookie).(string); ok {
		k, _ := ksuid.Parse(id)
		return id, k.Time()
	}
	v := string(ctx.Request.Header.Cookie(deviceCookie))
	if id, mac, ok := strings.Cut(v, "."); ok && hmac.Equal([]byte(mac), []byte(s.deviceTag(id))) {
		if k, err := ksuid.Parse(id); err == nil {
			ctx.SetUserValue(deviceCookie, id)
			return id, k.Time()
		}
	}
	k := ksuid.New()
	id = k.String()
	ctx.SetUserValue(deviceCookie, id)
	_, mac := s.macs()
	var b [64]byte
	s.setLongCookie(ctx, deviceCookie, mac.appendToken(append(append(b[:0], id...), '.'), id, deviceTagLen))
	return id, k.Time()
}

// deviceTagLen is how many bytes of its MAC a device cookie carries.
const deviceTagLen = 12

// longCookieAge is how long the visitor and device cookies live: two
// years, in seconds.
const longCookieAge = 2 * 365 * 24 * 3600

// setLongCookie sets the visitor or the device cookie to value: kept
// longCookieAge, for the whole site, HTTP-only so no script reads it,
// SameSite=Lax so a claim posted from another site carries none, and
// Secure on an https site. The line is the one fasthttp.Cookie writes
// (TestLongCookieAsFasthttpWritesIt), written straight into the answer's
// header: a phone's first view of a landing page sets both cookies, and a
// fasthttp.Cookie allocates for each of its parts.
func (s *Server) setLongCookie(ctx *fasthttp.RequestCtx, key string, value []byte) {
	var b [160]byte
	line := append(append(append(b[:0], key...), '='), value...)
	line = strconv.AppendInt(append(line, "; max-age="...), longCookieAge, 10)
	line = append(line, "; path=/; HttpOnly"...)
	if s.secure() {
		line = append(line, "; secure"...)
	}
	line = append(line, "; SameSite=Lax"...)
	// Set-Cookie is one header per cookie: the cookie replaces one set
	// earlier in this answer, as Header.SetCookie would.
	ctx.Response.Header.DelCookie(key)
	ctx.Response.Header.SetCanonical(setCookieHeader, line)
}

var setCookieHeader = []byte(fasthttp.HeaderSetCookie)

// deviceTag signs a device id, so that its age can be believed: a device id
// that claims to be old must have been handed out that long ago.
func (s *Server) deviceTag(id string) string {
	_, device := s.macs()
	return device.token(id, deviceTagLen)
}

// limitNewDevice holds devices first seen within freshDevice to
// Limits.NewDevices claiming an hour per client address: each costs a script one
// page view, so without it one address could claim as a new member with a
// new device as fast as its request limit allows.
// A device is counted once, at its first claim: a person on a new phone
// may claim many codes on their first day.
func (s *Server) limitNewDevice(ctx *fasthttp.RequestCtx, device string, born time.Time) error {
	o := s.limits.opts
	if o.Off || s.limits.now().Sub(born) >= freshDevice || s.limits.known("c:"+device) {
		return nil
	}
	if err := s.limits.allow("n:"+s.clientIP(ctx).String(), o.NewDevices/3600, o.NewDeviceBurst); err != nil {
		return err
	}
	s.limits.mark("c:" + device)
	return nil
}
