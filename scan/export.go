package scan

import (
	"bufio"
	"context"
	"io"
	"strconv"

	"github.com/valyala/fasthttp"
	"github.com/yima-dev/yima/reward"
)

// Exports over HTTP: GET /v1/export/{kind}?format=&since=&bom= streams
// reward.Engine.OpenExport's records. The answer's headers say how many
// records follow and at which event of the feed the snapshot was taken;
// an export that fails part way is cut off without the chunked body's end,
// so a client sees a broken transfer, never a short file that looks whole.

// Headers of an export's answer.
const (
	// ExportRecordsHeader is the number of records the body holds.
	ExportRecordsHeader = "Yima-Export-Records"
	// ExportSeqHeader is the last event of the feed the export includes.
	ExportSeqHeader = "Yima-Export-Seq"
)

// ExportStart is what an export's reader learns before the first record.
type ExportStart struct {
	Records int64
	Seq     uint64
}

// ExportAdmin is what yima export does, on the data directory (Local) or
// a running server (client.Client).
type ExportAdmin interface {
	// Export writes the export q asks for to w, and returns the records
	// written. started, when set, is called once before the first byte;
	// progress, when set, now and then with the records written so far.
	// On an error w holds part of the export, to be discarded.
	Export(w io.Writer, q reward.ExportQuery, started func(ExportStart), progress func(int64)) (int64, error)
}

var _ ExportAdmin = Local{}

func (l Local) Export(w io.Writer, q reward.ExportQuery, started func(ExportStart), progress func(int64)) (int64, error) {
	x, err := l.Engine.OpenExport(q)
	if err != nil {
		return 0, err
	}
	defer x.Close()
	if started != nil {
		started(ExportStart{Records: x.Records, Seq: x.Seq})
	}
	return x.WriteTo(context.Background(), w, progress)
}

// getExport answers GET /v1/export/{kind}.
func (s *Server) getExport(ctx *fasthttp.RequestCtx, _ caller, kind string) error {
	args := ctx.QueryArgs()
	q := reward.ExportQuery{Kind: kind, Format: string(args.Peek("format")), Since: string(args.Peek("since"))}
	if q.Format == "" {
		q.Format = reward.FormatNDJSON
	}
	if v := string(args.Peek("bom")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errorf(reward.CodeInvalidRequest, "bom=%q: give true or false", v)
		}
		q.BOM = b
	}
	// Refuse a bad query before taking a slot or a snapshot.
	if _, err := reward.CheckExportQuery(q, s.app.Engine.Zone()); err != nil {
		return err
	}
	// An export holds a CPU encoding records for as long as it lasts.
	if err := s.takeDownload(ctx); err != nil {
		return err
	}
	x, err := s.app.Engine.OpenExport(q)
	if err != nil {
		<-s.exports
		return err
	}
	ctx.SetContentType(x.ContentType())
	ctx.Response.Header.Set(ExportRecordsHeader, strconv.FormatInt(x.Records, 10))
	ctx.Response.Header.Set(ExportSeqHeader, strconv.FormatUint(x.Seq, 10))
	conn := ctx.Conn()
	through := s.startStream(ctx)
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer func() { <-s.exports }()
		defer x.Close()
		// A shutting-down server ends its exports.
		sctx, cancel := s.untilClosed()
		defer cancel()
		n, err := x.WriteTo(sctx, through(w), nil)
		if err != nil {
			s.log.Warn("an export ended part way (a client gone, a shutdown, a storage failure); its connection is cut so the client sees it", "kind", q.Kind, "written", n, "of", x.Records, "err", err)
			// Closed under the stream: the body's closing chunk is
			// never written.
			if conn != nil {
				conn.Close()
			}
		}
	})
	return nil
}
