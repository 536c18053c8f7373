package printing

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/yima-dev/yima/codegen"
)

// DefaultBaseURL is the base of the URL printed in each code's QR symbol.
// It is upper case, like the code, so that the whole URL stays within the QR
// alphanumeric character set (digits, A-Z, space and $%*+-./:), which takes
// 5.5 bits a character instead of 8 and keeps the symbol at version 3.
const DefaultBaseURL = "HTTPS://YIMA.EXAMPLE"

// URL returns the URL printed for code: baseURL + "/C/" + code.
func URL(baseURL, code string) string { return baseURL + "/C/" + code }

// Format is the layout of an export.
type Format string

const (
	// FormatCSV writes a header line "serial,code,url", then one line per
	// code. No field needs quoting.
	FormatCSV Format = "csv"
	// FormatTXT writes one URL per line, what label printers take.
	FormatTXT Format = "txt"
	// FormatPINs is "serial,pin" lines for the station that prints a PIN
	// batch's inner PINs: no code, no URL (see ExportOptions.PINDigits).
	FormatPINs Format = "pins"
)

// ExportOptions say which codes Export writes and how.
type ExportOptions struct {
	// Key is the signing key id; 0 means the keyset's primary key.
	Key uint8
	// Version is the batch's code version (the batch record says which);
	// 0 means codegen.MintVersion, for a batch minted now.
	Version uint8
	// Batch is the batch id, 1..MaxBatch.
	Batch uint32
	// From and To are the first and last serial, inclusive, 1..MaxSerial.
	From, To uint32
	// Format defaults to FormatCSV.
	Format Format
	// BaseURL defaults to DefaultBaseURL; a trailing slash is dropped.
	BaseURL string
	// Workers is the number of signing goroutines, default GOMAXPROCS.
	Workers int
	// ChunkSize is the number of codes a worker formats into one buffer and
	// the writer writes in one call; default 32768 (about 1.7 MB of txt).
	ChunkSize int
	// Progress, if set, is called with the number of codes written so far
	// after each chunk, from the goroutine that called Export. It must
	// return quickly: the writer waits for it.
	Progress func(done uint64)
	// PINDigits, for a batch claimed with inner PINs, is their length: CSV
	// lines gain a fourth column, pin, and FormatPINs is allowed. 0 for
	// other batches.
	PINDigits int
}

func (o *ExportOptions) ensureDefaults(ks *codegen.Keyset) error {
	if o.Format == "" {
		o.Format = FormatCSV
	}
	if o.Format != FormatCSV && o.Format != FormatTXT && o.Format != FormatPINs {
		return fmt.Errorf("printing: unknown export format %q (want csv or txt)", o.Format)
	}
	if o.Format == FormatPINs && o.PINDigits == 0 {
		return fmt.Errorf("printing: batch %d's codes are claimed without PINs: it has no PINs to print", o.Batch)
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 1 << 15
	}
	return rangeDefaults(ks, &o.Key, o.From, o.To, &o.BaseURL, &o.Workers)
}

// rangeDefaults fills and checks what every export of a serial range shares.
func rangeDefaults(ks *codegen.Keyset, key *uint8, from, to uint32, baseURL *string, workers *int) error {
	if *key == 0 {
		*key = ks.Primary
	}
	if *baseURL == "" {
		*baseURL = DefaultBaseURL
	}
	*baseURL = strings.TrimSuffix(*baseURL, "/")
	// The URL goes unquoted into CSV and into text lines.
	if strings.ContainsAny(*baseURL, ",\"\r\n\t ") {
		return fmt.Errorf("printing: base URL %q contains a comma, quote or white space", *baseURL)
	}
	if from == 0 || to < from || to > codegen.MaxSerial {
		return fmt.Errorf("printing: serial range %d..%d is not within 1..%d", from, to, codegen.MaxSerial)
	}
	if *workers <= 0 {
		*workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// buffersPerWorker lets a worker fill one buffer while another waits in its
// queue and a third is being written.
const buffersPerWorker = 3

// Export writes the codes of serials From..To of a batch to w, in serial
// order, and returns how many it wrote. Workers sign chunks of serials in
// parallel, each with its own Signer and reusable buffers; the calling
// goroutine writes the chunks in order, one large Write per chunk, so w needs
// no buffering. Nothing is allocated per code.
//
// Export stops at the first write error or when ctx is done, and returns an
// error wrapping it; what was written before stays written.
func Export(ctx context.Context, w io.Writer, ks *codegen.Keyset, opts ExportOptions) (uint64, error) {
	if err := opts.ensureDefaults(ks); err != nil {
		return 0, err
	}
	total := uint64(opts.To-opts.From) + 1
	chunk := uint64(opts.ChunkSize)
	chunks := (total + chunk - 1) / chunk
	workers := int(min(uint64(opts.Workers), chunks))
	signers, err := newSigners(ks, opts.Version, opts.Key, opts.Batch, workers)
	if err != nil {
		return 0, err
	}

	prefix := opts.BaseURL + "/C/"
	lineMax := len(prefix) + codegen.Len + 1
	var header string
	var pins []byte
	if opts.PINDigits > 0 {
		if pins = ks.PINSecretOf(opts.Key); len(pins) == 0 {
			return 0, codegen.ErrNoPINSecret
		}
		lineMax += 1 + opts.PINDigits
	}
	switch {
	case opts.Format == FormatCSV && pins != nil:
		header = "serial,code,url,pin\n"
		lineMax += len("134217727,") + codegen.Len + 1
	case opts.Format == FormatCSV:
		header = "serial,code,url\n"
		lineMax += len("134217727,") + codegen.Len + 1
	case opts.Format == FormatPINs:
		header = "serial,pin\n"
	}
	pin := pinner{secret: pins, digits: opts.PINDigits}
	// Chunk c goes to worker c % workers and comes back on that worker's
	// queue, so the writer restores serial order by visiting the queues in
	// turn: no reordering buffer, and memory bounded by the free lists.
	queues := make([]chan []byte, workers)
	free := make([]chan []byte, workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		queues[i] = make(chan []byte, buffersPerWorker)
		free[i] = make(chan []byte, buffersPerWorker)
		for range buffersPerWorker {
			free[i] <- make([]byte, 0, int(chunk)*lineMax)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := uint64(i); c < chunks; c += uint64(workers) {
				var buf []byte
				select {
				case buf = <-free[i]:
				case <-stop:
					return
				}
				lo := uint64(opts.From) + c*chunk
				hi := min(lo+chunk-1, uint64(opts.To))
				buf = appendLines(buf[:0], signers[i], opts.Format, prefix, pin, uint32(lo), uint32(hi))
				select {
				case queues[i] <- buf:
				case <-stop:
					return
				}
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	var done uint64
	stopped := func(err error) (uint64, error) {
		return done, fmt.Errorf("printing: export stopped after %d of %d codes: %w", done, total, err)
	}
	if header != "" {
		if _, err := io.WriteString(w, header); err != nil {
			return stopped(err)
		}
	}
	for c := uint64(0); c < chunks; c++ {
		if err := ctx.Err(); err != nil {
			return stopped(err)
		}
		var buf []byte
		select {
		case buf = <-queues[c%uint64(workers)]:
		case <-ctx.Done():
			return stopped(ctx.Err())
		}
		if _, err := w.Write(buf); err != nil {
			return stopped(err)
		}
		free[c%uint64(workers)] <- buf
		done += min(chunk, total-c*chunk)
		if opts.Progress != nil {
			opts.Progress(done)
		}
	}
	return done, nil
}

// appendLines appends the lines of serials lo..hi to buf.
func appendLines(buf []byte, s *codegen.Signer, f Format, prefix string, pin pinner, lo, hi uint32) []byte {
	for serial := lo; serial <= hi; serial++ {
		switch f {
		case FormatCSV:
			buf = strconv.AppendUint(buf, uint64(serial), 10)
			buf = append(buf, ',')
			code := len(buf)
			buf = s.Append(buf, serial)
			buf = append(buf, ',')
			buf = append(buf, prefix...)
			buf = append(buf, buf[code:code+codegen.Len]...)
			if pin.secret != nil {
				buf = append(buf, ',')
				buf = append(buf, pin.of(string(buf[code:code+codegen.Len]))...)
			}
		case FormatPINs:
			buf = strconv.AppendUint(buf, uint64(serial), 10)
			buf = append(buf, ',')
			buf = append(buf, pin.of(s.Code(serial))...)
		default:
			buf = append(buf, prefix...)
			buf = s.Append(buf, serial)
		}
		buf = append(buf, '\n')
	}
	return buf
}

// pinner derives a PIN batch's inner PINs while its codes are written.
type pinner struct {
	secret []byte
	digits int
}

func (p pinner) of(code string) string {
	pin, err := codegen.DerivePIN(p.secret, code, p.digits)
	if err != nil {
		// ensureDefaults and Export checked the digits and the secret.
		panic(err)
	}
	return pin
}
