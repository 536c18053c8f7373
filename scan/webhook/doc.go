// Package webhook delivers the event feed (reward.Engine.Feed) to the
// endpoints an operator added: each endpoint gets every matching event at
// least once, in sequence order, one POST per event, signed with
// HMAC-SHA256 over the timestamp and the body (Sign, Verify).
//
// A failed delivery is retried with exponential backoff and jitter; an
// endpoint failing for longer than Options.GiveUpAfter (a day and more) is
// paused and shown failing until an operator resumes or replays it.
//
// Delivery reads the feed as any reader does and writes only the
// endpoints' delivery state, in small decisions of its own, so a slow,
// dead or hostile receiver never holds up a scan; it costs one goroutine,
// one connection and a page of events, whatever it answers. Connections go
// only to public addresses unless Options.AllowPrivate (see guard):
// docs/security.md says why.
package webhook
