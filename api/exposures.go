package api

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// ExposureServer implements xuncha.v1.ExposureService: publications are
// written to the ledger directly (no lifecycle to drive).
type ExposureServer struct {
	xunchav1.UnimplementedExposureServiceServer
	Ledger *ledger.Store
	Log    *zap.Logger
}

// RecordExposure records a publication about an existing inspection or
// finding (office only). A retry with the same request_id returns the first
// answer.
func (s *ExposureServer) RecordExposure(ctx context.Context, req *xunchav1.RecordExposureRequest) (*xunchav1.Exposure, error) {
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	e := casework.Exposure{
		RequestID: req.GetRequestId(), Kind: req.GetKind(), Subject: req.GetSubject(), Outlet: req.GetOutlet(),
		Link: req.GetLink(), PublishedOn: req.GetPublishedOn(), Title: req.GetTitle(), RecordedBy: who,
	}
	if err := casework.ValidateExposure(e); err != nil {
		return nil, err
	}
	// Published, not planned: a day after today is a typo (Asia/Shanghai).
	if d, _ := calendar.ParseDate(e.PublishedOn); d.After(calendar.DateOf(time.Now())) {
		return nil, derrors.Invalid("published_on", "must not be after today (%s): record an exposure once it is published",
			calendar.DateOf(time.Now()))
	}
	stored, created, err := s.Ledger.RecordExposure(ctx, e)
	if err != nil {
		return nil, err
	}
	if created {
		logging.Ctx(ctx, s.Log).Info("exposure recorded", zap.String("exposure", stored.ID), zap.String("subject", stored.Subject),
			zap.String("kind", stored.Kind))
	}
	return exposureProto(stored), nil
}

// ListExposures lists the publications about a subject (all when empty),
// oldest first, a page at a time.
func (s *ExposureServer) ListExposures(ctx context.Context, req *xunchav1.ListExposuresRequest) (*xunchav1.ListExposuresResponse, error) {
	size, err := subjectPage(req.GetPageSize(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	page, err := s.Ledger.ListExposures(ctx, req.GetSubject(), reachOf(ctx), size, req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListExposuresResponse{NextPageToken: page.NextPageToken}
	for _, e := range page.Exposures {
		out.Exposures = append(out.Exposures, exposureProto(e))
	}
	return out, nil
}

func exposureProto(e casework.Exposure) *xunchav1.Exposure {
	return &xunchav1.Exposure{
		Id: e.ID, Kind: e.Kind, Subject: e.Subject, Outlet: e.Outlet, Link: e.Link, PublishedOn: e.PublishedOn,
		Title: e.Title, RecordedBy: actorProto(e.RecordedBy), CreateTime: instant(e.CreatedAt),
	}
}

// subjectPage checks a list's paging and its subject filter ("finding/<id>"
// or "inspection/<id>"; empty lists every subject): the page's size, or the
// refusal that names the field.
func subjectPage(pageSize int32, subject string) (int, error) {
	size, err := ledger.PageSize(pageSize)
	if err != nil {
		return 0, err
	}
	if subject != "" {
		if _, _, err := casework.ParseSubject(subject); err != nil {
			return 0, err
		}
	}
	return size, nil
}
