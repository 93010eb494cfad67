package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/internal/limit"
	"github.com/xuncha/xuncha/internal/logging"
	"github.com/xuncha/xuncha/ledger"
	"github.com/xuncha/xuncha/problemlist"
	xunchav1 "github.com/xuncha/xuncha/proto/xuncha/v1"
	"github.com/xuncha/xuncha/workflows"
)

// Defaults of the problem list's import (Server.Import).
const (
	// DefaultMaxImportBytes is the largest workbook an import takes: 32 MiB.
	DefaultMaxImportBytes int64 = 32 << 20
	// DefaultImportConcurrency is how many findings' workflows an import
	// starts at a time, once the ledger holds its rows.
	DefaultImportConcurrency = 16
)

// ImportConfig bounds the problem list's import; zero fields take the
// defaults.
type ImportConfig struct {
	// MaxBytes is the largest upload (default DefaultMaxImportBytes).
	MaxBytes int64
	// Limits bound the workbook's rows and unpacked size (default
	// problemlist.DefaultMaxRows, DefaultMaxUnzipBytes).
	Limits problemlist.Limits
	// Concurrency is how many findings' workflows are started at a time
	// after the rows are recorded (default DefaultImportConcurrency).
	Concurrency int
	// CommitWait bounds how long the import's workflow waits for the word
	// that the ledger transaction ended before it reads the ledger anyway
	// (default workflows.DefaultImportCommitWait, 10 minutes).
	CommitWait time.Duration
}

func (c ImportConfig) maxBytes() int64 { return limit.Or(c.MaxBytes, DefaultMaxImportBytes) }

func (c ImportConfig) concurrency() int { return limit.Or(c.Concurrency, DefaultImportConcurrency) }

// importHandler serves the problem list's way in (issue 13 item 3), plain
// HTTP beside the gateway as the export is, because it takes a file:
//
//	GET  /v1/findings:template                          the empty list to fill in
//	POST /v1/inspections/{inspection_id}/findings:import[?partial=true]
//	     body: the workbook (.xlsx), in the export's layout
//
// Every row is checked before anything is recorded: the cells
// (problemlist.ReadWorkbook), the input boundary and the finding's rules
// (checkRequest and findingOf, as RecordFinding checks a request) and the
// evidence named. The route is authorized as RecordFinding is (the
// authorization table's row, the scope). Then every valid row is written to
// the ledger in one transaction, the recording window checked in it, and
// the findings' workflows are started after it by the import's workflow
// (record).
type importHandler struct {
	ledger *ledger.Store
	// temporal starts the import's workflow (workflows.FindingImportWorkflow)
	// on taskQueue.
	temporal  client.Client
	taskQueue string
	config    ImportConfig
	// guard is the evidence endpoints' (evidenceHandler), with its own log.
	guard
}

func (h *importHandler) register(mux *http.ServeMux) {
	h.guard.registerImport(mux, FindingsTemplate, problemlist.WriteTemplate, "findings-template.xlsx", "问题清单导入模板.xlsx",
		FindingsImport, h.importList)
}

// serveTemplate writes an empty import workbook (write's), named name (and
// nameZH for clients that read RFC 5987 names).
func serveTemplate(w http.ResponseWriter, r *http.Request, fail func(w http.ResponseWriter, r *http.Request, err error),
	write func(io.Writer) error, name, nameZH string,
) {
	if len(r.URL.Query()) > 0 {
		fail(w, r, derrors.Invalid(firstKey(r.URL.Query()), "is not a parameter: the template takes none"))
		return
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		fail(w, r, err)
		return
	}
	attachment(w, name, nameZH)
	w.Header().Set("Content-Type", xlsxType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = buf.WriteTo(w)
}

// readWorkbook reads an import's workbook, the request body, within the
// configured size.
func (c ImportConfig) readWorkbook(r *http.Request) ([]byte, error) {
	maxBytes := c.maxBytes()
	if r.ContentLength > maxBytes {
		return nil, derrors.Invalid("file", "must be at most %d bytes: split the list", maxBytes)
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, derrors.Invalid("file", "must be at most %d bytes: split the list", maxBytes)
	case err != nil:
		return nil, fmt.Errorf("receiving the workbook: %w", err)
	case len(data) == 0:
		return nil, derrors.Invalid("file", "must not be empty: send the workbook (.xlsx) as the request body")
	}
	return data, nil
}

// importProblems are a sheet's invalid cells as a partial import reports
// them, each rule in the caller's language.
func importProblems(r *http.Request, problems []problemlist.Problem) []ImportProblem {
	lang := requestLang(r)
	out := make([]ImportProblem, 0, len(problems))
	for _, p := range problems {
		out = append(out, ImportProblem{Row: p.Row, Cell: p.Cell, Column: p.Header, Rule: i18n.Text{EN: p.Rule, ZH: p.RuleZH}.In(lang)})
	}
	return out
}

// xlsxType is a workbook's media type.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// attachment makes the answer a download named name (ASCII) or, for
// those who keep it, chinese.
func attachment(w http.ResponseWriter, name, chinese string) {
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, name, url.PathEscape(chinese)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
}

func firstKey(q url.Values) string {
	for k := range q {
		return k
	}
	return ""
}

// SheetReport is what the answer to a workbook's import says of its
// sheet; its fields stand in the answer's own (ImportReport,
// ExpertImportReport).
type SheetReport struct {
	// Sheet is the worksheet read.
	Sheet string `json:"sheet"`
	// Rows counts the rows read (empty rows are passed over).
	Rows int `json:"rows"`
	// Recorded counts the rows this import recorded (findings, people),
	// AlreadyRecorded the rows an earlier import (or request) had
	// recorded, Skipped the invalid rows left out (partial=true only).
	Recorded        int `json:"recorded"`
	AlreadyRecorded int `json:"already_recorded"`
	Skipped         int `json:"skipped"`
	// Problems are the invalid cells (partial=true only: otherwise they
	// refuse the whole import).
	Problems []ImportProblem `json:"problems"`
}

// ImportReport is the answer to an import: what each row came to.
type ImportReport struct {
	InspectionID string `json:"inspection_id"`
	SheetReport
	// Findings are the rows' findings, in row order.
	Findings []ImportedFinding `json:"findings"`
	// ImportWorkflowID is the workflow that starts the findings' workflows
	// after the ledger holds them (workflows.FindingImportWorkflow); ""
	// when no row was to be recorded (none valid, or every one a finding
	// already by its 问题编号).
	ImportWorkflowID string `json:"import_workflow_id"`
}

// ImportProblem is an invalid cell.
type ImportProblem struct {
	Row    int    `json:"row"`
	Cell   string `json:"cell"`
	Column string `json:"column"`
	Rule   string `json:"rule"`
}

// ImportedFinding is a row's finding.
type ImportedFinding struct {
	Row          int    `json:"row"`
	ID           string `json:"id"`
	LedgerNumber string `json:"ledger_number"`
	RequestID    string `json:"request_id"`
	// Created is false for a finding an earlier import had recorded.
	Created bool `json:"created"`
}

// importList checks the workbook and records its rows. A client that
// accepts application/x-ndjson is told the progress while the rows are
// recorded: a line {"progress":{"done":0,"total":m}} as the transaction
// starts and {"progress":{"done":m,"total":m}} once it has committed (a
// progress line is written at most every progressEvery unless it is the
// last), then {"report":…} or, for a refusal after the
// first line, {"error":…} (the status as the gateway writes errors). A
// refusal before any row is recorded is answered as any error.
func (h *importHandler) importList(w http.ResponseWriter, r *http.Request) {
	var progress func(done, total int)
	var stream *progressStream
	if strings.Contains(r.Header.Get("Accept"), ndjsonType) {
		stream = &progressStream{w: w}
		progress = stream.progress
	}
	report, err := h.run(r, progress)
	switch {
	case stream != nil && stream.started:
		if err != nil {
			st := toStatus(err, logging.Ctx(r.Context(), h.log), requestLang(r))
			line, merr := protojson.MarshalOptions{UseProtoNames: true}.Marshal(st.Proto())
			if merr != nil {
				line = []byte(`{"code":13,"message":"internal error"}`)
			}
			stream.line(append(append([]byte(`{"error":`), line...), '}'))
			return
		}
		data, _ := json.Marshal(map[string]any{"report": report})
		stream.line(data)
	case err != nil:
		h.fail(w, r, err)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(report)
	}
}

// ndjsonType is the media type of the import's progress lines.
const ndjsonType = "application/x-ndjson"

// progressEvery is how often at most a progress line is written.
const progressEvery = 250 * time.Millisecond

// progressStream writes the import's progress lines.
type progressStream struct {
	w       http.ResponseWriter
	mu      sync.Mutex
	started bool
	last    time.Time
}

func (p *progressStream) progress(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started && done < total && time.Since(p.last) < progressEvery {
		return
	}
	p.last = time.Now()
	data, _ := json.Marshal(map[string]any{"progress": map[string]int{"done": done, "total": total}})
	p.lineLocked(data)
}

func (p *progressStream) line(data []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lineLocked(data)
}

func (p *progressStream) lineLocked(data []byte) {
	if !p.started {
		p.started = true
		p.w.Header().Set("Content-Type", ndjsonType)
		p.w.Header().Set("Cache-Control", "no-store")
		p.w.WriteHeader(http.StatusOK)
	}
	_, _ = p.w.Write(append(data, '\n'))
	if f, ok := p.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (h *importHandler) run(r *http.Request, progress func(done, total int)) (*ImportReport, error) {
	ctx := r.Context()
	start := time.Now()
	who, err := actor.Require(ctx)
	if err != nil {
		return nil, err
	}
	inspectionID := r.PathValue("inspection_id")
	// Out of reach is not found, before anything about the file.
	if who, err = reachAs(ctx, h.ledger, who, casework.SubjectInspection, inspectionID, func(as actor.Actor) error {
		return workflows.FindingMachine.CheckRole("record", as)
	}); err != nil {
		return nil, err
	}
	ins, err := h.ledger.GetInspection(ctx, inspectionID)
	if err != nil {
		return nil, err
	}
	partial, sheet, err := readUpload(r, h.config, problemlist.ReadWorkbook, "sheet %s holds no finding below its header row")
	if err != nil {
		return nil, err
	}
	sheet.CheckRepeats(func(d problemlist.Draft) string { return d.Identity(ins.ID) }, "title")
	requests, err := h.check(ctx, sheet, ins, who)
	if err != nil {
		return nil, err
	}
	existing, err := h.numbered(ctx, sheet, ins.ID)
	if err != nil {
		return nil, err
	}
	report := &ImportReport{InspectionID: ins.ID, SheetReport: SheetReport{Sheet: sheet.Name, Rows: len(sheet.Drafts), Problems: []ImportProblem{}},
		Findings: []ImportedFinding{}}
	if err := sheet.Err(); err != nil {
		if !partial {
			return nil, refusedWorkbook(err, len(sheet.Problems))
		}
		report.Problems = importProblems(r, sheet.Problems)
	}
	var valid []*xunchav1.RecordFindingRequest
	var rows []int
	for i, d := range sheet.Drafts {
		if sheet.Invalid(d.Row) {
			report.Skipped++
			continue
		}
		if _, ok := existing[d.Row]; ok {
			continue // a finding already: answered below, recorded again never
		}
		valid = append(valid, requests[i])
		rows = append(rows, d.Row)
	}
	found, workflowID, err := h.record(ctx, valid, rows, ins, who, progress)
	for _, f := range existing {
		found = append(found, f)
	}
	slices.SortFunc(found, func(a, b ImportedFinding) int { return a.Row - b.Row })
	report.ImportWorkflowID = workflowID
	for _, f := range found {
		if f.ID == "" {
			continue
		}
		if f.Created {
			report.Recorded++
		} else {
			report.AlreadyRecorded++
		}
		report.Findings = append(report.Findings, f)
	}
	logging.Ctx(ctx, h.log).Info("problem list imported", zap.String("inspection", ins.ID), zap.Int("rows", report.Rows),
		zap.Int("recorded", report.Recorded), zap.Int("already_recorded", report.AlreadyRecorded), zap.Int("skipped", report.Skipped),
		zap.Duration("took", time.Since(start)), zap.Error(err))
	if err != nil {
		return nil, err
	}
	return report, nil
}

// numbered finds the rows that name a finding of this inspection by its
// ledger number (问题编号, as the export writes it): such a row is that
// finding, already recorded, and answers with it whatever else it says
// (its cells' problems are forgotten: it is not recorded; a second row of
// the same number is refused, being another problem copied). A
// number of another inspection's finding, or of none, is passed over: the
// row is a new finding (a list exported from one inspection is imported
// as another's). A list exported, added to and imported again into the
// same inspection recorded every exported row anew, the closed and the
// withdrawn as LISTED: the rows' content digest knows only rows an import
// recorded.
func (h *importHandler) numbered(ctx context.Context, sheet *problemlist.Sheet, inspectionID string) (map[int]ImportedFinding, error) {
	var numbers []string
	for _, d := range sheet.Drafts {
		if d.LedgerNumber != "" {
			numbers = append(numbers, d.LedgerNumber)
		}
	}
	byNumber, err := h.ledger.FindingsByLedgerNumber(ctx, numbers)
	if err != nil {
		return nil, err
	}
	out := map[int]ImportedFinding{}
	first := map[string]int{}
	for _, d := range sheet.Drafts {
		f, ok := byNumber[d.LedgerNumber]
		if !ok || d.LedgerNumber == "" || f.InspectionID != inspectionID {
			continue
		}
		// A second row of one number is another problem copied from an
		// exported row, its number kept: it was answered as that finding,
		// and the new problem lost.
		if row, seen := first[d.LedgerNumber]; seen {
			sheet.RefuseText(d.Row, "ledger_number", i18n.T(
				"repeats the 问题编号 of row %d: a new finding's row leaves it empty", row))
			continue
		}
		first[d.LedgerNumber] = d.Row
		// That finding, whatever else the row says: not refused for it.
		sheet.Forget(d.Row)
		out[d.Row] = ImportedFinding{Row: d.Row, ID: f.ID, LedgerNumber: d.LedgerNumber, RequestID: f.RequestID}
	}
	return out, nil
}

// refusedWorkbook is the refusal of a workbook with invalid cells (err,
// the sheet's; problems of them): it opens by saying, in each language,
// that nothing was recorded and how the valid rows would be. The opening
// was English only, and a Chinese clerk was never told.
func refusedWorkbook(err error, problems int) error {
	var invalid *derrors.InvalidError
	if errors.As(err, &invalid) {
		return invalid.Summarized(i18n.T("the workbook has %d invalid cell(s); nothing was recorded (with ?partial=true the valid rows are)", problems))
	}
	return err
}

// importQuery reads the import's one parameter, partial.
func importQuery(q url.Values) (partial bool, err error) {
	var v derrors.Violations
	for k, vs := range q {
		switch {
		case k != "partial":
			v.Add(k, "is not a parameter of the import: it takes partial")
		case len(vs) > 1:
			v.Add(k, "must be given once")
		}
	}
	if p := q.Get("partial"); p != "" {
		if partial, err = strconv.ParseBool(p); err != nil {
			v.Add("partial", "must be true or false")
		}
	}
	return partial, v.Err()
}

// workbookSlots bounds how many workbooks this process unpacks and reads
// at once (the problem list's and the pool's imports together): each may
// hold up to problemlist.DefaultMaxInMemoryBytes of its parts, and more
// while excelize reads them. Others wait for a slot while their request
// lasts.
var workbookSlots = make(chan struct{}, 2)

// readUpload reads an upload's query (partial, importQuery) and its
// workbook (readWorkbook), then the sheet with read; a sheet without rows
// is refused, empty saying so (a format with the sheet's name).
func readUpload[D any](r *http.Request, config ImportConfig, read func(io.Reader, problemlist.Limits) (*problemlist.Table[D], error),
	empty string,
) (partial bool, sheet *problemlist.Table[D], err error) {
	if partial, err = importQuery(r.URL.Query()); err != nil {
		return false, nil, err
	}
	data, err := config.readWorkbook(r)
	if err != nil {
		return false, nil, err
	}
	select {
	case workbookSlots <- struct{}{}:
		defer func() { <-workbookSlots }()
	case <-r.Context().Done():
		return false, nil, derrors.New(derrors.ErrUnavailable, "other workbooks are being read: send the file again in a moment")
	}
	if sheet, err = read(bytes.NewReader(data), config.Limits); err != nil {
		return false, nil, err
	}
	if len(sheet.Drafts) == 0 {
		return false, nil, derrors.Invalid("file", empty, sheet.Name)
	}
	return partial, sheet, nil
}

// check builds each draft's RecordFindingRequest and checks it as
// RecordFinding will, naming the cells of what it breaks: the input
// boundary (checkRequest), the finding's rules (findingOf) and the
// evidence, which must exist (one ledger read for the whole list).
func (h *importHandler) check(ctx context.Context, sheet *problemlist.Sheet, ins casework.Inspection, who actor.Actor) ([]*xunchav1.RecordFindingRequest, error) {
	requests := make([]*xunchav1.RecordFindingRequest, len(sheet.Drafts))
	var evidence []string
	seen := map[string]bool{}
	for i, d := range sheet.Drafts {
		req := &xunchav1.RecordFindingRequest{
			InspectionId:         ins.ID,
			RequestId:            d.Identity(ins.ID),
			Title:                d.Title,
			Description:          d.Description,
			Kind:                 xunchav1.Finding_Kind(xunchav1.Finding_Kind_value[d.Kind]),
			Severity:             xunchav1.Finding_Severity(xunchav1.Finding_Severity_value[d.Severity]),
			Important:            d.Important,
			ContentArea:          int32(d.ContentArea),
			EvidenceIds:          d.EvidenceIDs,
			RectificationOpinion: d.RectificationOpinion,
		}
		requests[i] = req
		_, invalidFinding := findingOf(req, ins, who)
		for _, err := range []error{checkRequest(req), invalidFinding} {
			var invalid *derrors.InvalidError
			switch {
			case errors.As(err, &invalid):
				for _, fv := range invalid.Violations {
					sheet.RefuseText(d.Row, fv.Field, i18n.Text{EN: fv.Rule, ZH: fv.RuleZH})
				}
			case err != nil:
				return nil, err
			}
		}
		for _, id := range d.EvidenceIDs {
			if !seen[id] {
				seen[id] = true
				evidence = append(evidence, id)
			}
		}
	}
	if len(evidence) == 0 {
		return requests, nil
	}
	missing, err := unnameableEvidence(ctx, h.ledger, evidence)
	if err != nil || len(missing) == 0 {
		return requests, err
	}
	for _, d := range sheet.Drafts {
		for _, fv := range missingEvidence("evidence_ids", d.EvidenceIDs, missing) {
			sheet.RefuseText(d.Row, fv.Field, i18n.Text{EN: fv.Rule, ZH: fv.RuleZH})
		}
	}
	return requests, nil
}

// record writes the valid rows to the ledger in one transaction
// (ledger.Store.ImportFindings: numbered in row order, LISTED, the
// recording window checked in the same transaction) and has their
// workflows started after it, durably: the import's workflow
// (workflows.FindingImportWorkflow, one per inspection and list) is started
// before the transaction and told when it has ended; its activity starts
// each finding's workflow, which adopts the ledger row. A refused row
// refuses the whole upload: nothing of it is recorded. It returns each
// row's finding and the import workflow's ID.
func (h *importHandler) record(ctx context.Context, requests []*xunchav1.RecordFindingRequest, rows []int, ins casework.Inspection,
	who actor.Actor, progress func(done, total int)) ([]ImportedFinding, string, error) {
	if progress == nil {
		progress = func(int, int) {}
	}
	progress(0, len(requests))
	if len(requests) == 0 {
		return nil, "", nil
	}
	findings := make([]casework.Finding, len(requests))
	ids := make([]string, len(requests))
	digest := sha256.New()
	for i, req := range requests {
		f, err := findingOf(req, ins, who)
		if err != nil {
			return nil, "", err // checked already: not expected
		}
		f.ID = generatedID("f", "inspections/"+ins.ID, req.GetRequestId())
		f.WorkflowID = workflows.FindingWorkflowID(f.ID)
		findings[i], ids[i] = f, f.ID
		digest.Write([]byte(f.ID + "\n"))
	}
	workflowID := workflows.FindingImportWorkflowID(ins.ID, hex.EncodeToString(digest.Sum(nil)[:12]))
	// Started before the transaction, so that whatever the transaction
	// commits has its starter, whatever happens to this process after.
	if _, err := h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                h.taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:            i18n.Zh("%d findings imported into inspection %s", len(ids), ins.ID),
	}, workflows.FindingImportWorkflowName, workflows.FindingImportInput{
		InspectionID: ins.ID, FindingIDs: ids, CommitWait: h.config.CommitWait, Concurrency: h.config.concurrency(),
	}); err != nil {
		return nil, "", fmt.Errorf("starting the import's workflow %s: %w", workflowID, derrors.FromTemporal(err))
	}
	imported, err := h.ledger.ImportFindings(ctx, ledger.FindingImport{
		InspectionID: ins.ID, UnitCode: ins.UnitCode, UnitName: ins.UnitName, FoundBy: who, Findings: findings,
		InspectionStages: workflows.FindingRecordingStages, At: time.Now(),
	})
	// The transaction has ended, committed or not: the starter may read
	// the ledger now. Without this word it reads it after CommitWait.
	if serr := h.temporal.SignalWorkflow(context.WithoutCancel(ctx), workflowID, "", workflows.SignalImportCommitted, nil); serr != nil {
		logging.Ctx(ctx, h.log).Warn("import: the starter was not told the transaction ended; it reads the ledger after its wait",
			zap.String("workflow", workflowID), zap.Error(serr))
	}
	if err != nil {
		var rowErr *ledger.RowError
		if errors.As(err, &rowErr) && rowErr.Index < len(rows) {
			return nil, "", rowRefusal(rows[rowErr.Index], len(requests), rowErr.Err)
		}
		return nil, "", err
	}
	out := make([]ImportedFinding, len(imported))
	for i, r := range imported {
		out[i] = ImportedFinding{Row: rows[i], ID: r.ID, LedgerNumber: r.LedgerNumber, RequestID: requests[i].GetRequestId(), Created: r.Created}
	}
	progress(len(requests), len(requests))
	return out, workflowID, nil
}

// rowRefusal is the refusal of a whole upload for one row's sake, naming
// the row, with the refusal's kind and details (a stage error's reason and
// stages).
func rowRefusal(row, total int, err error) error {
	var stage *derrors.StageError
	if errors.As(err, &stage) {
		out := *stage
		out.Message = fmt.Sprintf("row %d: %s; %d of %d rows were recorded before it stopped (nothing of this upload was: upload the same file again once this is resolved, a row recorded is never recorded twice)",
			row, stage.In(i18n.English), 0, total)
		out.MessageZH = i18n.Zh("row %d: %s; %d of %d rows were recorded before it stopped (nothing of this upload was: upload the same file again once this is resolved, a row recorded is never recorded twice)",
			row, stage.In(i18n.Chinese), 0, total)
		return &out
	}
	for _, kind := range []error{derrors.ErrAlreadyExists, derrors.ErrInvalidArgument, derrors.ErrNotFound} {
		if errors.Is(err, kind) {
			return derrors.New(kind, "row %d: %s; nothing of this upload was recorded", row, err.Error())
		}
	}
	return fmt.Errorf("row %d: %w", row, err)
}

// hasReason reports whether a status carries an ErrorInfo of reason.
func hasReason(st *status.Status, reason string) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == reason {
			return true
		}
	}
	return false
}
