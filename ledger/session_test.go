package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// TestSessionDefaults: every connection of a Store JIT-compiles nothing and
// leaves PostgreSQL's plan cache to its default (ledger.Open says why); a
// database URL that sets a setting keeps its own value.
func TestSessionDefaults(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	for name, want := range map[string]string{"plan_cache_mode": "auto", "jit": "off"} {
		got, err := fx.store.Setting(ctx, name)
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}

	chosen, err := ledger.Open(ctx, fx.url+"&jit=on&plan_cache_mode=force_custom_plan")
	require.NoError(t, err)
	t.Cleanup(chosen.Close)
	for name, want := range map[string]string{"plan_cache_mode": "force_custom_plan", "jit": "on"} {
		got, err := chosen.Setting(ctx, name)
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}
}

// TestStatementsPlannedPerCall: the statements built per filter combination
// (the finding list, the statistics' sums) run unnamed, so PostgreSQL plans
// each call for its arguments and never keeps a generic plan of them;
// sqlc's statements are prepared once per connection. The Store has one
// connection, so what it prepared is what pg_prepared_statements shows.
func TestStatementsPlannedPerCall(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	store, err := ledger.Open(ctx, fx.url+"&pool_max_conns=1")
	require.NoError(t, err)
	t.Cleanup(store.Close)

	_, err = store.GetFinding(ctx, "f-nobody")
	require.ErrorIs(t, err, derrors.ErrNotFound)
	n, err := store.PreparedLike(ctx, "%FROM findings%WHERE id = $1%")
	require.NoError(t, err)
	require.Equal(t, 1, n, "sqlc's GetFinding is prepared once")

	_, err = store.ListFindings(ctx, ledger.FindingFilter{UnitCode: "430100", Stage: "REFERRED"}, 50, "")
	require.NoError(t, err)
	_, err = store.Statistics(ctx, ledger.StatisticsFilter{UnitCode: "430100"}, []ledger.Dimension{ledger.DimensionKind})
	require.NoError(t, err)
	for _, like := range []string{"%FROM findings%ORDER BY created_at, id LIMIT%", "%closure_findings FROM%"} {
		n, err := store.PreparedLike(ctx, like)
		require.NoError(t, err)
		require.Zero(t, n, "%s is prepared, so PostgreSQL may keep a generic plan of it", like)
	}
}

// TestMigrateNamesNoPassword: a connection string that does not parse is
// refused without quoting it; pgx's quote kept the password of some forms
// of one ("password = x", "PASSWORD=x").
func TestMigrateNamesNoPassword(t *testing.T) {
	for _, url := range []string{"host=127.0.0.1 password = S3cretPW sslmode=bogus", "host=127.0.0.1 PASSWORD=S3cretPW x"} {
		_, err := ledger.Migrate(t.Context(), url, ledger.MigrateOptions{})
		require.ErrorIs(t, err, derrors.ErrInvalidArgument, url)
		require.NotContains(t, err.Error(), "S3cretPW", url)
	}
}
