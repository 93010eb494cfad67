package activities_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/ledger"
)

func TestFindingActivities(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	f := foundFinding("f-1", "重大事故隐患", "MAJOR", member)
	at := f.CreatedAt

	// Recording twice (a retried activity) gives one number.
	var numbers []string
	for range 2 {
		val, err := fx.env.ExecuteActivity(fx.acts.RecordFinding, activities.RecordFindingInput{Finding: f, EventKey: "record/req-f-1"})
		require.NoError(t, err)
		var res activities.RecordFindingResult
		require.NoError(t, val.Get(&res))
		numbers = append(numbers, res.LedgerNumber)
	}
	require.Equal(t, []string{"2026-430100-0001", "2026-430100-0001"}, numbers)

	referred := f
	referred.LedgerNumber, referred.Stage, referred.DeadlineSeq, referred.Version = numbers[0], "REFERRED", 1, 2
	_, err := fx.env.ExecuteActivity(fx.acts.ApplyFindingChange, activities.FindingChangeInput{Finding: referred,
		Event: casework.Event{Key: "refer/req-2", Action: "refer", StageBefore: "FOUND", StageAfter: "REFERRED", Actor: member, OccurredAt: at}})
	require.NoError(t, err)
	got, err := fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	require.Equal(t, "REFERRED", got.Stage)

	val, err := fx.env.ExecuteActivity(fx.acts.OpenDeadlines)
	require.NoError(t, err)
	var open activities.OpenDeadlinesResult
	require.NoError(t, val.Get(&open))
	require.Equal(t, []string{"finding/f-1"}, open.WorkflowIDs)

	overdue := referred
	overdue.Overdue, overdue.MissedDeadlines, overdue.Version = true, 1, 3
	esc := activities.EscalateInput{
		Escalation: casework.Escalation{Subject: "finding/f-1", DeadlineSeq: 1, Step: casework.StepOverdue, UnitCode: "430100",
			DueAt: at.Add(30 * 24 * time.Hour), FiredAt: at.Add(30 * 24 * time.Hour), Message: "整改期限已过"},
		Finding: overdue,
		Event:   casework.Event{Key: "escalate/1/OVERDUE", Action: "escalate", Actor: actor.System, OccurredAt: at.Add(30 * 24 * time.Hour)},
	}
	var ids []string
	for range 2 {
		val, err := fx.env.ExecuteActivity(fx.acts.Escalate, esc)
		require.NoError(t, err)
		var res activities.EscalateResult
		require.NoError(t, val.Get(&res))
		ids = append(ids, res.Escalation.ID)
	}
	require.Equal(t, ids[0], ids[1], "the escalation ID is stable across retries")
	require.Equal(t, casework.EscalationID("finding/f-1", 1, casework.StepOverdue), ids[0])
	got, err = fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	require.True(t, got.Overdue)
	events, err := fx.store.Events(t.Context(), casework.SubjectFinding, "f-1")
	require.NoError(t, err)
	require.Len(t, events, 3)

	// Refusals are not retried.
	missing := f
	missing.ID = "f-missing"
	_, err = fx.env.ExecuteActivity(fx.acts.ApplyFindingChange, activities.FindingChangeInput{Finding: missing,
		Event: casework.Event{Key: "k", Action: "refer", Actor: member, OccurredAt: at}})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, "NOT_FOUND", app.Type())

	orphan := f
	orphan.ID, orphan.WorkflowID, orphan.InspectionID = "f-orphan", "finding/f-orphan", "i-none"
	_, err = fx.env.ExecuteActivity(fx.acts.RecordFinding, activities.RecordFindingInput{Finding: orphan, EventKey: "record/orphan"})
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, "NOT_FOUND", app.Type())

	// Another finding on the same workflow ID is refused, not retried.
	twin := f
	twin.ID = "f-twin"
	_, err = fx.env.ExecuteActivity(fx.acts.RecordFinding, activities.RecordFindingInput{Finding: twin, EventKey: "record/twin"})
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, "ALREADY_EXISTS", app.Type())
}

// TestApplyFindingDeadline: the rule is computed with the ledger's calendar
// and the change written with it, the event's data keeping what it had and
// the deadline under "deadline"; a rule the charter refuses writes nothing
// and is not retried.
func TestApplyFindingDeadline(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	f := foundFinding("f-1", "消防通道堵塞", "GENERAL", member)
	at := f.CreatedAt
	_, err := fx.env.ExecuteActivity(fx.acts.RecordFinding, activities.RecordFindingInput{Finding: f, EventKey: "record/req-f-1", Listed: true})
	require.NoError(t, err)

	referred := f
	referred.Stage, referred.DeadlineSeq, referred.Version = "REFERRED", 1, 3
	referred.Referral = &casework.Referral{ReceivingAuthority: "长沙市安委办", FeedbackReceivedOn: "2026-03-02"}
	refer := activities.FindingDeadlineInput{Finding: referred,
		Event: casework.Event{Key: "refer/r1", Action: "refer", StageBefore: "LISTED", StageAfter: "REFERRED", Actor: member, OccurredAt: at,
			Data: json.RawMessage(`{"referral":{"receiving_authority":"长沙市安委办"}}`)},
		Rule: deadline.Rectification("feedback_received_on", "2026-03-02", "")}

	tooLate := refer
	tooLate.Rule = deadline.Rectification("feedback_received_on", "2026-03-02", "2026-05-30")
	_, err = fx.env.ExecuteActivity(fx.acts.ApplyFindingDeadline, tooLate)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
	got, err := fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	require.Equal(t, "LISTED", got.Stage, "a refused rule writes nothing")

	notAnObject := refer
	notAnObject.Event.Data = json.RawMessage(`["referral"]`)
	_, err = fx.env.ExecuteActivity(fx.acts.ApplyFindingDeadline, notAnObject)
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, activities.ErrTypeEventData, app.Type())
	got, err = fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	require.Equal(t, "LISTED", got.Stage, "data that is not an object writes nothing")

	val, err := fx.env.ExecuteActivity(fx.acts.ApplyFindingDeadline, refer)
	require.NoError(t, err)
	var res deadline.Resolved
	require.NoError(t, val.Get(&res))
	require.Equal(t, "2026-04-02", res.Deadline.Due.String())
	got, err = fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	require.Equal(t, "REFERRED", got.Stage)
	require.Equal(t, "2026-04-02", got.Deadline.Due.String())
	events, err := fx.store.Events(t.Context(), casework.SubjectFinding, "f-1")
	require.NoError(t, err)
	var data struct {
		Referral map[string]any    `json:"referral"`
		Deadline calendar.Deadline `json:"deadline"`
	}
	require.NoError(t, json.Unmarshal(events[len(events)-1].Data, &data))
	require.Equal(t, "长沙市安委办", data.Referral["receiving_authority"])
	require.Equal(t, res.Deadline.Due, data.Deadline.Due)
	require.Equal(t, res.Deadline.Explanation, data.Deadline.Explanation)

	// A calendar version that makes the last day a rest day is loaded,
	// then the write is retried (its first answer lost): it answers with
	// the deadline the ledger holds, not the one the new calendar gives.
	notice := []byte(`{"year":2026,"doc_number":"国办发明电〔2025〕测试号","holidays":[{"name":"Test Day","name_zh":"测试假日","start":"2026-04-02","end":"2026-04-02"}],"makeup_days":[]}`)
	_, _, err = fx.store.InsertCalendarVersion(t.Context(), ledger.CalendarVersion{Year: 2026, RequestID: "load-2026", DocNumber: "国办发明电〔2025〕测试号",
		Notice: notice, LoadedBy: member, LoadedAt: time.Now().UTC()}, nil)
	require.NoError(t, err)
	val, err = fx.env.ExecuteActivity(fx.acts.ResolveDeadline, activities.ResolveDeadlineInput{Rule: refer.Rule})
	require.NoError(t, err)
	var now deadline.Resolved
	require.NoError(t, val.Get(&now))
	require.NotEqual(t, res.Deadline.Due, now.Deadline.Due, "the new calendar moves the last day")
	val, err = fx.env.ExecuteActivity(fx.acts.ApplyFindingDeadline, refer)
	require.NoError(t, err)
	var retried deadline.Resolved
	require.NoError(t, val.Get(&retried))
	require.Equal(t, res.Deadline.Due, retried.Deadline.Due, "the retry answers with the deadline written")
	require.Equal(t, res.Deadline.Versions, retried.Deadline.Versions)
	overdue := slices.IndexFunc(retried.Steps, func(s deadline.ScheduledStep) bool { return s.Step == casework.StepOverdue })
	require.GreaterOrEqual(t, overdue, 0, "%+v", retried.Steps)
	require.Equal(t, res.Deadline.DueAt, retried.Steps[overdue].At, "its ladder is that day's")
	got, err = fx.store.GetFinding(t.Context(), "f-1")
	require.NoError(t, err)
	require.Equal(t, res.Deadline.Due, got.Deadline.Due)
	again, err := fx.store.Events(t.Context(), casework.SubjectFinding, "f-1")
	require.NoError(t, err)
	require.Len(t, again, len(events), "the retry records nothing")
}

// TestCloseFinding: an accepted verification closes the finding in the
// same call that reads the sign-off rules when they name no signers for
// it; when they do, nothing is written and the terms say whom to ask.
func TestCloseFinding(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	record := func(id, severity string) casework.Finding {
		f := foundFinding(id, "消防通道堵塞", severity, member)
		_, err := fx.env.ExecuteActivity(fx.acts.RecordFinding, activities.RecordFindingInput{Finding: f, EventKey: "record/" + id, Listed: true})
		require.NoError(t, err)
		f.Stage, f.Version = "CLOSED", 3
		return f
	}
	rules := []casework.SignoffRule{{Kind: "HAZARD", Severity: "MAJOR", Signers: []casework.Signer{{Role: actor.RoleOffice}}}}
	_, err := fx.store.SetEscalationPolicy(t.Context(), "signoff-major", []casework.EscalationStep{{Step: casework.StepOverdue}},
		casework.DefaultExtensionLimits(), rules, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)

	for _, tt := range []struct {
		severity string
		closed   bool
		stage    string
	}{{"GENERAL", true, "CLOSED"}, {"MAJOR", false, "LISTED"}} {
		f := record("f-"+tt.severity, tt.severity)
		val, err := fx.env.ExecuteActivity(fx.acts.CloseFinding, activities.CloseFindingInput{Finding: f,
			Event: casework.Event{Key: "verify/v1", Action: "verify", StageBefore: "RECTIFIED", StageAfter: "CLOSED", Actor: office, OccurredAt: foundAt}})
		require.NoError(t, err)
		var res activities.CloseFindingResult
		require.NoError(t, val.Get(&res))
		require.Equal(t, tt.closed, res.Closed, tt.severity)
		require.Equal(t, !tt.closed, res.Terms.Rule != nil, tt.severity)
		got, err := fx.store.GetFinding(t.Context(), f.ID)
		require.NoError(t, err)
		require.Equal(t, tt.stage, got.Stage, tt.severity)
	}

	// The close-out written (its answer lost), then the office's rules
	// name signers for the finding too: the retried call answers that it
	// is closed, as the first attempt did. A finding whose round of
	// sign-off was asked (written under the verification's key) is not.
	closeOut := func(f casework.Finding, key string) activities.CloseFindingResult {
		t.Helper()
		val, err := fx.env.ExecuteActivity(fx.acts.CloseFinding, activities.CloseFindingInput{Finding: f,
			Event: casework.Event{Key: key, Action: "verify", StageBefore: "RECTIFIED", StageAfter: "CLOSED", Actor: office, OccurredAt: foundAt}})
		require.NoError(t, err)
		var res activities.CloseFindingResult
		require.NoError(t, val.Get(&res))
		return res
	}
	retried := record("f-retried", "GENERAL")
	require.True(t, closeOut(retried, "verify/v2").Closed)
	asked := record("f-asked", "GENERAL")
	round := asked
	round.Stage = "RECTIFIED"
	require.NoError(t, fx.store.ApplyFindingChange(t.Context(), round, casework.Event{Key: "verify/v3", Action: "verify",
		StageBefore: "RECTIFIED", StageAfter: "RECTIFIED", Actor: office, OccurredAt: foundAt}))
	rules = append(rules, casework.SignoffRule{Kind: "HAZARD", Severity: "GENERAL", Signers: []casework.Signer{{Role: actor.RoleOffice}}})
	_, err = fx.store.SetEscalationPolicy(t.Context(), "signoff-general", []casework.EscalationStep{{Step: casework.StepOverdue}},
		casework.DefaultExtensionLimits(), rules, casework.DefaultInvitationAnswerWorkingDays, nil, office)
	require.NoError(t, err)
	res := closeOut(retried, "verify/v2")
	require.True(t, res.Closed, "the retry of a close-out written")
	require.NotNil(t, res.Terms.Rule)
	res = closeOut(asked, "verify/v3")
	require.False(t, res.Closed, "a round asked is no close-out")
	got, err := fx.store.GetFinding(t.Context(), asked.ID)
	require.NoError(t, err)
	require.Equal(t, "RECTIFIED", got.Stage)
}

func TestSubscribers(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	for _, w := range []casework.Webhook{
		{ID: "w-all", RequestID: "r-1", URL: "https://a.example/", Secret: "x", CreatedBy: office},
		{ID: "w-major", RequestID: "r-2", URL: "https://b.example/", EventTypes: []string{"finding.major"}, Secret: "x", CreatedBy: office},
		{ID: "w-gone", RequestID: "r-3", URL: "https://c.example/", Secret: "x", CreatedBy: office},
	} {
		_, _, err := fx.store.CreateWebhook(t.Context(), w)
		require.NoError(t, err)
	}
	require.NoError(t, fx.store.DeleteWebhook(t.Context(), "w-gone", office))
	tests := []struct {
		eventType string
		want      []string
	}{
		{"finding.major", []string{"w-all", "w-major"}},
		{"finding.escalated", []string{"w-all"}},
	}
	for _, tt := range tests {
		val, err := fx.env.ExecuteActivity(fx.acts.Subscribers, activities.SubscribersInput{EventType: tt.eventType})
		require.NoError(t, err)
		var res activities.SubscribersResult
		require.NoError(t, val.Get(&res))
		require.Equal(t, tt.want, res.WebhookIDs, tt.eventType)
	}
}
