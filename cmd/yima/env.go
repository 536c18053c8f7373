package main

import (
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// envName is the environment form of a flag: --base-url is YIMA_BASE_URL.
func envName(flag string) string {
	return "YIMA_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// noEnv are flags without an environment form: a one-time decision that a
// variable left set would repeat at every restart.
var noEnv = map[string]bool{"help": true, "accept-data-loss": true}

// envFlags gives every flag of fs an environment form (see envName), for
// services configured by their environment (systemd, containers). The
// command line wins over the environment, and the environment over the
// default. Each flag's help names its variable.
func envFlags(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if !noEnv[f.Name] && !strings.Contains(f.Usage, "(env ") {
			f.Usage += " (env " + envName(f.Name) + ")"
		}
	})
}

// applyEnv sets each flag of fs that the command line did not set from its
// environment variable, if that is set. It runs when the command runs, so
// that an unusable value is a usage error that names its variable.
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || noEnv[f.Name] {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = usagef("%s=%q: %v (it stands for --%s)", envName(f.Name), v, serr, f.Name)
		}
	})
	return err
}
