package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Least privilege (issue 11 item 5). `xuncha migrate` runs as the role that
// owns the ledger's tables; `xuncha server` and `xuncha worker` run as an
// application role that owns nothing and holds exactly the privileges
// below, so that even a compromised server cannot rewrite history: no
// UPDATE, DELETE or TRUNCATE on the append-only tables, no DDL, and none of
// what only an owner or a superuser may do (ALTER TABLE … DISABLE TRIGGER,
// SET session_replication_role = replica). The triggers that refuse
// rewrites stay as the second line, for the owner too.

// DefaultAppRole is the application role of `xuncha dev` and of the tests.
const DefaultAppRole = "xuncha_app"

// MutableTable is a table whose rows the application changes or removes,
// with the privileges beyond SELECT and INSERT it needs and why.
type MutableTable struct {
	Table string
	// Privileges are UPDATE and/or DELETE. UPDATE is also what SELECT …
	// FOR UPDATE / FOR SHARE and INSERT … ON CONFLICT DO UPDATE need.
	Privileges []string
	// Why names the statements (ledger/queries) that need them.
	Why string
}

// mutableTables is the one list of what the application role may change.
// Every other table of the schema is append-only for it: SELECT and INSERT,
// never UPDATE, DELETE or TRUNCATE, and a table a migration adds is
// append-only until it is listed here. To let the application change a new
// table's rows, add a row naming the table, the privileges and the
// statements that need them (the audit trail's chain head, for instance,
// needs UPDATE); `xuncha migrate` grants them on its next run and
// TestAppRoleGrants checks the rest stays append-only. Triggers still
// refuse what a table's rules refuse (a finding is never deleted, a tip's
// received content never rewritten), whatever is granted.
var mutableTables = []MutableTable{
	{"inspections", []string{"UPDATE"}, "the projection's current state (UpdateInspection); the recording window's share lock (InspectionStageForShare)"},
	{"findings", []string{"UPDATE"}, "the projection's current state and ledger number (UpdateFinding, SetLedgerNumber, NumberFinding)"},
	{"interviews", []string{"UPDATE"}, "the projection's current state (UpdateInterview)"},
	{"tips", []string{"UPDATE"}, "triage (TriageTip, LockTip); a trigger keeps what was received"},
	{"webhooks", []string{"UPDATE"}, "soft delete (DeleteWebhook); sealing secrets stored in plaintext at start (LockPlaintextSecrets, SealSecret)"},
	{"webhook_outbox", []string{"UPDATE"}, "a delivery's outcome (FinishOutbox); the dispatcher's claims and retries (ClaimOutbox, RetryOutbox)"},
	{"ledger_sequences", []string{"UPDATE"}, "the next ledger number (NumberFinding: INSERT … ON CONFLICT DO UPDATE)"},
	{"idempotency_keys", []string{"DELETE"}, "a refused request frees its key (DeleteIdempotencyKey)"},
	{"audit_chain_heads", []string{"UPDATE", "DELETE"}, "each audit chain's head moves with every row appended (AdvanceChainHead, EnsureChainHead); the daily anchor forgets pruned access days' heads (PruneAccessHeads); a trigger refuses the rest (migration 025: only onward, same subject, only pruned access days deleted)"},
	{"audit_anchored_heads", []string{"UPDATE", "DELETE"}, "the position of each chain at the last anchor (RecordAnchoredHeads: INSERT … ON CONFLICT DO UPDATE; PruneAccessHeads)"},
	{"access_log", []string{"DELETE"}, "the daily anchor prunes whole days past the retention (PruneAccessLog); its trigger refuses days younger than 180"},
	{"finding_tallies", []string{"UPDATE"}, "the statistics' counts and days to close, which the folding of the pending contributions sums into (migration 027: fold_finding_contributions, INSERT … ON CONFLICT DO UPDATE)"},
	{"experts", []string{"UPDATE"}, "a pool entry's unavailability, affiliations and leaving (ChangeExpert)"},
	{"lineups", []string{"UPDATE"}, "a line-up's state and members: swaps, invitations, replacements (ChangeLineup, ApplyInvitationChange)"},
	{"invitations", []string{"UPDATE"}, "the projection of an invitation's workflow (ApplyInvitationChange: INSERT … ON CONFLICT DO UPDATE)"},
	{"finding_month_tallies", []string{"UPDATE"}, "the statistics per inspection and month, refreshed by the triggers (migration 010: INSERT … ON CONFLICT DO UPDATE)"},
	{"finding_round_tallies", []string{"UPDATE"}, "the statistics per round, which the compactor folds the pending changes into (migration 019: fold_finding_round_tally_deltas, INSERT … ON CONFLICT DO UPDATE; CompactStatistics)"},
	{"finding_contributions_pending", []string{"DELETE"}, "the statistics' contributions that the triggers of findings, escalations and interviews queue, deleted as they are folded (migration 027: fold_finding_contributions; CompactStatistics, Statistics)"},
	{"finding_round_tally_deltas", []string{"DELETE"}, "the statistics' pending changes, which the compactor deletes as it folds them (migration 019: fold_finding_round_tally_deltas; CompactStatistics)"},
}

// readOnlyTables are read but never written by the application: the
// migrator's version table.
var readOnlyTables = []string{versionTable}

// MutableTables returns the tables whose rows the application role may
// change or remove; every other table is append-only for it.
func MutableTables() []MutableTable { return slices.Clone(mutableTables) }

// appPrivileges is what the application role holds on table: SELECT and
// INSERT, or SELECT alone, plus a mutable table's privileges.
func appPrivileges(table string) []string {
	if slices.Contains(readOnlyTables, table) {
		return []string{"SELECT"}
	}
	privs := []string{"SELECT", "INSERT"}
	for _, m := range mutableTables {
		if m.Table == table {
			privs = append(privs, m.Privileges...)
		}
	}
	return privs
}

// tablePrivileges are the table privileges checked, in PostgreSQL's names.
var tablePrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}

// serverPowers are PostgreSQL's predefined roles that reach past the
// ledger's grants: running programs on the database host as its operating
// system user (who can then connect as a superuser and switch the audit
// triggers off), reading and writing its files, reading or writing every
// table whatever its grants, signalling other sessions. The application
// needs none; a role that belongs to one, directly or not, is refused. A
// role a server's version does not have is passed over.
var serverPowers = []string{"pg_execute_server_program", "pg_write_server_files", "pg_read_server_files",
	"pg_write_all_data", "pg_read_all_data", "pg_signal_backend"}

// roleSQL reads an existing role's attributes and whether it owns anything
// of the ledger (tables, sequences, functions such as the triggers' — which
// an owner could replace —, the schema, the database), directly or through
// a role it belongs to.
const roleSQL = `
SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls,
  pg_has_role($1::name, current_user, 'MEMBER') AS member_of_migrator,
  ARRAY(
    SELECT 'table ' || c.relname FROM pg_class c
      WHERE c.relnamespace = to_regnamespace($2::text) AND pg_has_role($1::name, c.relowner, 'MEMBER')
    UNION ALL
    SELECT 'function ' || p.proname FROM pg_proc p
      WHERE p.pronamespace = to_regnamespace($2::text) AND pg_has_role($1::name, p.proowner, 'MEMBER')
    UNION ALL
    SELECT 'schema ' || n.nspname FROM pg_namespace n
      WHERE n.oid = to_regnamespace($2::text) AND pg_has_role($1::name, n.nspowner, 'MEMBER')
    UNION ALL
    SELECT 'database ' || d.datname FROM pg_database d
      WHERE d.datname = current_database() AND pg_has_role($1::name, d.datdba, 'MEMBER')
    ORDER BY 1
  )::text[] AS owns,
  ARRAY(
    SELECT p FROM unnest($3::text[]) p
      WHERE to_regrole(p) IS NOT NULL AND pg_has_role($1::name, p, 'MEMBER')
      ORDER BY array_position($3::text[], p)
  )::text[] AS powers
FROM pg_roles r WHERE r.rolname = $1`

// grantedSQL lists the table privileges the role holds on each table of
// the schema, its own and those of the roles it belongs to and PUBLIC.
const grantedSQL = `
SELECT c.relname::text,
  ARRAY(SELECT p FROM unnest($3::text[]) p WHERE has_table_privilege($1::name, c.oid, p) ORDER BY array_position($3::text[], p))::text[]
FROM pg_class c
WHERE c.relnamespace = to_regnamespace($2::text) AND c.relkind IN ('r', 'p')
ORDER BY c.relname`

// otherPrivilegesSQL reads the privileges beyond tables that must stay as
// they are: USAGE but not CREATE on the schema, no CREATE on the database
// (new schemas), and no grant to SET session_replication_role (which
// turns triggers off; PostgreSQL 15 lets a superuser grant it).
const otherPrivilegesSQL = `
SELECT has_schema_privilege($1::name, $2::text, 'USAGE'), has_schema_privilege($1::name, $2::text, 'CREATE'),
  has_database_privilege($1::name, current_database(), 'CREATE'),
  has_parameter_privilege($1::name, 'session_replication_role', 'SET'),
  ARRAY(SELECT s.relname FROM pg_class s
    -- CASE: has_sequence_privilege fails on a table, whatever order the
    -- planner evaluates the conditions in.
    WHERE s.relnamespace = to_regnamespace($2::text)
      AND CASE WHEN s.relkind = 'S' THEN NOT has_sequence_privilege($1::name, s.oid, 'USAGE') ELSE false END
    ORDER BY 1)::text[]`

// publicCreateSQL says whether PUBLIC may create in the schema (the
// default before PostgreSQL 15).
const publicCreateSQL = `
SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a
  WHERE n.oid = to_regnamespace($1::text) AND a.grantee = 0 AND a.privilege_type = 'CREATE')`

// grantLockSQL serialises concurrent runs of `xuncha migrate` over the
// grants and revokes (concurrent GRANTs on one object fail with "tuple
// concurrently updated").
const grantLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended('xuncha/app-role-grants', 0))`

// appRole sets up the application role on conn, the owner's connection, in
// the current schema: created if missing, checked, granted exactly its
// privileges. It reports what it changed; nothing when all was in place.
func appRole(ctx context.Context, conn *pgx.Conn, role, password string, out *MigrateResult) error {
	var schema, migrator string
	if err := conn.QueryRow(ctx, `SELECT current_schema(), current_user`).Scan(&schema, &migrator); err != nil {
		return fmt.Errorf("reading the current schema: %w", err)
	}
	if role == migrator {
		return fmt.Errorf("the application role %q is the role xuncha migrate connects as, which owns the ledger: "+
			"give server and worker another role in DATABASE_URL and the owner in MIGRATE_DATABASE_URL", role)
	}
	created, err := createRole(ctx, conn, role, password)
	if err != nil {
		return err
	}
	out.RoleCreated = created
	if err := checkRole(ctx, conn, role, schema); err != nil {
		return err
	}
	if problems, err := grantProblems(ctx, conn, role, schema); err != nil {
		return err
	} else if len(problems) == 0 {
		return nil // as it should be: change nothing
	}
	// The grants and the check after them in one transaction: a role the
	// grants cannot put right (one that inherits more) keeps none of them.
	var remaining []string
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := grant(ctx, tx, role, schema); err != nil {
			return fmt.Errorf("granting the application role %q its privileges: %w", role, err)
		}
		problems, err := grantProblems(ctx, tx, role, schema)
		if err != nil {
			return err
		}
		if len(problems) > 0 {
			remaining = problems
			return errGrantsRolledBack
		}
		return nil
	})
	if len(remaining) > 0 {
		return fmt.Errorf("the application role %q would hold other privileges than the application's after the grants, "+
			"through a role it belongs to or PUBLIC, so none was granted: %s", role, strings.Join(remaining, "; "))
	}
	if err != nil {
		return err
	}
	out.GrantsChanged = true
	return nil
}

// errGrantsRolledBack takes back grants that left the role with more.
var errGrantsRolledBack = errors.New("grants rolled back")

// createRole creates role if it does not exist: it may log in, with
// password (none when empty), and holds no other attribute. An existing
// role is left as it is, password included. created is false when the
// role existed, also when a concurrent run created it first.
func createRole(ctx context.Context, conn *pgx.Conn, role, password string) (created bool, err error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return false, fmt.Errorf("looking up role %q: %w", role, err)
	}
	if exists {
		return false, nil
	}
	// Role names and passwords cannot be parameters of CREATE ROLE: the
	// name is quoted as an identifier, the password sent as a SCRAM
	// verifier, so that it is in no statement log.
	stmt := "CREATE ROLE " + pgx.Identifier{role}.Sanitize() + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
	if password != "" {
		secret, err := passwordSecret(password)
		if err != nil {
			return false, err
		}
		lit, err := conn.PgConn().EscapeString(secret)
		if err != nil {
			return false, fmt.Errorf("quoting the password of role %q: %w", role, err)
		}
		stmt += " PASSWORD '" + lit + "'"
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == pgDuplicateObject || pgErr.Code == pgUniqueViolation) {
			return false, nil // duplicate_object, or the unique index under a race: another run created it
		}
		if errors.As(err, &pgErr) && pgErr.Code == pgInsufficientPrivilege {
			return false, fmt.Errorf("creating the application role %q: the role xuncha migrate connects as may not create roles: "+
				"give it CREATEROLE, or create %q yourself (CREATE ROLE %s LOGIN PASSWORD '…'): %w", role, role, role, err)
		}
		return false, fmt.Errorf("creating the application role %q: %w", role, err)
	}
	return true, nil
}

// checkRole refuses an application role that could get around its grants:
// a superuser, a role with CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS,
// one that owns (or belongs to a role that owns) anything of the ledger,
// one that belongs to the migrator, or one that belongs to a predefined
// role of serverPowers.
func checkRole(ctx context.Context, conn *pgx.Conn, role, schema string) error {
	var super, createRole, createDB, replication, bypassRLS, memberOfMigrator bool
	var owns, powers []string
	if err := conn.QueryRow(ctx, roleSQL, role, schema, serverPowers).Scan(&super, &createRole, &createDB, &replication, &bypassRLS,
		&memberOfMigrator, &owns, &powers); err != nil {
		return fmt.Errorf("reading role %q: %w", role, err)
	}
	var problems []string
	for _, a := range []struct {
		set  bool
		name string
	}{{super, "SUPERUSER"}, {createRole, "CREATEROLE"}, {createDB, "CREATEDB"}, {replication, "REPLICATION"}, {bypassRLS, "BYPASSRLS"}} {
		if a.set {
			problems = append(problems, "it has "+a.name+" (ALTER ROLE "+role+" NO"+a.name+")")
		}
	}
	if memberOfMigrator {
		problems = append(problems, "it is a member of the role xuncha migrate connects as, the ledger's owner")
	}
	if len(owns) > 0 {
		problems = append(problems, "it owns, or belongs to a role that owns, "+strings.Join(owns, ", "))
	}
	for _, p := range powers {
		problems = append(problems, fmt.Sprintf("it belongs to %s (REVOKE %s FROM %s, or from the role it has it through)", p, p, role))
	}
	if len(problems) > 0 {
		return fmt.Errorf("the application role %q must own nothing and hold only its grants, but %s", role, strings.Join(problems, "; "))
	}
	return nil
}

// grantProblems compares what role may do in schema with what the
// application should: each difference, or none.
func grantProblems(ctx context.Context, conn interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}, role, schema string) ([]string, error) {
	rows, err := conn.Query(ctx, grantedSQL, role, schema, tablePrivileges)
	if err != nil {
		return nil, fmt.Errorf("reading the privileges of role %q: %w", role, err)
	}
	type granted struct {
		Table      string
		Privileges []string
	}
	tables, err := pgx.CollectRows(rows, pgx.RowToStructByPos[granted])
	if err != nil {
		return nil, fmt.Errorf("reading the privileges of role %q: %w", role, err)
	}
	var problems []string
	for _, t := range tables {
		want := appPrivileges(t.Table)
		if !slices.Equal(t.Privileges, want) {
			problems = append(problems, fmt.Sprintf("%s: %s, want %s", t.Table, strings.Join(t.Privileges, ", "), strings.Join(want, ", ")))
		}
	}
	for _, m := range mutableTables {
		if !slices.ContainsFunc(tables, func(g granted) bool { return g.Table == m.Table }) {
			problems = append(problems, fmt.Sprintf("%s: listed as mutable but not a table of schema %s", m.Table, schema))
		}
	}
	var usage, create, createDB, replicationRole bool
	var sequences []string
	if err := conn.QueryRow(ctx, otherPrivilegesSQL, role, schema).Scan(&usage, &create, &createDB, &replicationRole, &sequences); err != nil {
		return nil, fmt.Errorf("reading the privileges of role %q: %w", role, err)
	}
	if !usage {
		problems = append(problems, "no USAGE on schema "+schema)
	}
	if create {
		problems = append(problems, "CREATE on schema "+schema)
	}
	if createDB {
		problems = append(problems, "CREATE on the database (REVOKE CREATE ON DATABASE … FROM "+role+", and from PUBLIC)")
	}
	if replicationRole {
		problems = append(problems, "SET on session_replication_role (REVOKE SET ON PARAMETER session_replication_role FROM "+role+")")
	}
	if len(sequences) > 0 {
		problems = append(problems, "no USAGE on sequences "+strings.Join(sequences, ", "))
	}
	return problems, nil
}

// grant gives role exactly the application's privileges in schema: it
// takes away what the role was granted there, then grants USAGE on the
// schema and its sequences, SELECT and INSERT on every table, and the
// mutable tables' privileges. Privileges granted to PUBLIC or to roles it
// belongs to are not changed here; grantProblems reports them.
func grant(ctx context.Context, tx pgx.Tx, role, schema string) error {
	r, s := pgx.Identifier{role}.Sanitize(), pgx.Identifier{schema}.Sanitize()
	stmts := []string{
		grantLockSQL,
		"REVOKE ALL ON ALL TABLES IN SCHEMA " + s + " FROM " + r,
		"REVOKE ALL ON ALL SEQUENCES IN SCHEMA " + s + " FROM " + r,
		"REVOKE ALL ON SCHEMA " + s + " FROM " + r,
		"GRANT USAGE ON SCHEMA " + s + " TO " + r,
		"GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + s + " TO " + r,
		"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA " + s + " TO " + r,
	}
	for _, t := range readOnlyTables {
		stmts = append(stmts, "REVOKE INSERT ON TABLE "+pgx.Identifier{schema, t}.Sanitize()+" FROM "+r)
	}
	for _, m := range mutableTables {
		stmts = append(stmts, "GRANT "+strings.Join(m.Privileges, ", ")+" ON TABLE "+pgx.Identifier{schema, m.Table}.Sanitize()+" TO "+r)
	}
	for _, stmt := range stmts {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

// revokePublicCreate takes CREATE on the current schema from PUBLIC where
// PostgreSQL before 15 (or an operator) granted it, so that no role but
// the owner creates objects there. It reports whether it did.
func revokePublicCreate(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return false, fmt.Errorf("reading the current schema: %w", err)
	}
	var granted bool
	if err := conn.QueryRow(ctx, publicCreateSQL, schema).Scan(&granted); err != nil {
		return false, fmt.Errorf("reading the privileges of schema %s: %w", schema, err)
	}
	if !granted {
		return false, nil
	}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, grantLockSQL); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "REVOKE CREATE ON SCHEMA "+pgx.Identifier{schema}.Sanitize()+" FROM PUBLIC")
		return err
	})
	if err != nil {
		return false, fmt.Errorf("revoking CREATE on schema %s from PUBLIC (as the schema's owner): %w", schema, err)
	}
	return true, nil
}

// connectedRoleSQL reads what the connected role could do that the
// application role may not.
const connectedRoleSQL = `
SELECT current_user::text, r.rolsuper OR r.rolbypassrls,
  EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = to_regnamespace(current_schema())
    AND c.relkind IN ('r', 'p') AND pg_has_role(current_user, c.relowner, 'MEMBER')),
  has_table_privilege('events', 'UPDATE') OR has_table_privilege('events', 'DELETE') OR has_table_privilege('events', 'TRUNCATE'),
  ARRAY(SELECT p FROM unnest($1::text[]) p WHERE to_regrole(p) IS NOT NULL AND pg_has_role(current_user, p, 'MEMBER')
    ORDER BY array_position($1::text[], p))::text[]
FROM pg_roles r WHERE r.rolname = current_user`

// PrivilegeWarnings says what is wrong with the privileges the Store
// connects with, for the server and the worker to log at start: a
// superuser, the ledger's owner, a role that may rewrite the event log or
// one that belongs to a predefined role of serverPowers is not the
// application role `xuncha migrate` sets up. None when all is as it
// should be.
func (s *Store) PrivilegeWarnings(ctx context.Context) ([]string, error) {
	var role string
	var super, owner, rewrite bool
	var powers []string
	if err := s.pool.QueryRow(ctx, connectedRoleSQL, serverPowers).Scan(&role, &super, &owner, &rewrite, &powers); err != nil {
		return nil, fmt.Errorf("reading the connected role's privileges: %w", err)
	}
	var warnings []string
	const fix = ": connect as the application role `xuncha migrate` sets up (DATABASE_URL) and keep the owner for migrations (MIGRATE_DATABASE_URL)"
	switch {
	case super:
		warnings = append(warnings, fmt.Sprintf("connected to the ledger as %q, a superuser (or BYPASSRLS)%s", role, fix))
	case owner:
		warnings = append(warnings, fmt.Sprintf("connected to the ledger as %q, which owns its tables and could rewrite its history%s", role, fix))
	case rewrite:
		warnings = append(warnings, fmt.Sprintf("connected to the ledger as %q, which may UPDATE, DELETE or TRUNCATE the event log%s", role, fix))
	case len(powers) > 0:
		warnings = append(warnings, fmt.Sprintf("connected to the ledger as %q, which belongs to %s and so reaches past its grants%s",
			role, strings.Join(powers, ", "), fix))
	}
	n, err := s.q.CountPlaintextTips(ctx)
	if err != nil {
		return nil, fmt.Errorf("counting tips stored in plaintext: %w", err)
	}
	if n > 0 {
		warnings = append(warnings, fmt.Sprintf("%d tips hold their content in plaintext (written before migration 009 or by an older binary): "+
			"run xuncha migrate with XUNCHA_TIP_KEY to seal them", n))
	}
	return warnings, nil
}
