package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/yima-dev/yima/reward"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cmd, err := newRootCommand().ExecuteC()
	if err == nil {
		return
	}
	code := exitCode(err)
	var ex exitError
	if !errors.As(err, &ex) {
		fmt.Fprintln(os.Stderr, "yima:", message(err))
	}
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(os.Stderr, "see '%s --help'\n", cmd.CommandPath())
	}
	os.Exit(code)
}

// exitError ends the program with a code after its output was written
// (verify's "not genuine", audit's violations).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// message renders err for a person: coded errors show their code.
func message(err error) string {
	var re *reward.Error
	if errors.As(err, &re) {
		return fmt.Sprintf("%s (%s)", re.Message, re.Code)
	}
	return err.Error()
}
