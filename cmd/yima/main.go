// Command yima mints, verifies and redeems one-item-one-codes. See README.md.
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
	cmd := newRootCommand()
	if err := cmd.Execute(); err != nil {
		var ex exitError
		if errors.As(err, &ex) {
			os.Exit(ex.code)
		}
		fmt.Fprintln(os.Stderr, "yima:", message(err))
		os.Exit(2)
	}
}

// exitError ends the program with a code after its output was written.
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
