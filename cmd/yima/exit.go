package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, as scripts see them: 0 done; 1 the operation failed (refused,
// not genuine, audit violations, a file or the server failed); 2 the
// command line is wrong (an unknown command or flag, missing or extra
// arguments, a flag value out of range) and nothing was done.
const (
	exitFailed = 1
	exitUsage  = 2
)

// usageError marks an error as the command line's fault: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef is fmt.Errorf for usage errors.
func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitCode is the code main exits with for err, which is not nil.
func exitCode(err error) int {
	var ex exitError
	var ue usageError
	switch {
	case errors.As(err, &ex):
		return ex.code
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitFailed
}

// strictUsage walks the command tree and makes cobra's own refusals usage
// errors. A command that only groups others (yima batch) would otherwise
// print its help and exit 0 for a misspelt subcommand (yima batch activte
// 1): a script would take that for success. It now refuses it; alone, it
// still prints its help.
func strictUsage(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	switch {
	case c.HasSubCommands() && c.Run == nil && c.RunE == nil:
		c.Args = unknownSubcommand
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	case c.Args != nil:
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		strictUsage(sub)
	}
}

// unknownSubcommand refuses any argument to a command that only groups
// subcommands: cobra got here because no subcommand had that name.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{errors.New(msg)}
}
