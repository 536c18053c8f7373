package scan

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// TestInternalErrorsAreNotShown turns errors with storage detail into
// answers: the caller sees a coded message with the request id, the log
// has the detail under the same id.
func TestInternalErrorsAreNotShown(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil)), bootID: "b00t"}
	const secret = "pebble: sstable 000123.sst checksum mismatch at /srv/yima/db"
	for _, err := range []error{
		errors.New(secret),
		fmt.Errorf("reading flags: %w", errors.New(secret)),
		&reward.Error{Code: reward.CodeInternal, Message: "internal error: " + secret},
	} {
		logs.Reset()
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/v1/flags")
		s.setRequestID(&ctx)
		id := RequestID(&ctx)
		writeError(&ctx, s.public(&ctx, err))
		body := string(ctx.Response.Body())
		if ctx.Response.StatusCode() != 500 || !strings.Contains(body, `"code":"internal"`) {
			t.Fatalf("answer to %v: %d %s", err, ctx.Response.StatusCode(), body)
		}
		if strings.Contains(body, "sstable") || strings.Contains(body, "/srv/") || strings.Contains(body, "pebble") {
			t.Errorf("the answer shows the detail: %s", body)
		}
		if id == "" || !strings.Contains(body, id) {
			t.Errorf("the answer does not quote request id %q: %s", id, body)
		}
		if !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), "checksum mismatch") {
			t.Errorf("the log lacks the id or the detail: %s", logs.String())
		}
	}
	// Coded errors are the caller's to read and pass as they are.
	var ctx fasthttp.RequestCtx
	coded := &reward.Error{Code: reward.CodeAlreadyRedeemed, Message: "already redeemed"}
	if got := s.public(&ctx, coded); got != error(coded) {
		t.Errorf("a coded error was replaced: %v", got)
	}
}
