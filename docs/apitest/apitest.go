// Package apitest checks live HTTP answers against docs/openapi.yaml, for
// tests: a test wraps its client's transport in a Transport, and every
// answer the server gives is held to the document's status codes, content
// types and schemas. It exists so that the document cannot drift from the
// server unseen; the server itself never imports it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/yima-dev/yima/docs"
)

var (
	loadOnce sync.Once
	router   routers.Router
	loadErr  error
)

// load parses and validates the embedded document once per test binary.
func load() (routers.Router, error) {
	loadOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
		if err != nil {
			loadErr = fmt.Errorf("apitest: openapi.yaml does not load: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			loadErr = fmt.Errorf("apitest: openapi.yaml is invalid: %w", err)
			return
		}
		closeSchemas(doc)
		// Tests listen on 127.0.0.1 at any port: match paths alone.
		doc.Servers = nil
		router, loadErr = legacy.NewRouter(doc)
		// Bodies that are not JSON are checked for their documented
		// content type, and read as opaque strings.
		for _, ct := range []string{"text/html", "image/png", "image/svg+xml", "application/pdf", "application/zip", "image/x-icon", "text/javascript"} {
			if openapi3filter.RegisteredBodyDecoder(ct) == nil {
				openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
			}
		}
		// The one YAML answer is this document, described as its text.
		openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.FileBodyDecoder)
	})
	return router, loadErr
}

// closeSchemas makes every object schema refuse properties it does not
// list, so that a field the server sends and the document omits fails a
// test. The document itself leaves most objects open, which is right for
// clients reading it (new fields may come) but would hide drift here. An
// object that is a member of an allOf stays open (its siblings add
// properties); the allOf itself refuses what none of its members lists.
func closeSchemas(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	inAllOf := map[*openapi3.Schema]bool{}
	var all []*openapi3.Schema
	var walk func(r *openapi3.SchemaRef)
	walk = func(r *openapi3.SchemaRef) {
		if r == nil || r.Value == nil || seen[r.Value] {
			return
		}
		s := r.Value
		seen[s] = true
		all = append(all, s)
		for _, m := range s.AllOf {
			if m.Value != nil {
				inAllOf[m.Value] = true
			}
			walk(m)
		}
		for _, list := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf, s.PrefixItems} {
			for _, m := range list {
				walk(m)
			}
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
	}
	for _, r := range doc.Components.Schemas {
		walk(r)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, resp := range op.Responses.Map() {
				if resp.Value == nil {
					continue
				}
				for _, mt := range resp.Value.Content {
					walk(mt.Schema)
				}
			}
		}
	}
	no := false
	for _, s := range all {
		switch {
		case len(s.AllOf) > 0:
			if s.UnevaluatedProperties.Has == nil && s.UnevaluatedProperties.Schema == nil {
				s.UnevaluatedProperties.Has = &no
			}
		case !inAllOf[s] && len(s.Properties) > 0:
			if s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
				s.AdditionalProperties.Has = &no
			}
		}
	}
}

// Check reports how the answer (status, header, body) to req departs from
// the document: an undocumented status or content type, a body that breaks
// its schema, an error code its response does not name, or a route the
// document lacks. It returns nil for answers
// the document describes, and for 404 and 405 answers to paths it does
// not describe (those are what an unknown route gets).
func Check(req *http.Request, status int, header http.Header, body []byte) error {
	r, err := load()
	if err != nil {
		return err
	}
	// A path segment may hold an escaped "/" (%2F): match the path as
	// sent, so that it stays one segment.
	if req.URL.RawPath != "" {
		u := *req.URL
		u.Path, u.RawPath = req.URL.EscapedPath(), ""
		req = req.Clone(req.Context())
		req.URL = &u
	}
	route, params, err := r.FindRoute(req)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%s %s answered %d, and openapi.yaml has no such operation: %v", req.Method, req.URL.Path, status, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	// A media type with parameters (charset) is looked up by its type.
	if ct := header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt != ct {
			h := header.Clone()
			h.Set("Content-Type", mt)
			in.Header = h
		}
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d %.300s, which openapi.yaml does not describe: %v", req.Method, req.URL.Path, status, body, err)
	}
	return checkErrorCode(route.Operation, req, status, body)
}

// checkErrorCode holds an error answer's code to the response it was
// matched with: the operation's response for that status, or its default,
// must name the code (as `code` in its description). Most operations have
// a default response for the errors any endpoint can give; without this
// check any status with an error body would pass as that default.
func checkErrorCode(op *openapi3.Operation, req *http.Request, status int, body []byte) error {
	if status < 400 || req.Method == http.MethodHead {
		return nil
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		return nil // the schema check has judged the body
	}
	resp := op.Responses.Status(status)
	which := strconv.Itoa(status)
	if resp == nil {
		resp, which = op.Responses.Default(), "default"
	}
	if resp == nil || resp.Value == nil || resp.Value.Description == nil {
		return fmt.Errorf("%s %s answered %d %s, and openapi.yaml describes no such response", req.Method, req.URL.Path, status, e.Error.Code)
	}
	if !strings.Contains(*resp.Value.Description, "`"+e.Error.Code+"`") {
		return fmt.Errorf("%s %s answered %d %s, which its %s response in openapi.yaml does not name", req.Method, req.URL.Path, status, e.Error.Code, which)
	}
	return nil
}

// Transport is an http.RoundTripper that checks every answer with Check
// and reports what departs from the document to TB as a test error. The
// answer is passed on unchanged.
type Transport struct {
	TB   testing.TB
	Base http.RoundTripper // nil means http.DefaultTransport
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, err
	}
	if err := Check(req, resp.StatusCode, resp.Header, body); err != nil {
		t.TB.Errorf("%v", err)
	}
	return resp, nil
}

// CloseIdleConnections passes on to Base, so that http.Client's method of
// that name still works through a Transport.
func (t *Transport) CloseIdleConnections() {
	type closeIdler interface{ CloseIdleConnections() }
	if c, ok := t.Base.(closeIdler); ok {
		c.CloseIdleConnections()
	}
}

// Wrap returns c with its transport wrapped in a Transport reporting to tb.
func Wrap(tb testing.TB, c *http.Client) *http.Client {
	c.Transport = &Transport{TB: tb, Base: c.Transport}
	return c
}
