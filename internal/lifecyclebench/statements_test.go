//go:build lifecyclebench

package lifecyclebench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

var (
	flagStatements = flag.Int("statements", 0,
		"after each level, print the N statements PostgreSQL spent the most time on, planning and executing, from pg_stat_statements (loaded for the run), with their JIT compilation; 0: none")
	flagLedgerJIT = flag.String("ledger-jit", "off",
		"JIT compilation on the ledger's connections: off (as ledger.Open sets it) or on (PostgreSQL's default, as before 2026-11-30), to compare")
	flagLedgerPlans = flag.String("ledger-plans", "cached",
		"plans of the ledger's statements: cached (PostgreSQL's plan cache, as ledger.Open leaves it) or per-call (plan_cache_mode=force_custom_plan, as before 2026-11-30), to compare")
)

// postgresSettings are the shared PostgreSQL's extra settings the flags
// ask for; TestMain sets them before anything starts.
func postgresSettings() map[string]string {
	if *flagStatements <= 0 {
		return nil
	}
	return map[string]string{"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "all",
		"pg_stat_statements.track_planning": "on"}
}

// ledgerOptions are the ledger's options the flags ask for.
func ledgerOptions(t *testing.T) []ledger.Option {
	var opts []ledger.Option
	switch *flagLedgerJIT {
	case "off":
	case "on":
		opts = append(opts, func(cfg *pgxpool.Config) { cfg.ConnConfig.RuntimeParams["jit"] = "on" })
	default:
		t.Fatalf("-ledger-jit=%q: want off or on", *flagLedgerJIT)
	}
	switch *flagLedgerPlans {
	case "cached":
	case "per-call":
		opts = append(opts, func(cfg *pgxpool.Config) { cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan" })
	default:
		t.Fatalf("-ledger-plans=%q: want cached or per-call", *flagLedgerPlans)
	}
	return opts
}

// statements reads pg_stat_statements, which covers every database of the
// shared PostgreSQL (the ledger's, and on -server=cluster Temporal's).
type statements struct{ conn *pgx.Conn }

// newStatements connects to a database of its own and starts the counts
// afresh; nil without -statements.
func newStatements(t *testing.T) *statements {
	if *flagStatements <= 0 {
		return nil
	}
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
	require.NoError(t, err)
	s := &statements{conn: conn}
	require.NoError(t, s.reset(ctx))
	return s
}

func (s *statements) reset(ctx context.Context) error {
	_, err := s.conn.Exec(ctx, "SELECT pg_stat_statements_reset()")
	return err
}

// report prints the n statements with the most time, planning and
// execution, since the last report (or since newStatements), then starts
// the counts afresh.
func (s *statements) report(ctx context.Context, w io.Writer, label string, n int) error {
	rows, err := s.conn.Query(ctx, `
SELECT d.datname, s.calls, s.total_plan_time + s.total_exec_time, s.total_plan_time, s.mean_exec_time, s.jit_functions,
       s.jit_generation_time + s.jit_inlining_time + s.jit_optimization_time + s.jit_emission_time,
       left(regexp_replace(s.query, '\s+', ' ', 'g'), 100)
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
ORDER BY s.total_plan_time + s.total_exec_time DESC LIMIT $1`, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nstatements at %s, most time first (pg_stat_statements; total is planning and execution):\n%-26s %7s %10s %10s %9s %7s %9s  %s\n",
		label, "database", "calls", "total", "planning", "mean exec", "jit fn", "jit time", "statement")
	for rows.Next() {
		var db, query string
		var calls, jitFunctions int64
		var total, planning, mean, jit float64
		if err := rows.Scan(&db, &calls, &total, &planning, &mean, &jitFunctions, &jit, &query); err != nil {
			return err
		}
		fmt.Fprintf(w, "%-26s %7d %8.1fms %8.1fms %7.3fms %7d %7.1fms  %s\n", db, calls, total, planning, mean, jitFunctions, jit, query)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return s.reset(ctx)
}
