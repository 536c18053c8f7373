package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/yima-dev/yima/codegen"
	"github.com/yima-dev/yima/scan"
)

func newVerifyCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "verify CODE",
		Short: "Check a code offline with the local keys (exit 0 genuine, 1 not)",
		Long: "verify checks a code's signature with the data directory's keys, without a database:\n" +
			"exit 0 and a JSON description when genuine, exit 1 and the reason when not.\n" +
			"It reports whether the serial is active when the batch records are readable.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := scan.Init(g.data); err != nil {
				return err
			}
			ks, err := scan.LoadKeys(g.data)
			if err != nil {
				return err
			}
			p, verr := ks.Verify(args[0])
			out := cmd.OutOrStdout()
			if verr != nil {
				var ce *codegen.Error
				errors.As(verr, &ce)
				res := map[string]any{"genuine": false, "reason": ce.Reason, "message": ce.Detail}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				enc.Encode(res)
				fmt.Fprintf(cmd.ErrOrStderr(), "yima: not genuine: %s: %s\n", ce.Reason, ce.Detail)
				return exitError{1}
			}
			desc := scan.Describe(g.data, p)
			enc := json.NewEncoder(out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(desc); err != nil {
				return err
			}
			if desc.Reason != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "yima: %s\n", desc.Message)
				return exitError{1}
			}
			return nil
		},
	}
}
