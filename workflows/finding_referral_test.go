package workflows

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// The referral tests run on the default calendar from start (Monday
// 2026-03-02): the clue is referred that day, so a receipt within 5 working
// days is due 2026-03-09 (a Monday), the default ladder reminding at the
// end of 03-06 (Friday) and escalating at the end of 03-09.

var (
	commission = actor.Actor{Name: "黄磊", Role: actor.RoleReceiver, Organisation: "长沙市纪委监委"}
	orgDept    = actor.Actor{Name: "吴刚", Role: actor.RoleReceiver, Organisation: "长沙市委组织部"}
)

// cityDisciplineRoute is the routing table's row for a division-rank
// cadre's discipline clue in a city.
var cityDisciplineRoute = casework.ReferralRoute{Version: 7, UnitLevel: casework.UnitLevelCity, ClueKind: casework.ClueDiscipline,
	CadreRank: casework.RankDivision, Receiver: "长沙市纪委监委", AckWorkingDays: 5}

// withRoutes answers the RouteReferral activity from routes.
func (h *harness) withRoutes(routes ...casework.ReferralRoute) {
	h.env.OnActivity(acts.RouteReferral, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RouteReferralInput) (activities.RouteReferralResult, error) {
			for _, r := range routes {
				if r.UnitLevel == in.UnitLevel && r.ClueKind == in.ClueKind && r.CadreRank == in.CadreRank {
					return activities.RouteReferralResult{Route: &r}, nil
				}
			}
			return activities.RouteReferralResult{}, nil
		})
}

// clueReferredAt diagnoses, classifies (REFER_CLUE) and refers the
// harness's finding in its first three hours.
func (h *harness) clueReferredAt() {
	h.update(time.Hour, ActionDiagnose, "d1", diagnosis())
	h.update(2*time.Hour, ActionClassify, "c1", ClassifyInput{Change: Change{RequestID: "c1", Actor: leader}, Dispositions: []string{"RECTIFY", "REFER_CLUE"}})
	h.update(3*time.Hour, ActionRefer, "r1", referral("r1", "2026-03-02", ""))
}

func referClue(requestID string) ReferClueInput {
	return ReferClueInput{Change: Change{RequestID: requestID, Actor: office}, ClueKind: casework.ClueDiscipline, CadreRank: casework.RankDivision,
		Note: "仓库主管部门负责人涉嫌失职"}
}

// escalationsByStep lists the steps taken of the given names, in order.
func (h *harness) escalationsByStep(steps ...string) []casework.Escalation {
	var out []casework.Escalation
	for _, e := range h.fl.escalations {
		for _, s := range steps {
			if e.Step == s {
				out = append(out, e)
			}
		}
	}
	return out
}

// TestReferralRoutedAcknowledgedAndSettled: the routing table proposes the
// city commission, the office confirms; the commission acknowledges in
// time (the ladder never fires), opens a case and later reports the
// handling result. The finding cannot close before the result; then it
// does.
func TestReferralRoutedAcknowledgedAndSettled(t *testing.T) {
	h := newHarness(t)
	h.withRoutes(cityDisciplineRoute)
	h.clueReferredAt()
	referred := h.update(4*time.Hour, ActionReferClue, "k1", referClue("k1"))
	var referredDetails string
	h.env.RegisterDelayedCallback(func() { referredDetails = h.details() }, 5*time.Hour)
	ack := h.update(2*day, ActionAcknowledgeReferral, "a1", AcknowledgeReferralInput{Change: Change{RequestID: "a1", Actor: commission}, ReceiptNumber: "长纪回〔2026〕12号"})
	filed := h.update(3*day, ActionReportReferralOutcome, "o1", ReportReferralOutcomeInput{Change: Change{RequestID: "o1", Actor: commission},
		Outcome: casework.OutcomeFiled, Summary: "已对仓库主管部门负责人立案审查", CaseNumber: "长纪案〔2026〕3号"})
	rep := h.update(10*day, ActionReportRectification, "p1", rectification("p1"))
	early := h.update(11*day, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true})
	concluded := h.update(20*day, ActionReportReferralOutcome, "o2", ReportReferralOutcomeInput{Change: Change{RequestID: "o2", Actor: commission},
		Outcome: casework.OutcomeConcluded, Summary: "给予党内严重警告处分", EvidenceIDs: []string{"ev-decision"}})
	closed := h.update(21*day, ActionVerify, "v2", VerifyInput{Change: Change{RequestID: "v2", Actor: office}, Accept: true})
	h.run(newFinding(""))
	requireDone(t, referred, ack, filed, rep, concluded, closed)

	ref := referred.state.Finding.ClueReferrals[0]
	require.Equal(t, 1, ref.Seq)
	require.Equal(t, casework.UnitLevelCity, ref.UnitLevel, "from the unit's division code 430100")
	require.Equal(t, "长沙市纪委监委", ref.Receiver)
	require.Equal(t, "长沙市纪委监委", ref.ProposedReceiver)
	require.Equal(t, int64(7), ref.RouteVersion)
	require.Empty(t, ref.OverrideReason)
	require.Equal(t, casework.ReferralAwaitingReceipt, ref.State)
	require.Equal(t, 5, ref.AckWorkingDays)
	require.Equal(t, "2026-03-09", ref.AckDeadline.Due.String())
	require.Equal(t, office, ref.ReferredBy)
	require.Equal(t, FindingReferred, referred.state.Finding.Stage, "the finding's stage does not move")
	require.Equal(t, "**2026-430100-0007 · 危化品仓库消防通道堵塞** — 阶段：已移交督办；整改报告 2026-04-02 截止"+
		"；线索已移交长沙市纪委监委，2026-03-09 前签收", referredDetails)

	a := ack.state.Finding.ClueReferrals[0]
	require.Equal(t, casework.ReferralAcknowledged, a.State)
	require.Equal(t, commission, *a.AcknowledgedBy)
	require.Equal(t, "长纪回〔2026〕12号", a.ReceiptNumber)
	require.False(t, a.ReceiptOverdue)
	require.Equal(t, casework.ReferralFiled, filed.state.Finding.ClueReferrals[0].State)

	requireReason(t, derrors.FromTemporal(early.rejected), ReasonReferralOutcomePending)
	require.NotRegexp(t, `[A-Z_]{5,}`, derrors.Message(derrors.FromTemporal(early.rejected), i18n.Chinese), "the state in Chinese")
	c := concluded.state.Finding.ClueReferrals[0]
	require.Equal(t, casework.ReferralConcluded, c.State)
	require.Len(t, c.Outcomes, 2)
	require.Equal(t, []string{"ev-decision"}, c.Outcomes[1].EvidenceIDs)
	require.Equal(t, FindingClosed, closed.state.Finding.Stage)

	require.Empty(t, h.escalationsByStep(StepReferralReminder, StepReferralUnacknowledged), "acknowledged in time")
	require.Equal(t, []string{"record", "list", "diagnose", "classify", "refer", "referClue", "acknowledgeReferral",
		"reportReferralOutcome", "reportRectification", "reportReferralOutcome", "verify"}, h.fl.actions())
	var types []string
	for _, d := range h.fl.deliveries {
		types = append(types, d.EventType)
	}
	require.Equal(t, []string{EventReferralReferred, EventReferralOutcome, EventReferralOutcome}, types)
}

// TestReferralUnacknowledgedEscalated: the office overrides the table with
// a reason; the receiver stays silent, the ladder reminds and then
// escalates (referral.unacknowledged); the finding's own deadline is not
// touched. The receipt comes late, stops the ladder, and a decision not to
// open a case settles the referral.
func TestReferralUnacknowledgedEscalated(t *testing.T) {
	h := newHarness(t)
	h.withRoutes(cityDisciplineRoute)
	h.clueReferredAt()
	in := referClue("k1")
	in.Receiver, in.OverrideReason = "长沙市委组织部", "涉及人员为组织部门管理的非党干部"
	referred := h.update(4*time.Hour, ActionReferClue, "k1", in)
	var overdue FindingState
	var overdueDetails string
	h.env.RegisterDelayedCallback(func() { overdue = h.query(); overdueDetails = h.details() }, at("2026-03-10 08:00"))
	ack := h.update(at("2026-03-11 10:00"), ActionAcknowledgeReferral, "a1", AcknowledgeReferralInput{Change: Change{RequestID: "a1", Actor: orgDept}})
	notFiled := h.update(at("2026-03-20 10:00"), ActionReportReferralOutcome, "o1", ReportReferralOutcomeInput{Change: Change{RequestID: "o1", Actor: orgDept},
		Outcome: casework.OutcomeNotFiled, Summary: "经核查，不予立案，已对相关人员批评教育"})
	wd := h.update(60*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(""))
	requireDone(t, referred, ack, notFiled, wd)

	ref := referred.state.Finding.ClueReferrals[0]
	require.Equal(t, "长沙市委组织部", ref.Receiver)
	require.Equal(t, "长沙市纪委监委", ref.ProposedReceiver)
	require.Equal(t, "涉及人员为组织部门管理的非党干部", ref.OverrideReason)
	require.Equal(t, 5, ref.AckWorkingDays, "the default for a receiver the table does not name")

	requireFired(t, h.escalationsByStep(StepReferralReminder, StepReferralUnacknowledged), map[string]string{
		StepReferralReminder:       "2026-03-07 00:00",
		StepReferralUnacknowledged: "2026-03-10 00:00",
	})
	for _, e := range h.escalationsByStep(StepReferralReminder, StepReferralUnacknowledged) {
		require.Equal(t, 1, e.DeadlineSeq, "the referral's number")
		require.Equal(t, "finding/f-1", e.Subject)
	}
	require.True(t, overdue.Finding.ClueReferrals[0].ReceiptOverdue)
	require.False(t, overdue.Finding.Overdue, "the rectification deadline is another matter")
	require.Contains(t, overdueDetails, "；线索已移交长沙市委组织部 — 未签收，应于 2026-03-09 签收")
	// A receiver's silence proposes no interview of the unit's leaders: the
	// one interview is the rectification deadline's, missed on 04-02.
	require.Len(t, h.fl.interviews, 1)
	require.Contains(t, h.fl.interviews[0].Reason, "after 2026-04-02")

	var unacked []activities.DeliverWebhookInput
	for _, d := range h.fl.deliveries {
		if d.EventType == EventReferralUnacknowledged {
			unacked = append(unacked, d)
		}
	}
	require.Len(t, unacked, 1)
	require.Equal(t, "finding/f-1/referral/1/unacknowledged/wh-1", unacked[0].DeliveryID)
	require.Contains(t, string(unacked[0].Payload), "长沙市委组织部")

	a := ack.state.Finding.ClueReferrals[0]
	require.Equal(t, casework.ReferralAcknowledged, a.State)
	require.True(t, a.ReceiptOverdue, "the receipt came late, and the record says so")
	require.Equal(t, casework.ReferralNotFiled, notFiled.state.Finding.ClueReferrals[0].State)
	require.Equal(t, []string{"record", "list", "diagnose", "classify", "refer", "referClue", "escalateReferral", "escalateReferral",
		"acknowledgeReferral", "reportReferralOutcome", "escalate", "escalate", "escalate", "withdraw"}, h.fl.actions())
	require.Contains(t, h.fl.events[8].Note, "after its deadline 2026-03-09")
}

// TestReferralRefusals: each refusal names its reason (or field) and
// records nothing.
func TestReferralRefusals(t *testing.T) {
	h := newHarness(t)
	h.withRoutes(cityDisciplineRoute)
	tooEarly := h.update(30*time.Minute, ActionReferClue, "k0", referClue("k0"))
	h.clueReferredAt()
	byUnit := h.update(4*time.Hour, ActionReferClue, "k1", ReferClueInput{Change: Change{RequestID: "k1", Actor: unitActor}, ClueKind: casework.ClueDiscipline, CadreRank: casework.RankDivision})
	bad := h.update(4*time.Hour+time.Minute, ActionReferClue, "k2", ReferClueInput{Change: Change{RequestID: "k2", Actor: office}, ClueKind: "GOSSIP", CadreRank: "MINISTER",
		UnitLevel: "TOWN", OverrideReason: "x"})
	noRoute := referClue("k3")
	noRoute.CadreRank = casework.RankDepartment
	unrouted := h.update(4*time.Hour+2*time.Minute, ActionReferClue, "k3", noRoute)
	noReason := referClue("k4")
	noReason.Receiver = "长沙市委组织部"
	unexplained := h.update(4*time.Hour+3*time.Minute, ActionReferClue, "k4", noReason)
	early := h.update(4*time.Hour+4*time.Minute, ActionReportReferralOutcome, "o0", ReportReferralOutcomeInput{Change: Change{RequestID: "o0", Actor: commission},
		Outcome: casework.OutcomeNotFiled, Summary: "不予立案"})
	ok := h.update(5*time.Hour, ActionReferClue, "k5", referClue("k5"))
	again := h.update(6*time.Hour, ActionReferClue, "k6", referClue("k6"))
	stranger := h.update(7*time.Hour, ActionAcknowledgeReferral, "a0", AcknowledgeReferralInput{Change: Change{RequestID: "a0", Actor: orgDept}})
	ack := h.update(8*time.Hour, ActionAcknowledgeReferral, "a1", AcknowledgeReferralInput{Change: Change{RequestID: "a1", Actor: commission}})
	twice := h.update(9*time.Hour, ActionAcknowledgeReferral, "a2", AcknowledgeReferralInput{Change: Change{RequestID: "a2", Actor: commission}, Seq: 1})
	filed := h.update(10*time.Hour, ActionReportReferralOutcome, "o1", ReportReferralOutcomeInput{Change: Change{RequestID: "o1", Actor: commission},
		Outcome: casework.OutcomeFiled, Summary: "立案审查", CaseNumber: "3"})
	unfiled := h.update(11*time.Hour, ActionReportReferralOutcome, "o2", ReportReferralOutcomeInput{Change: Change{RequestID: "o2", Actor: commission},
		Outcome: casework.OutcomeNotFiled, Summary: "撤案"})
	noCase := h.update(12*time.Hour, ActionReportReferralOutcome, "o3", ReportReferralOutcomeInput{Change: Change{RequestID: "o3", Actor: commission},
		Outcome: casework.OutcomeFiled, Summary: "立案"})
	inHand := h.update(59*day, ActionWithdraw, "w0", WithdrawInput{Change: Change{RequestID: "w0", Actor: office}, Reason: "登记有误"})
	concluded := h.update(59*day+time.Hour, ActionReportReferralOutcome, "o4", ReportReferralOutcomeInput{Change: Change{RequestID: "o4", Actor: commission},
		Outcome: casework.OutcomeConcluded, Summary: "给予党内警告处分"})
	wd := h.update(60*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(""))
	requireDone(t, ok, ack, filed, concluded, wd)

	requireReason(t, derrors.FromTemporal(tooEarly.rejected), "STAGE_NOT_ALLOWED")
	require.ErrorIs(t, derrors.FromTemporal(byUnit.rejected), derrors.ErrPermissionDenied)
	requireFields(t, bad.rejected, "unit_level", "clue_kind", "cadre_rank", "override_reason")
	requireReason(t, derrors.FromTemporal(unrouted.failed), ReasonNoReferralRoute)
	requireFields(t, unexplained.failed, "override_reason")
	requireReason(t, derrors.FromTemporal(early.rejected), ReasonNoReferral)
	requireReason(t, derrors.FromTemporal(again.rejected), ReasonReferralOpen)
	requireReason(t, derrors.FromTemporal(stranger.rejected), ReasonNoReferral)
	requireReason(t, derrors.FromTemporal(twice.rejected), ReasonReferralAcknowledged)
	// Said in Chinese, the routing key and what is awaited too: it read
	// "没有移交 to … awaiting receipt" and "CITY/DISCIPLINE/DEPARTMENT".
	require.Equal(t, "finding/f-1：路由表中没有市州级单位、违纪线索、厅局级干部对应的接收单位；请写明接收单位并给出 override_reason",
		derrors.Message(derrors.FromTemporal(unrouted.failed), i18n.Chinese))
	require.Equal(t, "finding/f-1：没有移交给长沙市纪委监委且待报告办理结果的线索", derrors.Message(derrors.FromTemporal(early.rejected), i18n.Chinese))
	require.Equal(t, "finding/f-1：没有移交给"+orgDept.Organisation+"且待回执的线索", derrors.Message(derrors.FromTemporal(stranger.rejected), i18n.Chinese))
	requireFields(t, unfiled.rejected, "outcome")
	requireFields(t, noCase.rejected, "case_number")
	// Withdrawn, the finding's workflow ends and the body's outcome could
	// never be recorded: refused while the case is in hand.
	requireReason(t, derrors.FromTemporal(inHand.rejected), ReasonReferralOpen)
	require.Equal(t, "2026-430100-0007：向长沙市纪委监委的第 1 次移交已立案：有关单位正在办理其线索的问题，须待其报告办理结果后方可撤销",
		derrors.Message(derrors.FromTemporal(inHand.rejected), i18n.Chinese))

	f := wd.state.Finding
	require.Len(t, f.ClueReferrals, 1, "only the accepted referral was recorded")
	require.Len(t, f.ClueReferrals[0].Outcomes, 2)
	require.Equal(t, []string{"record", "list", "diagnose", "classify", "refer", "referClue", "acknowledgeReferral",
		"reportReferralOutcome", "escalate", "escalate", "escalate", "reportReferralOutcome", "withdraw"}, h.fl.actions())
}

// settled has the commission acknowledge the clue's one referral and
// report it not filed, at after and an hour later: a finding is withdrawn
// only once no body is handling its clue (checkNoClueInHand).
func (h *harness) settled(after time.Duration) []*result {
	return []*result{
		h.update(after, ActionAcknowledgeReferral, "settle-a", AcknowledgeReferralInput{Change: Change{RequestID: "settle-a", Actor: commission}, ReceiptNumber: "长纪回〔2026〕1号"}),
		h.update(after+time.Hour, ActionReportReferralOutcome, "settle-o", ReportReferralOutcomeInput{Change: Change{RequestID: "settle-o", Actor: commission},
			Outcome: casework.OutcomeNotFiled, Summary: "不予立案"}),
	}
}

// TestReferClueNeedsAClue: a hazard, or a clue not classified REFER_CLUE,
// is not referred; a unit whose code is not a division code needs its
// level.
func TestReferClueNeedsAClue(t *testing.T) {
	t.Parallel()
	f := casework.Finding{Lifecycle: casework.Lifecycle{ID: "f-1", Stage: FindingReferred, UnitCode: "430100"},
		Kind: KindHazard, Severity: SeverityMajor,
		Dispositions: []string{"REFER_CLUE"}}
	requireReason(t, checkReferClue(f, referClue("k")), ReasonNotAClue)
	// Named by its ledger number, the codes by their names in Chinese (it
	// read "finding/f-1：只有处置方式为 REFER_CLUE 的 VIOLATION_CLUE or RESPONSIBILITY 问题").
	f.LedgerNumber, f.Dispositions = "2026-430100-0007", []string{"RECTIFY", "SUPERVISE"}
	zh := derrors.Message(checkReferClue(f, referClue("k")), i18n.Chinese)
	require.Contains(t, zh, "2026-430100-0007：只有处置方式为"+i18n.Disposition("REFER_CLUE")+"的")
	require.Contains(t, zh, "（此问题为"+i18n.FindingKind(KindHazard)+"，处置方式为"+i18n.Disposition("RECTIFY")+"、"+i18n.Disposition("SUPERVISE")+"）")
	require.NotRegexp(t, `[A-Z]{4}`, zh, "no code left in the Chinese")
	f.Kind, f.Severity, f.Dispositions = KindViolationClue, "", []string{"RECTIFY"}
	requireReason(t, checkReferClue(f, referClue("k")), ReasonNotAClue)
	f.Dispositions = []string{"REFER_CLUE"}
	require.NoError(t, checkReferClue(f, referClue("k")))
	f.UnitCode = "91430100MA4L0XXX00"
	requireFields(t, checkReferClue(f, referClue("k")), "unit_level")
	in := referClue("k")
	in.UnitLevel = casework.UnitLevelProvince
	require.NoError(t, checkReferClue(f, in))
	f.Stage = FindingRectified
	require.NoError(t, checkReferClue(f, in), "still referable after the rectification report")

	for code, level := range map[string]string{"430000": "PROVINCE", "430100": "CITY", "430102": "COUNTY", "431000": "CITY"} {
		got, ok := UnitLevelOf(code)
		require.True(t, ok, code)
		require.Equal(t, level, got, code)
	}
	_, ok := UnitLevelOf("43010A")
	require.False(t, ok)
}

// TestReferralStageAndRoleTable: the referral actions keep the finding in
// REFERRED or RECTIFIED and are refused elsewhere; the office refers, the
// receiver (or the office, for a paper receipt) answers.
func TestReferralStageAndRoleTable(t *testing.T) {
	t.Parallel()
	for _, stage := range FindingStages {
		for _, action := range FindingReferralActions {
			next, err := NextFindingStage("f-1", stage, action, true)
			if stage == FindingReferred || stage == FindingRectified {
				require.NoError(t, err, "%s in %s", action, stage)
				require.Equal(t, stage, next)
				continue
			}
			requireReason(t, err, "STAGE_NOT_ALLOWED")
		}
	}
	requireRoleTable(t, FindingMachine.CheckRole, map[string][]string{
		ActionReferClue:             {actor.RoleOffice},
		ActionAcknowledgeReferral:   {actor.RoleReceiver, actor.RoleOffice},
		ActionReportReferralOutcome: {actor.RoleReceiver, actor.RoleOffice},
	})
}

// requireFields checks that err (from an update, or a check) is a field
// refusal naming exactly fields.
func requireFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var invalid *derrors.InvalidError
	require.ErrorAs(t, derrors.FromTemporal(err), &invalid, "%v", err)
	var got []string
	for _, v := range invalid.Violations {
		got = append(got, v.Field)
	}
	require.Equal(t, fields, got)
}

// TestReferralReceiptFollowsTheCalendar: a calendar version that makes the
// receipt's last days holidays re-dates the receipt (event redateReferral)
// and its ladder fires at the new instants.
func TestReferralReceiptFollowsTheCalendar(t *testing.T) {
	h := newHarness(t)
	h.withRoutes(cityDisciplineRoute)
	h.clueReferredAt()
	h.update(4*time.Hour, ActionReferClue, "k1", referClue("k1"))
	h.env.RegisterDelayedCallback(func() {
		// An amended notice makes 2026-03-09..03-10 holidays.
		h.loadCalendar(t, 8, holiday("2026-03-09", "2026-03-10"))
	}, 2*day)
	settled := h.settled(59 * day)
	wd := h.update(60*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(""))
	requireDone(t, append(settled, wd)...)

	redate := lastEvent(h.fl.events, "redateReferral")
	require.NotNil(t, redate)
	require.Equal(t, "referral 1's receipt re-dated by calendar version 8: due 2026-03-11 (was 2026-03-09)", redate.Note)
	require.Equal(t, "2026-03-11", h.fl.row.ClueReferrals[0].AckDeadline.Due.String())
	requireFired(t, h.escalationsByStep(StepReferralReminder, StepReferralUnacknowledged), map[string]string{
		StepReferralReminder:       "2026-03-07 00:00",
		StepReferralUnacknowledged: "2026-03-12 00:00",
	})
}

// TestRouteConfirmedKeepsOneOpenReferralPerReceiver: the commission holds
// an acknowledged referral of the clue; a second one that confirms the
// routing table's receiver (the same commission, not named) is refused as
// one naming it is. A run from before versionRouteReceiverOpen accepted it.
func TestRouteConfirmedKeepsOneOpenReferralPerReceiver(t *testing.T) {
	for _, old := range []bool{false, true} {
		h := newHarness(t)
		if old {
			h.env.OnGetVersion(versionRouteReceiverOpen, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		h.withRoutes(cityDisciplineRoute)
		h.clueReferredAt()
		first := h.update(4*time.Hour, ActionReferClue, "k1", referClue("k1"))
		ack := h.update(day, ActionAcknowledgeReferral, "a1", AcknowledgeReferralInput{Change: Change{RequestID: "a1", Actor: commission}, ReceiptNumber: "长纪回〔2026〕12号"})
		named := referClue("k2")
		named.Receiver = cityDisciplineRoute.Receiver
		byName := h.update(2*day, ActionReferClue, "k2", named)
		byRoute := h.update(2*day+time.Hour, ActionReferClue, "k3", referClue("k3"))
		notFiled := h.update(29*day, ActionReportReferralOutcome, "o1", ReportReferralOutcomeInput{Change: Change{RequestID: "o1", Actor: commission},
			Seq: 1, Outcome: casework.OutcomeNotFiled, Summary: "不予立案"})
		if old { // the old run's second referral, settled too
			h.update(29*day+time.Hour, ActionAcknowledgeReferral, "a2", AcknowledgeReferralInput{Change: Change{RequestID: "a2", Actor: commission}, Seq: 2, ReceiptNumber: "长纪回〔2026〕13号"})
			h.update(29*day+2*time.Hour, ActionReportReferralOutcome, "o2", ReportReferralOutcomeInput{Change: Change{RequestID: "o2", Actor: commission},
				Seq: 2, Outcome: casework.OutcomeNotFiled, Summary: "不予立案"})
		}
		wd := h.update(30*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
		h.run(newFinding(""))
		requireDone(t, first, ack, notFiled, wd)
		requireReason(t, derrors.FromTemporal(byName.rejected), ReasonReferralOpen)
		if old {
			require.NoError(t, byRoute.failed)
			require.Len(t, byRoute.state.Finding.ClueReferrals, 2, "the old run's second open referral")
			continue
		}
		requireReason(t, derrors.FromTemporal(byRoute.failed), ReasonReferralOpen)
		require.Len(t, wd.state.Finding.ClueReferrals, 1)
	}
}

// TestClueClosesOutOnlyOnceReferred: a clue classified REFER_CLUE that
// was never referred to the body with jurisdiction was closed out with the
// unit's rectification alone, its problem list saying 移交问题线索 and
// 已销号. An accepted verification is refused (CLUE_NOT_REFERRED) until the
// clue is referred and its outcome reported; with signers, the round
// starts and its last signature is the one refused.
func TestClueClosesOutOnlyOnceReferred(t *testing.T) {
	t.Run("no signers", func(t *testing.T) {
		h := newHarness(t)
		h.withRoutes(cityDisciplineRoute)
		h.clueReferredAt()
		h.update(5*day, ActionReportRectification, "p1", rectification("p1"))
		early := h.update(6*day, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true})
		h.update(6*day+hour, ActionReferClue, "k1", referClue("k1"))
		h.update(7*day, ActionAcknowledgeReferral, "a1", AcknowledgeReferralInput{Change: Change{RequestID: "a1", Actor: commission}})
		h.update(7*day+hour, ActionReportReferralOutcome, "o1", ReportReferralOutcomeInput{Change: Change{RequestID: "o1", Actor: commission},
			Outcome: casework.OutcomeNotFiled, Summary: "经核查，不予立案"})
		closed := h.update(8*day, ActionVerify, "v2", VerifyInput{Change: Change{RequestID: "v2", Actor: office}, Accept: true})
		h.run(newFinding(""))
		// Refused by the handler, once the close-out call found no signers.
		require.True(t, early.done)
		var stage *derrors.StageError
		require.ErrorAs(t, derrors.FromTemporal(early.failed), &stage, "%v", early.failed)
		require.Equal(t, ReasonClueNotReferred, stage.Reason)
		require.Contains(t, derrors.Message(stage, i18n.Chinese), "从未移交有管辖权的单位")
		requireDone(t, closed)
		require.Equal(t, FindingClosed, closed.state.Finding.Stage)
	})
	t.Run("signers", func(t *testing.T) {
		h := newHarness(t)
		h.withRoutes(cityDisciplineRoute)
		h.withSignoffRules(casework.SignoffRule{Kind: KindResponsibility, Signers: []casework.Signer{{Role: actor.RoleOffice}}})
		h.clueReferredAt()
		h.update(5*day, ActionReportRectification, "p1", rectification("p1"))
		verified := h.update(6*day, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true})
		early := h.update(7*day, ActionSignOff, "s1", signOff("s1", signingOffice))
		h.update(7*day+hour, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
		h.run(newFinding(""))
		requireDone(t, verified)
		require.Equal(t, FindingRectified, verified.state.Finding.Stage, "the round of sign-off starts")
		requireRefused(t, early, ReasonClueNotReferred)
	})
}

// TestClueNotReferredInTheHandlers: the handlers ask the clue rule too,
// behind versionClueReferred: the last of two signatures admitted at once
// (each validator saw the other still awaited) closed out a clue never
// referred, and so did a verification of a run from before code level 2.
// Runs that closed them before the version replay as they did (the old
// branch: closed).
func TestClueNotReferredInTheHandlers(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(fmt.Sprintf("old=%v", old), func(t *testing.T) {
			t.Run("two signatures at once", func(t *testing.T) {
				h := newHarness(t)
				if old {
					h.env.OnGetVersion(versionClueReferred, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
				}
				h.withRoutes(cityDisciplineRoute)
				h.withSignoffRules(casework.SignoffRule{Kind: KindResponsibility, Signers: []casework.Signer{
					{Role: actor.RoleCommittee, Organisation: "省住房和城乡建设厅"}, {Role: actor.RoleOffice}}})
				h.clueReferredAt()
				h.update(5*day, ActionReportRectification, "p1", rectification("p1"))
				verified := h.update(6*day, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true})
				a := h.update(7*day, ActionSignOff, "s1", signOff("s1", department))
				b := h.update(7*day, ActionSignOff, "s2", signOff("s2", signingOffice))
				h.update(8*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
				h.run(newFinding(""))
				requireDone(t, verified, a)
				if old {
					requireDone(t, b)
					require.Equal(t, FindingClosed, b.state.Finding.Stage)
					return
				}
				var stage *derrors.StageError
				require.ErrorAs(t, derrors.FromTemporal(b.failed), &stage, "%v", b.failed)
				require.Equal(t, ReasonClueNotReferred, stage.Reason)
			})
			t.Run("a verification before code level 2", func(t *testing.T) {
				h := newHarness(t)
				atLevelOne(h.env)
				if old {
					h.env.OnGetVersion(versionClueReferred, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
				}
				h.withRoutes(cityDisciplineRoute)
				h.clueReferredAt()
				h.update(5*day, ActionReportRectification, "p1", rectification("p1"))
				v := h.update(6*day, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true})
				h.update(7*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
				h.run(newFinding(""))
				if old {
					requireDone(t, v)
					require.Equal(t, FindingClosed, v.state.Finding.Stage)
					return
				}
				var stage *derrors.StageError
				require.ErrorAs(t, derrors.FromTemporal(v.failed), &stage, "%v", v.failed)
				require.Equal(t, ReasonClueNotReferred, stage.Reason)
			})
		})
	}
}
