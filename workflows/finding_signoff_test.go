package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// The sign-off tests run on the default calendar from start (Monday
// 2026-03-02): referred that day (due 2026-04-02), rectified on day 5, the
// office's verification on day 6.

const hour = time.Hour

var (
	// department is the competent department's signer: a member unit of
	// the Safety Committee, signing in the committee role.
	department = actor.Actor{Name: "李明", Role: actor.RoleCommittee, Organisation: "省住房和城乡建设厅", Subject: "dept-li"}
	// otherDepartment is a committee member of another department.
	otherDepartment = actor.Actor{Name: "刘洋", Role: actor.RoleCommittee, Organisation: "省交通运输厅", Subject: "dept-liu"}
	// signingOffice is the office's signer, not the clerk who verified.
	signingOffice = actor.Actor{Name: "陈主任", Role: actor.RoleOffice, Organisation: "省安委办", Subject: "office-chen"}
)

// majorHazardRule: a MAJOR hazard closes once the competent department and
// then the office signed.
func majorHazardRule(ordered bool) casework.SignoffRule {
	return casework.SignoffRule{Kind: KindHazard, Severity: SeverityMajor, Ordered: ordered, Signers: []casework.Signer{
		{Role: actor.RoleCommittee, Organisation: "省住房和城乡建设厅"}, {Role: actor.RoleOffice},
	}}
}

// withSignoffRules puts rules into the harness's escalation policy.
func (h *harness) withSignoffRules(rules ...casework.SignoffRule) {
	h.fl.policy.Version = 7
	h.fl.policy.SignoffRules = rules
}

// verifiedAt refers the finding, has its rectification reported on day 5
// and accepted by the office on day 6.
func (h *harness) verifiedAt() *result {
	h.referredAt()
	h.update(5*day, ActionReportRectification, "p1", rectification("p1"))
	return h.update(6*day, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true, Reason: "现场核查通道已畅通"})
}

func signOff(requestID string, who actor.Actor) SignOffInput {
	return SignOffInput{Change: Change{RequestID: requestID, Actor: who}, Approve: true, Reason: "同意销号", EvidenceIDs: []string{"ev-form-" + requestID}}
}

func refuseSignOff(requestID string, who actor.Actor, due string) SignOffInput {
	return SignOffInput{Change: Change{RequestID: requestID, Actor: who}, Reason: "消防通道仍有占用，整改不到位", EvidenceIDs: []string{"ev-photo-" + requestID}, Due: due}
}

// dueAndRest checks a round's deadline is due on due (YYYY-MM-DD) and
// returns the round without it, to compare the rest.
func dueAndRest(t *testing.T, so casework.Signoff, due string) casework.Signoff {
	t.Helper()
	require.NotNil(t, so.Deadline, "the round has a deadline")
	require.Equal(t, due, so.Deadline.Due.String())
	so.Deadline = nil
	return so
}

// requireRefused checks an update was refused in its validator with reason.
func requireRefused(t *testing.T, r *result, reason string) {
	t.Helper()
	require.True(t, r.done, "never answered")
	var stage *derrors.StageError
	require.True(t, errors.As(derrors.FromTemporal(r.rejected), &stage), "want %s, got %v", reason, r.rejected)
	require.Equal(t, reason, stage.Reason, stage.Error())
}

// TestFindingSignoffMajorHazard: the policy says a MAJOR hazard closes only
// once the competent department and then the office signed. The office's
// verification leaves it RECTIFIED, waiting; the office cannot sign before
// the department, another department is no signer, a second verification
// and a second signature of the same signer are refused, and the office's
// signature, the last, closes it.
func TestFindingSignoffMajorHazard(t *testing.T) {
	h := newHarness(t)
	h.withSignoffRules(majorHazardRule(true))
	verified := h.verifiedAt()
	var details string
	h.env.RegisterDelayedCallback(func() { details = h.details() }, 6*day+hour)
	early := h.update(6*day+2*hour, ActionSignOff, "s0", signOff("s0", signingOffice))
	stranger := h.update(6*day+3*hour, ActionSignOff, "s1", signOff("s1", otherDepartment))
	again := h.update(6*day+4*hour, ActionVerify, "v2", VerifyInput{Change: Change{RequestID: "v2", Actor: office}, Accept: true})
	dept := h.update(7*day, ActionSignOff, "s2", signOff("s2", department))
	var halfway string
	h.env.RegisterDelayedCallback(func() { halfway = h.details() }, 7*day+hour)
	twice := h.update(7*day+2*hour, ActionSignOff, "s3", signOff("s3", department))
	closed := h.update(8*day, ActionSignOff, "s4", signOff("s4", signingOffice))
	h.run(newFinding(SeverityMajor))
	requireDone(t, verified, dept, closed)
	requireRefused(t, early, ReasonSignoffOutOfOrder)
	requireRefused(t, stranger, ReasonNotASigner)
	requireRefused(t, again, ReasonSignoffPending)
	requireRefused(t, twice, ReasonAlreadySigned)
	// In Chinese, roles and signers by their Chinese names: it read
	// "王芳 (office, 省安委办)" and "role office".
	for _, r := range []*result{early, stranger, twice} {
		zh := derrors.Message(derrors.FromTemporal(r.rejected), i18n.Chinese)
		for _, code := range []string{"office", "committee", "role "} {
			require.NotContains(t, zh, code, zh)
		}
	}

	// Verified: still RECTIFIED, one round of sign-off waiting for both.
	f := verified.state.Finding
	require.Equal(t, FindingRectified, f.Stage)
	require.Len(t, f.Signoffs, 1)
	require.Equal(t, casework.Signoff{Seq: 1, Round: 0, State: casework.SignoffPending, Ordered: true,
		Signers: majorHazardRule(true).Signers, PolicyVersion: 7, RequestedBy: office, RequestedAt: start.Add(6 * day).UTC()},
		dueAndRest(t, f.Signoffs[0], "2026-03-20"), "due 10 working days after Sunday 2026-03-08 (the default)")
	require.Equal(t, "**2026-430100-0007 · 危化品仓库消防通道堵塞** — 阶段：已报整改"+
		"；已验收，会签 0/2，待省住房和城乡建设厅（省安委会成员单位）、省安委办签署，会签 2026-03-20 截止", details)

	// The department signed: still RECTIFIED, the office awaited.
	require.Equal(t, FindingRectified, dept.state.Finding.Stage)
	require.Equal(t, "**2026-430100-0007 · 危化品仓库消防通道堵塞** — 阶段：已报整改"+
		"；已验收，会签 1/2，待省安委办签署，会签 2026-03-20 截止", halfway)

	// The office signed last: CLOSED, the round complete, every signature
	// kept with its evidence.
	f = closed.state.Finding
	require.Equal(t, FindingClosed, f.Stage)
	so := f.Signoffs[0]
	require.Equal(t, casework.SignoffComplete, so.State)
	require.Equal(t, start.Add(8*day).UTC(), *so.EndedAt)
	require.Equal(t, []casework.Signature{
		{Signer: 0, Signed: true, Reason: "同意销号", EvidenceIDs: []string{"ev-form-s2"}, By: department, At: start.Add(7 * day).UTC()},
		{Signer: 1, Signed: true, Reason: "同意销号", EvidenceIDs: []string{"ev-form-s4"}, By: signingOffice, At: start.Add(8 * day).UTC()},
	}, so.Signatures)

	// The events in order: the verification keeps the stage, each
	// signature is an event of its own, the last one closes.
	require.Equal(t, []string{"record", "notify", "list", ActionDiagnose, ActionClassify, ActionRefer, ActionReportRectification,
		ActionVerify, ActionSignOff, ActionSignOff}, h.fl.actions())
	verify, first, last := h.fl.events[7], h.fl.events[8], h.fl.events[9]
	require.Equal(t, FindingRectified, verify.StageAfter)
	require.Equal(t, "rectification verified; the close-out awaits the sign-off of 省住房和城乡建设厅 (committee), role office (in this order), due 2026-03-20: 现场核查通道已畅通", verify.Note)
	require.Equal(t, department, first.Actor)
	require.Equal(t, FindingRectified, first.StageAfter)
	require.JSONEq(t, `["ev-form-s2"]`, string(first.Evidence))
	require.Contains(t, first.Note, "awaiting role office")
	require.Equal(t, signingOffice, last.Actor)
	require.Equal(t, FindingRectified, last.StageBefore)
	require.Equal(t, FindingClosed, last.StageAfter)
	require.Contains(t, last.Note, "every signer signed: closed out")

	// Webhooks: the major hazard, the request, each signature.
	var types []string
	for _, d := range h.fl.deliveries {
		types = append(types, d.EventType)
	}
	require.Equal(t, []string{EventMajorFinding, EventSignoffRequested, EventSignedOff, EventSignedOff}, types)
	require.Equal(t, "finding/f-1/signoff/1/signed/2/wh-1", h.fl.deliveries[3].DeliveryID)
	var payload struct {
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(h.fl.deliveries[3].Payload, &payload))
	require.Equal(t, FindingClosed, payload.Data["stage"])
	require.Equal(t, casework.SignoffComplete, payload.Data["signoff"].(map[string]any)["state"])
	require.Empty(t, payload.Data["awaiting"])
}

// TestFindingSignoffRefusalReopens: the department refuses with a new last
// day; the finding is REFERRED again with a new deadline (number 2), the
// reopen counted and the report cleared, its ladder running. The next
// rectification's verification starts a new round, which both sign, in
// any order (an unordered set): it closes.
func TestFindingSignoffRefusalReopens(t *testing.T) {
	h := newHarness(t)
	h.withSignoffRules(majorHazardRule(false))
	verified := h.verifiedAt()
	refused := h.update(7*day, ActionSignOff, "n1", refuseSignOff("n1", department, "2026-03-31"))
	var pending FindingState
	h.env.RegisterDelayedCallback(func() { pending = h.query() }, 7*day+hour)
	rep2 := h.update(10*day, ActionReportRectification, "p2", rectification("p2"))
	ver2 := h.update(11*day, ActionVerify, "v2", VerifyInput{Change: Change{RequestID: "v2", Actor: office}, Accept: true})
	officeFirst := h.update(12*day, ActionSignOff, "s1", signOff("s1", signingOffice))
	closed := h.update(13*day, ActionSignOff, "s2", signOff("s2", department))
	h.run(newFinding(SeverityMajor))
	requireDone(t, verified, refused, rep2, ver2, officeFirst, closed)

	f := refused.state.Finding
	require.Equal(t, FindingReferred, f.Stage)
	require.Equal(t, 1, f.ReopenCount)
	require.Equal(t, 2, f.DeadlineSeq)
	require.Nil(t, f.Rectification, "the refused report is cleared")
	require.Equal(t, "2026-03-31", f.Deadline.Due.String())
	require.Contains(t, f.Deadline.Explanation[0], "set by "+department.Organisation, "the signer set the day, not the office")
	require.Len(t, pending.Pending, 3, "the new deadline's ladder runs")
	require.Equal(t, casework.SignoffRefused, f.Signoffs[0].State)
	require.Equal(t, []casework.Signature{{Signer: 0, Signed: false, Reason: "消防通道仍有占用，整改不到位",
		EvidenceIDs: []string{"ev-photo-n1"}, By: department, At: start.Add(7 * day).UTC()}}, f.Signoffs[0].Signatures)

	require.Equal(t, FindingRectified, ver2.state.Finding.Stage)
	require.Len(t, ver2.state.Finding.Signoffs, 2)
	require.Equal(t, casework.Signoff{Seq: 2, Round: 1, State: casework.SignoffPending, Signers: majorHazardRule(false).Signers,
		PolicyVersion: 7, RequestedBy: office, RequestedAt: start.Add(11 * day).UTC()}, dueAndRest(t, ver2.state.Finding.Signoffs[1], "2026-03-27"))
	require.Equal(t, FindingRectified, officeFirst.state.Finding.Stage, "unordered: the office may sign first")
	require.Equal(t, FindingClosed, closed.state.Finding.Stage)
	require.Equal(t, casework.SignoffComplete, closed.state.Finding.Signoffs[1].State)

	require.Equal(t, []string{"record", "notify", "list", ActionDiagnose, ActionClassify, ActionRefer, ActionReportRectification,
		ActionVerify, ActionSignOff, ActionReportRectification, ActionVerify, ActionSignOff, ActionSignOff}, h.fl.actions())
	refusal := h.fl.events[8]
	require.Equal(t, FindingRectified, refusal.StageBefore)
	require.Equal(t, FindingReferred, refusal.StageAfter)
	require.Equal(t, "sign-off 1 refused by 李明 (committee, 省住房和城乡建设厅) (as 省住房和城乡建设厅 (committee)): 消防通道仍有占用，整改不到位", refusal.Note)
	var data map[string]any
	require.NoError(t, json.Unmarshal(refusal.Data, &data))
	require.EqualValues(t, 1, data["reopen_count"])
	require.Equal(t, "2026-03-31", data["deadline"].(map[string]any)["due"])

	var types []string
	for _, d := range h.fl.deliveries {
		types = append(types, d.EventType)
	}
	require.Equal(t, []string{EventMajorFinding, EventSignoffRequested, EventSignoffRefused, EventSignoffRequested,
		EventSignedOff, EventSignedOff}, types)
	require.Empty(t, h.fl.escalations, "every report came in time")
}

// TestFindingSignoffNotNeeded: findings the rules do not name close at the
// office's verification (a GENERAL hazard under a MAJOR rule), and nothing
// waits for a signature.
func TestFindingSignoffNotNeeded(t *testing.T) {
	h := newHarness(t)
	h.withSignoffRules(majorHazardRule(true))
	verified := h.verifiedAt()
	h.run(newFinding(SeverityGeneral))
	requireDone(t, verified)
	require.Equal(t, FindingClosed, verified.state.Finding.Stage)
	require.Empty(t, verified.state.Finding.Signoffs)
	require.Equal(t, 1, h.fl.signoffReads)
	require.Empty(t, h.fl.deliveries, "no sign-off asked for")
}

// TestFindingSignoffBeforeVerification: RECTIFIED but not yet verified,
// nothing waits for a signature.
func TestFindingSignoffBeforeVerification(t *testing.T) {
	h := newHarness(t)
	h.withSignoffRules(majorHazardRule(true))
	h.referredAt()
	h.update(5*day, ActionReportRectification, "p1", rectification("p1"))
	early := h.update(5*day+hour, ActionSignOff, "s1", signOff("s1", department))
	wd := h.update(6*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, wd)
	requireRefused(t, early, ReasonNoSignoffPending)
}

// TestFindingSignoffLapsesOnWithdrawal: a round still waiting when the
// office withdraws the finding lapses.
func TestFindingSignoffLapsesOnWithdrawal(t *testing.T) {
	h := newHarness(t)
	h.withSignoffRules(majorHazardRule(true))
	verified := h.verifiedAt()
	wd := h.update(7*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "问题重复登记"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, verified, wd)
	so := wd.state.Finding.Signoffs[0]
	require.Equal(t, casework.SignoffLapsed, so.State)
	require.Equal(t, start.Add(7*day).UTC(), *so.EndedAt)
	require.Equal(t, FindingWithdrawn, wd.state.Finding.Stage)
}

// TestFindingSignoffBeforeTheChange: a workflow that verified before
// versionSignoff (its history has no marker) closes at the verification,
// reading no rule, even when the policy now names signers: the commands of
// a running finding do not change.
func TestFindingSignoffBeforeTheChange(t *testing.T) {
	h := newHarness(t)
	atLevelOne(h.env)
	h.env.OnGetVersion(versionSignoff, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.withSignoffRules(majorHazardRule(true))
	verified := h.verifiedAt()
	h.run(newFinding(SeverityMajor))
	requireDone(t, verified)
	require.Equal(t, FindingClosed, verified.state.Finding.Stage)
	require.Empty(t, verified.state.Finding.Signoffs)
	require.Zero(t, h.fl.signoffReads, "no sign-off rule read")
	require.Equal(t, []string{"record", "notify", "list", ActionDiagnose, ActionClassify, ActionRefer, ActionReportRectification,
		ActionVerify}, h.fl.actions())
}

// TestLevelTwoAsksNoChange: a run started at level 2 takes the changes of
// levelTwoChanges without asking workflow.GetVersion. Were it to ask, the
// mock below would answer DefaultVersion and the finding would close at the
// verification, as TestFindingSignoffBeforeTheChange shows; it waits for
// its signers instead.
func TestLevelTwoAsksNoChange(t *testing.T) {
	h := newHarness(t)
	h.env.OnGetVersion(versionSignoff, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.withSignoffRules(majorHazardRule(true))
	verified := h.verifiedAt()
	dept := h.update(7*day, ActionSignOff, "s2", signOff("s2", department))
	closed := h.update(8*day, ActionSignOff, "s4", signOff("s4", signingOffice))
	h.run(newFinding(SeverityMajor))
	requireDone(t, verified, dept, closed)
	require.Equal(t, FindingRectified, verified.state.Finding.Stage)
	require.Len(t, verified.state.Finding.Signoffs, 1)
	require.Equal(t, FindingClosed, closed.state.Finding.Stage)
}

// TestVerifyAtBothLevels accepts a verification as a level-1 run does (the
// sign-off rule read, then the close-out written: two ledger calls) and as
// a level-2 run does (one call, activities.CloseFinding), without signers
// and with them: the ledger holds the same rows and events.
func TestVerifyAtBothLevels(t *testing.T) {
	for _, signers := range []bool{false, true} {
		t.Run(fmt.Sprintf("signers %v", signers), func(t *testing.T) {
			run := func(levelOne bool) *harness {
				h := newHarness(t)
				if levelOne {
					atLevelOne(h.env)
				}
				if signers {
					h.withSignoffRules(majorHazardRule(true))
				}
				verified := h.verifiedAt()
				h.update(7*day, ActionSignOff, "s2", signOff("s2", department))
				h.update(8*day, ActionSignOff, "s4", signOff("s4", signingOffice))
				h.run(newFinding(SeverityMajor))
				requireDone(t, verified)
				return h
			}
			one, two := run(true), run(false)
			require.Equal(t, one.fl.events, two.fl.events)
			require.Equal(t, one.fl.row, two.fl.row)
			require.Equal(t, FindingClosed, two.fl.row.Stage)
			require.Equal(t, 1, two.fl.signoffReads)
			if signers {
				require.Len(t, two.fl.row.Signoffs, 1)
			} else {
				require.Empty(t, two.fl.row.Signoffs)
			}
		})
	}
}

// TestLevelTwoChanges pins the changes level-2 runs take without asking,
// at their versions: running level-2 workflows depend on exactly this
// table. A change here, or of a listed change's version, needs a level 3.
func TestLevelTwoChanges(t *testing.T) {
	t.Parallel()
	require.Equal(t, map[string]workflow.Version{
		"webhook-outbox":                   1,
		"announce-outlives-ladder":         1,
		"end-cancels-proposed-interviews":  2,
		"signoff-before-close":             1,
		"signoff-deadline":                 1,
		"ladder-interview-outlives-ladder": 1,
		"interview-records-cancellation":   1,
		"pool-answer-limit-from-policy":    1,
	}, levelTwoChanges)
}

func TestSignOffInputValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     SignOffInput
		fields []string
	}{
		{"sign without evidence", SignOffInput{Change: Change{RequestID: "r"}, Approve: true}, []string{"evidence_ids"}},
		{"sign with a due day", SignOffInput{Change: Change{RequestID: "r"}, Approve: true, EvidenceIDs: []string{"e"}, Due: "2026-04-01"}, []string{"due"}},
		{"refuse without a reason", SignOffInput{Change: Change{RequestID: "r"}, EvidenceIDs: []string{"e"}}, []string{"reason"}},
		{"refuse with a bad day", SignOffInput{Change: Change{RequestID: "r"}, Reason: "不到位", EvidenceIDs: []string{"e"}, Due: "2026-02-30"}, []string{"due"}},
		{"no request id", SignOffInput{Approve: true, EvidenceIDs: []string{"e"}}, []string{"request_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var invalid *derrors.InvalidError
			require.ErrorAs(t, tt.in.Validate(), &invalid)
			var fields []string
			for _, v := range invalid.Violations {
				fields = append(fields, v.Field)
			}
			require.Equal(t, tt.fields, fields, invalid.Error())
		})
	}
	require.NoError(t, signOff("r", department).Validate())
	require.NoError(t, refuseSignOff("r", department, "").Validate())
}

// TestFindingSignoffDeadlineEscalates: the signers have the rule's working
// days (the default 10: due Friday 2026-03-20 after the verification on
// Sunday 03-08). Silent past it, the office's reminder and overdue steps
// fire for the round (numbered by it), the round is marked overdue, the
// webhook names the signers still awaited, and no interview of the unit's
// leaders is proposed: the delay is not theirs. Signed late, the finding
// still closes, and the record keeps that the round was overdue.
func TestFindingSignoffDeadlineEscalates(t *testing.T) {
	h := newHarness(t)
	h.withSignoffRules(majorHazardRule(true))
	verified := h.verifiedAt()
	var overdue FindingState
	var overdueDetails string
	h.env.RegisterDelayedCallback(func() { overdue = h.query(); overdueDetails = h.details() }, at("2026-03-21 08:00"))
	dept := h.update(at("2026-03-23 10:00"), ActionSignOff, "s1", signOff("s1", department))
	closed := h.update(at("2026-03-24 10:00"), ActionSignOff, "s2", signOff("s2", signingOffice))
	h.run(newFinding(SeverityMajor))
	requireDone(t, verified, dept, closed)

	require.Equal(t, []string{AwaitingSignoff}, Awaiting(verified.state.Finding))
	requireFired(t, h.escalationsByStep(StepSignoffReminder, StepSignoffOverdue), map[string]string{
		StepSignoffReminder: "2026-03-20 00:00",
		StepSignoffOverdue:  "2026-03-21 00:00",
	})
	for _, e := range h.escalationsByStep(StepSignoffReminder, StepSignoffOverdue) {
		require.Equal(t, 1, e.DeadlineSeq, "the round's number")
		require.Equal(t, "finding/f-1", e.Subject)
	}
	so := overdue.Finding.Signoffs[0]
	require.True(t, so.Overdue)
	require.False(t, overdue.Finding.Overdue, "the unit met its rectification deadline")
	require.Equal(t, []string{AwaitingSignoffOverdue}, Awaiting(overdue.Finding))
	require.Contains(t, overdueDetails, "；已验收，会签 0/2，待省住房和城乡建设厅（省安委会成员单位）、省安委办签署 — 会签已逾期，应于 2026-03-20 完成")
	require.Empty(t, h.fl.interviews, "the signers' delay proposes no interview of the unit's leaders")

	var late []activities.DeliverWebhookInput
	for _, d := range h.fl.deliveries {
		if d.EventType == EventSignoffOverdue {
			late = append(late, d)
		}
	}
	require.Len(t, late, 1)
	require.Equal(t, "finding/f-1/signoff/1/overdue/wh-1", late[0].DeliveryID)
	require.Contains(t, string(late[0].Payload), "省住房和城乡建设厅")

	f := closed.state.Finding
	require.Equal(t, FindingClosed, f.Stage)
	require.Equal(t, casework.SignoffComplete, f.Signoffs[0].State)
	require.True(t, f.Signoffs[0].Overdue, "the record keeps that the signers were late")
	require.Empty(t, Awaiting(f))
	require.Equal(t, []string{"record", "notify", "list", ActionDiagnose, ActionClassify, ActionRefer, ActionReportRectification,
		ActionVerify, "escalateSignoff", "escalateSignoff", ActionSignOff, ActionSignOff}, h.fl.actions())
	require.Contains(t, h.fl.events[8].Note, "reminder: the close-out of 2026-430100-0007")
	require.Contains(t, h.fl.events[9].Note, "sign-off overdue")
}

// TestFindingSignoffDeadlineStops: signed in time, nothing fires; refused,
// the round's ladder stops and the rectification deadline's runs instead.
func TestFindingSignoffDeadlineStops(t *testing.T) {
	t.Run("signed in time", func(t *testing.T) {
		h := newHarness(t)
		rule := majorHazardRule(false)
		rule.WorkingDays = 3 // due Wednesday 2026-03-11
		h.withSignoffRules(rule)
		verified := h.verifiedAt()
		h.update(at("2026-03-09 10:00"), ActionSignOff, "s1", signOff("s1", department))
		closed := h.update(at("2026-03-10 10:00"), ActionSignOff, "s2", signOff("s2", signingOffice))
		h.run(newFinding(SeverityMajor))
		requireDone(t, verified, closed)
		require.Equal(t, "2026-03-11", verified.state.Finding.Signoffs[0].Deadline.Due.String())
		require.Equal(t, FindingClosed, closed.state.Finding.Stage)
		require.Empty(t, h.escalationsByStep(StepSignoffReminder, StepSignoffOverdue))
		require.False(t, closed.state.Finding.Signoffs[0].Overdue)
	})
	t.Run("refused", func(t *testing.T) {
		h := newHarness(t)
		h.withSignoffRules(majorHazardRule(false))
		verified := h.verifiedAt()
		refused := h.update(at("2026-03-09 10:00"), ActionSignOff, "s1", refuseSignOff("s1", department, "2026-03-31"))
		wd := h.update(60*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
		h.run(newFinding(SeverityMajor))
		requireDone(t, verified, refused, wd)
		require.Equal(t, FindingReferred, refused.state.Finding.Stage)
		require.Empty(t, Awaiting(refused.state.Finding))
		require.Empty(t, h.escalationsByStep(StepSignoffReminder, StepSignoffOverdue), "the refused round's ladder stopped")
		require.NotEmpty(t, h.escalationsByStep(casework.StepOverdue), "the new rectification deadline's ladder ran")
	})
}

// TestFindingSignoffFollowsTheCalendar: a calendar version that makes the
// round's last days holidays re-dates it (event redateSignoff), and its
// ladder fires at the new instants.
func TestFindingSignoffFollowsTheCalendar(t *testing.T) {
	h := newHarness(t)
	h.withSignoffRules(majorHazardRule(true))
	h.verifiedAt()
	h.env.RegisterDelayedCallback(func() {
		// An amended notice makes 2026-03-19..03-20 holidays.
		h.loadCalendar(t, 8, holiday("2026-03-19", "2026-03-20"))
	}, 8*day)
	wd := h.update(40*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
	h.run(newFinding(SeverityMajor))
	requireDone(t, wd)

	redate := lastEvent(h.fl.events, "redateSignoff")
	require.NotNil(t, redate)
	require.Equal(t, "sign-off 1 re-dated by calendar version 8: due 2026-03-24 (was 2026-03-20)", redate.Note)
	requireFired(t, h.escalationsByStep(StepSignoffReminder, StepSignoffOverdue), map[string]string{
		StepSignoffReminder: "2026-03-24 00:00",
		StepSignoffOverdue:  "2026-03-25 00:00",
	})
	require.Equal(t, casework.SignoffLapsed, wd.state.Finding.Signoffs[0].State)
}

// TestFindingSignoffBeforeTheDeadlineChange: a round requested before
// versionSignoffDeadline (no marker in its history) has no deadline and no
// ladder: nothing fires however long the signers take, and it closes when
// they sign.
func TestFindingSignoffBeforeTheDeadlineChange(t *testing.T) {
	h := newHarness(t)
	atLevelOne(h.env)
	h.env.OnGetVersion(versionSignoffDeadline, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.withSignoffRules(majorHazardRule(true))
	verified := h.verifiedAt()
	var details string
	h.env.RegisterDelayedCallback(func() { details = h.details() }, 40*day)
	h.update(41*day, ActionSignOff, "s1", signOff("s1", department))
	closed := h.update(42*day, ActionSignOff, "s2", signOff("s2", signingOffice))
	h.run(newFinding(SeverityMajor))
	requireDone(t, verified, closed)
	require.Nil(t, verified.state.Finding.Signoffs[0].Deadline)
	require.Empty(t, h.escalationsByStep(StepSignoffReminder, StepSignoffOverdue))
	require.True(t, strings.HasSuffix(details, "待省住房和城乡建设厅（省安委会成员单位）、省安委办签署"), details)
	require.Equal(t, FindingClosed, closed.state.Finding.Stage)
}

// TestLastSignatureWaitsForReferrals: a clue referred while the signers
// sign holds the close-out: the signature that would complete the set is
// refused until the receiver reports a final outcome; the others are not.
func TestLastSignatureWaitsForReferrals(t *testing.T) {
	h := newHarness(t)
	h.withRoutes(cityDisciplineRoute)
	h.withSignoffRules(casework.SignoffRule{Kind: KindResponsibility, Signers: []casework.Signer{
		{Role: actor.RoleCommittee, Organisation: "省住房和城乡建设厅"}, {Role: actor.RoleOffice},
	}})
	h.clueReferredAt()
	h.update(5*day, ActionReportRectification, "p1", rectification("p1"))
	verified := h.update(6*day, ActionVerify, "v1", VerifyInput{Change: Change{RequestID: "v1", Actor: office}, Accept: true})
	referred := h.update(6*day+hour, ActionReferClue, "k1", referClue("k1"))
	dept := h.update(7*day, ActionSignOff, "s1", signOff("s1", department))
	held := h.update(7*day+hour, ActionSignOff, "s2", signOff("s2", signingOffice))
	var waiting []string
	h.env.RegisterDelayedCallback(func() { waiting = Awaiting(h.query().Finding) }, 7*day+2*hour)
	h.update(8*day, ActionAcknowledgeReferral, "a1", AcknowledgeReferralInput{Change: Change{RequestID: "a1", Actor: commission}})
	h.update(8*day+hour, ActionReportReferralOutcome, "o1", ReportReferralOutcomeInput{Change: Change{RequestID: "o1", Actor: commission},
		Outcome: casework.OutcomeNotFiled, Summary: "经核查，不予立案"})
	closed := h.update(9*day, ActionSignOff, "s3", signOff("s3", signingOffice))
	h.run(newFinding(""))
	requireDone(t, verified, referred, dept, closed)
	requireRefused(t, held, ReasonReferralOutcomePending)
	require.Equal(t, []string{AwaitingReferralReceipt, AwaitingSignoff}, waiting)
	require.Equal(t, FindingClosed, closed.state.Finding.Stage)
	require.Equal(t, casework.ReferralNotFiled, closed.state.Finding.ClueReferrals[0].State)
}

// TestSignerFillsTheSlotNamingItsOrganisation: a round in any order that
// any committee member and 省住房和城乡建设厅 sign: the department signs
// first and fills its own slot, so the other department still signs and
// the finding closes. A run from before versionSpecificSlot filled the
// first slot it matched, and the other department was refused.
func TestSignerFillsTheSlotNamingItsOrganisation(t *testing.T) {
	rule := casework.SignoffRule{Kind: KindHazard, Severity: SeverityMajor, Signers: []casework.Signer{
		{Role: actor.RoleCommittee}, {Role: actor.RoleCommittee, Organisation: "省住房和城乡建设厅"},
	}}
	for _, old := range []bool{false, true} {
		h := newHarness(t)
		if old {
			h.env.OnGetVersion(versionSpecificSlot, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		h.withSignoffRules(rule)
		verified := h.verifiedAt()
		dept := h.update(7*day, ActionSignOff, "s1", signOff("s1", department))
		other := h.update(8*day, ActionSignOff, "s2", signOff("s2", otherDepartment))
		wd := h.update(30*day, ActionWithdraw, "w1", WithdrawInput{Change: Change{RequestID: "w1", Actor: office}, Reason: "测试结束"})
		h.run(newFinding(SeverityMajor))
		requireDone(t, verified, dept)
		if old {
			require.Equal(t, 0, dept.state.Finding.Signoffs[0].Signatures[0].Signer, "the first slot it matched")
			requireRefused(t, other, ReasonNotASigner)
			requireDone(t, wd)
			continue
		}
		require.Equal(t, 1, dept.state.Finding.Signoffs[0].Signatures[0].Signer, "its own slot")
		requireDone(t, other)
		require.Equal(t, FindingClosed, other.state.Finding.Stage, "closed: the withdrawal after it finds no run")
	}
}
