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

// TestFirstWriteTwiceAtOnce: a lifecycle's row is keyed by its ID and
// holds a workflow ID that is unique too. A retried activity may write the
// same new row twice at once: both writes must succeed, whichever index
// the second one meets first, and one row and one event must result. (With
// ON CONFLICT (id) the second write waited for the first and then broke
// the workflow ID's index: a permanent "belongs to another" refusal of a
// write that had succeeded.) A proposal by hand (AloneOpen) is no other
// interview of its subject either: refused, its workflow would leave the
// row PROPOSED, holding the subject up for good.
func TestFirstWriteTwiceAtOnce(t *testing.T) {
	t.Parallel()
	propose := func(t *testing.T, fx fixture, rules ...ledger.InterviewRule) func(string) error {
		return func(id string) error {
			return fx.store.CreateInterview(t.Context(), newInterview(id, "finding/f-"+id, march),
				casework.Event{Key: "propose/" + id, Action: "propose", StageAfter: "PROPOSED", Actor: office, OccurredAt: march},
				nil, rules...)
		}
	}
	for _, c := range []struct {
		name        string
		rows        string // counts the rows written
		subjectType string
		write       func(t *testing.T, fx fixture) func(id string) error
	}{
		{"inspection", `SELECT count(*) FROM inspections`, "inspection", func(t *testing.T, fx fixture) func(string) error {
			return func(id string) error {
				return fx.store.CreateInspection(t.Context(), comprehensive(id, "430100"), "create/"+id, false)
			}
		}},
		{"finding", `SELECT count(*) FROM findings WHERE ledger_number IS NOT NULL`, "finding", func(t *testing.T, fx fixture) func(string) error {
			fx.inspection(t, "i-1", "430100")
			return func(id string) error {
				_, err := fx.store.RecordFinding(t.Context(), newFinding(id, "i-1", "430100", march), "record/"+id)
				return err
			}
		}},
		{"interview", `SELECT count(*) FROM interviews`, "interview", func(t *testing.T, fx fixture) func(string) error {
			return propose(t, fx)
		}},
		{"interview proposed by hand", `SELECT count(*) FROM interviews`, "interview", func(t *testing.T, fx fixture) func(string) error {
			return propose(t, fx, ledger.AloneOpen)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fx := setup(t)
			const n = 16
			for _, err := range twiceAtOnce(n, c.write(t, fx)) {
				require.NoError(t, err)
			}
			require.Equal(t, n, fx.count(t, c.rows))
			require.Equal(t, n, fx.count(t, `SELECT count(*) FROM events WHERE subject_type = $1`, c.subjectType))
		})
	}
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
