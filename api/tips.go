package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/internal/tipcrypt"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// TipServer implements xuncha.v1.TipService. A reporter's identity goes from
// the request straight into the ledger, sealed: never through Temporal,
// never into a log line, an event, a search attribute or an answer.
type TipServer struct {
	xunchav1.UnimplementedTipServiceServer
	Ledger *ledger.Store
	// Sealer seals reporters' identities (XUNCHA_TIP_KEY).
	Sealer *tipcrypt.Sealer
	// Findings records the finding a tip becomes, in-process.
	Findings *FindingServer
	Log      *zap.Logger
}

// reporterIdentity is what is sealed: the reporter as they gave themselves.
type reporterIdentity struct {
	Name    string `json:"name"`
	Contact string `json:"contact"`
}

// ReceiveTip records a tip received during an existing inspection; the
// reporter's identity, if given, is sealed with the tip's ID as additional
// data. A retry with the same request_id returns the first answer.
func (s *TipServer) ReceiveTip(ctx context.Context, req *xunchav1.ReceiveTipRequest) (*xunchav1.Tip, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	// Scope first: a caller out of reach learns nothing, not even which
	// fields its request lacks.
	if req.GetInspectionId() != "" {
		if who, err = reachAs(ctx, s.Ledger, who, casework.SubjectInspection, req.GetInspectionId(), func(actor.Actor) error { return nil }); err != nil {
			return nil, err
		}
	}
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", req.GetRequestId())
	if req.GetInspectionId() == "" {
		v.Add("inspection_id", "must not be empty")
	}
	if !slices.Contains(ledger.TipChannels, req.GetChannel()) {
		v.Add("channel", "must be one of %s", strings.Join(ledger.TipChannels, ", "))
	}
	if d, err := calendar.ParseDate(req.GetReceivedOn()); err != nil {
		v.Add("received_on", "must be a date YYYY-MM-DD")
	} else if today := calendar.DateOf(time.Now()); d.After(today) {
		v.Add("received_on", "must not be after today (%s): record a tip once it has arrived", today)
	}
	v.RequireText("content", req.GetContent(), 20000)
	if r := req.GetReporter(); r != nil {
		if strings.TrimSpace(r.GetName()) == "" && strings.TrimSpace(r.GetContact()) == "" {
			v.Add("reporter", "must give a name or a contact, or be left out for an anonymous tip")
		}
		v.LimitText("reporter.name", r.GetName(), 200)
		v.LimitText("reporter.contact", r.GetContact(), 500)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := s.Ledger.GetInspection(ctx, req.GetInspectionId()); err != nil {
		return nil, err
	}
	t := ledger.Tip{
		ID: generatedID("tip", "inspections/"+req.GetInspectionId(), req.GetRequestId()), RequestID: req.GetRequestId(), InspectionID: req.GetInspectionId(),
		Channel: req.GetChannel(), ReceivedOn: req.GetReceivedOn(), Content: req.GetContent(), ReceivedBy: who,
	}
	if r := req.GetReporter(); r != nil {
		if t.ReporterCiphertext, err = s.seal(t.ID, r); err != nil {
			return nil, err
		}
	}
	stored, created, err := s.Ledger.ReceiveTip(ctx, t, workflows.TipReceivingStages...)
	if err != nil {
		return nil, err
	}
	if created {
		logging.Ctx(ctx, s.Log).Info("tip received", zap.String("tip", stored.ID))
	}
	return tipProto(stored), nil
}

// seal encrypts the reporter's identity for tip id.
func (s *TipServer) seal(id string, r *xunchav1.Reporter) ([]byte, error) {
	if s.Sealer == nil {
		return nil, errors.New("tips: no sealer configured")
	}
	plain, err := json.Marshal(reporterIdentity{Name: r.GetName(), Contact: r.GetContact()})
	if err != nil {
		return nil, fmt.Errorf("encoding the reporter of tip %q: %w", id, err)
	}
	defer clear(plain)
	sealed, err := s.Sealer.Seal(plain, []byte(id))
	if err != nil {
		return nil, fmt.Errorf("sealing the reporter of tip %q: %w", id, err)
	}
	return sealed, nil
}

// GetTip returns a tip without its reporter's identity; the read is
// recorded in the access log first.
func (s *TipServer) GetTip(ctx context.Context, req *xunchav1.GetTipRequest) (*xunchav1.Tip, error) {
	t, err := s.tip(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	if err := recordRead(ctx, s.Ledger, xunchav1.TipService_GetTip_FullMethodName, "tips/"+t.ID, remoteOf(ctx), nil); err != nil {
		return nil, err
	}
	return tipProto(t), nil
}

func (s *TipServer) tip(ctx context.Context, id string) (ledger.Tip, error) {
	if id == "" {
		return ledger.Tip{}, derrors.Invalid("id", "must not be empty")
	}
	t, err := s.Ledger.GetTip(ctx, id)
	if err != nil {
		return ledger.Tip{}, err
	}
	// Only the office and the inspection's team read a tip.
	if err := tipInReach(ctx, s.Ledger, t); err != nil {
		return ledger.Tip{}, err
	}
	return t, nil
}

// ListTips lists an inspection's tips, oldest first; the read (which tips)
// is recorded in the access log first.
func (s *TipServer) ListTips(ctx context.Context, req *xunchav1.ListTipsRequest) (*xunchav1.ListTipsResponse, error) {
	if req.GetInspectionId() == "" {
		return nil, derrors.Invalid("inspection_id", "must not be empty")
	}
	size, err := ledger.PageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	if err := tipsInReach(ctx, s.Ledger, req.GetInspectionId()); err != nil {
		return nil, err
	}
	if _, err := s.Ledger.GetInspection(ctx, req.GetInspectionId()); err != nil {
		return nil, err
	}
	page, err := s.Ledger.ListTips(ctx, req.GetInspectionId(), size, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListTipsResponse{NextPageToken: page.NextPageToken}
	ids := make([]string, 0, len(page.Tips))
	for _, t := range page.Tips {
		out.Tips = append(out.Tips, tipProto(t))
		ids = append(ids, t.ID)
	}
	if err := recordRead(ctx, s.Ledger, xunchav1.TipService_ListTips_FullMethodName,
		"inspections/"+req.GetInspectionId()+"/tips", remoteOf(ctx), map[string]any{"tips": ids}); err != nil {
		return nil, err
	}
	return out, nil
}

// TriageTip dismisses a tip with a reason, or records the finding it becomes
// (request_id "tip-<tip id>", the tip's inspection) and marks it FINDING. A
// retry, even after a failure between the two, completes the same triage.
func (s *TipServer) TriageTip(ctx context.Context, req *xunchav1.TriageTipRequest) (*xunchav1.Tip, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	// The tip first (its reach): a caller out of reach learns nothing, not
	// even which fields its request lacks.
	t, err := s.tip(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	if who, err = reachAs(ctx, s.Ledger, who, casework.SubjectInspection, t.InspectionID, func(as actor.Actor) error {
		if !slices.Contains(leaderOffice, as.Role) {
			return derrors.ErrPermissionDenied
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var v derrors.Violations
	casework.ValidateRequestID(&v, "request_id", req.GetRequestId())
	dismiss := strings.TrimSpace(req.GetDismissReason()) != ""
	switch {
	case dismiss && req.GetFinding() != nil:
		v.Add("finding", "must not be given with dismiss_reason: a tip is either dismissed or becomes a finding")
	case !dismiss && req.GetFinding() == nil:
		v.Add("dismiss_reason", "must give the reason to dismiss the tip, or else give the finding it becomes")
	}
	v.LimitText("dismiss_reason", req.GetDismissReason(), 5000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	triage := ledger.TipTriage{By: who, EventKey: "triage/" + req.GetRequestId()}
	if dismiss {
		triage.DismissReason = req.GetDismissReason()
	} else {
		switch t.Stage {
		case ledger.TipFinding:
			// This request's retry is answered; another is refused, and
			// reads nothing.
			if mine, err := s.triagedBy(ctx, t.ID, triage.EventKey); err != nil || !mine {
				if err == nil {
					err = derrors.StageError{Reason: "STAGE_NOT_ALLOWED", Subject: "tip/" + t.ID, Action: "triage", Stage: t.Stage}.
						Says("tip %q is already FINDING (%s): it was triaged before", t.ID, t.FindingID)
				}
				return nil, err
			}
			return s.triaged(ctx, t)
		case ledger.TipDismissed:
			return nil, derrors.StageError{Reason: "STAGE_NOT_ALLOWED", Subject: "tip/" + t.ID, Action: "triage", Stage: t.Stage}.
				Says("tip %q is already DISMISSED: it was triaged before", t.ID)
		}
		if s.Findings == nil {
			return nil, errors.New("tips: no finding service configured")
		}
		freq := proto.Clone(req.GetFinding()).(*xunchav1.RecordFindingRequest)
		freq.RequestId = tipFindingPrefix + t.ID
		freq.InspectionId = t.InspectionID
		f, err := s.Findings.RecordFinding(context.WithValue(ctx, triageKey{}, true), freq)
		if err != nil {
			return nil, underField("finding", err)
		}
		triage.FindingID = f.GetId()
	}
	stored, err := s.Ledger.TriageTip(ctx, t.ID, triage)
	if err != nil {
		return nil, err
	}
	logging.Ctx(ctx, s.Log).Info("tip triaged", zap.String("tip", stored.ID))
	return s.triaged(ctx, stored)
}

// tipFindingPrefix begins the request_id under which a tip's triage
// records the finding it becomes; a client may not use it.
const tipFindingPrefix = ledger.TipFindingPrefix

// triageKey marks the context of the finding a triage records.
type triageKey struct{}

// fromTriage tells whether ctx is a triage's, recording its finding.
func fromTriage(ctx context.Context) bool { v, _ := ctx.Value(triageKey{}).(bool); return v }

// triagedBy tells whether the triage of tip id was made by the request
// whose event key is key (its retry), not by another.
func (s *TipServer) triagedBy(ctx context.Context, id, key string) (bool, error) {
	events, err := s.Ledger.Events(ctx, ledger.SubjectTip, id)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(events, func(e casework.Event) bool { return e.Key == key }), nil
}

// triaged answers a triage with the tip, its content included: a read of
// the content like any other, recorded first (api/access.go).
func (s *TipServer) triaged(ctx context.Context, t ledger.Tip) (*xunchav1.Tip, error) {
	if err := recordRead(ctx, s.Ledger, xunchav1.TipService_TriageTip_FullMethodName, "tips/"+t.ID, remoteOf(ctx), nil); err != nil {
		return nil, err
	}
	return tipProto(t), nil
}

// underField names a nested request's field violations from the outer
// request: "title" becomes "finding.title".
func underField(prefix string, err error) error {
	var invalid *derrors.InvalidError
	if !errors.As(err, &invalid) {
		return err
	}
	out := &derrors.InvalidError{}
	for _, fv := range invalid.Violations {
		out.Violations = append(out.Violations, derrors.FieldViolation{Field: prefix + "." + fv.Field, Rule: fv.Rule, RuleZH: fv.RuleZH})
	}
	return out
}

// tipProto is the one conversion of a tip for the API: it says whether the
// reporter gave an identity, never who.
func tipProto(t ledger.Tip) *xunchav1.Tip {
	return &xunchav1.Tip{
		Id: t.ID, InspectionId: t.InspectionID, Channel: t.Channel, ReceivedOn: t.ReceivedOn, Content: t.Content,
		ReporterIdentified: t.ReporterIdentified(), Stage: t.Stage, FindingId: t.FindingID, DismissReason: t.DismissReason,
		ReceivedBy: actorProto(t.ReceivedBy), CreateTime: instant(t.CreatedAt),
	}
}
