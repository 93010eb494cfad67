package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/workflows"
)

// TestPoisonedChangeIsRefusedPromptly sends a diagnosis with a NUL byte
// straight to the finding's workflow through the Temporal client, past the
// API's checks. PostgreSQL can never store it: the change is refused at
// once with a non-retryable INVALID_ARGUMENT, nothing is recorded, and the
// next changes — a good diagnosis, then a withdrawal — go through.
func TestPoisonedChangeIsRefusedPromptly(t *testing.T) {
	s := setup(t)
	f := s.recordFinding(s.createInspection(), "record", "GENERAL")
	id := f["id"].(string)

	poisoned := workflows.DiagnoseInput{Change: workflows.Change{RequestID: rid(t, "poisoned"), Actor: member}, Diagnosis: casework.Diagnosis{
		Cause: "企业安全投入不足\x00", ResponsibleParties: []string{"某化工有限公司"}, RiskLevel: "HIGH",
		LegalBasis: "《危险化学品安全管理条例》第二十条",
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	began := time.Now()
	handle, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.FindingWorkflowID(id), UpdateID: workflows.UpdateID(workflows.ActionDiagnose, poisoned.RequestID),
		UpdateName: workflows.ActionDiagnose, Args: []any{poisoned}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(ctx, nil)
	}
	require.Error(t, err)
	require.Less(t, time.Since(began), 10*time.Second, "refused at once, not after retries")
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
	refusal := derrors.FromTemporal(err)
	require.ErrorIs(t, refusal, derrors.ErrInvalidArgument)
	require.NotContains(t, refusal.Error(), "invalid byte sequence", "the database's text is not for clients")
	require.NotContains(t, refusal.Error(), "SQLSTATE 22021 (", "no raw database error")

	code, got := s.do("GET", "/v1/findings/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, "LISTED", got["stage"], "the refused change changed nothing")

	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "与另一问题重复"}, "WITHDRAWN")
	actions, _ := s.events(id)
	require.Equal(t, []string{"record", "list", "diagnose", "withdraw"}, actions)
}

// TestWithdrawnOverdueFindingEndsCleanly misses a finding's deadline past
// the ladder's interview step, then withdraws the finding: nothing is
// overdue any more — the ledger row, the overdue list, the search attribute
// — and the interview the ladder proposed is CANCELLED, with an event saying
// why.
func TestWithdrawnOverdueFindingEndsCleanly(t *testing.T) {
	s := setup(t)
	f := s.recordFinding(s.createInspection(), "record", "GENERAL")
	id := f["id"].(string)
	subject := "finding/" + id
	s.step(id, "diagnose", member, diagnosis(rid(t, "diagnose")), "DIAGNOSED")
	s.step(id, "classify", office, classification(rid(t, "classify")), "CLASSIFIED")
	// The unit received the feedback two months ago: the month has passed,
	// and so have the five working days after it (the ladder's interview).
	feedback := time.Now().In(calendar.Location()).AddDate(0, -2, 0).Format("2006-01-02")
	referred := s.step(id, "refer", office, referral(rid(t, "refer"), feedback, ""), "REFERRED")
	cal, err := s.Ledger.Calendar(t.Context())
	require.NoError(t, err)
	proposedAt, err := cal.AddWorkingDays(mustDate(t, referred["deadline"].(map[string]any)["due"].(string)), 5)
	require.NoError(t, err)
	require.True(t, proposedAt.DueAt.Before(time.Now()), "the interview step (%s) has passed", proposedAt.Due)

	var interviewID string
	require.Eventually(t, func() bool {
		code, list := s.do("GET", "/v1/interviews?subject="+url.QueryEscape(subject), &office, nil)
		ivs, _ := list["interviews"].([]any)
		if code != http.StatusOK || len(ivs) != 1 {
			return false
		}
		iv := ivs[0].(map[string]any)
		interviewID, _ = iv["id"].(string)
		return iv["stage"] == "PROPOSED" && iv["source"] == "LADDER"
	}, 30*time.Second, 200*time.Millisecond, "the ladder proposes an interview")
	code, list := s.do("GET", "/v1/findings?overdue=true", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Len(t, list["findings"], 1, "overdue before the withdrawal")
	require.Equal(t, true, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaOverdue"))

	s.step(id, "withdraw", office, map[string]any{"request_id": rid(t, "withdraw"), "reason": "与另一问题重复"}, "WITHDRAWN")

	code, got := s.do("GET", "/v1/findings/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.NotEqual(t, true, got["overdue"])
	require.EqualValues(t, 1, got["missed_deadlines"], "the miss stays as history")
	code, list = s.do("GET", "/v1/findings?overdue=true", &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", list)
	require.Empty(t, list["findings"])
	row, err := s.Ledger.GetFinding(t.Context(), id)
	require.NoError(t, err)
	require.False(t, row.Overdue)
	require.Equal(t, false, s.searchAttribute(workflows.FindingWorkflowID(id), "XunchaOverdue"))

	// The withdrawal returns once the proposal is cancelled.
	iv, err := s.Ledger.GetInterview(t.Context(), interviewID)
	require.NoError(t, err)
	require.Equal(t, "CANCELLED", iv.Stage)
	why := fmt.Sprintf("cancelled: finding %s was withdrawn", id)
	require.Equal(t, why, iv.CancelReason)
	code, apiIV := s.do("GET", "/v1/interviews/"+interviewID, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", apiIV)
	require.Equal(t, "CANCELLED", apiIV["stage"])
	require.Equal(t, why, apiIV["cancel_reason"])
	resp, zhIV := s.askIn("", "GET", "/v1/interviews/"+interviewID, s.authorization(office), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", zhIV)
	require.Equal(t, fmt.Sprintf("已取消：问题 %s 已撤销", id), zhIV["cancel_reason"], "the system's reasons in Chinese by default")
	require.Contains(t, zhIV["reason"], "提请约谈单位")
	require.Contains(t, apiIV["reason"], "an interview (约谈) of the leaders of unit")
	events, err := s.Ledger.Events(t.Context(), casework.SubjectInterview, interviewID)
	require.NoError(t, err)
	last := events[len(events)-1]
	require.Equal(t, workflows.ActionCancelInterview, last.Action)
	require.Equal(t, why, last.Note)
	require.Equal(t, actor.System, last.Actor)
	require.Equal(t, "CANCELLED", s.searchAttribute(workflows.InterviewWorkflowID(interviewID), "XunchaStage"))

	// Both histories, with the cancellation, replay against the code (and
	// are what XUNCHA_RECORD_HISTORIES=1 records for the replay test).
	s.awaitClosed(id)
	s.replayHistory("finding-withdrawn-after-ladder", workflows.FindingWorkflowID(id))
	s.replayHistory("interview-cancelled-by-withdrawal", workflows.InterviewWorkflowID(interviewID))
}

// TestCalendarLoadRedatesRunningInterview holds an interview, then loads a
// calendar version that makes its follow-up report's due day a holiday: the
// follow-up deadline moves one working day later, recorded as "re-dated by
// calendar version N".
func TestCalendarLoadRedatesRunningInterview(t *testing.T) {
	s := setup(t)
	inspectionID := s.createInspection()
	code, iv := s.do("POST", "/v1/interviews", &member, map[string]any{"request_id": rid(t, "propose"),
		"subject": "inspection/" + inspectionID, "reason": "整改不力，约谈单位主要负责人"})
	require.Equal(t, http.StatusOK, code, "%v", iv)
	id := iv["id"].(string)
	s.interviewStep(id, "approve", committee, map[string]any{"request_id": rid(t, "approve")}, "APPROVED")
	held := s.interviewStep(id, "hold", office, map[string]any{"request_id": rid(t, "hold"), "held_on": today().String(),
		"attendees": []string{"长沙市副市长 李明"}, "minutes": "通报问题", "requirements": "5个工作日内报送整改落实情况"}, "HELD")
	due := mustDate(t, held["follow_up_deadline"].(map[string]any)["due"].(string))

	year := fmt.Sprint(due.Year)
	code, current := s.do("GET", "/v1/calendar/"+year, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", current)
	notice := amendedNotice(t, current, due)
	notice["request_id"] = rid(t, "calendar")
	code, version := s.do("PUT", "/v1/calendar/"+year, &office, notice)
	require.Equal(t, http.StatusOK, code, "%v", version)

	cal, err := s.Ledger.Calendar(t.Context())
	require.NoError(t, err)
	want, err := cal.AddWorkingDays(today(), 5)
	require.NoError(t, err)
	require.True(t, want.Due.After(due), "the new calendar moves the limit past %s", due)
	require.Eventually(t, func() bool {
		code, got := s.do("GET", "/v1/interviews/"+id, &office, nil)
		d, _ := got["follow_up_deadline"].(map[string]any)
		return code == http.StatusOK && d["due"] == want.Due.String()
	}, 20*time.Second, 200*time.Millisecond, "the follow-up deadline is re-dated to %s", want.Due)

	events, err := s.Ledger.Events(t.Context(), casework.SubjectInterview, id)
	require.NoError(t, err)
	last := events[len(events)-1]
	require.Equal(t, "redate", last.Action)
	require.Equal(t, fmt.Sprintf("re-dated by calendar version %v: due %s (was %s)", version["id"], want.Due, due), last.Note)
	row, err := s.Ledger.GetInterview(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, want.Due, row.FollowUpDeadline.Due)
	require.Equal(t, "HELD", row.Stage)
}

// TestCancelledOverdueInspectionEndsCleanly misses an inspection's
// rectification deadline past the ladder's interview step, then cancels
// the inspection: it is overdue nowhere any more, and the proposed
// interview is CANCELLED saying why. (A late team report proposes no
// interview: the team is late, not the unit.)
func TestCancelledOverdueInspectionEndsCleanly(t *testing.T) {
	s := setup(t)
	id := s.createInspection()
	subject := "inspection/" + id
	// The feedback was given 50 days ago: the month after it and the five
	// working days after that have passed, so the ladder runs at once.
	s.inspectionStep(id, "endOnsite", teamLeader, map[string]any{"request_id": rid(t, "end"),
		"onsite_ended_on": today().AddDays(-60).String()}, "ONSITE_ENDED")
	s.inspectionStep(id, "submitReport", teamLeader, map[string]any{"request_id": rid(t, "report"),
		"report_evidence_id": s.evidence("inspection report"), "summary": "发现问题0项"}, "REPORTED")
	s.inspectionStep(id, "review", office, map[string]any{"request_id": rid(t, "review")}, "REVIEWED")
	s.inspectionStep(id, "approve", committee, map[string]any{"request_id": rid(t, "approve")}, "APPROVED")
	s.inspectionStep(id, "giveFeedback", office, map[string]any{"request_id": rid(t, "feedback"),
		"feedback_delivered_on": today().AddDays(-50).String(), "recipients": []string{"市长"}, "receiving_authority": "长沙市安委办"},
		"FEEDBACK_GIVEN")
	var interviewID string
	require.Eventually(t, func() bool {
		code, list := s.do("GET", "/v1/interviews?subject="+url.QueryEscape(subject), &office, nil)
		ivs, _ := list["interviews"].([]any)
		if code != http.StatusOK || len(ivs) != 1 {
			return false
		}
		iv := ivs[0].(map[string]any)
		interviewID, _ = iv["id"].(string)
		return iv["stage"] == "PROPOSED" && iv["source"] == "LADDER"
	}, 30*time.Second, 200*time.Millisecond, "the ladder proposes an interview")
	code, got := s.do("GET", "/v1/inspections/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.Equal(t, true, got["overdue"], "overdue before the cancellation")
	require.Equal(t, true, s.searchAttribute(workflows.InspectionWorkflowID(id), "XunchaOverdue"))

	s.inspectionStep(id, "cancel", office, map[string]any{"request_id": rid(t, "cancel"), "reason": "汛期改期"}, "CANCELLED")

	code, got = s.do("GET", "/v1/inspections/"+id, &office, nil)
	require.Equal(t, http.StatusOK, code, "%v", got)
	require.NotEqual(t, true, got["overdue"])
	row, err := s.Ledger.GetInspection(t.Context(), id)
	require.NoError(t, err)
	require.False(t, row.Overdue)
	require.Equal(t, false, s.searchAttribute(workflows.InspectionWorkflowID(id), "XunchaOverdue"))
	iv, err := s.Ledger.GetInterview(t.Context(), interviewID)
	require.NoError(t, err)
	require.Equal(t, "CANCELLED", iv.Stage)
	require.Equal(t, fmt.Sprintf("cancelled: inspection %s was cancelled", id), iv.CancelReason)
}
