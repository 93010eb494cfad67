package ledger_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	"github.com/xuncha/xuncha/ledger"
)

// connect opens a connection to url closed when the test ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.WithoutCancel(t.Context())) })
	return conn
}

// requireRefused runs sql and wants PostgreSQL's insufficient_privilege
// error with a message containing want.
func requireRefused(t *testing.T, conn *pgx.Conn, sql, want string) {
	t.Helper()
	_, err := conn.Exec(t.Context(), sql)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr, "%s: %v", sql, err)
	require.Equal(t, "42501", pgErr.Code, "%s: %s", sql, pgErr.Message)
	require.Contains(t, pgErr.Message, want, sql)
}

// TestAppRoleCannotRewriteHistory connects as the application role, as
// xuncha server and worker do, and tries what would rewrite history or get
// around the append-only triggers: PostgreSQL refuses each itself, before
// any trigger runs.
func TestAppRoleCannotRewriteHistory(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100") // writes an event
	app := connect(t, fx.url)
	var who string
	require.NoError(t, app.QueryRow(t.Context(), `SELECT current_user`).Scan(&who))
	require.Equal(t, testenv.AppRole, who)

	for _, tt := range []struct{ sql, want string }{
		{`UPDATE events SET note = 'rewritten'`, "permission denied for table events"},
		{`DELETE FROM events`, "permission denied for table events"},
		{`TRUNCATE events`, "permission denied for table events"},
		{`ALTER TABLE events DISABLE TRIGGER ALL`, "must be owner of table events"},
		{`ALTER TABLE events DISABLE TRIGGER events_append_only`, "must be owner of table events"},
		{`DROP TRIGGER events_append_only ON events`, "must be owner of relation events"},
		{`SET session_replication_role = replica`, `permission denied to set parameter "session_replication_role"`},
		{`CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$`, "permission denied for schema public"},
		{`CREATE TABLE shadow (id int)`, "permission denied for schema public"},
		{`CREATE SCHEMA shadow`, "permission denied for database"},
		{`ALTER TABLE events OWNER TO xuncha_app`, "must be owner of table events"},
		{`INSERT INTO schema_version VALUES (99)`, "permission denied for table schema_version"},
		{`SELECT setval('events_id_seq', 1)`, "permission denied for sequence events_id_seq"},
		{`UPDATE calendar_versions SET note = 'x'`, "permission denied for table calendar_versions"},
		{`DELETE FROM findings`, "permission denied for table findings"},
		{`TRUNCATE inspections CASCADE`, "permission denied for table inspections"},
	} {
		requireRefused(t, app, tt.sql, tt.want)
	}
	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM events WHERE note <> 'rewritten'`), "the event is as written")
}

// TestAppRoleGrants checks every table of the schema as the application
// role: SELECT and INSERT everywhere (the version table SELECT only),
// UPDATE and DELETE only where ledger.MutableTables says, TRUNCATE nowhere.
// A table a migration adds is append-only for the application unless it is
// listed; this test then covers it without change.
func TestAppRoleGrants(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	owner, app := connect(t, fx.ownerURL), connect(t, fx.url)
	rows, err := owner.Query(t.Context(), `
SELECT c.relname::text, (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = 1)
FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1`)
	require.NoError(t, err)
	type table struct{ Name, FirstColumn string }
	tables, err := pgx.CollectRows(rows, pgx.RowToStructByPos[table])
	require.NoError(t, err)
	require.Greater(t, len(tables), 15)
	mutable := map[string][]string{}
	for _, m := range ledger.MutableTables() {
		mutable[m.Table] = m.Privileges
		require.NotEmpty(t, m.Why, m.Table)
	}
	for _, tb := range tables {
		t.Run(tb.Name, func(t *testing.T) {
			name, col := pgx.Identifier{tb.Name}.Sanitize(), pgx.Identifier{tb.FirstColumn}.Sanitize()
			// WHERE false: the privilege is checked, no row (nor trigger) is
			// touched.
			statements := map[string]string{
				"SELECT": "SELECT * FROM " + name + " WHERE false",
				"INSERT": "INSERT INTO " + name + " SELECT * FROM " + name + " WHERE false",
				"UPDATE": "UPDATE " + name + " SET " + col + " = " + col + " WHERE false",
				"DELETE": "DELETE FROM " + name + " WHERE false",
			}
			want := []string{"SELECT", "INSERT"}
			if tb.Name == "schema_version" {
				want = []string{"SELECT"}
			}
			want = append(want, mutable[tb.Name]...)
			for _, priv := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
				if slices.Contains(want, priv) {
					_, err := app.Exec(t.Context(), statements[priv])
					require.NoError(t, err, priv)
				} else {
					requireRefused(t, app, statements[priv], "permission denied for table "+tb.Name)
				}
			}
			requireRefused(t, app, "TRUNCATE "+name+" CASCADE", "permission denied for table "+tb.Name)
			requireRefused(t, app, "ALTER TABLE "+name+" DISABLE TRIGGER ALL", "must be owner of table "+tb.Name)
		})
	}
}

// catalogState is what Migrate could change, read as the owner: the
// schema version, the privileges on the schema, its tables and sequences
// and the database, the application role as stored (password included),
// and the tips as stored.
func catalogState(t *testing.T, ownerURL, role string) string {
	t.Helper()
	conn := connect(t, ownerURL)
	var out []string
	for _, q := range []string{
		`SELECT version::text FROM schema_version`,
		`SELECT nspname || ' ' || COALESCE(nspacl::text, '') FROM pg_namespace WHERE nspname = 'public'`,
		`SELECT relname || ' ' || relkind::text || ' ' || relowner::regrole::text || ' ' || COALESCE(relacl::text, '') FROM pg_class
		 WHERE relnamespace = 'public'::regnamespace ORDER BY relname`,
		`SELECT datname || ' ' || COALESCE(datacl::text, '') FROM pg_database WHERE datname = current_database()`,
		`SELECT row_to_json(a)::text FROM (SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
		   rolreplication, rolbypassrls, rolpassword FROM pg_authid WHERE rolname = '` + role + `') a`,
		`SELECT row_to_json(t)::text FROM tips t ORDER BY id`,
	} {
		rows, err := conn.Query(t.Context(), q)
		require.NoError(t, err, q)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err, q)
		out = append(out, lines...)
	}
	return strings.Join(out, "\n")
}

// TestMigrateAgainChangesNothing runs Migrate a second and a third time
// over a ledger migrated with the application role (testenv.Ledger), with
// tips, sealed and not: nothing changes.
func TestMigrateAgainChangesNothing(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	receiveTip(t, fx, "tip-1", "已封存的举报内容")
	before := catalogState(t, fx.ownerURL, testenv.AppRole)
	require.Contains(t, before, `"rolname":"xuncha_app"`)
	for range 2 {
		res, err := ledger.Migrate(t.Context(), fx.ownerURL, ledger.MigrateOptions{AppRole: testenv.AppRole, AppPassword: "ignored", Sealer: fx.store.Secrets})
		require.NoError(t, err)
		require.Equal(t, ledger.MigrateResult{SchemaVersion: res.SchemaVersion}, res, "nothing to do")
		require.Positive(t, res.SchemaVersion)
		require.Equal(t, before, catalogState(t, fx.ownerURL, testenv.AppRole))
	}
}

// roleSeq numbers the roles freshRole names.
var roleSeq atomic.Int64

// freshRole is a role name no other test uses, in this run or an earlier
// one of go test -count (roles are the cluster's, which a test's database
// does not take with it). The number comes first: PostgreSQL cuts a name
// to 63 bytes.
func freshRole(t *testing.T) string {
	return fmt.Sprintf("lp%d_%s", roleSeq.Add(1), strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())))
}

// TestMigrateCreatesTheAppRole creates a role with a password: a SCRAM
// verifier is stored, never the password, and the role holds no attribute.
func TestMigrateCreatesTheAppRole(t *testing.T) {
	t.Parallel()
	db := testenv.NewDatabase(t)
	role := freshRole(t)
	res, err := ledger.Migrate(t.Context(), db.OwnerURL, ledger.MigrateOptions{AppRole: role, AppPassword: "correct horse battery staple"})
	require.NoError(t, err)
	require.True(t, res.RoleCreated)
	require.True(t, res.GrantsChanged)
	state := catalogState(t, db.OwnerURL, role)
	require.Contains(t, state, `"rolsuper":false,"rolinherit":true,"rolcreaterole":false,"rolcreatedb":false,"rolcanlogin":true,"rolreplication":false,"rolbypassrls":false,"rolpassword":"SCRAM-SHA-256$4096:`)
	require.NotContains(t, state, "horse")

	res, err = ledger.Migrate(t.Context(), db.OwnerURL, ledger.MigrateOptions{AppRole: role, AppPassword: "another password"})
	require.NoError(t, err)
	require.Equal(t, ledger.MigrateResult{SchemaVersion: res.SchemaVersion}, res)
	require.Equal(t, state, catalogState(t, db.OwnerURL, role), "an existing role keeps its password")
}

// TestMigrateWithAnExistingRole grants a role an operator created: its
// password stays, and privileges granted beyond the application's are
// taken back.
func TestMigrateWithAnExistingRole(t *testing.T) {
	t.Parallel()
	db := testenv.NewDatabase(t)
	role := freshRole(t)
	owner := connect(t, db.OwnerURL)
	_, err := owner.Exec(t.Context(), `CREATE ROLE `+role+` LOGIN PASSWORD 'set-by-the-dba'`)
	require.NoError(t, err)
	_, err = ledger.Migrate(t.Context(), db.OwnerURL, ledger.MigrateOptions{})
	require.NoError(t, err)
	_, err = owner.Exec(t.Context(), `GRANT ALL ON ALL TABLES IN SCHEMA public TO `+role)
	require.NoError(t, err)
	before := catalogState(t, db.OwnerURL, role)

	res, err := ledger.Migrate(t.Context(), db.OwnerURL, ledger.MigrateOptions{AppRole: role, AppPassword: "from-the-url"})
	require.NoError(t, err)
	require.False(t, res.RoleCreated)
	require.True(t, res.GrantsChanged, "UPDATE, DELETE and TRUNCATE on events taken back")
	after := catalogState(t, db.OwnerURL, role)
	password := func(state string) string { return state[strings.Index(state, `"rolpassword"`):] }
	require.Contains(t, password(before), "SCRAM-SHA-256$")
	require.Equal(t, password(before), password(after), "the DBA's password stays")
	var update bool
	require.NoError(t, owner.QueryRow(t.Context(), `SELECT has_table_privilege($1, 'events', 'UPDATE')`, role).Scan(&update))
	require.False(t, update)
}

// TestMigrateRefusesAPowerfulAppRole refuses roles that would get around
// the grants, each with the reason and what to do.
func TestMigrateRefusesAPowerfulAppRole(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		setup string // %s is the role
		want  string
	}{
		{"createdb", `CREATE ROLE %s LOGIN CREATEDB`, "it has CREATEDB"},
		{"bypassrls", `CREATE ROLE %s LOGIN BYPASSRLS`, "it has BYPASSRLS"},
		{"superuser", `CREATE ROLE %s LOGIN SUPERUSER`, "it has SUPERUSER"},
		{"owner of a table", `CREATE ROLE %[1]s LOGIN; CREATE TABLE extra (id int); ALTER TABLE extra OWNER TO %[1]s`, "owns, or belongs to a role that owns, table extra"},
		{"owner of a trigger function", `CREATE ROLE %[1]s LOGIN; ALTER FUNCTION refuse_change() OWNER TO %[1]s`, "function refuse_change"},
		{"owner of the database", `CREATE ROLE %[1]s LOGIN; DO $$ BEGIN EXECUTE format('ALTER DATABASE %%I OWNER TO %[1]s', current_database()); END $$`, "database t"},
		{"member of the migrator", `CREATE ROLE %s LOGIN IN ROLE postgres`, "member of the role xuncha migrate connects as"},
		{"writes everything", `CREATE ROLE %s LOGIN IN ROLE pg_write_all_data`, "it belongs to pg_write_all_data"},
		{"rewrites the events through a group", `CREATE ROLE g%[1]s; GRANT UPDATE, DELETE ON events TO g%[1]s; CREATE ROLE %[1]s LOGIN IN ROLE g%[1]s`,
			"events: SELECT, INSERT, UPDATE, DELETE, want SELECT, INSERT"},
		{"may set session_replication_role", `CREATE ROLE %[1]s LOGIN; GRANT SET ON PARAMETER session_replication_role TO %[1]s`, "SET on session_replication_role"},
		// Programs run as the database's operating system user can connect
		// as a superuser (peer or trust on its socket) and switch the
		// audit triggers off: the grants stop nothing.
		{"runs programs on the server", `CREATE ROLE %s LOGIN IN ROLE pg_execute_server_program`,
			"it belongs to pg_execute_server_program (REVOKE pg_execute_server_program FROM"},
		{"writes the server files through a group", `CREATE ROLE g%[1]s; GRANT pg_write_server_files TO g%[1]s; CREATE ROLE %[1]s LOGIN IN ROLE g%[1]s`,
			"it belongs to pg_write_server_files"},
		{"reads every table", `CREATE ROLE %s LOGIN IN ROLE pg_read_all_data`, "it belongs to pg_read_all_data"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := testenv.NewDatabase(t)
			role := freshRole(t)
			_, err := ledger.Migrate(t.Context(), db.OwnerURL, ledger.MigrateOptions{})
			require.NoError(t, err)
			_, err = connect(t, db.OwnerURL).Exec(t.Context(), fmt.Sprintf(tt.setup, role))
			require.NoError(t, err)
			_, err = ledger.Migrate(t.Context(), db.OwnerURL, ledger.MigrateOptions{AppRole: role})
			require.ErrorContains(t, err, tt.want)
			// A refused role is granted nothing (the grants a role that
			// inherits more was given stayed).
			var granted int
			require.NoError(t, connect(t, db.OwnerURL).QueryRow(t.Context(),
				`SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = $1 AND grantor <> $1`, role).Scan(&granted))
			require.Zero(t, granted, "grants left to %s", role)
		})
	}
	t.Run("the migrator itself", func(t *testing.T) {
		t.Parallel()
		db := testenv.NewDatabase(t)
		_, err := ledger.Migrate(t.Context(), db.OwnerURL, ledger.MigrateOptions{AppRole: "postgres"})
		require.ErrorContains(t, err, `the application role "postgres" is the role xuncha migrate connects as`)
	})
}

// TestMigrateRevokesPublicCreate takes back CREATE on the schema that
// PostgreSQL before 15 gave PUBLIC.
func TestMigrateRevokesPublicCreate(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	_, err := connect(t, fx.ownerURL).Exec(t.Context(), `GRANT CREATE ON SCHEMA public TO PUBLIC`)
	require.NoError(t, err)
	res, err := ledger.Migrate(t.Context(), fx.ownerURL, ledger.MigrateOptions{AppRole: testenv.AppRole})
	require.NoError(t, err)
	require.True(t, res.PublicCreateRevoked)
	requireRefused(t, connect(t, fx.url), `CREATE TABLE shadow (id int)`, "permission denied for schema public")
	res, err = ledger.Migrate(t.Context(), fx.ownerURL, ledger.MigrateOptions{AppRole: testenv.AppRole})
	require.NoError(t, err)
	require.False(t, res.PublicCreateRevoked)
}

func TestPrivilegeWarnings(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	warnings, err := fx.store.PrivilegeWarnings(t.Context())
	require.NoError(t, err)
	require.Empty(t, warnings, "the application role is as it should be")

	asOwner, err := ledger.Open(t.Context(), fx.ownerURL)
	require.NoError(t, err)
	t.Cleanup(asOwner.Close)
	warnings, err = asOwner.PrivilegeWarnings(t.Context())
	require.NoError(t, err)
	require.Len(t, warnings, 1)
	require.Contains(t, warnings[0], `connected to the ledger as "postgres", a superuser`)
	require.Contains(t, warnings[0], "MIGRATE_DATABASE_URL")

	// A role given a server power after migrate checked it is warned of
	// at every start.
	db := testenv.NewDatabase(t)
	role := freshRole(t)
	_, err = ledger.Migrate(t.Context(), db.OwnerURL, ledger.MigrateOptions{AppRole: role})
	require.NoError(t, err)
	_, err = connect(t, db.OwnerURL).Exec(t.Context(), "GRANT pg_execute_server_program TO "+role)
	require.NoError(t, err)
	u, err := url.Parse(db.OwnerURL)
	require.NoError(t, err)
	u.User = url.User(role)
	asPowerful, err := ledger.Open(t.Context(), u.String())
	require.NoError(t, err)
	t.Cleanup(asPowerful.Close)
	warnings, err = asPowerful.PrivilegeWarnings(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{fmt.Sprintf("connected to the ledger as %q, which belongs to pg_execute_server_program and so reaches past its grants: "+
		"connect as the application role `xuncha migrate` sets up (DATABASE_URL) and keep the owner for migrations (MIGRATE_DATABASE_URL)", role)}, warnings)
}

// rawTip is the tips row as PostgreSQL holds it, as JSON text.
func (fx fixture) rawTip(t *testing.T, id string) string {
	t.Helper()
	var raw string
	require.NoError(t, connect(t, fx.ownerURL).QueryRow(t.Context(), `SELECT row_to_json(t)::text FROM tips t WHERE id = $1`, id).Scan(&raw))
	return raw
}

// TestMigrateSealsPlaintextTips seals the content of a tip written before
// migration 009: only with the key, only as the owner, once.
func TestMigrateSealsPlaintextTips(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	const legacy = "迁移前以明文保存的举报内容"
	require.NoError(t, fx.exec(t, `INSERT INTO tips (id, request_id, inspection_id, channel, received_on, content, stage, received_by)
		VALUES ('tip-old', 'req-old', 'i-1', 'LETTER', '2026-03-01', $1, 'RECEIVED', $2)`, legacy, mustJSON(t, office)))
	require.Contains(t, fx.rawTip(t, "tip-old"), legacy)
	got, err := fx.store.GetTip(t.Context(), "tip-old")
	require.NoError(t, err)
	require.Equal(t, legacy, got.Content, "a plaintext row reads until it is sealed")
	warnings, err := fx.store.PrivilegeWarnings(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"1 tips hold their content in plaintext (written before migration 009 or by an older binary): run xuncha migrate with XUNCHA_TIP_KEY to seal them"}, warnings)

	_, err = ledger.Migrate(t.Context(), fx.ownerURL, ledger.MigrateOptions{AppRole: testenv.AppRole})
	require.ErrorContains(t, err, "1 tips hold their content in plaintext: xuncha migrate seals it with the server key: set XUNCHA_TIP_KEY")
	requireRefused(t, connect(t, fx.url), `UPDATE tips SET content = NULL, content_sealed = '\x01' WHERE id = 'tip-old'`,
		"only the table's owner (xuncha migrate) seals it")

	res, err := ledger.Migrate(t.Context(), fx.ownerURL, ledger.MigrateOptions{AppRole: testenv.AppRole, Sealer: fx.store.Secrets})
	require.NoError(t, err)
	require.Equal(t, 1, res.TipsSealed)
	raw := fx.rawTip(t, "tip-old")
	require.NotContains(t, raw, legacy)
	require.Contains(t, raw, `"content":null`)
	got, err = fx.store.GetTip(t.Context(), "tip-old")
	require.NoError(t, err)
	require.Equal(t, legacy, got.Content)
	res, err = ledger.Migrate(t.Context(), fx.ownerURL, ledger.MigrateOptions{AppRole: testenv.AppRole, Sealer: fx.store.Secrets})
	require.NoError(t, err)
	require.Zero(t, res.TipsSealed)
	require.Error(t, fx.exec(t, `UPDATE tips SET content = $1, content_sealed = NULL WHERE id = 'tip-old'`, legacy),
		"sealed content is never unsealed in place")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// receiveTip records a RECEIVED tip of inspection i-1 with content.
func receiveTip(t *testing.T, fx fixture, id, content string) ledger.Tip {
	t.Helper()
	tip, created, err := fx.store.ReceiveTip(t.Context(), ledger.Tip{ID: id, RequestID: "req-" + id, InspectionID: "i-1",
		Channel: "LETTER", ReceivedOn: "2026-04-02", Content: content, ReceivedBy: member})
	require.NoError(t, err)
	require.True(t, created)
	return tip
}

// TestTipContentSealed checks that what a tip says is in the table only
// sealed, bound to its tip: copied onto another tip, it does not open.
func TestTipContentSealed(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	const content = "某化工厂夜间违规生产，危化品露天堆放"
	tip := receiveTip(t, fx, "tip-1", content)
	require.Equal(t, content, tip.Content)
	raw := fx.rawTip(t, "tip-1")
	for _, form := range []string{content, hex.EncodeToString([]byte(content)), base64.StdEncoding.EncodeToString([]byte(content))} {
		require.NotContains(t, raw, form)
	}
	require.Contains(t, raw, `"content":null`)
	require.Regexp(t, `"content_sealed":"\\\\x[0-9a-f]{100,}"`, raw, "the row holds the ciphertext")
	got, err := fx.store.GetTip(t.Context(), "tip-1")
	require.NoError(t, err)
	require.Equal(t, content, got.Content)
	list, err := fx.store.ListTips(t.Context(), "i-1", 50, "")
	require.NoError(t, err)
	require.Equal(t, content, list.Tips[0].Content)

	// Copied onto another tip (by the owner: the application cannot even
	// rewrite a tip), the ciphertext does not open.
	require.NoError(t, fx.exec(t, `INSERT INTO tips (id, request_id, inspection_id, channel, received_on, content_sealed, stage, received_by)
		SELECT 'tip-copy', 'req-copy', inspection_id, channel, received_on, content_sealed, stage, received_by FROM tips WHERE id = 'tip-1'`))
	_, err = fx.store.GetTip(t.Context(), "tip-copy")
	require.ErrorIs(t, err, tipcrypt.ErrOpen)
	require.ErrorContains(t, err, "server key")
	require.Error(t, fx.exec(t, `UPDATE tips SET content_sealed = (SELECT reporter_ciphertext FROM tips WHERE id = 'tip-1') WHERE id = 'tip-1'`),
		"what was received is never rewritten")

	other, err := ledger.Open(t.Context(), fx.url)
	require.NoError(t, err)
	t.Cleanup(other.Close)
	other.Secrets = testenv.Sealer(t)
	_, err = other.GetTip(t.Context(), "tip-1")
	require.ErrorIs(t, err, tipcrypt.ErrOpen, "another key does not open it")
	other.Secrets = nil
	_, err = other.GetTip(t.Context(), "tip-1")
	require.ErrorContains(t, err, "XUNCHA_TIP_KEY")
	_, _, err = other.ReceiveTip(t.Context(), ledger.Tip{ID: "tip-2", RequestID: "req-tip-2", InspectionID: "i-1",
		Channel: "LETTER", ReceivedOn: "2026-04-02", Content: content, ReceivedBy: member})
	require.ErrorContains(t, err, "XUNCHA_TIP_KEY", "no tip is stored in plaintext for want of a key")
}

// TestMigrateRebuildsAnInvalidIndex: an index a migration builds
// concurrently is left invalid when the build is interrupted, and the
// migration's IF NOT EXISTS would then skip it; Migrate rebuilds it.
func TestMigrateRebuildsAnInvalidIndex(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	conn, err := pgx.Connect(t.Context(), fx.ownerURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	valid := func() (ok bool) {
		require.NoError(t, conn.QueryRow(t.Context(),
			`SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_evidence'::regclass`).Scan(&ok))
		return ok
	}
	require.True(t, valid())
	// What an interrupted CREATE INDEX CONCURRENTLY leaves; and the copy an
	// interrupted REINDEX CONCURRENTLY leaves, which is dropped, not made a
	// second index every write keeps.
	for _, sql := range []string{
		`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'events_evidence'::regclass`,
		`CREATE INDEX events_evidence_ccnew ON events USING gin (evidence jsonb_path_ops)`,
		`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'events_evidence_ccnew'::regclass`,
	} {
		_, err = conn.Exec(t.Context(), sql)
		require.NoError(t, err, sql)
	}
	require.False(t, valid())

	res, err := ledger.Migrate(t.Context(), fx.ownerURL, ledger.MigrateOptions{AppRole: testenv.AppRole, AppPassword: "ignored", Sealer: fx.store.Secrets})
	require.NoError(t, err)
	require.Equal(t, []string{"events_evidence"}, res.IndexesRebuilt)
	require.True(t, valid())
	var leftovers int
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_class WHERE relname = 'events_evidence_ccnew'`).Scan(&leftovers))
	require.Zero(t, leftovers, "the leftover copy is dropped")
}

// TestAppRoleCannotMoveChainHeads: the application role updates chain
// heads (each row appended moves one on) and deletes those of pruned access
// days, and nothing else: no head of another chain deleted, none moved
// back, rewritten where it is or given another subject. Writing goes on as
// before.
func TestAppRoleCannotMoveChainHeads(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100") // writes an event: the head of inspection/i-1 at seq 1
	require.NoError(t, fx.store.RecordAccess(t.Context(), ledger.AccessRecord{
		Actor: member, Action: "/xuncha.v1.TipService/GetTip", Resource: "tips/tip-1", Outcome: ledger.AccessRead,
	}))
	app := connect(t, fx.url)
	for _, tt := range []struct{ sql, want string }{
		{`DELETE FROM audit_chain_heads WHERE subject_type = 'inspection'`, "may not be deleted"},
		{`DELETE FROM audit_chain_heads WHERE subject_type = 'access'`, "may not be deleted"},
		{`UPDATE audit_chain_heads SET seq = seq - 1 WHERE subject_type = 'inspection'`, "only moves on (seq 1 to 0)"},
		{`UPDATE audit_chain_heads SET hash = '\x00'::bytea WHERE subject_type = 'inspection'`, "only moves on (seq 1 to 1)"},
		{`UPDATE audit_chain_heads SET subject_id = 'i-2' WHERE subject_type = 'inspection'`, "may not change its subject"},
	} {
		requireRefused(t, app, tt.sql, tt.want)
	}
	require.NoError(t, fx.store.AppendEvent(t.Context(), casework.Event{
		SubjectType: casework.SubjectInspection, SubjectID: "i-1", Key: "after", Action: "notify", Actor: office, OccurredAt: time.Now(),
	}))
	r, err := fx.store.VerifyAudit(t.Context(), ledger.VerifyOptions{})
	require.NoError(t, err)
	require.True(t, r.OK(), "%v", r.Problems)
}

// TestStartRefusesAnotherKey: a Store whose key opens nothing the ledger
// sealed (another XUNCHA_TIP_KEY) is refused by CheckSecretsKey, naming
// what it could not open; the right key, or a ledger with nothing sealed
// yet, passes.
func TestStartRefusesAnotherKey(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	require.NoError(t, fx.store.CheckSecretsKey(t.Context()), "nothing sealed yet")
	fx.inspection(t, "i-1", "430100")
	receiveTip(t, fx, "tip-1", "某企业夜间偷排")
	require.NoError(t, fx.store.CheckSecretsKey(t.Context()))

	right := fx.store.Secrets
	other, err := tipcrypt.New(make([]byte, tipcrypt.KeySize))
	require.NoError(t, err)
	fx.store.Secrets = other
	err = fx.store.CheckSecretsKey(t.Context())
	require.ErrorContains(t, err, "does not open the content of tip tip-1")
	require.ErrorIs(t, err, tipcrypt.ErrOpen)
	fx.store.Secrets = right

	// xuncha migrate seals no plaintext tip under another key.
	require.NoError(t, fx.exec(t, `INSERT INTO tips (id, request_id, inspection_id, channel, received_on, content, stage, received_by)
		VALUES ('tip-old', 'req-old', 'i-1', 'LETTER', '2026-03-01', '明文', 'RECEIVED', $1)`, mustJSON(t, office)))
	_, err = ledger.Migrate(t.Context(), fx.ownerURL, ledger.MigrateOptions{AppRole: testenv.AppRole, Sealer: other})
	require.ErrorIs(t, err, tipcrypt.ErrOpen)
	require.Contains(t, fx.rawTip(t, "tip-old"), "明文", "left as it was")
	res, err := ledger.Migrate(t.Context(), fx.ownerURL, ledger.MigrateOptions{AppRole: testenv.AppRole, Sealer: right})
	require.NoError(t, err)
	require.Equal(t, 1, res.TipsSealed)
}
