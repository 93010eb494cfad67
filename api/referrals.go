package api

import (
	"context"
	"encoding/json"
	"slices"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// Referral of clues by cadre-management authority (移交, issue 14 item 2):
// the office's routing table (ReferralRouteServer) and the finding's
// referral actions (ReferClue, AcknowledgeReferral, ReportReferralOutcome).
// The rules live in workflows/finding_referral.go and ledger/referrals.go;
// this file translates.

// ReferralRouteServer implements xuncha.v1.ReferralRouteService.
type ReferralRouteServer struct {
	xunchav1.UnimplementedReferralRouteServiceServer
	Ledger *ledger.Store
	Log    *zap.Logger
}

// ListReferralRoutes returns the routing table in force.
func (s *ReferralRouteServer) ListReferralRoutes(ctx context.Context, _ *xunchav1.ListReferralRoutesRequest) (*xunchav1.ListReferralRoutesResponse, error) {
	routes, err := s.Ledger.ReferralRoutes(ctx)
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListReferralRoutesResponse{}
	for _, r := range routes {
		out.Routes = append(out.Routes, routeProto(r))
	}
	return out, nil
}

// SetReferralRoute puts a route in force for its key (office only).
func (s *ReferralRouteServer) SetReferralRoute(ctx context.Context, req *xunchav1.SetReferralRouteRequest) (*xunchav1.ReferralRoute, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	var v derrors.Violations
	route := casework.ReferralRoute{Receiver: req.GetReceiver(), AckWorkingDays: int(req.GetAckWorkingDays()), Note: req.GetNote()}
	route.UnitLevel, route.ClueKind, route.CadreRank = routeKeyOf(&v, req.GetUnitLevel(), req.GetClueKind(), req.GetCadreRank())
	if route.Receiver == "" {
		// The ledger reads an empty receiver as a removal: here it is
		// missing.
		v.Add("receiver", "must name the receiving body (RemoveReferralRoute takes a key out)")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := s.Ledger.SetReferralRoute(ctx, req.GetRequestId(), route, who)
	if err != nil {
		return nil, err
	}
	logging.Ctx(ctx, s.Log).Info("referral route set", zap.Int64("version", r.Version), zap.String("route", casework.RouteKey(r.UnitLevel, r.ClueKind, r.CadreRank)),
		zap.String("receiver", r.Receiver), zap.String("by", who.String()))
	return routeProto(r), nil
}

// RemoveReferralRoute takes a key out of the routing table (office only).
func (s *ReferralRouteServer) RemoveReferralRoute(ctx context.Context, req *xunchav1.RemoveReferralRouteRequest) (*xunchav1.RemoveReferralRouteResponse, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	var v derrors.Violations
	route := casework.ReferralRoute{Note: req.GetNote()}
	route.UnitLevel, route.ClueKind, route.CadreRank = routeKeyOf(&v, req.GetUnitLevel(), req.GetClueKind(), req.GetCadreRank())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := s.Ledger.SetReferralRoute(ctx, req.GetRequestId(), route, who); err != nil {
		return nil, err
	}
	logging.Ctx(ctx, s.Log).Info("referral route removed", zap.String("route", casework.RouteKey(route.UnitLevel, route.ClueKind, route.CadreRank)),
		zap.String("by", who.String()))
	return &xunchav1.RemoveReferralRouteResponse{}, nil
}

// routeKeyOf reads a routing key's enums, each required.
func routeKeyOf(v *derrors.Violations, level xunchav1.ClueReferral_UnitLevel, kind xunchav1.ClueReferral_ClueKind,
	rank xunchav1.ClueReferral_CadreRank,
) (string, string, string) {
	l := requiredEnum(v, "unit_level", level, xunchav1.ClueReferral_UnitLevel_name)
	k := requiredEnum(v, "clue_kind", kind, xunchav1.ClueReferral_ClueKind_name)
	r := requiredEnum(v, "cadre_rank", rank, xunchav1.ClueReferral_CadreRank_name)
	return l, k, r
}

// requiredEnum is an enum's domain name, with a violation for the zero
// value or an unknown one.
func requiredEnum[E ~int32](v *derrors.Violations, field string, value E, names map[int32]string) string {
	name, ok := enumName(value, names)
	if !ok || name == "" {
		v.Add(field, "must be one of %s", enumNames(names))
	}
	return name
}

// optionalEnum is an enum's domain name, "" for the zero value, with a
// violation for an unknown one.
func optionalEnum[E ~int32](v *derrors.Violations, field string, value E, names map[int32]string) string {
	name, ok := enumName(value, names)
	if !ok {
		v.Add(field, "unknown value %d: must be one of %s", value, enumNames(names))
	}
	return name
}

// ReferClue refers a finding's clue to the body with jurisdiction (office
// only): the routing table proposes the receiver, the office confirms or
// overrides it with a reason. The finding stays in its stage.
func (s *FindingServer) ReferClue(ctx context.Context, req *xunchav1.ReferClueRequest) (*xunchav1.Finding, error) {
	var v derrors.Violations
	in := &workflows.ReferClueInput{Receiver: req.GetReceiver(),
		OverrideReason: req.GetOverrideReason(), AckWorkingDays: int(req.GetAckWorkingDays()), Note: req.GetNote(),
		UnitLevel: optionalEnum(&v, "unit_level", req.GetUnitLevel(), xunchav1.ClueReferral_UnitLevel_name),
		ClueKind:  optionalEnum(&v, "clue_kind", req.GetClueKind(), xunchav1.ClueReferral_ClueKind_name),
		CadreRank: optionalEnum(&v, "cadre_rank", req.GetCadreRank(), xunchav1.ClueReferral_CadreRank_name),
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionReferClue, input: in})
}

// AcknowledgeReferral records the receipt (回执) of a referral: the
// receiving body for itself, or the office entering a paper receipt.
func (s *FindingServer) AcknowledgeReferral(ctx context.Context, req *xunchav1.AcknowledgeReferralRequest) (*xunchav1.Finding, error) {
	in := &workflows.AcknowledgeReferralInput{Seq: int(req.GetSeq()),
		ReceiptNumber: req.GetReceiptNumber(), Note: req.GetNote()}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionAcknowledgeReferral, input: in})
}

// ReportReferralOutcome records a referral's outcome: 立案 (FILED), 不予立案
// (NOT_FILED) or 处理结果 (CONCLUDED).
func (s *FindingServer) ReportReferralOutcome(ctx context.Context, req *xunchav1.ReportReferralOutcomeRequest) (*xunchav1.Finding, error) {
	var v derrors.Violations
	in := &workflows.ReportReferralOutcomeInput{Seq: int(req.GetSeq()),
		Outcome: optionalEnum(&v, "outcome", req.GetOutcome(), xunchav1.ReferralOutcome_Outcome_name),
		Summary: req.GetSummary(), CaseNumber: req.GetCaseNumber(), EvidenceIDs: req.GetEvidenceIds()}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.change(ctx, lifecycleChange{req: req, action: workflows.ActionReportReferralOutcome, input: in,
		precheck: func(ctx context.Context) error { return checkEvidence(ctx, s.Ledger, "evidence_ids", in.EvidenceIDs) }})
}

// referralView is the last interceptor: it shows a clue's referrals (移交)
// only to those who may read them. A receiving body's answers show the
// referrals made to it — their records, events and escalations — whatever
// else the finding was referred for (its reach already limits it to
// findings referred to it). The inspected unit's show none: a clue is about
// its own people, and a referral's receipt, case number and outcome are the
// receiving body's to disclose (the finding's dispositions still say
// REFER_CLUE, as the feedback does). The office, the committee, the auditor
// and the team see every referral.
func referralView(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	r := reachOf(ctx)
	if err != nil || !r.ByReceiver && !r.ByUnit {
		return resp, err
	}
	// shown tells whether a referral to receiver is shown to the caller.
	shown := func(receiver string) bool { return r.ByReceiver && receiver == r.Receiver }
	switch m := resp.(type) {
	case *xunchav1.Finding:
		onlyReferralsShown(m, shown)
	case *xunchav1.ListFindingsResponse:
		for _, f := range m.GetFindings() {
			onlyReferralsShown(f, shown)
		}
	case *xunchav1.ListFindingEventsResponse:
		m.Events = slices.DeleteFunc(m.Events, func(e *xunchav1.FindingEvent) bool { return hiddenReferralEvent(e, shown) })
	}
	return resp, nil
}

// onlyReferralsShown leaves f's referrals that shown shows, and the events
// and escalations of those only.
func onlyReferralsShown(f *xunchav1.Finding, shown func(receiver string) bool) {
	f.ClueReferrals = slices.DeleteFunc(f.ClueReferrals, func(c *xunchav1.ClueReferral) bool { return !shown(c.GetReceiver()) })
	// A referral's escalation is the step of the deadline numbered by the
	// referral's seq: its ID says which (casework.EscalationID), whatever
	// language its message is in.
	f.Escalations = slices.DeleteFunc(f.Escalations, func(e *xunchav1.Escalation) bool {
		if !referralStep(e.GetStep()) {
			return false
		}
		return !slices.ContainsFunc(f.ClueReferrals, func(c *xunchav1.ClueReferral) bool {
			return e.GetId() == casework.EscalationID(e.GetSubject(), int(c.GetSeq()), e.GetStep())
		})
	})
	f.LastEvents = slices.DeleteFunc(f.LastEvents, func(e *xunchav1.FindingEvent) bool { return hiddenReferralEvent(e, shown) })
}

// referralStep tells whether step is a step of a referral's receipt ladder.
func referralStep(step string) bool {
	return step == workflows.StepReferralReminder || step == workflows.StepReferralUnacknowledged
}

// hiddenReferralEvent tells whether e is an event of a referral that shown
// does not show: its data names the referral's receiver.
func hiddenReferralEvent(e *xunchav1.FindingEvent, shown func(receiver string) bool) bool {
	if !slices.Contains(referralEventActions, e.GetAction()) {
		return false
	}
	var data struct {
		Receiver string `json:"receiver"`
		Referral struct {
			Receiver string `json:"receiver"`
		} `json:"referral"`
	}
	if json.Unmarshal([]byte(e.GetDataJson()), &data) != nil {
		return true // unreadable: not shown
	}
	return !shown(data.Receiver) && !shown(data.Referral.Receiver)
}

// referralEventActions are the finding events about one referral.
var referralEventActions = []string{workflows.ActionReferClue, workflows.ActionAcknowledgeReferral, workflows.ActionReportReferralOutcome,
	"escalateReferral", "redateReferral"}

func routeProto(r casework.ReferralRoute) *xunchav1.ReferralRoute {
	return &xunchav1.ReferralRoute{
		Version:        r.Version,
		UnitLevel:      xunchav1.ClueReferral_UnitLevel(xunchav1.ClueReferral_UnitLevel_value[r.UnitLevel]),
		ClueKind:       xunchav1.ClueReferral_ClueKind(xunchav1.ClueReferral_ClueKind_value[r.ClueKind]),
		CadreRank:      xunchav1.ClueReferral_CadreRank(xunchav1.ClueReferral_CadreRank_value[r.CadreRank]),
		Receiver:       r.Receiver,
		AckWorkingDays: int32(r.AckWorkingDays),
		Note:           r.Note,
		UpdatedBy:      actorProto(r.UpdatedBy),
		UpdateTime:     instant(r.UpdatedAt),
	}
}

func clueReferralProto(lang i18n.Lang, c casework.ClueReferral) *xunchav1.ClueReferral {
	out := &xunchav1.ClueReferral{
		Seq:              int32(c.Seq),
		State:            xunchav1.ClueReferral_State(xunchav1.ClueReferral_State_value[c.State]),
		UnitLevel:        xunchav1.ClueReferral_UnitLevel(xunchav1.ClueReferral_UnitLevel_value[c.UnitLevel]),
		ClueKind:         xunchav1.ClueReferral_ClueKind(xunchav1.ClueReferral_ClueKind_value[c.ClueKind]),
		CadreRank:        xunchav1.ClueReferral_CadreRank(xunchav1.ClueReferral_CadreRank_value[c.CadreRank]),
		ProposedReceiver: c.ProposedReceiver,
		RouteVersion:     c.RouteVersion,
		Receiver:         c.Receiver,
		OverrideReason:   c.OverrideReason,
		Note:             c.Note,
		AckWorkingDays:   int32(c.AckWorkingDays),
		ReferredBy:       actorProto(c.ReferredBy),
		ReferTime:        instant(c.ReferredAt),
		ReceiptOverdue:   c.ReceiptOverdue,
		ReceiptNumber:    c.ReceiptNumber,
		AckNote:          c.AckNote,
	}
	if c.AckDeadline != nil {
		out.AckDeadline = DeadlineProto(*c.AckDeadline, lang)
	}
	if c.AcknowledgedBy != nil {
		out.AcknowledgedBy = actorProto(*c.AcknowledgedBy)
	}
	if c.AcknowledgedAt != nil {
		out.AcknowledgeTime = instant(*c.AcknowledgedAt)
	}
	for _, o := range c.Outcomes {
		out.Outcomes = append(out.Outcomes, &xunchav1.ReferralOutcome{
			Outcome:     xunchav1.ReferralOutcome_Outcome(xunchav1.ReferralOutcome_Outcome_value[o.Outcome]),
			Summary:     o.Summary,
			CaseNumber:  o.CaseNumber,
			EvidenceIds: slices.Clone(o.EvidenceIDs),
			ReportedBy:  actorProto(o.ReportedBy),
			ReportTime:  instant(o.ReportedAt),
		})
	}
	return out
}
