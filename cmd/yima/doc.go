// Command yima mints, verifies and redeems one-item-one-codes. See README.md.
//
// It is the flow's first step: flags to calls. `yima serve` runs a node
// (scan/node); commands on the data directory open it with
// scan/node/datadir, or, with --server, talk to a running node through
// scan/client; both sides are scan.Admin. Nothing here opens a store or
// decides anything itself.
//
// Every command is built as bbolt's are: an options struct whose AddFlags
// registers its flags, a constructor newXCommand, and a RunE that only calls
// a plain function xFunc(cmd, ...) doing the work and writing to cmd's
// output streams. A group's constructor lists its sub-commands in one
// table (remoteGroup with run, runArgs and runResult, root.go): each entry
// is a command's help and arguments and the function it runs, which gets
// the remote options saying where to act (the data directory, or
// --server), a fresh options struct and the arguments. A command that acts
// on the data directory (or --db) itself, never through a server (keys,
// verify, serve, bench), is finished the same way by local and localArgs,
// which hand its function the global options instead. Tests run a command
// group in this process through the root command's SetArgs, SetOut and
// SetErr (commands_test.go) or build the binary and run it (e2e_test.go).
package main
