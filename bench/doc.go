// Package bench measures a yima server the way promotion day will: many
// connections scanning fresh codes under a campaign (random points, tiers,
// a new-member bonus, gift coupons, guide commissions, a budget and a
// stock), some scanning codes already redeemed, some racing on the same
// code, some sending forgeries, guides verifying the coupons scans were
// issued, members spending points. It reports the throughput, the latency
// distribution (an HDR histogram), the answers by HTTP status and error
// code, the server's CPU and commit group sizes, the same load against
// /healthz as a ceiling, and it audits the run: every code has at most one
// winner, every acknowledged redemption is on the server, every member's
// points and ledger equal what the answers promised less what spends took,
// every coupon is verified by at most one 200, guides' commissions and the
// campaign's counters are as promised and within budget and stock, and the
// server's own audit is clean.
//
// Run drives a Target. The built-in targets speak yima's HTTP API: a server
// started in-process on a fresh temporary data directory (or several
// nodes on one PostgreSQL database, cluster.go), or a running one given by
// URL. Compare runs the same load against yima and then against
// each Baseline it is given — "what users build instead" — each with the
// same audit; package bench/baseline has them (Redis, PostgreSQL). A
// baseline is another Target; the audit reads its state back through
// Checker.
//
// The files follow a run: config.go and mix.go say what load to send;
// target.go is what a target must do, http.go and targets.go do it for
// yima (workload.go is the run's campaign and members); load.go sends the
// load, audit.go checks what came back, report.go and plot.go show it;
// run.go and compare.go tie the steps together; floor.go is the durable
// floor the in-process run also measures.
//
// What bench must not do: assert speed in tests, or touch a data directory
// it did not create. Caveats: with the in-process server the load generator
// shares the process, so the CPU figure covers both, and on a small machine
// the generator's own CPU caps the rate it can measure; the ceiling run
// (/healthz, the same load) shows that cap.
package bench
