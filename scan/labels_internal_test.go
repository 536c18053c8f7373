package scan

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/node/datadir"
)

// TestOneLabelSheetAtATime asks for a label sheet while another is being
// made: the answer is 429 busy with a Retry-After, and once the other is
// done the same request gets its PDF.
func TestOneLabelSheetAtATime(t *testing.T) {
	dir := t.TempDir()
	app, err := datadir.Open(dir, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	b, err := app.Engine.CreateBatch(reward.BatchSpec{Product: "SKU", Count: 4})
	if err != nil {
		t.Fatal(err)
	}
	admin := app.AdminToken()
	s := NewServer(Backend{Engine: app.Engine, AdminToken: admin, Dir: app}, Options{BaseURL: "HTTPS://YIMA.EXAMPLE", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	get := func() *fasthttp.RequestCtx {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(fmt.Sprintf("/v1/batches/%d/labels.pdf", b.ID))
		ctx.Request.Header.Set("Authorization", "Bearer "+admin)
		s.handle(&ctx)
		return &ctx
	}

	s.sheets <- struct{}{} // another sheet in the making
	ctx := get()
	if ctx.Response.StatusCode() != 429 || !bytes.Contains(ctx.Response.Body(), []byte(`"busy"`)) || len(ctx.Response.Header.Peek("Retry-After")) == 0 {
		t.Fatalf("a sheet while another is made: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	<-s.sheets
	if ctx := get(); ctx.Response.StatusCode() != 200 || !bytes.HasPrefix(ctx.Response.Body(), []byte("%PDF-")) {
		t.Fatalf("a sheet once the other is done: %d %.80s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}
