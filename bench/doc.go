// Package bench measures a yima server the way promotion day will: many
// connections scanning fresh codes, some scanning codes already redeemed,
// some racing on the same code, some sending forgeries. It reports the
// throughput, the latency distribution (an HDR histogram), the answers by
// HTTP status and error code, the server's CPU and commit group sizes, the
// same load against /healthz as a ceiling, and it audits the run: every
// code has at most one winner, every acknowledged redemption is on the
// server, every member's points equal what the answers promised.
//
// Run drives a Target. The built-in targets speak yima's HTTP API: a server
// started in-process on a fresh temporary data directory, or a running one
// given by URL. A baseline (Redis, PostgreSQL) is another Target: it mints
// codes in its own way, answers Ops with Outcomes, and lets the audit read
// back its state through Checker.
//
// What bench must not do: assert speed in tests, or touch a data directory
// it did not create. Caveats: with the in-process server the load generator
// shares the process, so the CPU figure covers both, and on a small machine
// the generator's own CPU caps the rate it can measure; the ceiling run
// (/healthz, the same load) shows that cap.
package bench
