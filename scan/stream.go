package scan

import (
	"errors"
	"io"
	"time"

	"github.com/valyala/fasthttp"
)

// A download generated while it streams (a batch's codes, its image
// archive) can take minutes for millions of codes, far past the write
// timeout that bounds an ordinary answer. It gets no fixed deadline
// instead, but two bounds: the client must keep reading (each WriteTimeout
// it has taken nothing more, the connection is closed) and the whole
// download must end within Options.MaxStreamTime. A reader that stalls or
// trickles cannot hold a download slot for ever.

// errStreamTooLong ends a download past Options.MaxStreamTime.
var errStreamTooLong = errors.New("scan: the download took longer than the server allows")

// stallWriter moves the connection's write deadline forward as the stream
// makes progress. The stream writes into a bounded pipe that the server
// copies to the connection, so it only gets to write while the client
// reads: a client that stops reading stops the extensions, and the copy
// fails at the deadline.
type stallWriter struct {
	w       io.Writer
	extend  func(time.Time) error // the connection's SetWriteDeadline
	now     func() time.Time
	timeout time.Duration // the longest a client may take nothing
	end     time.Time     // the whole download's limit
	next    time.Time     // when the deadline is moved next
}

func (s *stallWriter) Write(p []byte) (int, error) {
	now := s.now()
	if !now.Before(s.end) {
		return 0, errStreamTooLong
	}
	// Moving the deadline costs a lock and a system call: a few times a
	// timeout is enough.
	if !now.Before(s.next) {
		d := now.Add(s.timeout)
		if d.After(s.end) {
			d = s.end
		}
		if err := s.extend(d); err != nil {
			return 0, err
		}
		s.next = now.Add(s.timeout / 4)
	}
	return s.w.Write(p)
}

// startStream lifts the fixed write timeout from ctx's answer, which a
// stream writes, and returns the writer the stream must write through (see
// stallWriter). It is called by the handler: the stream runs after the
// handler has returned, when ctx is no longer its to use, so it moves the
// deadline on the connection itself.
func (s *Server) startStream(ctx *fasthttp.RequestCtx) func(io.Writer) io.Writer {
	now := time.Now()
	// Set through ctx, so the server leaves the deadline to the stream; a
	// context without a connection (a test calling the handler) has none.
	_ = ctx.SetWriteDeadline(now.Add(s.opts.WriteTimeout))
	conn := ctx.Conn()
	extend := func(time.Time) error { return nil }
	if conn != nil {
		extend = conn.SetWriteDeadline
	}
	end := now.Add(s.opts.MaxStreamTime)
	return func(w io.Writer) io.Writer {
		now := time.Now()
		return &stallWriter{w: w, extend: extend, now: time.Now, timeout: s.opts.WriteTimeout, end: end, next: now}
	}
}
