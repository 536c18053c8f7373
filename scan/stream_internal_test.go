package scan

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestStallWriterBoundsSlowReaders: a stream without the fixed write
// timeout is still bounded. A client that keeps reading gets the whole
// stream however long it takes; one that stops reading is cut off a
// timeout later; and no stream outlives its overall limit.
func TestStallWriterBoundsSlowReaders(t *testing.T) {
	const timeout = 500 * time.Millisecond
	newPair := func(limit time.Duration) (*stallWriter, net.Conn, net.Conn) {
		server, client := net.Pipe() // unbuffered: a write waits for a read
		t.Cleanup(func() { server.Close(); client.Close() })
		now := time.Now()
		return &stallWriter{w: server, extend: server.SetWriteDeadline, now: time.Now, timeout: timeout, end: now.Add(limit), next: now}, server, client
	}
	chunk := make([]byte, 1024)

	// A steady reader, slower than the stream, for 3 timeouts in all.
	sw, _, client := newPair(time.Hour)
	go func(client net.Conn) {
		buf := make([]byte, 1024)
		for {
			time.Sleep(timeout / 5)
			if _, err := client.Read(buf); err != nil {
				return
			}
		}
	}(client)
	start := time.Now()
	for time.Since(start) < 3*timeout {
		if _, err := sw.Write(chunk); err != nil {
			t.Fatalf("a steady reader was cut off after %v: %v", time.Since(start), err)
		}
	}

	// A reader that stops: the write fails within about a timeout.
	sw, _, _ = newPair(time.Hour)
	start = time.Now()
	_, err := sw.Write(chunk)
	if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 20*timeout {
		t.Fatalf("a stalled reader: %v after %v, want a deadline error after about %v", err, time.Since(start), timeout)
	}

	// The overall limit, whatever the reader does.
	sw, _, client = newPair(3 * timeout)
	go io.Copy(io.Discard, client)
	start = time.Now()
	for {
		if _, err = sw.Write(chunk); err != nil {
			break
		}
	}
	if took := time.Since(start); !errors.Is(err, errStreamTooLong) && !errors.Is(err, os.ErrDeadlineExceeded) || took > 20*timeout {
		t.Fatalf("past the overall limit: %v after %v", err, took)
	}
}
