// Package scan is yima's front door, the HTTP service alone: the server
// (fasthttp), authentication, the consumer, guide and counter pages,
// consumers' sign-in and member centre (signin.go, me.go), the operators'
// dashboard and metrics. It opens nothing: NewServer takes a
// Backend (the reward engine, the admin token, and the data directory's key
// reload and backups) and Options (the settings), which package scan/node
// puts together from the data directory scan/node/datadir opens. The admin
// CLI's client for a running server is package scan/client; Local is the
// same commands in this process. Package scan/identity reaches the outside
// services a sign-in needs (an SMS gateway, WeChat).
//
// A request is parsed and authenticated here, then handed to package reward,
// which verifies the code (codegen) and decides against the store. Nothing
// here decides a payout; nothing below here knows about HTTP.
//
// Handlers never keep a *fasthttp.RequestCtx or its byte slices after they
// return. Every error answer is JSON {"error":{"code","message"}} written by
// writeError, the one place that maps error codes to HTTP statuses.
package scan
