package reward

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	json "github.com/segmentio/encoding/json"
)

// Printing actions, as the print log names them.
const (
	PrintCodes   = "codes"    // a CSV or text file of codes
	PrintImages  = "images"   // an archive of one image per code
	PrintLabels  = "labels"   // a PDF of label sheets
	PrintGuideQR = "guide_qr" // a guide's poster QR
)

// Print is one printing action in the print log: who asked for which codes,
// when, and with what URL. Codes printed cannot be recalled, so the brand
// can always find out who had a batch's codes in hand.
type Print struct {
	// Seq numbers the log's entries in the order they were written.
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
	// Token is the id of the token that asked ("" for the admin token or
	// the CLI on the data directory), Role its role and Factory the
	// factory it belongs to.
	Token   string `json:"token,omitempty"`
	Role    string `json:"role"`
	Factory string `json:"factory,omitempty"`
	Action  string `json:"action"`
	// Batch and From..To are the serials printed (a code action); Guide
	// is the guide of a poster.
	Batch uint32 `json:"batch,omitempty"`
	From  uint32 `json:"from,omitempty"`
	To    uint32 `json:"to,omitempty"`
	Guide string `json:"guide,omitempty"`
	// Format is csv, txt, png, svg, pdf; BaseURL the URL printed.
	Format  string `json:"format,omitempty"`
	BaseURL string `json:"base_url,omitempty"`
}

// Codes returns how many codes p printed.
func (p *Print) Codes() uint64 {
	if p.Batch == 0 || p.To < p.From {
		return 0
	}
	return uint64(p.To-p.From) + 1
}

// DefaultFactoryPrints is how many times over a factory's tokens may
// download a batch's codes when the brand has not said (Brand.FactoryPrints):
// one print run, a reprint of spoiled labels, one more.
const DefaultFactoryPrints = 3

// MaxFactoryPrints bounds the setting.
const MaxFactoryPrints = 100

// CodePrintLimit refuses a factory a download beyond the brand's limit.
const CodePrintLimit Code = "print_limit"

var (
	printPrefix = []byte("pr/")
	printSeqKey = []byte("meta/print-seq")
)

func printKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), printPrefix...), seq)
}

// printedKey counts the codes of batch id that factory tokens downloaded.
func printedKey(id uint32) []byte { return binary.BigEndian.AppendUint32([]byte("prc/"), id) }

// RecordPrint adds p to the print log before its codes are written. For a
// factory token (p.Role factory) it also counts the batch's codes it was
// given and refuses, with print_limit, a download that would take a
// factory past the brand's FactoryPrints times the batch's size: a leaked
// printer token cannot keep pulling a batch's codes. Nothing is written on
// a refusal. A download that fails midway still counts: its codes may have
// left.
func (e *Engine) RecordPrint(p Print) (*Print, error) {
	p.At = e.now()
	if err := checkID("guide", p.Guide, false); err != nil {
		return nil, err
	}
	err := e.update(func(tx Tx) error {
		if p.Role == RoleFactory && p.Batch != 0 {
			var brand Brand
			if _, err := getJSON(tx, brandKey, &brand); err != nil {
				return err
			}
			b, err := batchToChange(tx, p.Batch)
			if err != nil {
				return err
			}
			times := uint64(brand.FactoryPrintsOrDefault())
			var done uint64
			if v, found, err := tx.Get(printedKey(p.Batch)); err != nil {
				return err
			} else if found && len(v) == 8 {
				done = binary.BigEndian.Uint64(v)
			}
			limit := times * uint64(b.Count)
			if done+p.Codes() > limit {
				return &Error{Code: CodePrintLimit, Message: fmt.Sprintf(
					"batch %d's codes were downloaded %d times over already (%d codes; a factory may download each batch %d times over); ask the brand to raise the limit (yima brand set --factory-prints N)",
					p.Batch, done/uint64(b.Count), done, times),
					Details: map[string]any{"batch": p.Batch, "downloaded": done, "limit": limit}}
			}
			tx.Put(printedKey(p.Batch), binary.BigEndian.AppendUint64(nil, done+p.Codes()))
		}
		var seq uint64
		if v, found, err := tx.Get(printSeqKey); err != nil {
			return err
		} else if found && len(v) == 8 {
			seq = binary.BigEndian.Uint64(v)
		}
		p.Seq = seq + 1
		tx.Put(printSeqKey, binary.BigEndian.AppendUint64(nil, p.Seq))
		putJSON(tx, printKey(p.Seq), &p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// PrintQuery selects a page of the print log.
type PrintQuery struct {
	// Batch keeps only that batch's prints; 0 keeps all.
	Batch uint32
	// After is the Next of the previous page.
	After string
	// Limit bounds the page, 1..MaxPage (otherwise 50).
	Limit int
}

// PrintPage is a page of the print log, oldest first.
type PrintPage struct {
	Prints []Print `json:"prints"`
	Next   string  `json:"next,omitempty"`
}

// maxPrintsExamined bounds the records one page reads, matching or not.
const maxPrintsExamined = 20 * MaxPage

// Prints lists the print log, oldest first. A page may hold fewer than the
// limit and still have a Next: follow it.
func (e *Engine) Prints(q PrintQuery) (*PrintPage, error) {
	limit := pageSize(q.Limit)
	var start []byte
	if q.After != "" {
		n, err := strconv.ParseUint(q.After, 10, 64)
		if err != nil || n == 0 {
			return nil, Errorf(CodeInvalidRequest, "after %q is not a cursor this API returned", q.After)
		}
		start = printKey(n + 1)
	}
	page := &PrintPage{Prints: []Print{}}
	examined := 0
	var derr error
	err := e.db.Scan(printPrefix, start, func(k, v []byte) bool {
		examined++
		var p Print
		if derr = json.Unmarshal(v, &p); derr != nil {
			return false
		}
		if q.Batch == 0 || p.Batch == q.Batch {
			page.Prints = append(page.Prints, p)
		}
		if len(page.Prints) == limit || examined == maxPrintsExamined {
			page.Next = strconv.FormatUint(binary.BigEndian.Uint64(k[len(printPrefix):]), 10)
			return false
		}
		return true
	})
	err = firstErr(err, derr)
	if err != nil {
		return nil, wrapStore(fmt.Errorf("reading the print log: %w", err))
	}
	return page, nil
}
