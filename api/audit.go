package api

import (
	"context"
	"encoding/hex"

	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// AuditServer implements xuncha.v1.AuditService: the office and the auditor
// check the audit chains, as `xuncha audit verify` does.
type AuditServer struct {
	xunchav1.UnimplementedAuditServiceServer
	Ledger *ledger.Store
	Log    *zap.Logger
}

// VerifyAudit recomputes the audit chains (ledger.Store.VerifyAudit).
func (s *AuditServer) VerifyAudit(ctx context.Context, req *xunchav1.VerifyAuditRequest) (*xunchav1.VerifyAuditResponse, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	opts := ledger.VerifyOptions{Subject: req.GetSubject()}
	if req.GetSince() != "" {
		d, err := calendar.ParseDate(req.GetSince())
		if err != nil {
			return nil, derrors.Invalid("since", "must be a date YYYY-MM-DD")
		}
		opts.Since = d.Start()
	}
	r, err := s.Ledger.VerifyAudit(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := &xunchav1.VerifyAuditResponse{
		Ok: r.OK(), Chains: r.Chains, Events: r.Events, AccessRecords: r.AccessRecords, Anchors: r.Anchors,
		Truncated: r.Truncated,
	}
	if a := r.LatestAnchor; a != nil {
		out.LatestAnchor = &xunchav1.AuditAnchor{
			Seq: a.Seq, TakenAt: timestamppb.New(a.TakenAt), TakenBy: a.TakenBy, Hash: hex.EncodeToString(a.Hash),
			HashAlg: string(a.HashAlg), HeadsCount: a.HeadsCount,
		}
	}
	for _, p := range r.Problems {
		out.Problems = append(out.Problems, &xunchav1.AuditProblem{
			Kind: p.Kind, Table: p.Table, RowId: p.RowID, Chain: p.Chain, Seq: p.Seq, Detail: p.Detail, Message: p.String(),
		})
	}
	if !r.OK() {
		s.Log.Warn("audit verification found problems", zap.Int("problems", len(r.Problems)),
			zap.String("first", r.Problems[0].String()), zap.String("by", who.String()))
	}
	return out, nil
}
