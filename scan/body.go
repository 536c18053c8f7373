package scan

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	fastjson "github.com/segmentio/encoding/json"
	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// Request bodies. Every body the API reads is one JSON object; a body that
// is not one is refused with 400 invalid_json before anything happens,
// including on endpoints whose body is optional or that take none: a
// client whose JSON broke on the way must not get the action done with
// defaults instead of what it asked.

// decode reads a JSON body into v, refusing unknown fields so that a typo
// is an error, not a silently ignored field.
func decode(ctx *fasthttp.RequestCtx, v any) error {
	body := ctx.PostBody()
	if len(bytes.TrimSpace(body)) == 0 {
		return errorf(codeBadJSON, "the request needs a JSON body")
	}
	return decodeBody(body, v)
}

// decodeOptional is decode for endpoints whose body may be left out: an
// absent body leaves v as it is, any other body must be a JSON object v
// takes.
func decodeOptional(ctx *fasthttp.RequestCtx, v any) error {
	body := ctx.PostBody()
	if len(body) == 0 {
		return nil
	}
	return decodeBody(body, v)
}

// noBody refuses a body on an endpoint that takes none, other than an
// empty object.
func noBody(ctx *fasthttp.RequestCtx) error {
	var none struct{}
	return decodeOptional(ctx, &none)
}

func decodeBody(body []byte, v any) error {
	// A JSON decoder may turn invalid UTF-8 into U+FFFD, so "m\xff" and
	// "m\xfe" would both become member "m\uFFFD": one account for two ids.
	if !utf8.Valid(body) {
		return errorf(codeBadJSON, "the body is not valid UTF-8; JSON text must be")
	}
	if err := checkObject(body); err != nil {
		return err
	}
	// segmentio's parser, as for records: every scan decodes a body. It
	// copies strings, so nothing points into fasthttp's reused buffers.
	rest, err := fastjson.Parse(body, v, fastjson.DisallowUnknownFields)
	if err != nil {
		return jsonError(err)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return errorf(codeBadJSON, "the body has data after its JSON object; send one object")
	}
	return nil
}

// checkObject refuses a body that is not one JSON object: null, an array,
// a bare value, broken or truncated JSON.
func checkObject(body []byte) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errorf(codeBadJSON, "the body must be one JSON object, {...}")
	}
	if !fastjson.Valid(trimmed) {
		// Valid is false for trailing data too; say which.
		if rest, err := fastjson.Parse(trimmed, new(any), 0); err == nil && len(bytes.TrimSpace(rest)) != 0 {
			return errorf(codeBadJSON, "the body has data after its JSON object; send one object")
		}
		return errorf(codeBadJSON, "the body is not valid JSON; send one JSON object")
	}
	return nil
}

// jsonError says what is wrong with a body in the API's terms, never the
// server's Go types.
func jsonError(err error) error {
	var te *fastjson.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return errorf(codeBadJSON, "field %q must be %s, not %s", te.Field, jsonKind(te.Type), te.Value)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return errorf(codeBadJSON, "unknown field %s; see /openapi.yaml for the fields this endpoint takes", msg)
	}
	return errorf(codeBadJSON, "the body is not the JSON object this endpoint takes; see /openapi.yaml")
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another type"
}

// decodeScan is decode for POST /v1/scans, which every scan sends: the
// body integrators send, one flat object of the request's string fields
// with no escapes, is read in one pass, with one copy for all its strings.
// Any other body (escapes, another type, an unknown or repeated field,
// broken JSON) goes through decode as it is, for the same request or the
// same refusal.
func decodeScan(ctx *fasthttp.RequestCtx, req *reward.ScanRequest) error {
	if plainScanBody(ctx.PostBody(), req) {
		return nil
	}
	// decode takes any value, which makes it escape: only this one.
	slow := new(reward.ScanRequest)
	err := decode(ctx, slow)
	*req = *slow
	return err
}

// setScanField sets the field of r whose JSON name is key, one of the
// string fields of reward.ScanRequest a body may set
// (TestScanFieldsAreTheRequests holds them to its tags); false for any
// other key.
func setScanField(r *reward.ScanRequest, key, v string) bool {
	switch key {
	case "code":
		r.Code = v
	case "member":
		r.Member = v
	case "guide":
		r.Guide = v
	case "region":
		r.Region = v
	case "request_id":
		r.RequestID = v
	case "device":
		r.Device = v
	case "pin":
		r.PIN = v
	case "source":
		r.Source = v
	default:
		return false
	}
	return true
}

// plainScanBody reads body into req when it is a plain scan's: valid
// UTF-8, one JSON object whose members are distinct fields setScanField
// sets, each a string without escapes or control characters, and only
// JSON whitespace around. It reports false, with req in any state, for
// anything else.
func plainScanBody(body []byte, req *reward.ScanRequest) bool {
	if !utf8.Valid(body) {
		return false
	}
	// One copy of the body; the fields are substrings of it.
	s := string(body)
	i := skipSpace(s, 0)
	if i == len(s) || s[i] != '{' {
		return false
	}
	var seen [maxScanFields]string
	for n := 0; ; n++ {
		key, next, ok := plainString(s, skipSpace(s, i+1))
		if !ok || n == len(seen) || slices.Contains(seen[:n], key) {
			return false
		}
		seen[n] = key
		i = skipSpace(s, next)
		if i == len(s) || s[i] != ':' {
			return false
		}
		val, next, ok := plainString(s, skipSpace(s, i+1))
		if !ok {
			return false
		}
		if !setScanField(req, key, val) {
			return false
		}
		i = skipSpace(s, next)
		if i == len(s) {
			return false
		}
		switch s[i] {
		case ',':
			continue
		case '}':
			return skipSpace(s, i+1) == len(s)
		default:
			return false
		}
	}
}

// maxScanFields bounds the members of a plain scan's body: each field at
// most once.
const maxScanFields = 8

// plainString reads the JSON string at s[i:], which must have no escapes
// and no control characters: its contents and the index after it.
func plainString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}
