package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/ledger"
)

// roundTrips counts what a Store's connections send: batches (each one
// round trip) and statements sent alone.
type roundTrips struct {
	mu               sync.Mutex
	batches, queries int
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries++
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches++
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// take returns the counts since the last take.
func (r *roundTrips) take() (batches, queries int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	batches, queries = r.batches, r.queries
	r.batches, r.queries = 0, 0
	return batches, queries
}

// TestFindingWritesArePipelined: a finding's writes, each inside a workflow
// task, go to PostgreSQL in batches. Its record is three: BEGIN, the row
// and its number; the number's write and the event's chain head; the
// event and COMMIT. A change is two: BEGIN, the row and its event's chain
// head; the event and COMMIT. And a transaction stays one: when either
// batch of a change fails, nothing of it is kept, and the connection (the
// pool's only one here) serves the next change.
func TestFindingWritesArePipelined(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	trips := &roundTrips{}
	store, err := ledger.Open(t.Context(), fx.url+"&pool_max_conns=1", ledger.WithTracer(trips))
	require.NoError(t, err)
	t.Cleanup(store.Close)
	f := newFinding("f-1", "i-1", "430100", march)
	trips.take()
	f.LedgerNumber, err = store.RecordFinding(t.Context(), f, "record/f-1")
	require.NoError(t, err)
	batches, queries := trips.take()
	require.Equal(t, [2]int{3, 0}, [2]int{batches, queries}, "the record's batches and statements sent alone")

	diagnosed := f
	diagnosed.Stage, diagnosed.Version, diagnosed.UpdatedAt = "DIAGNOSED", 2, march.Add(time.Hour)
	diagnosed.Diagnosis = &casework.Diagnosis{Cause: "管理缺失", ResponsibleParties: []string{"厂长"}, RiskLevel: "HIGH"}
	diagnose := casework.Event{Key: "diagnose/r2", Action: "diagnose", StageBefore: "LISTED", StageAfter: "DIAGNOSED",
		Actor: member, OccurredAt: diagnosed.UpdatedAt}
	require.NoError(t, store.ApplyFindingChange(t.Context(), diagnosed, diagnose))
	batches, queries = trips.take()
	require.Equal(t, [2]int{2, 0}, [2]int{batches, queries}, "the change's batches and statements sent alone")

	// The first batch fails (PostgreSQL takes no NUL in text): nothing.
	broken := diagnosed
	broken.Title, broken.Version = "含\x00字符", 3
	err = store.ApplyFindingChange(t.Context(), broken, casework.Event{Key: "k-title", Action: "note", Actor: office, OccurredAt: march})
	require.ErrorContains(t, err, "0x00")
	// The second fails, after the row moved in the transaction: the move
	// is rolled back with it.
	moved := diagnosed
	moved.Stage, moved.Version = "CLASSIFIED", 3
	err = store.ApplyFindingChange(t.Context(), moved, casework.Event{Key: "k-note", Action: "classify", Actor: office,
		Note: "含\x00字符", OccurredAt: march})
	require.ErrorContains(t, err, "0x00")
	require.ErrorContains(t, err, `appending classify event "k-note" of finding "f-1"`, "the error names the event")
	got, err := store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	requireSameFinding(t, diagnosed, got)
	events, err := store.Events(t.Context(), casework.SubjectFinding, "f-1")
	require.NoError(t, err)
	require.Len(t, events, 2, "record, diagnose")

	// The same change, mended, is written on the same single connection.
	moved.Version = 3
	require.NoError(t, store.ApplyFindingChange(t.Context(), moved, casework.Event{Key: "k-note", Action: "classify",
		Actor: office, Note: "已分类", OccurredAt: march}))
	got, err = store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	require.Equal(t, "CLASSIFIED", got.Stage)
}

// TestPipelineBeginsWhenBeginRan: a first statement PostgreSQL refuses to
// prepare fails its batch before BEGIN is executed; the statements that
// follow, for a caller that goes on, are still in the transaction, and
// nothing of it is kept when it fails.
func TestPipelineBeginsWhenBeginRan(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	errs := fx.store.ExecInPipeline(t.Context(),
		`SELECT no_such_column FROM findings`,
		`INSERT INTO ledger_sequences (year, unit_code, last) VALUES (1999, '999999', 1)`)
	require.ErrorContains(t, errs[0], "no_such_column")
	require.NoError(t, errs[1])
	require.Zero(t, fx.count(t, `SELECT count(*) FROM ledger_sequences WHERE year = 1999`))
}
