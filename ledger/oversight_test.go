package ledger_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/workflows"
)

func newInterview(id, subject string, createdAt time.Time) casework.Interview {
	return casework.Interview{
		Lifecycle: casework.Lifecycle{ID: id, WorkflowID: "interview/" + id, RequestID: "req-" + id, UnitCode: "430100",
			Stage: "PROPOSED", CreatedAt: createdAt, UpdatedAt: createdAt, Version: 1},
		Subject: subject,
		Reason:  "整改逾期", Source: "OFFICE", ProposedBy: office,
	}
}

// TestInterviewAboutAnEndedSubjectIsRefused: with the stages that end its
// subject's lifecycle, an interview about a subject in one of them is
// refused (SUBJECT_ENDED) and nothing is written; an open subject's is
// written, an unknown one's is not found.
func TestInterviewAboutAnEndedSubjectIsRefused(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	_, err := fx.store.RecordFinding(t.Context(), newFinding("f-1", "i-1", "430100", march), "record/f-1")
	require.NoError(t, err)
	findingEnded, inspectionEnded := []string{"CLOSED", "WITHDRAWN"}, []string{"CLOSED", "CANCELLED"}
	propose := func(id, subject string, ended []string) error {
		return fx.store.CreateInterview(t.Context(), newInterview(id, subject, march),
			casework.Event{Key: "propose/" + id, Action: "propose", Actor: office, OccurredAt: march}, ended)
	}
	require.NoError(t, propose("iv-open", "finding/f-1", findingEnded))
	require.NoError(t, propose("iv-open-i", "inspection/i-1", inspectionEnded))
	require.NoError(t, fx.exec(t, `UPDATE findings SET stage = 'WITHDRAWN' WHERE id = 'f-1'`))
	require.NoError(t, fx.exec(t, `UPDATE inspections SET stage = 'CANCELLED' WHERE id = 'i-1'`))
	for _, tt := range []struct{ id, subject, stage string }{{"iv-f", "finding/f-1", "WITHDRAWN"}, {"iv-i", "inspection/i-1", "CANCELLED"}} {
		err := propose(tt.id, tt.subject, map[bool][]string{true: findingEnded, false: inspectionEnded}[tt.subject == "finding/f-1"])
		var stage *derrors.StageError
		require.ErrorAs(t, err, &stage, tt.subject)
		require.Equal(t, "SUBJECT_ENDED", stage.Reason)
		require.Equal(t, tt.stage, stage.Stage)
	}
	require.ErrorIs(t, propose("iv-x", "finding/f-none", findingEnded), derrors.ErrNotFound)
	// A retried activity of a proposal written while its subject was open
	// (its answer lost) is answered as the first attempt was.
	require.NoError(t, propose("iv-open", "finding/f-1", findingEnded), "a retry after the finding ended")
	require.NoError(t, propose("iv-open-i", "inspection/i-1", inspectionEnded), "a retry after the inspection ended")
	require.Equal(t, 2, fx.count(t, `SELECT count(*) FROM interviews`), "only the open subjects' interviews")
	require.Equal(t, 2, fx.count(t, `SELECT count(*) FROM events WHERE subject_type = 'interview'`))
	require.NoError(t, propose("iv-old", "finding/f-1", nil), "a proposal from before the check is not checked")
}

func TestInterviewProjection(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	iv := newInterview("iv-1", "finding/f-1", march)
	propose := casework.Event{Key: "propose/req-iv-1", Action: "propose", StageAfter: "PROPOSED", Actor: office, OccurredAt: march}
	for range 2 { // a retried activity
		require.NoError(t, fx.store.CreateInterview(t.Context(), iv, propose, nil))
	}
	require.Equal(t, 1, fx.count(t, `SELECT count(*) FROM interviews`))

	other := newInterview("iv-2", "finding/f-1", march)
	other.WorkflowID = iv.WorkflowID
	require.ErrorIs(t, fx.store.CreateInterview(t.Context(), other, casework.Event{Key: "propose/x"}, nil), derrors.ErrAlreadyExists)

	cal := calendar.Builtin()
	deadline, err := cal.AddWorkingDays(calendar.MustParseDate("2026-04-01"), 5)
	require.NoError(t, err)
	held := iv
	held.Stage, held.Version, held.UpdatedAt = "HELD", 3, march.Add(time.Hour)
	held.ApprovedBy = &office
	held.HeldOn, held.Attendees, held.Minutes, held.Requirements = "2026-04-01", []string{"李明", "陈华"}, "纪要", "限期整改"
	held.FollowUpWorkingDays, held.FollowUpDeadline, held.DeadlineSeq = 5, &deadline, 1
	hold := casework.Event{Key: "hold/h1", Action: "hold", StageBefore: "APPROVED", StageAfter: "HELD", Actor: office, OccurredAt: held.UpdatedAt}
	require.NoError(t, fx.store.ApplyInterviewChange(t.Context(), held, hold))
	// A retry of the change (same version, same key) changes nothing.
	require.NoError(t, fx.store.ApplyInterviewChange(t.Context(), held, hold))
	// An older version under a new key (a change sent again after its
	// write was committed but not answered) changes nothing but records
	// its event.
	stale := iv
	stale.Stage, stale.Version = "APPROVED", 2
	require.NoError(t, fx.store.ApplyInterviewChange(t.Context(), stale, casework.Event{Key: "approve/a1", Action: "approve", Actor: office, OccurredAt: march}))
	// A newer version under a key already recorded (an earlier change sent
	// again into a later run) is refused, and the row does not move.
	replayed := held
	replayed.Stage, replayed.Version = "FOLLOW_UP_REPORTED", 4
	require.ErrorIs(t, fx.store.ApplyInterviewChange(t.Context(), replayed, hold), derrors.ErrAlreadyExists)

	got, err := fx.store.GetInterview(t.Context(), "iv-1")
	require.NoError(t, err)
	require.Equal(t, "HELD", got.Stage)
	require.Equal(t, 3, got.Version)
	require.Equal(t, "2026-04-01", got.HeldOn)
	require.Equal(t, []string{"李明", "陈华"}, got.Attendees)
	require.Equal(t, &office, got.ApprovedBy)
	require.Equal(t, "2026-04-09", got.FollowUpDeadline.Due.String())
	require.Nil(t, got.FollowUpEvidenceIDs)

	open, err := fx.store.OpenInterviewDeadlines(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{"interview/iv-1"}, open)

	events, err := fx.store.Events(t.Context(), casework.SubjectInterview, "iv-1")
	require.NoError(t, err)
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	require.Equal(t, []string{"propose", "hold", "approve"}, actions)

	// An escalation of the follow-up deadline: the escalation row and its
	// event, with no finding touched.
	esc := casework.Escalation{Subject: "interview/iv-1", DeadlineSeq: 1, Step: casework.StepOverdue, UnitCode: "430100",
		DueAt: deadline.DueAt, FiredAt: deadline.DueAt, Message: "overdue"}
	stored, err := fx.store.RecordEscalation(t.Context(), esc, casework.Finding{}, casework.Event{SubjectType: casework.SubjectInterview,
		SubjectID: "iv-1", Key: "escalate/1/OVERDUE", Action: "escalate", Actor: actor.System, OccurredAt: deadline.DueAt})
	require.NoError(t, err)
	require.Equal(t, casework.EscalationID("interview/iv-1", 1, casework.StepOverdue), stored.ID)
	list, err := fx.store.EscalationsOf(t.Context(), "interview/iv-1")
	require.NoError(t, err)
	require.Len(t, list, 1)

	require.ErrorIs(t, fx.store.ApplyInterviewChange(t.Context(), newInterview("nope", "finding/f-1", march), casework.Event{}), derrors.ErrNotFound)
	_, err = fx.store.GetInterview(t.Context(), "nope")
	require.ErrorIs(t, err, derrors.ErrNotFound)
	require.Error(t, fx.exec(t, `DELETE FROM interviews`), "interviews are never deleted")
}

func TestListInterviewsPages(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	for i, id := range []string{"iv-a", "iv-b", "iv-c"} {
		subject := "finding/f-1"
		if id == "iv-b" {
			subject = "inspection/i-1"
		}
		iv := newInterview(id, subject, march.Add(time.Duration(i)*time.Minute))
		require.NoError(t, fx.store.CreateInterview(t.Context(), iv, casework.Event{Key: "propose/" + id, Action: "propose", Actor: office, OccurredAt: march}, nil))
	}
	page, err := fx.store.ListInterviews(t.Context(), ledger.SubjectFilter{}, "", 2, "")
	require.NoError(t, err)
	require.Len(t, page.Interviews, 2)
	require.Equal(t, "iv-a", page.Interviews[0].ID)
	require.NotEmpty(t, page.NextPageToken)
	page, err = fx.store.ListInterviews(t.Context(), ledger.SubjectFilter{}, "", 2, page.NextPageToken)
	require.NoError(t, err)
	require.Len(t, page.Interviews, 1)
	require.Equal(t, "iv-c", page.Interviews[0].ID)
	require.Empty(t, page.NextPageToken)

	page, err = fx.store.ListInterviews(t.Context(), ledger.SubjectFilter{Subject: "inspection/i-1"}, "", 50, "")
	require.NoError(t, err)
	require.Len(t, page.Interviews, 1)
	require.Equal(t, "iv-b", page.Interviews[0].ID)
	page, err = fx.store.ListInterviews(t.Context(), ledger.SubjectFilter{UnitCode: "999999"}, "", 50, "")
	require.NoError(t, err)
	require.Empty(t, page.Interviews)
	_, err = fx.store.ListInterviews(t.Context(), ledger.SubjectFilter{}, "", 50, "garbage")
	require.ErrorIs(t, err, derrors.ErrInvalidArgument)
}

func TestSubjectUnit(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	_, err := fx.store.RecordFinding(t.Context(), newFinding("f-1", "i-1", "430100", march), "record/f-1")
	require.NoError(t, err)
	for subject, want := range map[string]string{"finding/f-1": "430100", "inspection/i-1": "430100"} {
		unit, err := fx.store.SubjectUnit(t.Context(), subject)
		require.NoError(t, err)
		require.Equal(t, want, unit)
	}
	_, err = fx.store.SubjectUnit(t.Context(), "finding/nope")
	require.ErrorIs(t, err, derrors.ErrNotFound)
	for _, bad := range []string{"", "finding/", "tip/t-1", "finding/a/b", "f-1"} {
		_, err = fx.store.SubjectUnit(t.Context(), bad)
		require.ErrorIs(t, err, derrors.ErrInvalidArgument, bad)
	}
}

func exposure(requestID, kind, subject string) casework.Exposure {
	return casework.Exposure{RequestID: requestID, Kind: kind, Subject: subject, Outlet: "湖南日报",
		Link: "https://hnrb.example.cn/2026/04/01/a.html", PublishedOn: "2026-04-01", Title: "省安全生产巡查组进驻长沙市", RecordedBy: office}
}

func TestRecordExposure(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	e := exposure("exp-req-1", casework.ExposureEntryAnnouncement, "inspection/i-1")

	first, created, err := fx.store.RecordExposure(t.Context(), e)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, casework.ExposureID("exp-req-1"), first.ID)
	require.Equal(t, "2026-04-01", first.PublishedOn)
	require.Equal(t, office, first.RecordedBy)
	again, created, err := fx.store.RecordExposure(t.Context(), e)
	require.NoError(t, err)
	require.False(t, created, "a retry")
	require.Equal(t, first, again)

	changed := e
	changed.Title = "另一个标题"
	_, _, err = fx.store.RecordExposure(t.Context(), changed)
	require.ErrorIs(t, err, derrors.ErrAlreadyExists)

	events, err := fx.store.Events(t.Context(), casework.SubjectInspection, "i-1")
	require.NoError(t, err)
	var expose []casework.Event
	for _, ev := range events {
		if ev.Action == "expose" {
			expose = append(expose, ev)
		}
	}
	require.Len(t, expose, 1)
	var data map[string]any
	require.NoError(t, json.Unmarshal(expose[0].Data, &data))
	require.Equal(t, first.ID, data["exposure_id"])
	require.Equal(t, "ENTRY_ANNOUNCEMENT", data["kind"])

	_, _, err = fx.store.RecordExposure(t.Context(), exposure("exp-req-2", casework.ExposureSystemicRisk, "finding/nope"))
	require.ErrorIs(t, err, derrors.ErrNotFound)

	page, err := fx.store.ListExposures(t.Context(), "inspection/i-1", ledger.Reach{}, 50, "")
	require.NoError(t, err)
	require.Equal(t, []casework.Exposure{first}, page.Exposures)
	require.Empty(t, page.NextPageToken)
	page, err = fx.store.ListExposures(t.Context(), "", ledger.Reach{}, 50, "")
	require.NoError(t, err)
	require.Len(t, page.Exposures, 1)

	// A page at a time: the lists' shape (DESIGN §6), which every
	// exposure in reach came in one answer without.
	second, _, err := fx.store.RecordExposure(t.Context(), exposure("exp-req-3", casework.ExposureSystemicRisk, "inspection/i-1"))
	require.NoError(t, err)
	page, err = fx.store.ListExposures(t.Context(), "", ledger.Reach{}, 1, "")
	require.NoError(t, err)
	require.Equal(t, []casework.Exposure{first}, page.Exposures)
	require.NotEmpty(t, page.NextPageToken)
	page, err = fx.store.ListExposures(t.Context(), "", ledger.Reach{}, 1, page.NextPageToken)
	require.NoError(t, err)
	require.Equal(t, []casework.Exposure{second}, page.Exposures)
	require.Empty(t, page.NextPageToken)
	require.Error(t, fx.exec(t, `UPDATE exposures SET title = 'x'`), "exposures are append-only")
	require.Error(t, fx.exec(t, `DELETE FROM exposures`), "exposures are append-only")
}

func TestValidateExposureNamesFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*casework.Exposure)
		fields []string
	}{
		{"valid", func(*casework.Exposure) {}, nil},
		{"no link is fine", func(e *casework.Exposure) { e.Link = "" }, nil},
		{"everything wrong", func(e *casework.Exposure) {
			*e = casework.Exposure{Kind: "RUMOUR", Subject: "tip/t-1", Link: "ftp://x", PublishedOn: "2026-13-01"}
		}, []string{"request_id", "kind", "subject", "outlet", "title", "link", "published_on"}},
		{"relative link", func(e *casework.Exposure) { e.Link = "/news/1" }, []string{"link"}},
		{"entry of a finding", func(e *casework.Exposure) { e.Subject = "finding/f-1" }, []string{"subject"}},
		{"major hazard of an inspection", func(e *casework.Exposure) { e.Kind = casework.ExposureMajorHazard }, []string{"subject"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := exposure("r", casework.ExposureEntryAnnouncement, "inspection/i-1")
			tc.change(&e)
			err := casework.ValidateExposure(e)
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			var invalid *derrors.InvalidError
			require.ErrorAs(t, err, &invalid)
			var fields []string
			for _, v := range invalid.Violations {
				fields = append(fields, v.Field)
			}
			require.Equal(t, tc.fields, fields)
		})
	}
}

func TestTipLifecycle(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	sealed := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29}
	tip := ledger.Tip{ID: "tip-1", RequestID: "req-tip-1", InspectionID: "i-1", Channel: "LETTER", ReceivedOn: "2026-04-02",
		Content: "某化工厂夜间违规生产", ReporterCiphertext: sealed, ReceivedBy: member}

	first, created, err := fx.store.ReceiveTip(t.Context(), tip)
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, ledger.TipReceived, first.Stage)
	require.Equal(t, sealed, first.ReporterCiphertext)
	require.True(t, first.ReporterIdentified())
	again, created, err := fx.store.ReceiveTip(t.Context(), tip)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, again.ID)
	changed := tip
	changed.Content = "别的内容"
	_, _, err = fx.store.ReceiveTip(t.Context(), changed)
	require.ErrorIs(t, err, derrors.ErrAlreadyExists)
	orphan := tip
	orphan.ID, orphan.RequestID, orphan.InspectionID = "tip-2", "req-tip-2", "nope"
	_, _, err = fx.store.ReceiveTip(t.Context(), orphan)
	require.ErrorIs(t, err, derrors.ErrNotFound)

	anonymous := tip
	anonymous.ID, anonymous.RequestID, anonymous.ReporterCiphertext = "tip-3", "req-tip-3", nil
	anon, _, err := fx.store.ReceiveTip(t.Context(), anonymous)
	require.NoError(t, err)
	require.False(t, anon.ReporterIdentified())
	b, err := json.Marshal(first)
	require.NoError(t, err)
	require.NotContains(t, string(b), "ciphertext", "the sealed identity is never marshalled")

	// Triage: a finding, retried; then no other decision.
	_, err = fx.store.RecordFinding(t.Context(), newFinding("f-1", "i-1", "430100", march), "record/f-1")
	require.NoError(t, err)
	tr := ledger.TipTriage{FindingID: "f-1", By: office, EventKey: "triage/t1"}
	for range 2 {
		got, err := fx.store.TriageTip(t.Context(), "tip-1", tr)
		require.NoError(t, err)
		require.Equal(t, ledger.TipFinding, got.Stage)
		require.Equal(t, "f-1", got.FindingID)
	}
	_, err = fx.store.TriageTip(t.Context(), "tip-1", ledger.TipTriage{DismissReason: "重复", By: office, EventKey: "triage/t2"})
	var stage *derrors.StageError
	require.ErrorAs(t, err, &stage)
	require.Equal(t, ledger.TipFinding, stage.Stage)
	_, err = fx.store.TriageTip(t.Context(), "tip-3", ledger.TipTriage{FindingID: "nope", By: office, EventKey: "triage/t3"})
	require.ErrorIs(t, err, derrors.ErrNotFound)
	dismissed, err := fx.store.TriageTip(t.Context(), "tip-3", ledger.TipTriage{DismissReason: "内容不实", By: office, EventKey: "triage/t4"})
	require.NoError(t, err)
	require.Equal(t, ledger.TipDismissed, dismissed.Stage)
	_, err = fx.store.TriageTip(t.Context(), "missing", ledger.TipTriage{DismissReason: "x", By: office, EventKey: "k"})
	require.ErrorIs(t, err, derrors.ErrNotFound)

	tips, err := fx.store.ListTips(t.Context(), "i-1", 50, "")
	require.NoError(t, err)
	require.Len(t, tips.Tips, 2)
	require.Empty(t, tips.NextPageToken)
	// A page at a time: the first, then the rest after it (an inspection
	// with thousands of tips was listed whole).
	firstPage, err := fx.store.ListTips(t.Context(), "i-1", 1, "")
	require.NoError(t, err)
	require.Len(t, firstPage.Tips, 1)
	require.NotEmpty(t, firstPage.NextPageToken)
	restPage, err := fx.store.ListTips(t.Context(), "i-1", 1, firstPage.NextPageToken)
	require.NoError(t, err)
	require.Equal(t, tips.Tips, append(firstPage.Tips, restPage.Tips...))

	events, err := fx.store.Events(t.Context(), ledger.SubjectTip, "tip-1")
	require.NoError(t, err)
	require.Len(t, events, 2, "receive and one triage")
	require.Equal(t, "receive", events[0].Action)
	require.JSONEq(t, `{"inspection_id":"i-1","channel":"LETTER","received_on":"2026-04-02","reporter_identified":true}`, string(events[0].Data))
	require.Equal(t, "recordFinding", events[1].Action)

	// What was received is never rewritten, nor deleted.
	require.Error(t, fx.exec(t, `UPDATE tips SET reporter_ciphertext = NULL WHERE id = 'tip-1'`))
	require.Error(t, fx.exec(t, `UPDATE tips SET content = 'x' WHERE id = 'tip-1'`))
	require.Error(t, fx.exec(t, `DELETE FROM tips`))
}

// TestTipFindingAndDismissalTakeTurns: the finding a tip's triage records
// and the tip's dismissal take turns on the tip's row. A dismissal that
// came between a triage's check of the tip and its finding's record left a
// finding no tip pointed to; now the record of a dismissed tip's finding is
// refused, and a tip whose finding a triage recorded is not dismissed (the
// triage, or its retry, then links the two).
func TestTipFindingAndDismissalTakeTurns(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	fx.inspection(t, "i-2", "430100")
	for _, id := range []string{"tip-a", "tip-b"} {
		_, _, err := fx.store.ReceiveTip(t.Context(), ledger.Tip{ID: id, RequestID: "req-" + id, InspectionID: "i-1", Channel: "LETTER",
			ReceivedOn: "2026-04-02", Content: "某化工厂夜间违规生产", ReceivedBy: member})
		require.NoError(t, err)
	}
	ofTip := func(findingID, tipID, inspectionID string) casework.Finding {
		f := newFinding(findingID, inspectionID, "430100", march)
		f.RequestID = ledger.TipFindingPrefix + tipID
		return f
	}
	var stage *derrors.StageError

	// Dismissed first: its finding is not recorded.
	_, err := fx.store.TriageTip(t.Context(), "tip-a", ledger.TipTriage{DismissReason: "内容不实", By: office, EventKey: "triage/a1"})
	require.NoError(t, err)
	_, err = fx.store.RecordFinding(t.Context(), ofTip("f-a", "tip-a", "i-1"), "record/f-a")
	require.ErrorAs(t, err, &stage)
	require.Equal(t, ledger.TipDismissed, stage.Stage)
	_, err = fx.store.GetFinding(t.Context(), "f-a")
	require.ErrorIs(t, err, derrors.ErrNotFound)

	// Its finding recorded first: the tip is not dismissed, and becomes it.
	_, err = fx.store.RecordFinding(t.Context(), ofTip("f-b", "tip-b", "i-1"), "record/f-b")
	require.NoError(t, err)
	_, err = fx.store.TriageTip(t.Context(), "tip-b", ledger.TipTriage{DismissReason: "内容不实", By: office, EventKey: "triage/b1"})
	require.ErrorAs(t, err, &stage)
	require.Contains(t, stage.Error(), `has become finding "f-b", recorded by a triage that did not finish`)
	got, err := fx.store.TriageTip(t.Context(), "tip-b", ledger.TipTriage{FindingID: "f-b", By: office, EventKey: "triage/b2"})
	require.NoError(t, err)
	require.Equal(t, ledger.TipFinding, got.Stage)

	// No tip of the finding's inspection by that ID: nothing recorded.
	for _, f := range []casework.Finding{ofTip("f-c", "tip-missing", "i-1"), ofTip("f-d", "tip-b", "i-2")} {
		_, err = fx.store.RecordFinding(t.Context(), f, "record/"+f.ID)
		require.ErrorIs(t, err, derrors.ErrNotFound, f.ID)
	}
}

func TestProposedInterviews(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	tests := []struct {
		id, subject, source, stage string
	}{
		{"iv-ladder-2", "finding/f-1", "LADDER", "PROPOSED"},
		{"iv-ladder-1", "finding/f-1", "LADDER", "PROPOSED"},
		{"iv-approved", "finding/f-1", "LADDER", "APPROVED"},
		{"iv-team", "finding/f-1", "TEAM", "PROPOSED"},
		{"iv-other", "finding/f-2", "LADDER", "PROPOSED"},
	}
	for _, tt := range tests {
		iv := newInterview(tt.id, tt.subject, march)
		iv.Source = tt.source
		require.NoError(t, fx.store.CreateInterview(t.Context(), iv, casework.Event{Key: "propose/" + tt.id, Action: "propose", Actor: office, OccurredAt: march}, nil))
		if tt.stage != iv.Stage {
			iv.Stage, iv.Version = tt.stage, 2
			require.NoError(t, fx.store.ApplyInterviewChange(t.Context(), iv, casework.Event{}))
		}
	}
	ids, err := fx.store.ProposedInterviews(t.Context(), "finding/f-1", "LADDER")
	require.NoError(t, err)
	require.Equal(t, []string{"iv-ladder-1", "iv-ladder-2"}, ids)
	ids, err = fx.store.ProposedInterviews(t.Context(), "inspection/i-9", "LADDER")
	require.NoError(t, err)
	require.Empty(t, ids)
}

func TestMigrationClearsOverdueOfFinishedLifecycles(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	for _, tt := range []struct {
		id, stage string
		overdue   bool
	}{{"iv-cancelled", "CANCELLED", false}, {"iv-held", "HELD", true}} {
		iv := newInterview(tt.id, "finding/f-1", march)
		require.NoError(t, fx.store.CreateInterview(t.Context(), iv, casework.Event{Key: "propose/" + tt.id, Action: "propose", Actor: office, OccurredAt: march}, nil))
		iv.Stage, iv.Overdue, iv.Version = tt.stage, true, 2
		require.NoError(t, fx.store.ApplyInterviewChange(t.Context(), iv, casework.Event{}))
	}
	// Run migration 007 again over rows written as before it.
	sql, err := os.ReadFile("migrations/007_finished_not_overdue.sql")
	require.NoError(t, err)
	require.NoError(t, fx.exec(t, string(sql)))
	for id, want := range map[string]bool{"iv-cancelled": false, "iv-held": true} {
		got, err := fx.store.GetInterview(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, want, got.Overdue, id)
	}
}

// TestExposureStagesAreTheWorkflows: the stages an exposure of a
// rectification's result needs are the workflows' names for them.
func TestExposureStagesAreTheWorkflows(t *testing.T) {
	require.Equal(t, []string{workflows.FindingRectified, workflows.FindingClosed}, ledger.RectifiedFindingStages)
	require.Equal(t, []string{workflows.StageRectificationReported, workflows.StageClosed}, ledger.RectifiedInspectionStages)
}

// TestOneOpenInterviewPerSubjectByHand: a proposal with AloneOpen is
// refused while the subject has an interview open (INTERVIEW_OPEN, naming
// it), taken once it is cancelled; two at once, exactly one is written.
func TestOneOpenInterviewPerSubjectByHand(t *testing.T) {
	t.Parallel()
	fx := setup(t)
	fx.inspection(t, "i-1", "430100")
	propose := func(id string) error {
		return fx.store.CreateInterview(t.Context(), newInterview(id, "inspection/i-1", march),
			casework.Event{Key: "propose/" + id, Action: "propose", Actor: office, OccurredAt: march}, nil, ledger.AloneOpen)
	}
	require.NoError(t, propose("iv-1"))
	require.NoError(t, propose("iv-1"), "a retry of the same proposal")
	err := propose("iv-2")
	var stage *derrors.StageError
	require.ErrorAs(t, err, &stage)
	require.Equal(t, "INTERVIEW_OPEN", stage.Reason)
	require.Contains(t, err.Error(), "inspection/i-1 already has interview iv-1 (PROPOSED)")
	require.NoError(t, fx.store.CreateInterview(t.Context(), newInterview("iv-ladder", "inspection/i-1", march),
		casework.Event{Key: "propose/iv-ladder", Action: "propose", Actor: office, OccurredAt: march}, nil), "the ladder's is not held up")
	require.NoError(t, propose("iv-1"), "a retry of a written proposal, after another was proposed, is a retry")
	require.NoError(t, fx.exec(t, `UPDATE interviews SET stage = 'CANCELLED' WHERE id = 'iv-ladder'`))
	require.NoError(t, fx.exec(t, `UPDATE interviews SET stage = 'HELD' WHERE id = 'iv-1'`))
	require.NoError(t, propose("iv-3"), "one held does not hold a new summons up")

	// Four at once about each of other subjects: exactly one each.
	const rounds, atOnce = 15, 4
	for r := range rounds {
		subject := fmt.Sprintf("i-r%d", r)
		fx.inspection(t, subject, "430100")
		errs := make(chan error, atOnce)
		start := make(chan struct{})
		for i := range atOnce {
			id := fmt.Sprintf("iv-r%d-%d", r, i)
			go func() {
				<-start
				errs <- fx.store.CreateInterview(t.Context(), newInterview(id, "inspection/"+subject, march),
					casework.Event{Key: "propose/" + id, Action: "propose", Actor: office, OccurredAt: march}, nil, ledger.AloneOpen)
			}()
		}
		close(start)
		var refused int
		for range atOnce {
			if err := <-errs; err != nil {
				require.ErrorAs(t, err, &stage)
				require.Equal(t, "INTERVIEW_OPEN", stage.Reason)
				refused++
			}
		}
		require.Equal(t, atOnce-1, refused, "round %d", r)
	}
	require.Equal(t, rounds, fx.count(t, `SELECT count(*) FROM interviews WHERE subject LIKE 'inspection/i-r%'`))
}
