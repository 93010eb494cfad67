package api

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// EscalationServer implements xuncha.v1.EscalationService.
type EscalationServer struct {
	xunchav1.UnimplementedEscalationServiceServer
	Ledger *ledger.Store
	Log    *zap.Logger
}

// ListEscalations lists the escalation steps taken, newest first.
func (s *EscalationServer) ListEscalations(ctx context.Context, req *xunchav1.ListEscalationsRequest) (*xunchav1.ListEscalationsResponse, error) {
	size, err := ledger.PageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	if err := checkEscalationSubject(req.GetSubject()); err != nil {
		return nil, err
	}
	page, err := s.Ledger.ListEscalations(ctx, ledger.SubjectFilter{Subject: req.GetSubject(), UnitCode: req.GetUnitCode(), Reach: reachOf(ctx)},
		size, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListEscalationsResponse{NextPageToken: page.NextPageToken}
	lang := i18n.FromContext(ctx)
	for _, e := range page.Escalations {
		out.Escalations = append(out.Escalations, escalationProto(lang, e))
	}
	return out, nil
}

// escalationSubjects are the lifecycles that escalate, as an escalation
// names its subject: the workflow ID, "<lifecycle>/<id>".
var escalationSubjects = []workflows.Machine{workflows.FindingMachine, workflows.InspectionMachine,
	workflows.InterviewMachine, workflows.InvitationMachine}

// checkEscalationSubject refuses a subject filter no escalation can have
// (empty: no filter), which would otherwise list nothing and say nothing.
func checkEscalationSubject(subject string) error {
	if subject == "" {
		return nil
	}
	var forms []string
	for _, m := range escalationSubjects {
		prefix := m.WorkflowID("")
		if id, ok := strings.CutPrefix(subject, prefix); ok && id != "" && !strings.Contains(id, "/") {
			return nil
		}
		forms = append(forms, strconv.Quote(prefix+"<id>"))
	}
	return derrors.Invalid("subject", "must be one of %s", strings.Join(forms, ", "))
}

// GetEscalationPolicy returns the ladder in force.
func (s *EscalationServer) GetEscalationPolicy(ctx context.Context, _ *xunchav1.GetEscalationPolicyRequest) (*xunchav1.EscalationPolicy, error) {
	p, err := s.Ledger.EscalationPolicy(ctx)
	if err != nil {
		return nil, err
	}
	return policyProto(p), nil
}

// UpdateEscalationPolicy sets the ladder for deadlines started from now on
// (office only). Steps are stored in the order they fire; a retry with the
// same request_id returns the ladder it first set.
func (s *EscalationServer) UpdateEscalationPolicy(ctx context.Context, req *xunchav1.UpdateEscalationPolicyRequest) (*xunchav1.EscalationPolicy, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	steps, extensions, signoffs, answerDays, err := policyOf(req)
	if err != nil {
		return nil, err
	}
	p, err := s.Ledger.SetEscalationPolicy(ctx, req.GetRequestId(), steps, extensions, signoffs, answerDays, req.ExpectedVersion, who)
	if err != nil {
		return nil, err
	}
	logging.Ctx(ctx, s.Log).Info("escalation ladder set", zap.Int64("version", p.Version), zap.String("by", who.String()))
	return policyProto(p), nil
}

// policyOf checks a requested ladder, extension limits (absent: the
// defaults), sign-off rules (absent: none) and the invitation answer limit
// (absent: the default) with the ledger's rules, together with the request
// ID.
func policyOf(req *xunchav1.UpdateEscalationPolicyRequest) ([]casework.EscalationStep, casework.ExtensionLimits, []casework.SignoffRule, int, error) {
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", req.GetRequestId())
	steps := make([]casework.EscalationStep, 0, len(req.GetSteps()))
	for _, st := range req.GetSteps() {
		steps = append(steps, casework.EscalationStep{Step: st.GetStep(), WorkingDays: int(st.GetWorkingDays())})
	}
	extensions := casework.DefaultExtensionLimits()
	if l := req.GetExtensionLimits(); l != nil {
		extensions = casework.ExtensionLimits{MaxCount: int(l.GetMaxCount()), TotalMonths: int(l.GetTotalMonths()),
			TotalWorkingDays: int(l.GetTotalWorkingDays())}
		for i, sev := range l.GetSeverities() {
			name, ok := enumName(sev, xunchav1.Finding_Severity_name)
			if !ok {
				v.Add(fmt.Sprintf("extension_limits.severities[%d]", i), "unknown value %d: must be one of %s", sev,
					enumNames(xunchav1.Finding_Severity_name))
			}
			extensions.Severities = append(extensions.Severities, name)
		}
	}
	signoffs := make([]casework.SignoffRule, 0, len(req.GetSignoffRules()))
	for i, r := range req.GetSignoffRules() {
		field := fmt.Sprintf("signoff_rules[%d]", i)
		// Unset (0) is the ledger's to refuse, an unknown value the API's.
		kind, ok := enumName(r.GetKind(), xunchav1.Finding_Kind_name)
		if !ok {
			v.Add(field+".kind", "unknown value %d: must be one of %s", r.GetKind(), strings.Join(casework.FindingKinds, ", "))
		}
		severity, ok := enumName(r.GetSeverity(), xunchav1.Finding_Severity_name)
		if !ok {
			v.Add(field+".severity", "unknown value %d: must be one of %s", r.GetSeverity(), enumNames(xunchav1.Finding_Severity_name))
		}
		rule := casework.SignoffRule{Kind: kind, Severity: severity, Ordered: r.GetOrdered(), WorkingDays: int(r.GetWorkingDays())}
		for _, sg := range r.GetSigners() {
			rule.Signers = append(rule.Signers, casework.Signer{Role: sg.GetRole(), Organisation: sg.GetOrganisation()})
		}
		signoffs = append(signoffs, rule)
	}
	// The ledger's rules, each field reported once (an unknown kind or
	// severity is the API's to name).
	answerDays := casework.DefaultInvitationAnswerWorkingDays
	if req.InvitationAnswerWorkingDays != nil {
		answerDays = int(req.GetInvitationAnswerWorkingDays())
	}
	for _, err := range []error{casework.ValidateEscalationSteps(steps), casework.ValidateExtensionLimits(extensions), casework.ValidateSignoffRules(signoffs),
		casework.ValidateInvitationAnswerWorkingDays(answerDays)} {
		var invalid *derrors.InvalidError
		if errors.As(mergeViolations(v, err), &invalid) {
			v = invalid.Violations
		}
	}
	if err := v.Err(); err != nil {
		return nil, casework.ExtensionLimits{}, nil, 0, err
	}
	return steps, extensions, signoffs, answerDays, nil
}

func policyProto(p casework.EscalationPolicy) *xunchav1.EscalationPolicy {
	out := &xunchav1.EscalationPolicy{Version: p.Version, UpdateTime: instant(p.UpdatedAt),
		InvitationAnswerWorkingDays: int32(p.InvitationAnswerWorkingDays)}
	if p.UpdatedBy != (actor.Actor{}) {
		out.UpdatedBy = actorProto(p.UpdatedBy)
	}
	for _, st := range p.Steps {
		out.Steps = append(out.Steps, &xunchav1.EscalationStep{Step: st.Step, WorkingDays: int32(st.WorkingDays)})
	}
	l := p.Extensions
	out.ExtensionLimits = &xunchav1.ExtensionLimits{MaxCount: int32(l.MaxCount), TotalMonths: int32(l.TotalMonths),
		TotalWorkingDays: int32(l.TotalWorkingDays)}
	for _, sev := range l.Severities {
		out.ExtensionLimits.Severities = append(out.ExtensionLimits.Severities, xunchav1.Finding_Severity(xunchav1.Finding_Severity_value[sev]))
	}
	for _, r := range p.SignoffRules {
		out.SignoffRules = append(out.SignoffRules, &xunchav1.SignoffRule{Kind: xunchav1.Finding_Kind(xunchav1.Finding_Kind_value[r.Kind]),
			Severity: xunchav1.Finding_Severity(xunchav1.Finding_Severity_value[r.Severity]), Ordered: r.Ordered, Signers: signersProto(r.Signers), WorkingDays: int32(r.WorkingDays)})
	}
	return out
}
