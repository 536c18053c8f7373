package scan

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"

	fastjson "github.com/segmentio/encoding/json"
	"github.com/valyala/fasthttp"
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
