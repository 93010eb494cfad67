package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// CalendarServer implements xuncha.v1.CalendarService.
type CalendarServer struct {
	xunchav1.UnimplementedCalendarServiceServer
	Ledger *ledger.Store
	// OnLoad, when set, is told about each newly loaded version so that
	// running deadlines can be re-dated.
	OnLoad func(ctx context.Context, v ledger.CalendarVersion) error
	Log    *zap.Logger
}

// RedateOnLoad returns a CalendarServer.OnLoad that starts the workflow
// re-dating every running deadline for a loaded version
// (calendar-change/<version>). Loading the same version again finds the
// running workflow, or the finished one, and starts nothing new; only a run
// that failed is started again.
func RedateOnLoad(tc client.Client, taskQueue string) func(ctx context.Context, v ledger.CalendarVersion) error {
	return func(ctx context.Context, v ledger.CalendarVersion) error {
		_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                       workflows.CalendarChangeWorkflowID(v.ID, v.RequestID),
			TaskQueue:                taskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
			StaticSummary:            i18n.Zh("re-date running deadlines: %s (%d)", ledger.VersionLabel(v.ID), v.Year),
		}, workflows.CalendarChangeWorkflowName, workflows.CalendarChangeInput{Version: v.ID})
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil
		}
		return err
	}
}

// ComputeDeadline computes and explains a deadline with the calendar in
// force (deadline.Compute, as `xuncha calendar deadline` does).
func (s *CalendarServer) ComputeDeadline(ctx context.Context, req *xunchav1.ComputeDeadlineRequest) (*xunchav1.Deadline, error) {
	if _, err := deadline.CheckCompute(req.GetFrom(), int(req.GetWorkingDays()), int(req.GetMonths())); err != nil {
		return nil, err // before the calendar is read
	}
	cal, err := s.Ledger.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	d, err := deadline.Compute(cal, req.GetFrom(), int(req.GetWorkingDays()), int(req.GetMonths()))
	if err != nil {
		return nil, err
	}
	return DeadlineProto(d, i18n.FromContext(ctx)), nil
}

// DeadlineProto converts a computed deadline for the API.
func DeadlineProto(d calendar.Deadline, lang i18n.Lang) *xunchav1.Deadline {
	out := &xunchav1.Deadline{
		Rule:        d.RuleText().In(lang),
		From:        d.From.String(),
		Due:         d.Due.String(),
		DueAt:       timestamppb.New(d.DueAt),
		Explanation: d.ExplanationIn(lang),
	}
	for _, sk := range d.Skipped {
		out.Skipped = append(out.Skipped, &xunchav1.SkippedDays{Start: sk.Start.String(), End: sk.End.String(), Reason: sk.ReasonIn(lang)})
	}
	for _, m := range d.MakeupDays {
		out.MakeupDays = append(out.MakeupDays, &xunchav1.MakeupDay{Date: m.Date.String(), Name: i18n.Text{EN: m.Name, ZH: m.NameZH}.In(lang)})
	}
	for _, v := range d.Versions {
		// A built-in version is id 0 (calendar.BuiltinVersionID) with the
		// year of its notice, e.g. {"id":"0","year":2026,"label":"built-in 2026, 国办发明电〔2025〕7号"}.
		out.Versions = append(out.Versions, &xunchav1.CalendarVersion{Id: v.ID, Year: int32(v.Year), Label: v.LabelIn(lang)})
	}
	return out
}

func validYear(year int32) error {
	if year < 2000 || year > 2100 {
		return derrors.Invalid("year", "must be between 2000 and 2100")
	}
	return nil
}

// GetCalendarYear returns the notice in force for a year.
func (s *CalendarServer) GetCalendarYear(ctx context.Context, req *xunchav1.GetCalendarYearRequest) (*xunchav1.CalendarYear, error) {
	if err := validYear(req.GetYear()); err != nil {
		return nil, err
	}
	cal, err := s.Ledger.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	n, v, err := cal.Year(int(req.GetYear()))
	if err != nil {
		return nil, err
	}
	out := &xunchav1.CalendarYear{Year: int32(n.Year), Version: &xunchav1.CalendarVersion{
		Id: v.ID, Year: int32(n.Year), Label: v.LabelIn(i18n.FromContext(ctx)), DocNumber: n.DocNumber,
	}}
	if n.DocDate != nil {
		out.Version.DocDate = n.DocDate.String()
	}
	if v.ID != calendar.BuiltinVersionID {
		versions, err := s.Ledger.CalendarVersions(ctx, n.Year)
		if err != nil {
			return nil, err
		}
		for _, lv := range versions {
			if lv.ID == v.ID {
				out.Version = versionProto(lv, i18n.FromContext(ctx))
			}
		}
	}
	for _, h := range n.Holidays {
		// The plain name, so that an answer can be sent back through PUT: make-up
		// days refer to holidays by it.
		out.Holidays = append(out.Holidays, &xunchav1.Holiday{Name: h.Name, NameZh: h.NameZH, Start: h.Start.String(), End: h.End.String()})
	}
	for _, m := range n.MakeupDays {
		out.MakeupDays = append(out.MakeupDays, &xunchav1.MakeupDay{Date: m.Date.String(), Name: m.Name})
	}
	return out, nil
}

// LoadCalendarYear records a notice as a new version.
func (s *CalendarServer) LoadCalendarYear(ctx context.Context, req *xunchav1.LoadCalendarYearRequest) (*xunchav1.CalendarVersion, error) {
	who, v, err := changeRequestedBy(ctx, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	if req.GetDocNumber() == "" {
		v.Add("doc_number", "must not be empty: name the State Council notice")
	}
	n := calendar.Notice{Year: int(req.GetYear()), DocNumber: req.GetDocNumber()}
	if req.GetDocDate() != "" {
		d, err := calendar.ParseDate(req.GetDocDate())
		if err != nil {
			v.Add("doc_date", "must be a date YYYY-MM-DD")
		} else {
			n.DocDate = &d
		}
	}
	for i, h := range req.GetHolidays() {
		start, err1 := calendar.ParseDate(h.GetStart())
		if err1 != nil {
			v.Add(fmt.Sprintf("holidays[%d].start", i), "must be a date YYYY-MM-DD")
		}
		end, err2 := calendar.ParseDate(h.GetEnd())
		if err2 != nil {
			v.Add(fmt.Sprintf("holidays[%d].end", i), "must be a date YYYY-MM-DD")
		}
		nameZH := h.GetNameZh()
		if nameZH == "" {
			nameZH = calendar.NameZHOf(h.GetName())
		}
		n.Holidays = append(n.Holidays, calendar.Holiday{Name: h.GetName(), NameZH: nameZH, Start: start, End: end})
	}
	for i, m := range req.GetMakeupDays() {
		d, err := calendar.ParseDate(m.GetDate())
		if err != nil {
			v.Add(fmt.Sprintf("makeup_days[%d].date", i), "must be a date YYYY-MM-DD")
		}
		n.MakeupDays = append(n.MakeupDays, calendar.MakeupDay{Date: d, Name: m.GetName()})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	notice, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encoding notice: %w", err)
	}
	row := ledger.CalendarVersion{
		Year: n.Year, RequestID: req.GetRequestId(), DocNumber: n.DocNumber,
		Notice: notice, Note: req.GetNote(), LoadedBy: who,
	}
	if n.DocDate != nil {
		t := time.Date(n.DocDate.Year, n.DocDate.Month, n.DocDate.Day, 0, 0, 0, 0, time.UTC)
		row.DocDate = &t
	}
	saved, created, err := s.Ledger.InsertCalendarVersion(ctx, row, req.ExpectedVersion)
	if err != nil {
		return nil, err
	}
	if created {
		logging.Ctx(ctx, s.Log).Info("calendar version loaded", zap.Int64("version", saved.ID), zap.Int("year", saved.Year), zap.String("doc_number", saved.DocNumber))
	}
	if s.OnLoad != nil {
		// Also on a retry: the first attempt may have failed after saving.
		if err := s.OnLoad(ctx, saved); err != nil {
			return nil, fmt.Errorf("re-dating running deadlines for calendar version %d: %w", saved.ID, err)
		}
	}
	return versionProto(saved, i18n.FromContext(ctx)), nil
}

// ListCalendarVersions lists loaded versions, newest first.
func (s *CalendarServer) ListCalendarVersions(ctx context.Context, req *xunchav1.ListCalendarVersionsRequest) (*xunchav1.ListCalendarVersionsResponse, error) {
	if req.GetYear() != 0 {
		if err := validYear(req.GetYear()); err != nil {
			return nil, err
		}
	}
	versions, err := s.Ledger.CalendarVersions(ctx, int(req.GetYear()))
	if err != nil {
		return nil, err
	}
	out := &xunchav1.ListCalendarVersionsResponse{}
	for _, v := range versions {
		out.Versions = append(out.Versions, versionProto(v, i18n.FromContext(ctx)))
	}
	return out, nil
}

func versionProto(v ledger.CalendarVersion, lang i18n.Lang) *xunchav1.CalendarVersion {
	label := calendar.Version{ID: v.ID, Year: v.Year, Label: ledger.VersionLabel(v.ID)}.LabelIn(lang)
	out := &xunchav1.CalendarVersion{
		Id: v.ID, Year: int32(v.Year), Label: label, DocNumber: v.DocNumber,
		Note: v.Note, LoadTime: timestamppb.New(v.LoadedAt), LoadedBy: actorProto(v.LoadedBy),
	}
	if v.DocDate != nil {
		out.DocDate = v.DocDate.Format("2006-01-02")
	}
	return out
}
