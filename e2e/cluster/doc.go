// Package cluster is make test's cluster tier: xuncha as production runs it.
//
// Its tests build bin/xuncha's sources into a binary and run it as separate
// processes — `xuncha migrate`, `xuncha temporal setup`, two `xuncha worker`
// and two `xuncha server` — against a Temporal server built from its Go
// module (internal/temporalcluster: PostgreSQL persistence and SQL
// visibility) on a private PostgreSQL, and drive them through REST,
// alternating between the two API processes:
//
//   - TestClusterFlows walks an inspection's procedure, two findings from
//     record to CLOSED (one verification rejected), the escalation of a missed
//     report deadline and the interview the ladder proposes;
//   - TestChaos drives XUNCHA_CHAOS_LIFECYCLES finding lifecycles (default
//     200) from concurrent clients while it SIGKILLs workers, API processes
//     and the Temporal server and restarts PostgreSQL, the clients retrying
//     with the same request_ids; then nothing may be lost, duplicated or stuck,
//     and the ledger and Temporal must agree on every stage.
//
// The package holds only tests; this file documents it.
package cluster
