package ledger_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
)

// comprehensive is a COMPREHENSIVE inspection of unit planned in 2026.
func comprehensive(id, unit string) casework.Inspection {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	return casework.Inspection{
		Lifecycle: casework.Lifecycle{ID: id, WorkflowID: "inspection/" + id, RequestID: "req-" + id, UnitCode: unit,
			Stage: "PLANNED", CreatedAt: start},
		UnitName: "unit " + unit,
		Kind:     "COMPREHENSIVE", PlannedStart: start, PlannedEnd: start.AddDate(0, 0, 14),
		CreatedBy: office,
	}
}

func stateCouncil(unit, requestID string) ledger.StateCouncilInspection {
	return ledger.StateCouncilInspection{UnitCode: unit, Year: 2026, RequestID: requestID, RecordedBy: office}
}

// reason is the StageError reason of err, or "".
func reason(err error) string {
	var stage *derrors.StageError
	if errors.As(err, &stage) {
		return stage.Reason
	}
	return ""
}

func TestNonRepetition(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()

	// The State Council inspected 430100 in 2026: a COMPREHENSIVE inspection
	// of it that year is refused, a retry of an earlier create is not.
	_, err := fx.store.RecordStateCouncilInspection(ctx, stateCouncil("430100", "sc-1"))
	require.NoError(t, err)
	err = fx.store.CreateInspection(ctx, comprehensive("ins-1", "430100"), "create/ins-1", true)
	require.Equal(t, "STATE_COUNCIL_INSPECTED", reason(err), "%v", err)
	_, err = fx.store.GetInspection(ctx, "ins-1")
	require.ErrorIs(t, err, derrors.ErrNotFound, "nothing was recorded")
	require.NoError(t, fx.store.CreateInspection(ctx, comprehensive("ins-1", "430100"), "create/ins-1", false),
		"the rule applies only when the workflow asks for it")

	// A planned COMPREHENSIVE inspection refuses the State Council's record
	// until it is cancelled; a retry of a recorded one is answered.
	require.NoError(t, fx.store.CreateInspection(ctx, comprehensive("ins-2", "430200"), "create/ins-2", true))
	_, err = fx.store.RecordStateCouncilInspection(ctx, stateCouncil("430200", "sc-2"))
	require.Equal(t, "COMPREHENSIVE_INSPECTION_PLANNED", reason(err), "%v", err)
	require.Contains(t, err.Error(), "ins-2")
	_, err = fx.store.RecordStateCouncilInspection(ctx, stateCouncil("430100", "sc-1"))
	require.NoError(t, err, "a retry")
}

// TestNonRepetitionRace fires a COMPREHENSIVE inspection and the State
// Council's record of the same unit and year at once, many times: exactly
// one of each pair wins.
func TestNonRepetitionRace(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	for i := range 20 {
		unit := fmt.Sprintf("43%04d", 1000+i)
		var wg sync.WaitGroup
		var createErr, recordErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			createErr = fx.store.CreateInspection(ctx, comprehensive(fmt.Sprintf("race-%d", i), unit), fmt.Sprintf("create/race-%d", i), true)
		}()
		go func() {
			defer wg.Done()
			_, recordErr = fx.store.RecordStateCouncilInspection(ctx, stateCouncil(unit, fmt.Sprintf("sc-race-%d", i)))
		}()
		wg.Wait()
		wins := 0
		for _, err := range []error{createErr, recordErr} {
			if err == nil {
				wins++
				continue
			}
			require.Contains(t, []string{"STATE_COUNCIL_INSPECTED", "COMPREHENSIVE_INSPECTION_PLANNED"}, reason(err), "%v", err)
		}
		require.Equal(t, 1, wins, "unit %s: create %v, record %v", unit, createErr, recordErr)
	}
}
