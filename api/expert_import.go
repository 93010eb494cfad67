package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/problemlist"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
)

// expertImportHandler serves the expert pool's way in (issue 15 item 1),
// in the layout of the problem list's import and with its machinery
// (problemlist.ReadTable, WriteLayoutTemplate), plain HTTP beside the
// gateway because it takes a file:
//
//	GET  /v1/experts:template                 the empty pool list to fill in
//	POST /v1/experts:import[?partial=true]    body: the workbook (.xlsx)
//
// Every row is checked before anything is recorded: the cells, the input
// boundary and the pool's rules (checkRequest and expertOf, as AddExpert
// checks a request). Then each row is added by AddExpert itself, called
// through the server's own gRPC connection with the caller's token, the
// row's identity (problemlist.ExpertDraft.Identity) as its request_id: the
// authorization table, the input boundary and the idempotency key apply as
// to any AddExpert, so the same file uploaded again adds nobody twice.
type expertImportHandler struct {
	ledger *ledger.Store
	pool   xunchav1.ExpertPoolServiceClient
	config ImportConfig
	// guard is the evidence endpoints' (evidenceHandler), with its own log.
	guard
}

func (h *expertImportHandler) register(mux *http.ServeMux) {
	h.guard.registerImport(mux, ExpertsTemplate, problemlist.WriteExpertTemplate, "experts-template.xlsx", "巡查专家库导入模板.xlsx",
		ExpertsImport, h.importList)
}

// ExpertImportReport is the answer to a pool list's import: what each row
// came to.
type ExpertImportReport struct {
	SheetReport
	// Experts are the rows' people, in row order.
	Experts []ImportedExpert `json:"experts"`
}

// ImportedExpert is a row's person.
type ImportedExpert struct {
	Row       int    `json:"row"`
	ID        string `json:"id"`
	Name      string `json:"name"`
	RequestID string `json:"request_id"`
	// Created is false for a person an earlier import had added.
	Created bool `json:"created"`
}

func (h *expertImportHandler) importList(w http.ResponseWriter, r *http.Request) {
	report, err := h.run(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(report)
}

func (h *expertImportHandler) run(r *http.Request) (*ExpertImportReport, error) {
	ctx := r.Context()
	start := time.Now()
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	partial, sheet, err := readUpload(r, h.config, problemlist.ReadExperts, "sheet %s holds nobody below its header row")
	if err != nil {
		return nil, err
	}
	sheet.CheckRepeats(problemlist.ExpertDraft.Identity, "expert.name")
	requests := h.check(sheet, who, start)
	if err := h.checkSubjects(ctx, sheet, requests); err != nil {
		return nil, err
	}
	report := &ExpertImportReport{SheetReport: SheetReport{Sheet: sheet.Name, Rows: len(sheet.Drafts), Problems: []ImportProblem{}},
		Experts: []ImportedExpert{}}
	if err := sheet.Err(); err != nil {
		if !partial {
			return nil, refusedWorkbook(err, len(sheet.Problems))
		}
		report.Problems = importProblems(r, sheet.Problems)
	}
	md := metadata.Pairs(viaGatewayKey, viaGatewaySecret)
	for _, a := range r.Header.Values("Authorization") {
		md.Append("authorization", a)
	}
	md.Append("accept-language", requestLang(r).String())
	callCtx := metadata.NewOutgoingContext(ctx, md)
	for i, req := range requests {
		row := sheet.Rows[i]
		if sheet.Invalid(row) {
			report.Skipped++
			continue
		}
		x, created, err := h.addOne(callCtx, req)
		if err != nil {
			// The row's refusal, its code and details kept, said with where
			// the import stopped, in the request's language.
			p := status.Convert(err).Proto()
			p.Message = requestLang(r).Say("row %d: %s; %d of %d rows were added before it stopped (upload the same file again to go on: a row added is never added twice)",
				row, p.Message, report.Recorded+report.AlreadyRecorded, len(requests)-report.Skipped)
			return nil, status.ErrorProto(p)
		}
		if created {
			report.Recorded++
		} else {
			report.AlreadyRecorded++
		}
		report.Experts = append(report.Experts, ImportedExpert{Row: row, ID: x.GetId(), Name: x.GetName(), RequestID: req.GetRequestId(),
			Created: created})
	}
	logging.Ctx(ctx, h.log).Info("expert pool imported", zap.Int("rows", report.Rows), zap.Int("recorded", report.Recorded),
		zap.Int("already_recorded", report.AlreadyRecorded), zap.Int("skipped", report.Skipped), zap.Duration("took", time.Since(start)))
	return report, nil
}

// check builds each draft's AddExpertRequest and checks it as AddExpert
// will, naming the cells of what it breaks: the input boundary
// (checkRequest) and the pool's rules (expertOf).
func (h *expertImportHandler) check(sheet *problemlist.ExpertSheet, who actor.Actor, now time.Time) []*xunchav1.AddExpertRequest {
	requests := make([]*xunchav1.AddExpertRequest, len(sheet.Drafts))
	for i, d := range sheet.Drafts {
		e := &xunchav1.Expert{Subject: d.Subject, Name: d.Name, Organisation: d.Organisation, UnitCode: d.UnitCode, Rank: d.Rank,
			Kind: xunchav1.Expert_Kind(xunchav1.Expert_Kind_value[d.Kind]), ContentAreas: int32sOf(d.ContentAreas),
			Sectors: d.Sectors, HomeRegion: d.HomeRegion}
		for _, a := range d.Affiliations {
			e.Affiliations = append(e.Affiliations, &xunchav1.Affiliation{UnitCode: a.UnitCode, FromYear: int32(a.FromYear), ToYear: int32(a.ToYear)})
		}
		req := &xunchav1.AddExpertRequest{RequestId: d.Identity(), Expert: e}
		requests[i] = req
		_, invalidExpert := expertOf(req, who, now)
		for _, err := range []error{checkRequest(req), invalidExpert} {
			var invalid *derrors.InvalidError
			if errors.As(err, &invalid) {
				for _, fv := range invalid.Violations {
					sheet.RefuseText(sheet.Rows[i], fv.Field, i18n.Text{EN: fv.Rule, ZH: fv.RuleZH})
				}
			}
		}
	}
	return requests
}

// checkSubjects refuses, before anyone is added, a 登录标识 (the sign-in
// subject) that two rows give, or that already links another person of
// the pool: AddExpert would refuse that row only after the rows above it
// were added, and the file would be half imported.
func (h *expertImportHandler) checkSubjects(ctx context.Context, sheet *problemlist.ExpertSheet, requests []*xunchav1.AddExpertRequest) error {
	first := map[string]int{}
	for i, d := range sheet.Drafts {
		if d.Subject == "" {
			continue
		}
		if row, ok := first[d.Subject]; ok {
			sheet.RefuseText(sheet.Rows[i], "expert.subject", i18n.T("is the sign-in of row %d too: one person signs in as one subject", row))
			continue
		}
		first[d.Subject] = sheet.Rows[i]
		other, found, err := h.ledger.ExpertOfSubject(ctx, d.Subject)
		if err != nil {
			return err
		}
		if found && other != generatedID("x", "", requests[i].GetRequestId()) {
			sheet.RefuseText(sheet.Rows[i], "expert.subject", i18n.T("is already the sign-in of expert %q of the pool", other))
		}
	}
	return nil
}

// addOne adds one row's person. A row another caller's import added first
// (its request_id is theirs: IDEMPOTENCY_KEY_REUSED) is the same person,
// answered from the ledger.
func (h *expertImportHandler) addOne(ctx context.Context, req *xunchav1.AddExpertRequest) (_ *xunchav1.Expert, created bool, _ error) {
	var header metadata.MD
	x, err := h.pool.AddExpert(ctx, req, grpc.Header(&header))
	if err == nil {
		// Added by this request, or by an earlier or concurrent upload of
		// the same row by this caller (its request_id claimed already).
		return x, len(header.Get(ReplayedHeader)) == 0, nil
	}
	st := status.Convert(err)
	if st.Code() != codes.AlreadyExists || !hasReason(st, reasonKeyReused) {
		return nil, false, err
	}
	// Another caller's upload of the same row holds its key: the person is
	// theirs to add, and is read once it is (a moment, their request being
	// under way when it claimed the key first).
	id := generatedID("x", "", req.GetRequestId())
	for wait := 50 * time.Millisecond; ; wait *= 2 {
		stored, lerr := h.ledger.GetExpert(ctx, id)
		if lerr == nil {
			return expertProto(stored), false, nil
		}
		if !errors.Is(lerr, derrors.ErrNotFound) || wait > 2*time.Second {
			return nil, false, err
		}
		select {
		case <-ctx.Done():
			return nil, false, err
		case <-time.After(wait):
		}
	}
}
