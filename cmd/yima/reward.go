package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/yima-dev/yima/reward"
	"github.com/yima-dev/yima/scan"
)

func newRewardCommand(g *globalOptions) *cobra.Command {
	return remoteGroup(&cobra.Command{
		Use:   "reward",
		Short: "Apply, list and show the points mall's rewards; upload voucher codes",
		Long: `A reward is a JSON document (see docs/rewards.md, "The points mall", and
docs/examples/reward-mug.json): a coupon, a voucher code or goods, its price in points,
stock, per-member limit and window.`,
	}, g,
		runArgs(&cobra.Command{Use: "apply FILE", Short: "Create or change a reward from a JSON file (- for stdin)", Args: cobra.ExactArgs(1)}, applyDocument("reward", scan.Admin.PutReward)),
		run(&cobra.Command{Use: "list [--all] [--json]", Short: "List the mall's rewards, cheapest first, with their stock left", Args: cobra.NoArgs}, rewardListFunc),
		runResult(&cobra.Command{Use: "show ID", Short: "Show a reward and its counters as JSON", Args: cobra.ExactArgs(1)},
			func(a scan.Admin, args []string) (*reward.RewardView, error) { return a.Reward(args[0]) }),
		runArgs(&cobra.Command{
			Use: "vouchers ID FILE", Short: "Upload voucher codes for a reward of kind voucher: one code a line (- for stdin)",
			Long: `Each code is handed out once, in the file's order. A file with a code twice is refused
before anything is sent. A long file goes in parts (a request is at most 16 KiB); a code
uploaded before stops the upload at its part, and the parts before it stay uploaded: the
message says how many.`,
			Args: cobra.ExactArgs(2),
		}, rewardVouchersFunc),
	)
}

// readFileOrStdin reads a document from file, or from stdin for "-".
func readFileOrStdin(cmd *cobra.Command, file string) ([]byte, error) {
	if file == "-" {
		return readAll(cmd.InOrStdin())
	}
	return os.ReadFile(file)
}

// applyDocument is the work of apply FILE: the JSON document of a what
// (a campaign, a reward), read from FILE or stdin, goes to apply, and its
// answer is printed as JSON.
func applyDocument[T any](what string, apply func(a scan.Admin, doc []byte) (T, error)) func(cmd *cobra.Command, r *remoteOptions, args []string) error {
	return func(cmd *cobra.Command, r *remoteOptions, args []string) error {
		doc, err := readFileOrStdin(cmd, args[0])
		if err != nil {
			return fmt.Errorf("reading the %s document: %w", what, err)
		}
		return printResult(cmd, r, func(a scan.Admin) (T, error) { return apply(a, doc) })
	}
}

type rewardListOptions struct {
	tableOptions
	all bool
}

func (o *rewardListOptions) AddFlags(fs *pflag.FlagSet) {
	o.tableOptions.AddFlags(fs)
	fs.BoolVar(&o.all, "all", false, "list ended rewards too")
}

func rewardListFunc(cmd *cobra.Command, r *remoteOptions, o *rewardListOptions, _ []string) error {
	get := func(a scan.Admin) ([]*reward.RewardView, error) { return a.Rewards(o.all) }
	return printList(cmd, r, o.tableOptions, get, func(w io.Writer, vs []*reward.RewardView) {
		fmt.Fprintf(w, "%-20s %-8s %-9s %8s %8s %8s  %s\n", "ID", "KIND", "STATUS", "PRICE", "STOCK", "LEFT", "TITLE")
		for _, v := range vs {
			fmt.Fprintf(w, "%-20s %-8s %-9s %8d %8d %8d  %s\n", v.ID, v.Kind, v.Status, v.Price, v.Stock, v.Left, v.Title)
		}
	})
}

// voucherPart bounds the JSON of one upload under the server's 16 KiB.
const voucherPart = 14 << 10

func rewardVouchersFunc(cmd *cobra.Command, r *remoteOptions, args []string) error {
	id, file := args[0], args[1]
	raw, err := readFileOrStdin(cmd, file)
	if err != nil {
		return fmt.Errorf("reading the voucher codes: %w", err)
	}
	var codes []string
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for line := 1; sc.Scan(); line++ {
		c := strings.TrimSpace(sc.Text())
		if c == "" {
			continue
		}
		if prev, dup := seen[c]; dup {
			return fmt.Errorf("voucher code %q is on lines %d and %d; each code is handed out once, remove the copy. Nothing was uploaded", c, prev, line)
		}
		seen[c] = line
		codes = append(codes, c)
	}
	if len(codes) == 0 {
		return fmt.Errorf("%s holds no voucher codes (one a line)", file)
	}
	return r.with(func(a scan.Admin) error {
		var last *reward.VoucherUpload
		done := 0
		for done < len(codes) {
			n, size := 0, 0
			for done+n < len(codes) && n < reward.MaxVoucherUpload && size+len(codes[done+n])+8 < voucherPart {
				size += len(codes[done+n]) + 8 // quotes, comma, escapes
				n++
			}
			up, err := a.AddVouchers(id, codes[done:done+n])
			if err != nil {
				if done > 0 {
					return fmt.Errorf("%w (the first %d codes were uploaded; upload the rest from line %d)", err, done, seen[codes[done]])
				}
				return err
			}
			last, done = up, done+n
		}
		last.Added = done
		return printJSON(cmd.OutOrStdout(), last)
	})
}
