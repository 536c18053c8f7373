// Package baseline is "what users build instead" of yima, for
// `yima bench --compare`: a small HTTP service of yima's shape in front of
// a general-purpose store, each a bench.Target that takes the same load and
// the same audit as yima.
//
// The front (front.go) speaks the same JSON on the same routes, checks
// bearer tokens, verifies each code's tag with codegen exactly as yima
// does, draws a campaign's points and coupons the way reward does, and
// leaves the decision — the code's one winner, balances, ledger, budget,
// stock, commissions — to the backend in one atomic step: a Lua script in
// Redis (redis.go), a transaction in PostgreSQL (postgres.go). Both
// backends are started by the run on loopback with their durability on.
// The load reaches the front over loopback HTTP like yima's, so the
// comparison holds the client, the HTTP stack and the code checks equal
// and differs in the part that decides and makes it durable.
//
// The run's audit (bench.Audit) checks what the client saw against what a
// baseline reads back; the counterpart of yima's own GET /v1/audit is one
// ledger audit (audit.go) that both backends feed from their records.
//
// Caveats: the front shares the process with the load generator. The
// baselines' servers are the run's children and stop with it, even when it
// is killed (Linux's parent-death signal); a killed run leaves only its
// temporary directory behind.
package baseline
