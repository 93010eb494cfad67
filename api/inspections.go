package api

import (
	"context"
	"errors"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// InspectionServer implements xuncha.v1.InspectionService.
type InspectionServer struct {
	xunchav1.UnimplementedInspectionServiceServer
	Temporal  client.Client
	Ledger    *ledger.Store
	TaskQueue string
	Log       *zap.Logger
}

// kindName is the domain name of a proto enum value; unknown values are "".
func kindName(k xunchav1.Inspection_Kind) string {
	if k == xunchav1.Inspection_KIND_UNSPECIFIED {
		return ""
	}
	if name, ok := xunchav1.Inspection_Kind_name[int32(k)]; ok {
		return name
	}
	return ""
}

// CreateInspection starts workflow inspection/<id> and returns once its
// ledger row is written.
func (s *InspectionServer) CreateInspection(ctx context.Context, req *xunchav1.CreateInspectionRequest) (_ *xunchav1.Inspection, err error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := workflows.InspectionMachine.CheckRole("create", who); err != nil {
		return nil, err
	}
	spec := req.GetInspection()
	in := workflows.InspectionInput{
		ID:                  req.GetInspectionId(),
		RequestID:           req.GetRequestId(),
		Unit:                workflows.Unit{Code: spec.GetUnit().GetCode(), Name: spec.GetUnit().GetName()},
		Kind:                kindName(spec.GetKind()),
		Round:               spec.GetRound(),
		PlannedStart:        spec.GetPlannedStart(),
		PlannedEnd:          spec.GetPlannedEnd(),
		FollowsInspectionID: spec.GetFollowsInspectionId(),
		Actor:               who,
	}
	for _, a := range spec.GetContentAreas() {
		in.ContentAreas = append(in.ContentAreas, int(a))
	}
	for _, m := range spec.GetTeam() {
		in.Team = append(in.Team, casework.TeamMember{Name: m.GetName(), Role: m.GetRole(), Rank: m.GetRank(), Organisation: m.GetOrganisation(), Subject: m.GetSubject()})
	}
	if in.ID == "" {
		in.ID = generatedID("ins", "", in.RequestID)
	}
	if req.GetLineupId() != "" {
		// The team is a drawn line-up's (issue 15): checked against the
		// request, then taken, the line-up marked USED by this inspection.
		if err := withoutField(in.Validate(), "inspection.team"); err != nil {
			return nil, err
		}
		if in.Team, err = lineupTeam(ctx, s.Ledger, req.GetLineupId(), in, who); err != nil {
			return nil, err
		}
		// Taken for an inspection that is then refused, the line-up is
		// freed again: a refusal changes nothing. Unanswered (the server
		// or the database away), it stays taken for the retry.
		defer func() {
			if !freesLineup(err) {
				return
			}
			if rerr := releaseLineup(context.WithoutCancel(ctx), s.Ledger, req.GetLineupId(), in.ID, who); rerr != nil {
				logging.Ctx(ctx, s.Log).Warn("freeing the line-up of a refused inspection", zap.String("lineup", req.GetLineupId()),
					zap.String("inspection", in.ID), zap.Error(rerr))
			}
		}()
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	workflowID := workflows.InspectionWorkflowID(in.ID)
	// The plan's rules that need the ledger (non-repetition, the earlier
	// inspection of a FOLLOW_UP) are checked as the workflow writes the row;
	// a refused plan fails its run, so a retry may start the ID again.
	if _, err := sendCreate[workflows.InspectionState](ctx, s.Temporal, client.StartWorkflowOptions{
		ID:                    workflowID,
		TaskQueue:             s.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes: workflows.InspectionSearchAttributes(in),
		StaticSummary:         workflows.InspectionSummary(in),
	}, workflows.InspectionWorkflowName, in, in.RequestID); err != nil {
		return nil, s.startError(err, in.ID)
	}
	return s.get(ctx, in.ID)
}

// startError explains why a start failed.
func (s *InspectionServer) startError(err error, id string) error {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return derrors.New(derrors.ErrAlreadyExists, "inspection %q already exists", id)
	}
	return derrors.FromTemporal(err)
}

// GetInspection returns the ledger row with the live stage.
func (s *InspectionServer) GetInspection(ctx context.Context, req *xunchav1.GetInspectionRequest) (*xunchav1.Inspection, error) {
	if req.GetId() == "" {
		return nil, derrors.Invalid("id", "must not be empty")
	}
	if err := inReach(ctx, s.Ledger, casework.SubjectInspection, req.GetId()); err != nil {
		return nil, err
	}
	return s.get(ctx, req.GetId())
}

func (s *InspectionServer) get(ctx context.Context, id string) (*xunchav1.Inspection, error) {
	row, err := s.Ledger.GetInspection(ctx, id)
	if err != nil {
		return nil, err
	}
	st, live, err := liveState[workflows.InspectionState](ctx, s.Temporal, s.Log, "inspection", id, row.WorkflowID)
	if err != nil {
		return nil, err
	}
	if !live {
		return inspectionAPI.fromRow(ctx, s.Ledger, row)
	}
	return inspectionProto(i18n.FromContext(ctx), st.Inspection, st.Escalations), nil
}

// ListInspections pages through the ledger.
func (s *InspectionServer) ListInspections(ctx context.Context, req *xunchav1.ListInspectionsRequest) (*xunchav1.ListInspectionsResponse, error) {
	size, err := ledger.PageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter := ledger.InspectionFilter{UnitCode: req.GetUnitCode(), Year: int(req.GetYear()), Round: req.GetRound(), Reach: reachOf(ctx)}
	var v derrors.Violations
	if req.GetKind() != xunchav1.Inspection_KIND_UNSPECIFIED {
		if filter.Kind = kindName(req.GetKind()); filter.Kind == "" {
			v.Add("kind", "must be one of %s", strings.Join(workflows.InspectionKinds, ", "))
		}
	}
	if req.GetStage() != xunchav1.Inspection_STAGE_UNSPECIFIED {
		name, ok := xunchav1.Inspection_Stage_name[int32(req.GetStage())]
		if !ok {
			v.Add("stage", "must be one of %s", strings.Join(workflows.InspectionStages, ", "))
		}
		filter.Stage = name
	}
	if y := req.GetYear(); y != 0 && (y < 2000 || y > 2100) {
		v.Add("year", "must be between 2000 and 2100")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	page, err := s.Ledger.ListInspections(ctx, filter, size, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListInspectionsResponse{NextPageToken: page.NextPageToken}
	for _, row := range page.Inspections {
		out.Inspections = append(out.Inspections, inspectionProto(i18n.FromContext(ctx), row, nil))
	}
	return out, nil
}

// change sends a step of the procedure to the inspection's workflow
// (sendChange) and returns the state it leads to.
func (s *InspectionServer) change(ctx context.Context, c lifecycleChange) (*xunchav1.Inspection, error) {
	return sendChange(ctx, s.Temporal, s.Ledger, inspectionAPI, c)
}

// inspectionAPI is the inspection's lifecycle to the change path.
var inspectionAPI = plainLifecycle(workflows.InspectionMachine, (*ledger.Store).GetInspection,
	func(st workflows.InspectionState) (casework.Inspection, []casework.Escalation) {
		return st.Inspection, st.Escalations
	},
	inspectionProto)

func (s *InspectionServer) checkEvidence(field string, ids ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		var nonEmpty []string
		for _, id := range ids {
			if id != "" {
				nonEmpty = append(nonEmpty, id)
			}
		}
		return checkEvidence(ctx, s.Ledger, field, nonEmpty)
	}
}

// ApproveTeam records the committee's approval of the line-up.
func (s *InspectionServer) ApproveTeam(ctx context.Context, req *xunchav1.InspectionActionRequest) (*xunchav1.Inspection, error) {
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionApproveTeam,
		input: &workflows.ApproveTeamInput{Note: req.GetNote()}})
}

// NotifyInspection records the advance notice.
func (s *InspectionServer) NotifyInspection(ctx context.Context, req *xunchav1.NotifyInspectionRequest) (*xunchav1.Inspection, error) {
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionNotify,
		input: &workflows.NotifyInput{NotifiedOn: req.GetNotifiedOn(),
			NoticeEvidenceID: req.GetNoticeEvidenceId(), Note: req.GetNote()},
		precheck: s.checkEvidence("notice_evidence_id", req.GetNoticeEvidenceId())})
}

// StationInspection records the team's entry.
func (s *InspectionServer) StationInspection(ctx context.Context, req *xunchav1.StationInspectionRequest) (*xunchav1.Inspection, error) {
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionStation,
		input: &workflows.StationInput{StationedOn: req.GetStationedOn(),
			Announcement: req.GetAnnouncement(), ContactPhone: req.GetContactPhone(), ContactMailbox: req.GetContactMailbox()}})
}

// EndOnsite ends on-site work; the report is due 5 working days later.
func (s *InspectionServer) EndOnsite(ctx context.Context, req *xunchav1.EndOnsiteRequest) (*xunchav1.Inspection, error) {
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionEndOnsite,
		input: &workflows.EndOnsiteInput{OnsiteEndedOn: req.GetOnsiteEndedOn()},
		precheck: func(ctx context.Context) error {
			return checkLimits(ctx, s.Ledger, deadline.TeamReport(req.GetOnsiteEndedOn()))
		}})
}

// SubmitReport records the team's report.
func (s *InspectionServer) SubmitReport(ctx context.Context, req *xunchav1.SubmitReportRequest) (*xunchav1.Inspection, error) {
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionSubmitReport,
		input:    &workflows.SubmitReportInput{ReportEvidenceID: req.GetReportEvidenceId(), Summary: req.GetSummary()},
		precheck: s.checkEvidence("report_evidence_id", req.GetReportEvidenceId())})
}

// ReviewReport records the office's review.
func (s *InspectionServer) ReviewReport(ctx context.Context, req *xunchav1.ReviewReportRequest) (*xunchav1.Inspection, error) {
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionReview,
		input: &workflows.ReviewInput{CopyToPartyInspectionOffice: req.GetCopyToPartyInspectionOffice(), Note: req.GetNote()}})
}

// ApproveReport records the committee's approval.
func (s *InspectionServer) ApproveReport(ctx context.Context, req *xunchav1.ApproveReportRequest) (*xunchav1.Inspection, error) {
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionApprove,
		input: &workflows.ApproveInput{Note: req.GetNote(), ApprovedOn: req.GetApprovedOn()}})
}

// GiveFeedback records the feedback and refers the classified findings.
func (s *InspectionServer) GiveFeedback(ctx context.Context, req *xunchav1.GiveFeedbackRequest) (*xunchav1.Inspection, error) {
	in := &workflows.GiveFeedbackInput{FeedbackDeliveredOn: req.GetFeedbackDeliveredOn(),
		Recipients: req.GetRecipients(), ReceivingAuthority: req.GetReceivingAuthority(), Due: req.GetDue(), FindingDues: req.GetFindingDues()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionGiveFeedback, input: in,
		// A preview of the workflow's own checks, by the same functions.
		precheck: func(ctx context.Context) error {
			if len(in.FindingDues) > 0 {
				classified, err := s.Ledger.FindingsInStage(ctx, req.GetId(), workflows.FindingClassified)
				if err != nil {
					return err
				}
				if err := in.CheckFindingDues(req.GetId(), classified); err != nil {
					return err
				}
			}
			return checkLimits(ctx, s.Ledger, append([]deadline.Rule{in.Rule()}, in.FindingDueRules()...)...)
		}})
}

// ReportInspectionRectification records the unit's report.
func (s *InspectionServer) ReportInspectionRectification(ctx context.Context, req *xunchav1.ReportInspectionRectificationRequest) (*xunchav1.Inspection, error) {
	actAs := onBehalfOf(i18n.T("report"), req.GetOnBehalfOf(), func(ctx context.Context) (string, error) {
		in, err := s.Ledger.GetInspection(ctx, req.GetId())
		return in.UnitCode, err
	})
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionInspectionRectified, actAs: actAs,
		input:    &workflows.InspectionRectificationInput{Report: req.GetReport(), EvidenceIDs: req.GetEvidenceIds()},
		precheck: s.checkEvidence("evidence_ids", req.GetEvidenceIds()...)})
}

// CloseInspection closes it when every finding is closed or withdrawn; the
// workflow counts them (the rule's one home) and refuses with FINDINGS_OPEN.
func (s *InspectionServer) CloseInspection(ctx context.Context, req *xunchav1.InspectionActionRequest) (*xunchav1.Inspection, error) {
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionClose,
		input: &workflows.ApproveInput{Note: req.GetNote()}})
}

// RecheckFinding records a FOLLOW_UP inspection's re-check of a closed
// finding; a failed one reopens it.
func (s *InspectionServer) RecheckFinding(ctx context.Context, req *xunchav1.RecheckFindingRequest) (*xunchav1.Inspection, error) {
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionRecheck,
		input: &workflows.RecheckInput{FindingID: req.GetFindingId(), Passed: req.GetPassed(),
			Note: req.GetNote(), Due: req.GetDue()},
		// A preview of the workflow's own answer, so that a probe of
		// findings out of reach costs the inspection's history nothing.
		precheck: func(ctx context.Context) error {
			row, err := s.Ledger.GetInspection(ctx, req.GetId())
			if err != nil {
				return err
			}
			if row.Kind != workflows.KindFollowUp {
				return nil // the workflow refuses it: NOT_FOLLOW_UP, not a finding it lacks
			}
			f, err := s.Ledger.GetFinding(ctx, req.GetFindingId())
			if err != nil && !errors.Is(err, derrors.ErrNotFound) {
				return err
			}
			if err := workflows.CheckFollowedFinding(row.FollowsInspectionID, req.GetFindingId(), f, err == nil); err != nil {
				return err
			}
			if req.GetPassed() {
				return nil
			}
			// A preview by the wall clock: the workflow reopens the finding
			// counting from its own today, and its answer is the one that counts.
			return checkLimits(ctx, s.Ledger, deadline.RectificationAgain(calendar.DateOf(time.Now()).String(), req.GetDue()))
		}})
}

// CancelInspection cancels an open inspection.
func (s *InspectionServer) CancelInspection(ctx context.Context, req *xunchav1.CancelInspectionRequest) (*xunchav1.Inspection, error) {
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionCancel,
		input: &workflows.CancelInput{Reason: req.GetReason()}})
}

// ListInspectionEvents returns the inspection's event log.
func (s *InspectionServer) ListInspectionEvents(ctx context.Context, req *xunchav1.ListInspectionEventsRequest) (*xunchav1.ListInspectionEventsResponse, error) {
	events, err := eventLog(ctx, s.Ledger, casework.SubjectInspection, req.GetId(), (*ledger.Store).GetInspection)
	if err != nil {
		return nil, err
	}
	return &xunchav1.ListInspectionEventsResponse{Events: events}, nil
}

// RecordStateCouncilInspection records a State Council inspection.
func (s *InspectionServer) RecordStateCouncilInspection(ctx context.Context, req *xunchav1.RecordStateCouncilInspectionRequest) (*xunchav1.StateCouncilInspection, error) {
	who, v, err := changeRequestedBy(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	if !casework.IsLocalGovernment(req.GetUnitCode()) {
		v.Add("unit_code", "must be a local government's 6-digit administrative division code")
	}
	if y := req.GetYear(); y < 2000 || y > 2100 {
		v.Add("year", "must be between 2000 and 2100")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sc, err := s.Ledger.RecordStateCouncilInspection(ctx, ledger.StateCouncilInspection{
		UnitCode: req.GetUnitCode(), Year: int(req.GetYear()), RequestID: req.GetRequestId(), Note: req.GetNote(), RecordedBy: who,
	})
	if err != nil {
		return nil, err
	}
	return stateCouncilProto(sc), nil
}

// ListStateCouncilInspections lists them.
func (s *InspectionServer) ListStateCouncilInspections(ctx context.Context, req *xunchav1.ListStateCouncilInspectionsRequest) (*xunchav1.ListStateCouncilInspectionsResponse, error) {
	list, err := s.Ledger.StateCouncilInspections(ctx, int(req.GetYear()), "")
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListStateCouncilInspectionsResponse{}
	for _, sc := range list {
		out.Inspections = append(out.Inspections, stateCouncilProto(sc))
	}
	return out, nil
}

func stateCouncilProto(sc ledger.StateCouncilInspection) *xunchav1.StateCouncilInspection {
	return &xunchav1.StateCouncilInspection{UnitCode: sc.UnitCode, Year: int32(sc.Year), Note: sc.Note,
		RecordedBy: actorProto(sc.RecordedBy), CreateTime: timestamppb.New(sc.RecordedAt)}
}

func inspectionProto(lang i18n.Lang, row casework.Inspection, escalations []casework.Escalation) *xunchav1.Inspection {
	out := &xunchav1.Inspection{
		Id:                  row.ID,
		Unit:                &xunchav1.Unit{Code: row.UnitCode, Name: row.UnitName},
		Kind:                xunchav1.Inspection_Kind(xunchav1.Inspection_Kind_value[row.Kind]),
		Round:               row.Round,
		PlannedStart:        row.PlannedStart.Format("2006-01-02"),
		PlannedEnd:          row.PlannedEnd.Format("2006-01-02"),
		Stage:               stageProto(row.Stage),
		WorkflowId:          row.WorkflowID,
		CreateTime:          instant(row.CreatedAt),
		UpdateTime:          instant(row.UpdatedAt),
		CreatedBy:           actorProto(row.CreatedBy),
		FollowsInspectionId: row.FollowsInspectionID,
		TeamApproved:        row.TeamApproved,
		Overdue:             row.Overdue,
		MissedDeadlines:     int32(row.MissedDeadlines),
		CancelReason:        row.CancelReason,
		Records:             row.Records,
	}
	for _, a := range row.ContentAreas {
		out.ContentAreas = append(out.ContentAreas, int32(a))
	}
	for _, m := range row.Team {
		out.Team = append(out.Team, &xunchav1.TeamMember{Name: m.Name, Role: m.Role, Rank: m.Rank, Organisation: m.Organisation, Subject: m.Subject})
	}
	if row.ReportDeadline != nil {
		out.ReportDeadline = DeadlineProto(*row.ReportDeadline, lang)
	}
	if row.RectificationDeadline != nil {
		out.RectificationDeadline = DeadlineProto(*row.RectificationDeadline, lang)
	}
	for _, e := range escalations {
		out.Escalations = append(out.Escalations, escalationProto(lang, e))
	}
	if sum := row.Summary; sum != nil {
		out.Summary = &xunchav1.InspectionSummary{
			ByKind: counts(sum.ByKind), BySeverity: counts(sum.BySeverity), ByContentArea: counts(sum.ByContentArea),
			Findings: int32(sum.Findings), Closed: int32(sum.Closed), Withdrawn: int32(sum.Withdrawn),
			ClosureRate: sum.ClosureRate, DeadlinesMissed: int32(sum.DeadlinesMissed),
		}
	}
	return out
}

func counts(m map[string]int) map[string]int32 {
	out := make(map[string]int32, len(m))
	for k, v := range m {
		out[k] = int32(v)
	}
	return out
}

func stageProto(stage string) xunchav1.Inspection_Stage {
	return xunchav1.Inspection_Stage(xunchav1.Inspection_Stage_value[stage])
}

func actorProto(a actor.Actor) *xunchav1.Actor {
	out := &xunchav1.Actor{Name: a.Name, Role: a.Role, Organisation: a.Organisation}
	if a.OnBehalfOf != "" {
		out.OnBehalfOf = &a.OnBehalfOf
	}
	return out
}
