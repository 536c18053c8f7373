package client

import (
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

var _ scan.ExportAdmin = (*Client)(nil)

// Export reads GET /v1/export/{kind} into w. It counts the records as they
// arrive, for progress and to refuse an export that ended short of the
// count the server announced.
func (c *Client) Export(w io.Writer, q reward.ExportQuery, started func(scan.ExportStart), progress func(int64)) (int64, error) {
	v := url.Values{"format": {q.Format}}
	if q.Since != "" {
		v.Set("since", q.Since)
	}
	if q.BOM {
		v.Set("bom", "true")
	}
	resp, err := c.send("GET", "/v1/export/"+url.PathEscape(q.Kind)+"?"+v.Encode(), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st scan.ExportStart
	st.Records, err = strconv.ParseInt(resp.Header.Get(scan.ExportRecordsHeader), 10, 64)
	if err == nil {
		st.Seq, err = strconv.ParseUint(resp.Header.Get(scan.ExportSeqHeader), 10, 64)
	}
	if err != nil {
		return 0, fmt.Errorf("client: the server's export answer has no record count (%s); is it a yima server of this version?", scan.ExportRecordsHeader)
	}
	if started != nil {
		started(st)
	}
	rc := &recordCounter{w: w, csv: q.Format == reward.FormatCSV, progress: progress}
	if _, err := io.Copy(rc, resp.Body); err != nil {
		return rc.records(), fmt.Errorf("client: the export broke off after %d of %d records: %w", rc.records(), st.Records, err)
	}
	if n := rc.records(); n != st.Records || rc.open {
		return n, fmt.Errorf("client: the export ended after %d of %d records; it is incomplete, export again", n, st.Records)
	}
	if progress != nil {
		progress(st.Records)
	}
	return st.Records, nil
}

// recordCounter counts the records passing through: NDJSON lines, or CSV
// rows after the header, whose quoted cells may hold line breaks (a
// doubled quote inside a cell toggles twice, so counting quotes is
// enough).
type recordCounter struct {
	w        io.Writer
	csv      bool
	quoted   bool
	lines    int64
	open     bool // a record begun and not yet ended
	progress func(int64)
	reported int64
}

func (c *recordCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		switch {
		case b == '"' && c.csv:
			c.quoted = !c.quoted
			c.open = true
		case b == '\n' && !c.quoted:
			c.lines++
			c.open = false
		case b != '\r':
			c.open = true
		}
	}
	if n := c.records(); c.progress != nil && n-c.reported >= 1024 {
		c.reported = n
		c.progress(n)
	}
	return c.w.Write(p)
}

func (c *recordCounter) records() int64 {
	if c.csv && c.lines > 0 {
		return c.lines - 1 // the header
	}
	return c.lines
}
