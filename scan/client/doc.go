// Package client is the admin CLI's way to a running server: Client does
// what scan.Admin says over yima's HTTP API, so that `yima --server URL`
// commands act on a data directory another process holds. An error answer
// comes back as the *reward.Error the server wrote, code and message
// intact, so the CLI shows the same error either way.
package client
