package ledger_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

func TestCheckSchema(t *testing.T) {
	ctx := context.Background()
	files, err := fs.Glob(os.DirFS("migrations"), "*.sql")
	require.NoError(t, err)
	// The migrator counts its migrations from 1 without gaps.
	require.Equal(t, int32(len(files)), ledger.LatestSchema(), "the latest schema is the last migration's number")

	db := testenv.NewDatabase(t)
	owner, err := ledger.Open(ctx, db.OwnerURL)
	require.NoError(t, err)
	defer owner.Close()
	_, err = owner.CheckSchema(ctx)
	require.ErrorIs(t, err, derrors.ErrFailedPrecondition, "a ledger never migrated")
	require.ErrorContains(t, err, "the ledger has no schema: run `xuncha migrate`")

	_, err = ledger.Migrate(ctx, db.OwnerURL, ledger.MigrateOptions{AppRole: testenv.AppRole, Sealer: testenv.Sealer(t)})
	require.NoError(t, err)
	app, err := ledger.Open(ctx, db.URL)
	require.NoError(t, err)
	defer app.Close()
	state, err := app.CheckSchema(ctx)
	require.NoError(t, err, "the application role reads the version")
	require.Equal(t, ledger.SchemaState{Version: ledger.LatestSchema(), Latest: ledger.LatestSchema()}, state)
	require.False(t, state.Ahead())

	conn, err := pgx.Connect(ctx, db.OwnerURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	setVersion := func(v int32) {
		t.Helper()
		_, err := conn.Exec(ctx, "UPDATE schema_version SET version = $1", v)
		require.NoError(t, err)
	}
	setVersion(ledger.LatestSchema() - 1)
	_, err = app.CheckSchema(ctx)
	require.ErrorIs(t, err, derrors.ErrFailedPrecondition, "a ledger an older release migrated")
	require.ErrorContains(t, err, fmt.Sprintf("the ledger's schema is at version %d and this release needs %d: run this release's `xuncha migrate`",
		ledger.LatestSchema()-1, ledger.LatestSchema()))

	setVersion(ledger.LatestSchema() + 1)
	state, err = app.CheckSchema(ctx)
	require.NoError(t, err, "a ledger a newer release migrated: this one runs on it")
	require.True(t, state.Ahead())
}
