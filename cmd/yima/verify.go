package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan/node/datadir"
)

func newVerifyCommand(g *globalOptions) *cobra.Command {
	return localArgs(g, &cobra.Command{
		Use: "verify CODE", Short: "Check a code offline with the local keys (exit 0 genuine, 1 not)",
		Long: `verify checks a code's signature with the data directory's keys, without a database:
exit 0 and a JSON description when genuine, exit 1 and the reason when not.
It reports whether the serial is active when the batch records are readable.`,
		Args: cobra.ExactArgs(1),
	}, verifyFunc)
}

// verifyFunc checks the code CODE with the keys of the data directory and
// describes it from the batch records when they are readable.
func verifyFunc(cmd *cobra.Command, g *globalOptions, args []string) error {
	code := args[0]
	dir := g.data
	opts, err := g.dirOptions()
	if err != nil {
		return err
	}
	var (
		dd *datadir.Dir
		ks *codegen.Keyset
	)
	if opts.KEK != nil {
		// The keys are sealed in the database: open it for them.
		if dd, err = datadir.Open(dir, opts); err != nil {
			return err
		}
		defer dd.Close()
		ks = dd.Keys()
	} else {
		// Beside a database (--db) a fresh keyset would be the wrong
		// one: the keys come from the node that minted.
		if g.db == "" {
			if err := datadir.Init(dir); err != nil {
				return err
			}
		}
		if ks, err = datadir.LoadKeys(dir); err != nil {
			return err
		}
	}
	p, verr := ks.Verify(code)
	out := cmd.OutOrStdout()
	if verr != nil {
		var ce *codegen.Error
		errors.As(verr, &ce)
		printJSON(out, map[string]any{"genuine": false, "reason": ce.Reason, "message": ce.Detail})
		fmt.Fprintf(cmd.ErrOrStderr(), "yima: not genuine: %s: %s\n", ce.Reason, ce.Detail)
		return exitError{1}
	}
	desc := describe(g, opts, dd, p)
	if err := printJSON(out, desc); err != nil {
		return err
	}
	if desc.Reason != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "yima: %s\n", desc.Message)
		return exitError{1}
	}
	return nil
}

// description is what yima verify prints of a genuine code.
type description struct {
	Genuine bool   `json:"genuine"`
	Code    string `json:"code"`
	Version uint8  `json:"version"`
	KeyID   uint8  `json:"key_id"`
	Batch   uint32 `json:"batch"`
	Serial  uint32 `json:"serial"`
	Product string `json:"product,omitempty"`
	GTIN    string `json:"gtin,omitempty"`
	Region  string `json:"region,omitempty"`
	// State is the serial's state, or "unknown" when the batch records
	// cannot be read (a server holds the directory).
	State  string `json:"state"`
	Active bool   `json:"active"`
	// Reason and Message are set when the code is genuine but cannot be
	// honoured here (its batch is unknown).
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// describe adds what the batch records of the data directory say to a
// verified code; dd is the directory when it is open already.
func describe(g *globalOptions, opts datadir.Options, dd *datadir.Dir, p codegen.Parsed) description {
	d := description{Genuine: true, Code: p.String(), Version: p.Version, KeyID: p.Key, Batch: p.Batch, Serial: p.Serial, State: "unknown"}
	if dd == nil {
		var err error
		if dd, err = datadir.Open(g.data, opts); err != nil {
			d.Message = "batch records not read: " + err.Error()
			return d
		}
		defer dd.Close()
	}
	b, err := dd.Engine.Batch(p.Batch)
	var re *reward.Error
	switch {
	case errors.As(err, &re) && re.Code == reward.CodeNotFound || (err == nil && reward.NotMinted(b, p) != ""):
		d.Genuine = false
		d.Reason = string(reward.CodeUnknownBatch)
		d.Message = fmt.Sprintf("the signature is right but batch %d serial %d is not in this deployment's records", p.Batch, p.Serial)
		if err == nil {
			d.Message = "the signature is right but " + reward.NotMinted(b, p)
		}
	case err != nil:
		d.Message = "batch records not read: " + err.Error()
	default:
		d.Product, d.GTIN, d.Region = b.Product, b.GTIN, b.Region
		d.State = string(b.State(p.Serial))
		d.Active = d.State == string(reward.Active)
	}
	return d
}
