package activities_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
)

func TestInterviewActivities(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	at := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	iv := casework.Interview{Lifecycle: casework.Lifecycle{ID: "iv-1", WorkflowID: "interview/iv-1", RequestID: "req-1", UnitCode: "430100",
		Stage: "PROPOSED", CreatedAt: at, UpdatedAt: at, Version: 1},
		Subject: "inspection/i-1",
		Reason:  "报告逾期", Source: "LADDER", ProposedBy: actor.System,
	}
	rec := activities.RecordInterviewInput{Interview: iv,
		Event: casework.Event{Key: "propose/req-1", Action: "propose", StageAfter: "PROPOSED", Actor: actor.System, OccurredAt: at}}
	for range 2 {
		_, err := fx.env.ExecuteActivity(fx.acts.RecordInterview, rec)
		require.NoError(t, err)
	}
	held := iv
	held.Stage, held.Version, held.HeldOn, held.DeadlineSeq = "HELD", 2, "2026-04-01", 1
	_, err := fx.env.ExecuteActivity(fx.acts.ApplyInterviewChange, activities.InterviewChangeInput{Interview: held,
		Event: casework.Event{Key: "hold/h1", Action: "hold", StageBefore: "PROPOSED", StageAfter: "HELD", Actor: office, OccurredAt: at}})
	require.NoError(t, err)

	overdue := held
	overdue.Overdue, overdue.MissedDeadlines, overdue.Version = true, 1, 3
	in := activities.EscalateInterviewInput{
		Escalation: casework.Escalation{Subject: "interview/iv-1", DeadlineSeq: 1, Step: casework.StepOverdue, UnitCode: "430100",
			DueAt: at.Add(9 * 24 * time.Hour), FiredAt: at.Add(9 * 24 * time.Hour), Message: "逾期"},
		Interview: overdue,
		Event:     casework.Event{Key: "escalate/1/OVERDUE", Action: "escalate", Actor: actor.System, OccurredAt: at.Add(9 * 24 * time.Hour)},
	}
	var ids []string
	for range 2 {
		val, err := fx.env.ExecuteActivity(fx.acts.EscalateInterview, in)
		require.NoError(t, err)
		var res activities.EscalateResult
		require.NoError(t, val.Get(&res))
		ids = append(ids, res.Escalation.ID)
	}
	require.Equal(t, ids[0], ids[1], "the escalation ID is stable across retries")
	got, err := fx.store.GetInterview(t.Context(), "iv-1")
	require.NoError(t, err)
	require.True(t, got.Overdue)
	require.Equal(t, 3, got.Version)
	events, err := fx.store.Events(t.Context(), casework.SubjectInterview, "iv-1")
	require.NoError(t, err)
	require.Len(t, events, 3, "propose, hold, escalate: nothing twice")
	require.Equal(t, casework.SubjectInterview, events[2].SubjectType)

	// Refusals are not retried.
	missing := iv
	missing.ID = "iv-missing"
	_, err = fx.env.ExecuteActivity(fx.acts.ApplyInterviewChange, activities.InterviewChangeInput{Interview: missing})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, "NOT_FOUND", app.Type())
}
