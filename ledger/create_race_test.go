package ledger_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// A lifecycle's row is keyed by its ID and holds a workflow ID that is
// unique too. A retried activity may write the same new row twice at once:
// both writes must succeed, whichever index the second one meets first,
// and one row and one event must result. (With ON CONFLICT (id) the second
// write waited for the first and then broke the workflow ID's index: a
// permanent "belongs to another" refusal of a write that had succeeded.)

// twiceAtOnce runs write for each of n IDs twice at once, the two writes
// of an ID released together, and returns the errors.
func twiceAtOnce(n int, write func(id string) error) []error {
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		start := make(chan struct{})
		for j := range 2 {
			wg.Go(func() {
				<-start
				errs[2*i+j] = write(fmt.Sprintf("x-%d", i))
			})
		}
		close(start)
	}
	wg.Wait()
	return errs
}

func TestInspectionWrittenTwiceAtOnce(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	const n = 16
	for _, err := range twiceAtOnce(n, func(id string) error {
		return fx.store.CreateInspection(t.Context(), comprehensive(id, "430100"), "create/"+id, false)
	}) {
		require.NoError(t, err)
	}
	require.Equal(t, n, fx.count(t, `SELECT count(*) FROM inspections`))
	require.Equal(t, n, fx.count(t, `SELECT count(*) FROM events WHERE subject_type = 'inspection'`))
}

func TestInterviewWrittenTwiceAtOnce(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	const n = 16
	for _, err := range twiceAtOnce(n, func(id string) error {
		return fx.store.CreateInterview(t.Context(), newInterview(id, "finding/f-"+id, march),
			casework.Event{Key: "propose/" + id, Action: "propose", StageAfter: "PROPOSED", Actor: office, OccurredAt: march}, nil)
	}) {
		require.NoError(t, err)
	}
	require.Equal(t, n, fx.count(t, `SELECT count(*) FROM interviews`))
	require.Equal(t, n, fx.count(t, `SELECT count(*) FROM events WHERE subject_type = 'interview'`))
}

// TestProposalByHandWrittenTwiceAtOnce: the same proposal by hand
// (AloneOpen) written twice at once is no other interview of its subject.
// Refused, its workflow would leave the row PROPOSED, holding the subject
// up for good.
func TestProposalByHandWrittenTwiceAtOnce(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	const n = 16
	for _, err := range twiceAtOnce(n, func(id string) error {
		return fx.store.CreateInterview(t.Context(), newInterview(id, "finding/f-"+id, march),
			casework.Event{Key: "propose/" + id, Action: "propose", StageAfter: "PROPOSED", Actor: office, OccurredAt: march},
			nil, ledger.AloneOpen)
	}) {
		require.NoError(t, err)
	}
	require.Equal(t, n, fx.count(t, `SELECT count(*) FROM interviews`))
	require.Equal(t, n, fx.count(t, `SELECT count(*) FROM events WHERE subject_type = 'interview'`))
}

// TestWorkflowIDOfAnotherIsRefused: a new lifecycle whose workflow ID a
// row of another ID holds is refused and writes nothing.
func TestWorkflowIDOfAnotherIsRefused(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")

	other := comprehensive("i-2", "430200")
	other.WorkflowID = "inspection/i-1"
	err := fx.store.CreateInspection(t.Context(), other, "create/i-2", false)
	require.ErrorIs(t, err, derrors.ErrAlreadyExists)
	require.ErrorContains(t, err, `workflow ID "inspection/i-1" belongs to another inspection`)

	_, err = fx.store.RecordFinding(t.Context(), newFinding("f-1", "i-1", "430100", march), "record/f-1")
	require.NoError(t, err)
	f := newFinding("f-2", "i-1", "430100", march)
	f.WorkflowID = "finding/f-1"
	_, err = fx.store.RecordFinding(t.Context(), f, "record/f-2")
	require.ErrorIs(t, err, derrors.ErrAlreadyExists)
	require.ErrorContains(t, err, `workflow ID "finding/f-1" belongs to another finding`)

	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM inspections`))
	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM findings`))
	require.Equal(t, 0, fx.count(t, `SELECT count(*) FROM events WHERE subject_id IN ('i-2', 'f-2')`))
	require.Equal(t, 0, fx.count(t, `SELECT count(*) FROM ledger_sequences WHERE last > 1`), "the refused finding took no number")
}

func TestFindingWrittenTwiceAtOnce(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	const n = 16
	for _, err := range twiceAtOnce(n, func(id string) error {
		_, err := fx.store.RecordFinding(t.Context(), newFinding(id, "i-1", "430100", march), "record/"+id)
		return err
	}) {
		require.NoError(t, err)
	}
	require.Equal(t, n, fx.count(t, `SELECT count(*) FROM findings WHERE ledger_number IS NOT NULL`))
	require.Equal(t, n, fx.count(t, `SELECT count(*) FROM events WHERE subject_type = 'finding'`))
}
