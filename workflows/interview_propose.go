package workflows

import (
	"fmt"
	"strconv"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/searchattr"
)

// InterviewSearchAttributes are set when an interview workflow starts.
func InterviewSearchAttributes(in InterviewInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		searchattr.Stage.ValueSet(InterviewProposed),
		searchattr.Unit.ValueSet(in.UnitCode),
		searchattr.Overdue.ValueSet(false),
	)
}

// InterviewSummary is the Web UI's one-line summary of an interview
// workflow.
func InterviewSummary(in InterviewInput) string {
	return i18n.Zh("interview (约谈) of unit %s · %s · %s", in.UnitCode, in.Subject, i18n.InterviewSource(in.Source))
}

// LadderInterviewID is the ID of the interview the escalation ladder
// proposes for a subject's deadline: "finding/f-1" and deadline 2 give
// "finding-f-1-2", so that a step taken again proposes nothing new.
func LadderInterviewID(subject string, deadlineSeq int) string {
	return strings.ReplaceAll(subject, "/", "-") + "-" + strconv.Itoa(deadlineSeq)
}

// proposeInterviewFromLadder starts an InterviewWorkflow as a child of the
// calling workflow (an escalation ladder's INTERVIEW_PROPOSED step) and
// returns once the child has started; the child lives on when the caller
// ends (ParentClosePolicy ABANDON). Its ID is LadderInterviewID(in.Subject,
// in.DeadlineSeq) unless in.ID is set, and an interview already started for
// it is not started again (no error). Empty Source, ProposedBy and RequestID
// default to LADDER, actor.System and "ladder/<ID>". An invalid input is an
// *derrors.InvalidError and nothing starts.
func proposeInterviewFromLadder(ctx workflow.Context, r ledgerRunner, in InterviewInput) error {
	if in.ID == "" {
		in.ID = LadderInterviewID(in.Subject, in.DeadlineSeq)
	}
	if in.Source == "" {
		in.Source = InterviewSourceLadder
	}
	if in.ProposedBy == (actor.Actor{}) {
		in.ProposedBy = actor.System
	}
	if in.RequestID == "" {
		in.RequestID = "ladder/" + in.ID
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if r.version(ctx, versionLadderInterviewOutlivesLadder, 1) >= 1 {
		// The proposal is the office's to decide now: stopping the ladder
		// (a rectification report, a withdrawal, a re-dated deadline) must
		// not cancel the interview's workflow behind the ledger's back.
		// Its cancel func is dropped on purpose: nothing cancels the child.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            InterviewWorkflowID(in.ID),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: InterviewSearchAttributes(in),
		StaticSummary:         InterviewSummary(in),
	})
	child := workflow.ExecuteChildWorkflow(cctx, InterviewWorkflowName, in)
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return nil
		}
		return fmt.Errorf("starting interview %q: %w", in.ID, err)
	}
	return nil
}
