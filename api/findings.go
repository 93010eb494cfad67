package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// lastEvents is how many of its newest events GetFinding attaches.
const lastEvents = 20

// FindingServer implements xuncha.v1.FindingService.
type FindingServer struct {
	xunchav1.UnimplementedFindingServiceServer
	Temporal  client.Client
	Ledger    *ledger.Store
	TaskQueue string
	Log       *zap.Logger
}

// enumName is the domain name of a proto enum value: "" for the zero value;
// ok is false for a number the API does not define.
func enumName[E ~int32](v E, names map[int32]string) (name string, ok bool) {
	if v == 0 {
		return "", true
	}
	name, ok = names[int32(v)]
	return name, ok
}

// enumNames lists an enum's defined names, without the zero value.
func enumNames(names map[int32]string) string {
	var out []string
	for n := int32(1); ; n++ {
		name, ok := names[n]
		if !ok {
			return strings.Join(out, ", ")
		}
		out = append(out, name)
	}
}

// RecordFinding starts workflow finding/<id> and returns once the ledger
// holds the finding with its number (stage LISTED).
func (s *FindingServer) RecordFinding(ctx context.Context, req *xunchav1.RecordFindingRequest) (*xunchav1.Finding, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := workflows.FindingMachine.CheckRole("record", who); err != nil {
		return nil, err
	}
	if req.GetInspectionId() == "" {
		return nil, derrors.Invalid("inspection_id", "must not be empty")
	}
	if strings.HasPrefix(req.GetRequestId(), tipFindingPrefix) && !fromTriage(ctx) {
		// Else a finding recorded first under a tip's key would be the one
		// that tip's triage is answered with (TriageTip).
		return nil, derrors.Invalid("request_id", "must not begin with %q: a tip's triage records its finding under that prefix", tipFindingPrefix)
	}
	if derivedShape("f", req.GetFindingId()) {
		// Else any team could take the ID another inspection's request
		// will derive (its request_id guessed, "f-001"), and that request
		// could never record its finding.
		return nil, derrors.Invalid("finding_id", "must not have the shape of an ID xuncha derives (f- and 16 hexadecimal digits): leave it empty to have one derived")
	}
	// A team records findings of its own inspections only, an observer none.
	if who, err = reachAs(ctx, s.Ledger, who, casework.SubjectInspection, req.GetInspectionId(), func(as actor.Actor) error {
		return workflows.FindingMachine.CheckRole("record", as)
	}); err != nil {
		return nil, err
	}
	ins, err := s.Ledger.GetInspection(ctx, req.GetInspectionId())
	if err != nil {
		return nil, err
	}
	// The recording window (STATIONED, ONSITE_ENDED) is the workflow's to
	// check, as the ledger row is written (workflows.FindingRecordingStages);
	// the inspection is read here only for the unit the finding belongs to.
	f, err := findingOf(req, ins, who)
	if err != nil {
		return nil, err
	}
	id := req.GetFindingId()
	if id == "" {
		id = generatedID("f", "inspections/"+ins.ID, req.GetRequestId())
		// Before request_ids were scoped, a finding's ID came from the key
		// alone; a request from then, retried now, gets what it recorded.
		legacy, err := s.Ledger.GetFinding(ctx, generatedID("f", "", req.GetRequestId()))
		if err == nil && legacy.RequestID == req.GetRequestId() && legacy.InspectionID == ins.ID {
			return findingFromLedger(ctx, s.Ledger, legacy)
		}
	}
	if err := checkEvidence(ctx, s.Ledger, "evidence_ids", f.EvidenceIDs); err != nil {
		return nil, err
	}
	f.ID = id

	opts, in, workflowType := workflows.CreatingStart(f, s.TaskQueue)
	const taken = "finding %q already exists, recorded by another request"
	st, err := sendCreate[workflows.FindingState](ctx, s.Temporal, opts, workflowType, in, f.RequestID)
	if err != nil {
		answer, err := findingAPI.createdBefore(ctx, s.Ledger, err, f.ID, f.RequestID, taken)
		if err == nil && answer.GetInspectionId() != ins.ID {
			return nil, derrors.New(derrors.ErrAlreadyExists, taken, f.ID)
		}
		return answer, err
	}
	if err := findingAPI.ownCreate(ctx, s.Ledger, f.ID, taken); err != nil {
		return nil, err
	}
	if st.Finding.InspectionID != ins.ID {
		// Recorded under the same ID and request_id, but in another
		// inspection: a finding_id chosen to take the one this request
		// derives (any team may name an ID), not this request's finding.
		return nil, derrors.New(derrors.ErrAlreadyExists, taken, f.ID)
	}
	return findingProto(i18n.FromContext(ctx), st.Finding, st.Escalations, nil), nil
}

// findingOf is the finding req asks to record in inspection ins, found
// by who, checked as the workflow checks it (workflows.ValidateFinding);
// the import of a problem list (import.go) checks its rows with it too.
// Its ID is the one requested ("" for one the API derives).
func findingOf(req *xunchav1.RecordFindingRequest, ins casework.Inspection, who actor.Actor) (casework.Finding, error) {
	var v derrors.Violations
	kind, ok := enumName(req.GetKind(), xunchav1.Finding_Kind_name)
	if !ok {
		v.Add("kind", "unknown value %d: must be one of %s", req.GetKind(), enumNames(xunchav1.Finding_Kind_name))
	}
	severity, ok := enumName(req.GetSeverity(), xunchav1.Finding_Severity_name)
	if !ok {
		v.Add("severity", "unknown value %d: must be one of %s", req.GetSeverity(), enumNames(xunchav1.Finding_Severity_name))
	}
	f := casework.Finding{
		Lifecycle:    casework.Lifecycle{ID: req.GetFindingId(), RequestID: req.GetRequestId(), UnitCode: ins.UnitCode},
		InspectionID: ins.ID,

		UnitName:             ins.UnitName,
		Title:                req.GetTitle(),
		Description:          req.GetDescription(),
		Kind:                 kind,
		Severity:             severity,
		Important:            req.GetImportant(),
		ContentArea:          int(req.GetContentArea()),
		EvidenceIDs:          req.GetEvidenceIds(),
		RectificationOpinion: req.GetRectificationOpinion(),
		FoundBy:              who,
	}
	return f, mergeViolations(v, workflows.ValidateFinding(f))
}

// mergeViolations joins the API's own violations with those of a domain
// validation; a field reported by the API is not reported twice.
func mergeViolations(v derrors.Violations, err error) error {
	if err == nil {
		return v.Err()
	}
	var invalid *derrors.InvalidError
	if !errors.As(err, &invalid) {
		return err
	}
	for _, fv := range invalid.Violations {
		if !slices.ContainsFunc(v, func(have derrors.FieldViolation) bool { return have.Field == fv.Field }) {
			v = append(v, fv)
		}
	}
	return v.Err()
}

// checkEvidence refuses evidence IDs the ledger does not hold or that name
// evidence of objects out of the caller's reach, naming each by its index
// (field[i]).
func checkEvidence(ctx context.Context, l *ledger.Store, field string, ids []string) error {
	missing, err := unnameableEvidence(ctx, l, ids)
	if err != nil {
		return err
	}
	return missingEvidence(field, ids, missing).Err()
}

// unnameableEvidence returns those of ids a change of the caller may not
// name: evidence the ledger does not hold, and evidence of an object out
// of the caller's reach, which is answered exactly as an ID nobody
// uploaded (attached to an object in reach, it would be readable from then
// on). Evidence nothing names yet (a colleague's fresh upload, handed on)
// may be named; what someone else's change attached anywhere (an event
// names it) may not, by those who reach it by no object that names it —
// also when they uploaded the same bytes themselves: their object would
// show them what the first uploader said of it (the file name, who
// captured it: a tip reporter's name, say), which a later uploader is
// never shown (evidenceHandler.sees).
func unnameableEvidence(ctx context.Context, l *ledger.Store, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	r := reachOf(ctx)
	// One read says which exist and which the caller uploaded first, which
	// are in their reach to name (InReachToNameEvidence's first rule).
	missing, own, err := l.EvidenceHeld(ctx, ids, r.Subject)
	if err != nil {
		return nil, err
	}
	if r.Province() {
		return missing, nil
	}
	asked := map[string]bool{} // an ID listed twice is looked up once
	for _, id := range missing {
		asked[id] = true
	}
	for id := range own {
		asked[id] = true
	}
	for _, id := range ids {
		if asked[id] {
			continue
		}
		asked[id] = true
		// A later uploader of the same bytes reaches it, to name, as if
		// it had not: only while nobody else named it.
		err := l.InReachToNameEvidence(ctx, r, id)
		if errors.Is(err, derrors.ErrNotFound) {
			var named bool
			if named, err = l.EvidenceNamed(ctx, id, r.Subject); named {
				missing = append(missing, id)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return missing, nil
}

// missingEvidence names each of ids that missing lists, by its index
// (field[i]).
func missingEvidence(field string, ids, missing []string) derrors.Violations {
	var v derrors.Violations
	for i, id := range ids {
		if slices.Contains(missing, id) {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "evidence %q does not exist: upload it first (POST /v1/evidence)", id)
		}
	}
	return v
}

// GetFinding returns the finding with its live stage, deadline and
// escalations, and its last events.
func (s *FindingServer) GetFinding(ctx context.Context, req *xunchav1.GetFindingRequest) (*xunchav1.Finding, error) {
	row, err := readInReach(ctx, s.Ledger, casework.SubjectFinding, req.GetId(), (*ledger.Store).GetFinding)
	if err != nil {
		return nil, err
	}
	events, err := s.Ledger.Events(ctx, casework.SubjectFinding, row.ID)
	if err != nil {
		return nil, err
	}
	if len(events) > lastEvents {
		events = events[len(events)-lastEvents:]
	}
	st, live, err := liveState[workflows.FindingState](ctx, s.Temporal, s.Log, "finding", row.ID, row.WorkflowID)
	if err != nil {
		return nil, err
	}
	if !live {
		escalations, err := s.Ledger.EscalationsOf(ctx, row.WorkflowID)
		if err != nil {
			return nil, err
		}
		return findingProto(i18n.FromContext(ctx), row, escalations, events), nil
	}
	if !st.Recorded {
		// Not possible once the ledger has the row, but never show a
		// half-recorded state.
		return findingProto(i18n.FromContext(ctx), row, st.Escalations, events), nil
	}
	escalations, err := liveEscalations(ctx, s.Ledger, st)
	if err != nil {
		return nil, err
	}
	return findingProto(i18n.FromContext(ctx), st.Finding, escalations, events), nil
}

// liveEscalations is every escalation of a finding whose workflow runs, as
// GetFinding and each change's answer show them: its run's, and for a
// reopened finding also those of its earlier run, which a new run (a failed
// re-check) starts without; the ledger has them (one read, only then).
func liveEscalations(ctx context.Context, l *ledger.Store, st workflows.FindingState) ([]casework.Escalation, error) {
	if st.Finding.ReopenCount == 0 {
		return st.Escalations, nil
	}
	earlier, err := l.EscalationsOf(ctx, st.Finding.WorkflowID)
	if err != nil {
		return nil, err
	}
	return mergeEscalations(earlier, st.Escalations), nil
}

// mergeEscalations is the ledger's escalations of a finding, oldest first,
// then those of its live run the ledger did not list (by ID).
func mergeEscalations(ledger, live []casework.Escalation) []casework.Escalation {
	out := slices.Clone(ledger)
	for _, e := range live {
		if !slices.ContainsFunc(out, func(x casework.Escalation) bool { return x.ID == e.ID }) {
			out = append(out, e)
		}
	}
	return out
}

// findingFromLedger answers with the ledger's view of a finding, without
// its events.
var findingFromLedger = fromLedger(func(lang i18n.Lang, f casework.Finding, escalations []casework.Escalation) *xunchav1.Finding {
	return findingProto(lang, f, escalations, nil)
})

// ListFindings pages through the ledger, oldest first.
func (s *FindingServer) ListFindings(ctx context.Context, req *xunchav1.ListFindingsRequest) (*xunchav1.ListFindingsResponse, error) {
	size, err := ledger.PageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter, err := findingFilter(ctx, req)
	if err != nil {
		return nil, err
	}
	page, err := s.Ledger.ListFindings(ctx, filter, size, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListFindingsResponse{NextPageToken: page.NextPageToken}
	for _, f := range page.Findings {
		out.Findings = append(out.Findings, findingProto(i18n.FromContext(ctx), f, nil, nil))
	}
	return out, nil
}

// findingFilter checks the filters of a list request (ListFindings and the
// problem list's export) and returns them as the ledger's, in the caller's
// reach.
func findingFilter(ctx context.Context, req *xunchav1.ListFindingsRequest) (ledger.FindingFilter, error) {
	var v derrors.Violations
	filter := ledger.FindingFilter{InspectionID: req.GetInspectionId(), UnitCode: req.GetUnitCode(), Reach: reachOf(ctx)}
	var ok bool
	if filter.Stage, ok = enumName(req.GetStage(), xunchav1.Finding_Stage_name); !ok {
		v.Add("stage", "unknown value %d: must be one of %s", req.GetStage(), enumNames(xunchav1.Finding_Stage_name))
	}
	if filter.Kind, ok = enumName(req.GetKind(), xunchav1.Finding_Kind_name); !ok {
		v.Add("kind", "unknown value %d: must be one of %s", req.GetKind(), enumNames(xunchav1.Finding_Kind_name))
	}
	if filter.Severity, ok = enumName(req.GetSeverity(), xunchav1.Finding_Severity_name); !ok {
		v.Add("severity", "unknown value %d: must be one of %s", req.GetSeverity(), enumNames(xunchav1.Finding_Severity_name))
	}
	switch req.GetOverdue() {
	case "":
	case "true":
		filter.Overdue = new(true)
	case "false":
		filter.Overdue = new(false)
	default:
		v.Add("overdue", `must be "true", "false" or empty`)
	}
	return filter, v.Err()
}

// change sends a stage change to the finding's workflow and returns the state
// it leads to. Refusals come back as the workflow's domain errors.
//
// The workflow ID derives from the finding's ID, so nothing is read before the
// update; an unknown finding is found out when the update has no workflow to
// go to, and the ledger is read only then.
//
// An imported finding whose workflow the import's starter has not reached
// yet has no workflow either: the ledger's row is open and no workflow of
// its ID ever ran, so the workflow is started adopting the row, with the
// change as its first update (findingAPI.adopt).
func (s *FindingServer) change(ctx context.Context, c lifecycleChange) (*xunchav1.Finding, error) {
	c.taskQueue = s.TaskQueue
	return sendChange(ctx, s.Temporal, s.Ledger, findingAPI, c)
}

// findingAPI is the finding's lifecycle to the change path.
var findingAPI = lifecycleAPI[workflows.FindingState, casework.Finding, *xunchav1.Finding]{
	machine: workflows.FindingMachine,
	get:     (*ledger.Store).GetFinding,
	fromState: func(ctx context.Context, l *ledger.Store, st workflows.FindingState) (*xunchav1.Finding, error) {
		escalations, err := liveEscalations(ctx, l, st)
		if err != nil {
			return nil, err
		}
		return findingProto(i18n.FromContext(ctx), st.Finding, escalations, nil), nil
	},
	fromRow: findingFromLedger,
	adopt: func(f casework.Finding, taskQueue string) (client.StartWorkflowOptions, any, string) {
		opts, in := workflows.AdoptingStart(f, taskQueue)
		return opts, in, workflows.FindingWorkflowName
	},
}

// DiagnoseFinding records the diagnosis: LISTED -> DIAGNOSED.
func (s *FindingServer) DiagnoseFinding(ctx context.Context, req *xunchav1.DiagnoseFindingRequest) (*xunchav1.Finding, error) {
	d := req.GetDiagnosis()
	in := &workflows.DiagnoseInput{Diagnosis: casework.Diagnosis{
		Cause:                d.GetCause(),
		ResponsibleParties:   d.GetResponsibleParties(),
		RiskLevel:            d.GetRiskLevel(),
		LegalBasis:           d.GetLegalBasis(),
		RectificationOpinion: d.GetRectificationOpinion(),
	}}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionDiagnose, input: in})
}

// ClassifyFinding records the dispositions: DIAGNOSED -> CLASSIFIED.
func (s *FindingServer) ClassifyFinding(ctx context.Context, req *xunchav1.ClassifyFindingRequest) (*xunchav1.Finding, error) {
	in := &workflows.ClassifyInput{Dispositions: req.GetDispositions(), Note: req.GetNote()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionClassify, input: in})
}

// ReferFinding hands the finding over and starts its rectification deadline:
// CLASSIFIED -> REFERRED. A limit past one month after the feedback was
// received is refused before anything is recorded.
func (s *FindingServer) ReferFinding(ctx context.Context, req *xunchav1.ReferFindingRequest) (*xunchav1.Finding, error) {
	in := &workflows.ReferInput{Note: req.GetNote(), Referral: casework.Referral{
		ReceivingAuthority: req.GetReceivingAuthority(),
		FeedbackReceivedOn: req.GetFeedbackReceivedOn(),
		Due:                req.GetDue(),
	}}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionRefer, input: in,
		precheck: func(ctx context.Context) error {
			return checkLimits(ctx, s.Ledger, deadline.Rectification("feedback_received_on", in.Referral.FeedbackReceivedOn, in.Referral.Due))
		}})
}

// ReportRectification records the unit's report: REFERRED -> RECTIFIED.
func (s *FindingServer) ReportRectification(ctx context.Context, req *xunchav1.ReportRectificationRequest) (*xunchav1.Finding, error) {
	actAs := onBehalfOf(i18n.T("report"), req.GetOnBehalfOf(), func(ctx context.Context) (string, error) {
		f, err := s.Ledger.GetFinding(ctx, req.GetId())
		return f.UnitCode, err
	})
	in := &workflows.ReportRectificationInput{
		Report:                req.GetReport(),
		HandlingOfResponsible: req.GetHandlingOfResponsible(), EvidenceIDs: req.GetEvidenceIds(),
	}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionReportRectification, input: in, actAs: actAs,
		precheck: func(ctx context.Context) error { return checkEvidence(ctx, s.Ledger, "evidence_ids", in.EvidenceIDs) }})
}

// VerifyFinding accepts (RECTIFIED -> CLOSED) or rejects (RECTIFIED ->
// REFERRED, with a new limit of at most one month from today).
func (s *FindingServer) VerifyFinding(ctx context.Context, req *xunchav1.VerifyFindingRequest) (*xunchav1.Finding, error) {
	in := &workflows.VerifyInput{Accept: req.GetAccept(), Reason: req.GetReason(), Due: req.GetDue()}
	c := lifecycleChange{req: req, action: workflows.ActionVerify, input: in}
	if !in.Accept && in.Due != "" {
		c.precheck = func(ctx context.Context) error {
			// A preview by the wall clock: the workflow counts from its
			// own today, and near midnight its answer is the one that counts.
			today := calendar.DateOf(time.Now())
			return checkLimits(ctx, s.Ledger, deadline.RectificationAgain(today.String(), in.Due))
		}
	}
	return s.change(ctx, c)
}

// WithdrawFinding withdraws an open finding (office only, with a reason).
func (s *FindingServer) WithdrawFinding(ctx context.Context, req *xunchav1.WithdrawFindingRequest) (*xunchav1.Finding, error) {
	in := &workflows.WithdrawInput{Reason: req.GetReason()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionWithdraw, input: in})
}

// RequestExtension records a unit's request for more time (延期) on the
// running rectification deadline; the office asks only on behalf of the
// finding's unit (on_behalf_of). The finding stays REFERRED and the
// deadline runs on; the workflow refuses a request after the deadline, a
// second one while one waits, and what the office's limits do not allow.
func (s *FindingServer) RequestExtension(ctx context.Context, req *xunchav1.RequestExtensionRequest) (*xunchav1.Finding, error) {
	actAs := onBehalfOf(i18n.T("request for more time"), req.GetOnBehalfOf(), func(ctx context.Context) (string, error) {
		f, err := s.Ledger.GetFinding(ctx, req.GetId())
		return f.UnitCode, err
	})
	in := &workflows.RequestExtensionInput{Due: req.GetDue(),
		Reason: req.GetReason(), EvidenceIDs: req.GetEvidenceIds()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionRequestExtension, input: in, actAs: actAs,
		precheck: func(ctx context.Context) error { return checkEvidence(ctx, s.Ledger, "evidence_ids", in.EvidenceIDs) }})
}

// DecideExtension approves the pending extension request with a new last
// day (the deadline and its ladder move) or refuses it with a reason.
func (s *FindingServer) DecideExtension(ctx context.Context, req *xunchav1.DecideExtensionRequest) (*xunchav1.Finding, error) {
	in := &workflows.DecideExtensionInput{Approve: req.GetApprove(),
		Due: req.GetDue(), Reason: req.GetReason()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionDecideExtension, input: in})
}

// SignOffFinding records one signer's sign-off before close-out (销号), or
// refusal, with evidence. The workflow decides who is awaited (the
// escalation policy's rule as it stood at the verification): the last
// signature closes the finding, a refusal sends it back to REFERRED with a
// new limit of at most one month from today.
func (s *FindingServer) SignOffFinding(ctx context.Context, req *xunchav1.SignOffFindingRequest) (*xunchav1.Finding, error) {
	in := &workflows.SignOffInput{Approve: req.GetApprove(), Reason: req.GetReason(),
		EvidenceIDs: req.GetEvidenceIds(), Due: req.GetDue()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionSignOff, input: in,
		precheck: func(ctx context.Context) error {
			if err := checkEvidence(ctx, s.Ledger, "evidence_ids", in.EvidenceIDs); err != nil || in.Approve || in.Due == "" {
				return err
			}
			// A preview by the wall clock, as for a rejected verification.
			today := calendar.DateOf(time.Now())
			return checkLimits(ctx, s.Ledger, deadline.RectificationAgain(today.String(), in.Due).SetBy(in.Actor.Organisation))
		}})
}

// ListFindingEvents returns a finding's whole event log, oldest first.
func (s *FindingServer) ListFindingEvents(ctx context.Context, req *xunchav1.ListFindingEventsRequest) (*xunchav1.ListFindingEventsResponse, error) {
	events, err := eventLog(ctx, s.Ledger, casework.SubjectFinding, req.GetId(), (*ledger.Store).GetFinding)
	if err != nil {
		return nil, err
	}
	return &xunchav1.ListFindingEventsResponse{Events: events}, nil
}

// findingProto is the one conversion of a finding for the API, whether it
// comes from the workflow's state or from the ledger.
func findingProto(lang i18n.Lang, f casework.Finding, escalations []casework.Escalation, events []casework.Event) *xunchav1.Finding {
	out := &xunchav1.Finding{
		Id:                   f.ID,
		InspectionId:         f.InspectionID,
		LedgerNumber:         f.LedgerNumber,
		Unit:                 &xunchav1.Unit{Code: f.UnitCode, Name: f.UnitName},
		Title:                f.Title,
		Description:          f.Description,
		Kind:                 xunchav1.Finding_Kind(xunchav1.Finding_Kind_value[f.Kind]),
		Severity:             xunchav1.Finding_Severity(xunchav1.Finding_Severity_value[f.Severity]),
		Important:            f.Important,
		ContentArea:          int32(f.ContentArea),
		EvidenceIds:          slices.Clone(f.EvidenceIDs),
		RectificationOpinion: f.RectificationOpinion,
		Stage:                xunchav1.Finding_Stage(xunchav1.Finding_Stage_value[f.Stage]),
		Dispositions:         slices.Clone(f.Dispositions),
		Overdue:              f.Overdue,
		MissedDeadlines:      int32(f.MissedDeadlines),
		ReopenCount:          int32(f.ReopenCount),
		WithdrawReason:       f.WithdrawReason,
		FoundBy:              actorProto(f.FoundBy),
		CreateTime:           instant(f.CreatedAt),
		UpdateTime:           instant(f.UpdatedAt),
		WorkflowId:           f.WorkflowID,
		OriginalDue:          f.OriginalDue,
	}
	if d := f.Diagnosis; d != nil {
		out.Diagnosis = &xunchav1.Diagnosis{
			Cause: d.Cause, ResponsibleParties: slices.Clone(d.ResponsibleParties), RiskLevel: d.RiskLevel,
			LegalBasis: d.LegalBasis, RectificationOpinion: d.RectificationOpinion,
		}
	}
	if r := f.Referral; r != nil {
		out.Referral = &xunchav1.Referral{ReceivingAuthority: r.ReceivingAuthority, FeedbackReceivedOn: r.FeedbackReceivedOn, Due: r.Due}
	}
	if r := f.Rectification; r != nil {
		out.Rectification = &xunchav1.Rectification{
			Report: r.Report, HandlingOfResponsible: r.HandlingOfResponsible,
			EvidenceIds: slices.Clone(r.EvidenceIDs), ReportTime: instant(r.ReportedAt),
		}
	}
	if f.Deadline != nil {
		out.Deadline = DeadlineProto(*f.Deadline, lang)
	}
	for _, e := range f.Extensions {
		out.Extensions = append(out.Extensions, extensionProto(lang, e))
	}
	for _, so := range f.Signoffs {
		out.Signoffs = append(out.Signoffs, signoffProto(lang, so))
	}
	for _, c := range f.ClueReferrals {
		out.ClueReferrals = append(out.ClueReferrals, clueReferralProto(lang, c))
	}
	for _, e := range escalations {
		out.Escalations = append(out.Escalations, escalationProto(lang, e))
	}
	for _, e := range events {
		out.LastEvents = append(out.LastEvents, eventProto(e))
	}
	return out
}

func extensionProto(lang i18n.Lang, e casework.Extension) *xunchav1.Extension {
	out := &xunchav1.Extension{
		Seq: int32(e.Seq), State: xunchav1.Extension_State(xunchav1.Extension_State_value[e.State]), Round: int32(e.Round),
		PreviousDue: e.PreviousDue, OriginalDue: e.OriginalDue, RequestedDue: e.RequestedDue, Reason: e.Reason,
		EvidenceIds: slices.Clone(e.EvidenceIDs), RequestedBy: actorProto(e.RequestedBy), RequestTime: instant(e.RequestedAt),
		ApprovedDue: e.ApprovedDue, DecisionReason: i18n.Text{EN: e.DecisionReason, ZH: e.DecisionReasonZH}.In(lang),
	}
	if e.DecidedBy != nil {
		out.DecidedBy = actorProto(*e.DecidedBy)
	}
	if e.DecidedAt != nil {
		out.DecideTime = instant(*e.DecidedAt)
	}
	return out
}

func signoffProto(lang i18n.Lang, so casework.Signoff) *xunchav1.Signoff {
	out := &xunchav1.Signoff{
		Seq: int32(so.Seq), State: xunchav1.Signoff_State(xunchav1.Signoff_State_value[so.State]), Round: int32(so.Round),
		Ordered: so.Ordered, Signers: signersProto(so.Signers), PolicyVersion: so.PolicyVersion,
		RequestedBy: actorProto(so.RequestedBy), RequestTime: instant(so.RequestedAt),
	}
	for _, sig := range so.Signatures {
		out.Signatures = append(out.Signatures, &xunchav1.Signature{Signer: int32(sig.Signer), Signed: sig.Signed, Reason: sig.Reason,
			EvidenceIds: slices.Clone(sig.EvidenceIDs), SignedBy: actorProto(sig.By), SignTime: instant(sig.At)})
	}
	if so.EndedAt != nil {
		out.EndTime = instant(*so.EndedAt)
	}
	if so.Deadline != nil {
		out.Deadline = DeadlineProto(*so.Deadline, lang)
	}
	out.Overdue = so.Overdue
	return out
}

func signersProto(signers []casework.Signer) []*xunchav1.Signer {
	out := make([]*xunchav1.Signer, len(signers))
	for i, s := range signers {
		out[i] = &xunchav1.Signer{Role: s.Role, Organisation: s.Organisation}
	}
	return out
}

// instant converts a time at the ledger's precision (microseconds), so that
// the workflow's view and the ledger's of the same change are equal; the
// zero time is absent.
func instant(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t.Truncate(time.Microsecond))
}

// escalationProto is an escalation, its message in lang.
func escalationProto(lang i18n.Lang, e casework.Escalation) *xunchav1.Escalation {
	return &xunchav1.Escalation{
		Id: e.ID, Subject: e.Subject, Step: e.Step, DueAt: instant(e.DueAt), FireTime: instant(e.FiredAt),
		UnitCode: e.UnitCode, Message: e.Text().In(lang),
	}
}

func eventProto(e casework.Event) *xunchav1.FindingEvent {
	data := "{}"
	if len(e.Data) > 0 {
		data = string(e.Data)
	}
	return &xunchav1.FindingEvent{
		Id: e.ID, Action: e.Action, StageBefore: e.StageBefore, StageAfter: e.StageAfter, Actor: actorProto(e.Actor),
		Note: e.Note, EvidenceIds: evidenceIDs(e.Evidence), OccurTime: instant(e.OccurredAt), DataJson: data,
	}
}

// evidenceIDs reads an event's evidence column: a JSON array of IDs, or of
// objects carrying an "id".
func evidenceIDs(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var ids []string
	if json.Unmarshal(raw, &ids) == nil {
		return ids
	}
	var refs []struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &refs) == nil {
		for _, r := range refs {
			ids = append(ids, r.ID)
		}
	}
	return ids
}
