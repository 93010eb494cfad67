package api

import (
	"context"
	"errors"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// InterviewServer implements xuncha.v1.InterviewService: each interview is
// workflow interview/<id>, its changes Temporal Updates, its lists the
// ledger's.
type InterviewServer struct {
	xunchav1.UnimplementedInterviewServiceServer
	Temporal  client.Client
	Ledger    *ledger.Store
	TaskQueue string
	Log       *zap.Logger
}

// ProposeInterview starts workflow interview/<id> (id derived from the
// request ID) for an existing finding or inspection, and returns once the
// ledger holds it. The office proposes as OFFICE, a team as TEAM.
func (s *InterviewServer) ProposeInterview(ctx context.Context, req *xunchav1.ProposeInterviewRequest) (*xunchav1.Interview, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := workflows.InterviewMachine.CheckRole("propose", who); err != nil {
		return nil, err
	}
	// A team proposes interviews about its own inspections and their
	// findings only, an observer none; scope first, so that a caller out
	// of reach learns nothing, not even which fields its request lacks.
	if typ, id, err := casework.ParseSubject(req.GetSubject()); err == nil {
		if who, err = reachAs(ctx, s.Ledger, who, typ, id, func(as actor.Actor) error {
			return workflows.InterviewMachine.CheckRole("propose", as)
		}); err != nil {
			return nil, err
		}
	}
	in := workflows.InterviewInput{
		RequestID: req.GetRequestId(), Subject: req.GetSubject(), Reason: req.GetReason(),
		Source: workflows.InterviewSourceTeam, ProposedBy: who,
	}
	if who.Role == actor.RoleOffice {
		in.Source = workflows.InterviewSourceOffice
	}
	// The unit comes from the subject, once the request itself is sound.
	if err := withoutField(in.Validate(), "unit_code"); err != nil {
		return nil, err
	}
	if in.UnitCode, err = s.Ledger.SubjectUnit(ctx, in.Subject); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	in.ID = generatedID("iv", "", in.RequestID)

	st, err := sendCreate[workflows.InterviewState](ctx, s.Temporal, client.StartWorkflowOptions{
		ID:                    workflows.InterviewWorkflowID(in.ID),
		TaskQueue:             s.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: workflows.InterviewSearchAttributes(in),
		StaticSummary:         workflows.InterviewSummary(in),
	}, workflows.InterviewWorkflowName, in, in.RequestID)
	if err != nil {
		if refusal := keptProposalRefusal(ctx, s.Temporal, err, in); refusal != nil {
			return nil, refusal
		}
		return interviewAPI.createdBefore(ctx, s.Ledger, err, in.ID, in.RequestID, "interview %q already exists, proposed by another request")
	}
	return interviewProto(i18n.FromContext(ctx), st.Interview, st.Escalations), nil
}

// keptProposalRefusal is the refusal a run of the interview's ID answered
// the proposal with, when err says the ID's run has ended and that run
// refused this same proposal (its subject had ended: SUBJECT_ENDED). An
// interview's ID may not start again, so a retry of the proposal is
// answered with the refusal Temporal keeps as the creating Update's
// outcome, not as an ID another request took. A refusal about another
// subject (another caller's request under the same request_id) is not
// this caller's to read, and answers nothing.
func keptProposalRefusal(ctx context.Context, tc client.Client, err error, in workflows.InterviewInput) error {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &started) {
		return nil
	}
	kept := tc.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{
		WorkflowID: workflows.InterviewWorkflowID(in.ID), UpdateID: workflows.AwaitCreatedUpdateID(in.RequestID),
	}).Get(ctx, nil)
	var stage *derrors.StageError
	if kept == nil || !errors.As(derrors.FromTemporal(kept), &stage) ||
		stage.Reason != reasonSubjectEnded && stage.Reason != reasonInterviewOpen || stage.Subject != in.Subject {
		return nil
	}
	return derrors.FromTemporal(kept)
}

// The ledger's refusals of a proposal (ledger.CreateInterview): its subject
// has ended, or has another interview waiting. Kept as the proposal's
// answer: its ID, derived from its request_id, never runs again, so a
// retry is answered with the refusal, and a proposal sent again once the
// other interview is done takes a new request_id.
const (
	reasonSubjectEnded  = "SUBJECT_ENDED"
	reasonInterviewOpen = "INTERVIEW_OPEN"
)

// withoutField drops one field's violations from a validation error.
func withoutField(err error, field string) error {
	var invalid *derrors.InvalidError
	if !errors.As(err, &invalid) {
		return err
	}
	var v derrors.Violations
	for _, fv := range invalid.Violations {
		if fv.Field != field {
			v = append(v, fv)
		}
	}
	return v.Err()
}

// GetInterview returns the interview with its live stage, deadline and
// escalations; the ledger answers when the workflow cannot.
func (s *InterviewServer) GetInterview(ctx context.Context, req *xunchav1.GetInterviewRequest) (*xunchav1.Interview, error) {
	row, err := readInReach(ctx, s.Ledger, casework.SubjectInterview, req.GetId(), (*ledger.Store).GetInterview)
	if err != nil {
		return nil, err
	}
	st, live, err := liveState[workflows.InterviewState](ctx, s.Temporal, s.Log, "interview", row.ID, row.WorkflowID)
	if err != nil {
		return nil, err
	}
	if !live || !st.Recorded {
		return interviewAPI.fromRow(ctx, s.Ledger, row)
	}
	return interviewProto(i18n.FromContext(ctx), st.Interview, st.Escalations), nil
}

// ListInterviewEvents returns an interview's whole event log, oldest first.
func (s *InterviewServer) ListInterviewEvents(ctx context.Context, req *xunchav1.ListInterviewEventsRequest) (*xunchav1.ListInterviewEventsResponse, error) {
	events, err := eventLog(ctx, s.Ledger, casework.SubjectInterview, req.GetId(), (*ledger.Store).GetInterview)
	if err != nil {
		return nil, err
	}
	return &xunchav1.ListInterviewEventsResponse{Events: events}, nil
}

// ListInterviews pages through the ledger, oldest first.
func (s *InterviewServer) ListInterviews(ctx context.Context, req *xunchav1.ListInterviewsRequest) (*xunchav1.ListInterviewsResponse, error) {
	size, err := subjectPage(req.GetPageSize(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	if st := req.GetStage(); st != "" && !slices.Contains(workflows.InterviewStages, st) {
		return nil, derrors.Invalid("stage", "must be one of %s", strings.Join(workflows.InterviewStages, ", "))
	}
	page, err := s.Ledger.ListInterviews(ctx, ledger.SubjectFilter{Subject: req.GetSubject(), UnitCode: req.GetUnitCode(), Reach: reachOf(ctx)},
		req.GetStage(), size, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListInterviewsResponse{NextPageToken: page.NextPageToken}
	for _, iv := range page.Interviews {
		out.Interviews = append(out.Interviews, interviewProto(i18n.FromContext(ctx), iv, nil))
	}
	return out, nil
}

// change sends a stage change to the interview's workflow and returns the
// state it leads to. Refusals come back as the workflow's domain errors.
//
// The workflow ID derives from the interview's ID: nothing is read before the
// update, and the ledger only when the update finds no workflow.
func (s *InterviewServer) change(ctx context.Context, c lifecycleChange) (*xunchav1.Interview, error) {
	return sendChange(ctx, s.Temporal, s.Ledger, interviewAPI, c)
}

// interviewAPI is the interview's lifecycle to the change path.
var interviewAPI = plainLifecycle(workflows.InterviewMachine, (*ledger.Store).GetInterview,
	func(st workflows.InterviewState) (casework.Interview, []casework.Escalation) {
		return st.Interview, st.Escalations
	},
	interviewProto)

// ApproveInterview approves a proposed interview (office or committee).
func (s *InterviewServer) ApproveInterview(ctx context.Context, req *xunchav1.InterviewActionRequest) (*xunchav1.Interview, error) {
	in := &workflows.ApproveInterviewInput{Note: req.GetNote()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionApproveInterview, input: in})
}

// HoldInterview records the interview held and starts the follow-up report
// deadline. A deadline the calendar cannot compute is refused before
// anything is recorded.
func (s *InterviewServer) HoldInterview(ctx context.Context, req *xunchav1.HoldInterviewRequest) (*xunchav1.Interview, error) {
	in := &workflows.HoldInterviewInput{
		HeldOn: req.GetHeldOn(), Attendees: req.GetAttendees(),
		Minutes: req.GetMinutes(), Requirements: req.GetRequirements(), FollowUpWorkingDays: int(req.GetFollowUpWorkingDays()),
	}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionHoldInterview, input: in,
		precheck: func(ctx context.Context) error {
			return checkLimits(ctx, s.Ledger, deadline.FollowUp(in.HeldOn, in.FollowUpWorkingDays))
		}})
}

// ReportInterviewFollowUp records the unit's follow-up report and stops the
// deadline.
func (s *InterviewServer) ReportInterviewFollowUp(ctx context.Context, req *xunchav1.ReportInterviewFollowUpRequest) (*xunchav1.Interview, error) {
	actAs := onBehalfOf(i18n.T("report"), req.GetOnBehalfOf(), func(ctx context.Context) (string, error) {
		iv, err := s.Ledger.GetInterview(ctx, req.GetId())
		return iv.UnitCode, err
	})
	in := &workflows.ReportInterviewFollowUpInput{Report: req.GetReport(), EvidenceIDs: req.GetEvidenceIds()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionReportInterviewFollowUp,
		input: in, actAs: actAs,
		precheck: func(ctx context.Context) error { return checkEvidence(ctx, s.Ledger, "evidence_ids", in.EvidenceIDs) }})
}

// CloseInterview closes an interview whose follow-up was reported.
func (s *InterviewServer) CloseInterview(ctx context.Context, req *xunchav1.InterviewActionRequest) (*xunchav1.Interview, error) {
	in := &workflows.CloseInterviewInput{Note: req.GetNote()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionCloseInterview, input: in})
}

// CancelInterview cancels an open interview (office only; the note is the
// reason and required).
func (s *InterviewServer) CancelInterview(ctx context.Context, req *xunchav1.InterviewActionRequest) (*xunchav1.Interview, error) {
	in := &workflows.CancelInterviewInput{Reason: req.GetNote()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionCancelInterview, input: in})
}

// interviewProto is the one conversion of an interview for the API, whether
// it comes from the workflow's state or from the ledger.
func interviewProto(lang i18n.Lang, iv casework.Interview, escalations []casework.Escalation) *xunchav1.Interview {
	out := &xunchav1.Interview{
		Id:             iv.ID,
		Subject:        iv.Subject,
		UnitCode:       iv.UnitCode,
		Reason:         i18n.Text{EN: iv.Reason, ZH: iv.ReasonZH}.In(lang),
		Source:         iv.Source,
		Stage:          iv.Stage,
		ProposedBy:     actorProto(iv.ProposedBy),
		HeldOn:         iv.HeldOn,
		Attendees:      slices.Clone(iv.Attendees),
		Minutes:        iv.Minutes,
		Requirements:   iv.Requirements,
		FollowUpReport: iv.FollowUpReport,
		Overdue:        iv.Overdue,
		CreateTime:     instant(iv.CreatedAt),
		UpdateTime:     instant(iv.UpdatedAt),
		CancelReason:   i18n.Text{EN: iv.CancelReason, ZH: iv.CancelReasonZH}.In(lang),

		FollowUpEvidenceIds: slices.Clone(iv.FollowUpEvidenceIDs),
		MissedDeadlines:     int32(iv.MissedDeadlines),
	}
	if iv.FollowUpReportedAt != nil {
		out.FollowUpReportTime = instant(*iv.FollowUpReportedAt)
	}
	if iv.ApprovedBy != nil {
		out.ApprovedBy = actorProto(*iv.ApprovedBy)
	}
	if iv.FollowUpDeadline != nil {
		out.FollowUpDeadline = DeadlineProto(*iv.FollowUpDeadline, lang)
	}
	for _, e := range escalations {
		out.Escalations = append(out.Escalations, escalationProto(lang, e))
	}
	return out
}
