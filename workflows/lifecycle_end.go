package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/activities"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/i18n"
)

// versionEndCancelsProposals is the workflow.GetVersion change ID under
// which a finding or an inspection that ends (withdrawn, closed, cancelled)
// cancels the interviews its ladder proposed and nobody approved. Histories
// recorded before it replay without the new activities. Version 1 asks the
// ledger at every end; version 2 only when the ladder proposed an interview
// in this run (every proposal is first an INTERVIEW_PROPOSED escalation), so
// the common end costs no ledger read.
const versionEndCancelsProposals = "end-cancels-proposed-interviews"

// ladderInterviewIDs are the interviews the ladder proposed in this run, one
// per INTERVIEW_PROPOSED escalation (LadderInterviewID).
func ladderInterviewIDs(subject string, escalations []casework.Escalation) []string {
	var ids []string
	for _, e := range escalations {
		if e.Step == casework.StepInterviewProposed {
			ids = append(ids, LadderInterviewID(subject, e.DeadlineSeq))
		}
	}
	return ids
}

// cancelProposedInterviews cancels the interviews the escalation ladder
// proposed about subject that are still PROPOSED: the subject ended (why
// says how, e.g. "finding f-1 was withdrawn"), so the proposal is moot. An
// interview someone approved goes ahead; so do interviews a team or the
// office proposed. Each cancellation is the interview's own cancel update,
// sent by the system with OnlyProposed and recorded by the interview with
// the event note "cancelled: <why>"; key makes a retried send change
// nothing. known are the ladder's interviews of this run (escalations),
// which the ledger may not list yet when the interview's workflow has not
// recorded itself.
//
// Failures are logged, not returned: the subject's end is already recorded,
// and the proposal stays for the office to cancel by hand.
func cancelProposedInterviews(ctx workflow.Context, r ledgerRunner, subject string, why i18n.Text, key string, known []string) {
	switch v := r.version(ctx, versionEndCancelsProposals, 2); {
	case v == workflow.DefaultVersion:
		return
	case v >= 2 && len(known) == 0:
		return // the ladder proposed nothing: there is nothing to cancel
	}
	log := workflow.GetLogger(ctx)
	actx := workflow.WithActivityOptions(ctx, ledgerActivityOptions)
	var listed activities.InterviewIDsResult
	if err := workflow.ExecuteActivity(actx, acts.ProposedInterviews, activities.ProposedInterviewsInput{
		Subject: subject, Source: InterviewSourceLadder,
	}).Get(ctx, &listed); err != nil {
		log.Error("listing the proposed interviews failed; they stay proposed", "subject", subject, "error", err)
	}
	ids := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(known), listed.IDs...))))
	reason := i18n.T("cancelled: %s", why)
	for _, id := range ids {
		var res activities.SendUpdateResult
		err := workflow.ExecuteActivity(actx, acts.SendUpdate, activities.SendUpdateInput{
			WorkflowID: InterviewWorkflowID(id), UpdateName: ActionCancelInterview, UpdateID: UpdateID(ActionCancelInterview, key),
			Args: dataJSON(CancelInterviewInput{Change: Change{RequestID: key, Actor: actor.System}, Reason: reason.EN, ReasonZH: reason.ZH, OnlyProposed: true}),
		}).Get(ctx, &res)
		switch {
		case err != nil:
			log.Error("cancelling a proposed interview failed; it stays proposed", "interview", id, "subject", subject, "error", err)
		case res.Refused != "":
			// Approved meanwhile, cancelled by the office, or never started.
			log.Info("proposed interview not cancelled", "interview", id, "subject", subject, "reason", res.Refused)
		default:
			log.Info("proposed interview cancelled", "interview", id, "subject", subject, "why", why.EN)
		}
	}
}
