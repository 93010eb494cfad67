package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// The stages an imported finding passes through in its one transaction, as
// a finding workflow records them (workflows.FindingFound, FindingListed;
// the workflows own the full list of stages).
const (
	findingStageFound  = "FOUND"
	findingStageListed = "LISTED"
)

// listedVersion is the version of a row written LISTED at once (an
// import's, RecordListedFinding's): the record and the list, as a finding
// workflow writes them one by one.
const listedVersion = 2

// FindingImport is a problem list to write to the ledger in one transaction
// (Store.ImportFindings).
type FindingImport struct {
	// InspectionID, UnitCode and UnitName are the inspection's, which every
	// finding belongs to.
	InspectionID string
	UnitCode     string
	UnitName     string
	// FoundBy is who imported the list: the findings' recorder.
	FoundBy actor.Actor
	// Findings are the rows in the file's order, each with its ID, workflow
	// ID, request ID and what the team records (title, description, kind,
	// severity, importance, content area, evidence, rectification opinion).
	// What else a Finding holds is the ledger's to set.
	Findings []casework.Finding
	// InspectionStages are the inspection's stages in which findings may be
	// recorded (the recording window); empty checks nothing.
	InspectionStages []string
	// At is the import's instant: the n-th row (from 0) is recorded at At
	// plus n microseconds, so that lists ordered by recording time keep the
	// file's order.
	At time.Time
}

// ImportedRow is what the ledger holds of one row of an import.
type ImportedRow struct {
	ID           string
	LedgerNumber string
	CreatedAt    time.Time
	// Created is true for a row this import wrote, false for one the
	// ledger held already (the same file uploaded again).
	Created bool
}

// RowError is an import's refusal of one row (Index, from 0, in
// FindingImport.Findings): nothing of the import was written.
type RowError struct {
	Index int
	Err   error
}

func (e *RowError) Error() string { return fmt.Sprintf("finding %d of the import: %v", e.Index, e.Err) }

// Unwrap returns the refusal.
func (e *RowError) Unwrap() error { return e.Err }

// errImportRace is a row written by another transaction between the
// import's read of what exists and its insert: the import starts again.
var errImportRace = errors.New("a finding of the import was written meanwhile")

// importAttempts bounds how often an import starts again after another
// writer recorded some of its rows meanwhile (the same file uploaded twice
// at once).
const importAttempts = 3

// ImportFindings writes every new finding of in to the ledger in one
// transaction, as a finding workflow's first steps would one by one: the
// row at stage LISTED with its ledger number, numbered in the rows' order
// from one reservation of the year's and unit's sequence, and its two
// events, "record" (key record/<request_id>) and "list" (list/<request_id>),
// chained per finding. It answers each row in order: a row whose finding
// the ledger holds already (the same request) is answered as it stands and
// written nothing twice.
//
// The recording window is checked in the same transaction, the
// inspection's row read FOR SHARE, when any row is new; a refusal is a
// *RowError naming the first new row, and nothing is written. A finding ID
// that another request holds is a *RowError of derrors.ErrAlreadyExists.
func (s *Store) ImportFindings(ctx context.Context, in FindingImport) ([]ImportedRow, error) {
	ids := make([]string, len(in.Findings))
	seen := make(map[string]bool, len(in.Findings))
	for i, f := range in.Findings {
		if f.ID == "" || f.RequestID == "" || f.WorkflowID == "" {
			return nil, fmt.Errorf("importing a finding needs its ID, request ID and workflow ID: %w", derrors.ErrInvalidArgument)
		}
		if seen[f.ID] {
			return nil, &RowError{Index: i, Err: derrors.Invalid("finding_id", "%q is imported twice", f.ID)}
		}
		seen[f.ID] = true
		ids[i] = f.ID
	}
	found, err := json.Marshal(in.FoundBy)
	if err != nil {
		return nil, fmt.Errorf("encoding found_by: %w", err)
	}
	for attempt := 1; ; attempt++ {
		var out []ImportedRow
		err := s.inTx(ctx, func(q *dbsqlc.Queries) error {
			var err error
			out, err = s.importFindings(ctx, q, in, ids, found)
			return err
		})
		if errors.Is(err, errImportRace) && attempt < importAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

func (s *Store) importFindings(ctx context.Context, q *dbsqlc.Queries, in FindingImport, ids []string, foundBy []byte) ([]ImportedRow, error) {
	ins, err := q.InspectionStageForShare(ctx, in.InspectionID)
	if err != nil {
		return nil, notFound(err, "inspection", in.InspectionID)
	}
	held, err := q.FindingsRecordedOf(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading the findings already recorded: %w", err)
	}
	byID := make(map[string]dbsqlc.FindingsRecordedOfRow, len(held))
	for _, h := range held {
		byID[h.ID] = h
	}
	out := make([]ImportedRow, len(in.Findings))
	var fresh []int // indexes of the rows to write
	for i, f := range in.Findings {
		h, ok := byID[f.ID]
		switch {
		case !ok:
			fresh = append(fresh, i)
		case h.RequestID != f.RequestID:
			return nil, &RowError{Index: i, Err: derrors.New(derrors.ErrAlreadyExists,
				"finding %q already exists, recorded by another request", f.ID)}
		default:
			out[i] = ImportedRow{ID: f.ID, LedgerNumber: orZero(h.LedgerNumber), CreatedAt: h.CreatedAt.UTC()}
		}
	}
	if len(fresh) == 0 {
		return out, nil
	}
	if len(in.InspectionStages) > 0 && !slices.Contains(in.InspectionStages, ins.Stage) {
		return nil, &RowError{Index: fresh[0], Err: outsideRecordingWindow(in.InspectionID, ins.WorkflowID, ins.Stage, in.InspectionStages)}
	}

	// Numbers: one reservation per year (of the recording instant, in
	// Asia/Shanghai) for the new rows, given in the rows' order.
	at := in.At.UTC().Truncate(time.Microsecond)
	created := make([]time.Time, len(fresh))
	perYear := map[int]int{}
	var years []int
	for k, i := range fresh {
		created[k] = at.Add(time.Duration(i) * time.Microsecond)
		y := created[k].In(calendar.Location()).Year()
		if perYear[y] == 0 {
			years = append(years, y)
		}
		perYear[y]++
	}
	next := map[int]int{}
	for _, y := range years {
		last, err := q.ReserveLedgerNumbers(ctx, dbsqlc.ReserveLedgerNumbersParams{Year: y, UnitCode: in.UnitCode, N: perYear[y]})
		if err != nil {
			return nil, fmt.Errorf("numbering %d findings of %d: %w", perYear[y], y, err)
		}
		next[y] = last - perYear[y] + 1
	}

	p := dbsqlc.InsertImportedFindingsParams{
		InspectionID: in.InspectionID, UnitCode: in.UnitCode, UnitName: in.UnitName, Stage: findingStageListed,
		FoundBy: foundBy, Version: listedVersion,
	}
	var events []casework.Event
	for k, i := range fresh {
		f := in.Findings[i]
		y := created[k].In(calendar.Location()).Year()
		number := LedgerNumber(y, in.UnitCode, next[y])
		next[y]++
		evidence, err := json.Marshal(orEmpty(f.EvidenceIDs))
		if err != nil {
			return nil, fmt.Errorf("encoding evidence of finding %q: %w", f.ID, err)
		}
		p.Ids = append(p.Ids, f.ID)
		p.WorkflowIds = append(p.WorkflowIds, f.WorkflowID)
		p.RequestIds = append(p.RequestIds, f.RequestID)
		p.LedgerNumbers = append(p.LedgerNumbers, number)
		p.Titles = append(p.Titles, f.Title)
		p.Descriptions = append(p.Descriptions, f.Description)
		p.Kinds = append(p.Kinds, f.Kind)
		p.Severities = append(p.Severities, f.Severity)
		p.Importants = append(p.Importants, f.Important)
		p.ContentAreas = append(p.ContentAreas, f.ContentArea)
		p.EvidenceIDs = append(p.EvidenceIDs, string(evidence))
		p.RectificationOpinions = append(p.RectificationOpinions, f.RectificationOpinion)
		p.CreatedAts = append(p.CreatedAts, created[k])
		out[i] = ImportedRow{ID: f.ID, LedgerNumber: number, CreatedAt: created[k], Created: true}

		data, err := json.Marshal(map[string]any{
			"ledger_number": number, "inspection_id": in.InspectionID, "kind": f.Kind, "severity": f.Severity, "important": f.Important,
		})
		if err != nil {
			return nil, fmt.Errorf("encoding event data: %w", err)
		}
		events = append(events,
			casework.Event{SubjectType: casework.SubjectFinding, SubjectID: f.ID, Key: "record/" + f.RequestID, Action: "record",
				StageAfter: findingStageFound, Actor: in.FoundBy, Evidence: evidence, Data: data, OccurredAt: created[k]},
			listEvent(casework.Finding{Lifecycle: casework.Lifecycle{ID: f.ID, RequestID: f.RequestID, CreatedAt: created[k]}}, number))
	}
	n, err := q.InsertImportedFindings(ctx, p)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == pgUniqueViolation {
			// Not the ID (ON CONFLICT covers it): a workflow ID or a
			// ledger number another finding has, written meanwhile.
			return nil, errImportRace
		}
		return nil, fmt.Errorf("inserting %d findings: %w", len(fresh), err)
	}
	if n != int64(len(fresh)) {
		return nil, errImportRace
	}
	if err := s.appendEvents(ctx, q, events); err != nil {
		return nil, err
	}
	return out, nil
}

// appendEvents writes events in q's transaction, chained as appendEvent
// chains one, in a few statements whatever their number: the heads of
// their subjects locked at once, the events prepared, hashed in order and
// inserted together, the heads moved. Every key must be new: a key already
// used fails the transaction (an import writes events of new findings
// only).
func (s *Store) appendEvents(ctx context.Context, q *dbsqlc.Queries, events []casework.Event) error {
	if len(events) == 0 {
		return nil
	}
	var keys []chainKey
	seen := map[chainKey]bool{}
	prep := dbsqlc.PrepareEventsParams{}
	for _, e := range events {
		k := chainKey{e.SubjectType, e.SubjectID}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		actorJSON, evidence, data, err := eventColumns(e)
		if err != nil {
			return err
		}
		prep.OccurredAts = append(prep.OccurredAts, e.OccurredAt)
		prep.Actors = append(prep.Actors, string(actorJSON))
		prep.Evidence = append(prep.Evidence, string(evidence))
		prep.Data = append(prep.Data, string(data))
	}
	lock := dbsqlc.LockChainHeadsParams{}
	for _, k := range keys {
		lock.SubjectTypes = append(lock.SubjectTypes, k.typ)
		lock.SubjectIds = append(lock.SubjectIds, k.id)
	}
	locked, err := q.LockChainHeads(ctx, lock)
	if err != nil {
		return fmt.Errorf("locking the audit chains of %d subjects: %w", len(keys), err)
	}
	heads := make(map[chainKey]chainHead, len(locked))
	for _, h := range locked {
		heads[chainKey{h.SubjectType, h.SubjectID}] = chainHead{seq: h.Seq, hash: h.Hash}
	}
	prepared, err := q.PrepareEvents(ctx, prep)
	if err != nil {
		return fmt.Errorf("preparing %d events: %w", len(events), err)
	}
	if len(prepared) != len(events) {
		return fmt.Errorf("preparing %d events: %d came back", len(events), len(prepared))
	}
	// IDs in the events' order, whatever order the sequence gave them in.
	ids := make([]int64, len(prepared))
	for i, p := range prepared {
		ids[i] = p.ID
	}
	slices.Sort(ids)
	alg := s.AuditHash.orDefault()
	algName := string(alg)
	ins := dbsqlc.InsertEventsParams{HashAlg: algName}
	for i, p := range prepared {
		if p.N != int64(i+1) {
			return fmt.Errorf("preparing %d events: event %d came back as %d", len(events), i+1, p.N)
		}
		e := events[i]
		k := chainKey{e.SubjectType, e.SubjectID}
		head := heads[k]
		c := eventContent{
			ID: ids[i], SubjectType: e.SubjectType, SubjectID: e.SubjectID, Seq: head.seq + 1, Key: e.Key, Action: e.Action,
			StageBefore: e.StageBefore, StageAfter: e.StageAfter, Actor: p.Actor, Note: e.Note, Evidence: p.Evidence,
			Data: p.Data, OccurredAt: p.OccurredAt, RecordedAt: p.RecordedAt, PrevHash: nonNilBytes(head.hash),
		}
		sum, err := c.hash(alg)
		if err != nil {
			return fmt.Errorf("appending %s event %q of %s %q: %w", e.Action, e.Key, e.SubjectType, e.SubjectID, err)
		}
		heads[k] = chainHead{seq: c.Seq, hash: sum}
		ins.Ids = append(ins.Ids, c.ID)
		ins.SubjectTypes = append(ins.SubjectTypes, c.SubjectType)
		ins.SubjectIds = append(ins.SubjectIds, c.SubjectID)
		ins.EventKeys = append(ins.EventKeys, c.Key)
		ins.Actions = append(ins.Actions, c.Action)
		ins.StagesBefore = append(ins.StagesBefore, c.StageBefore)
		ins.StagesAfter = append(ins.StagesAfter, c.StageAfter)
		ins.Actors = append(ins.Actors, string(c.Actor))
		ins.Notes = append(ins.Notes, c.Note)
		ins.Evidence = append(ins.Evidence, string(c.Evidence))
		ins.Data = append(ins.Data, string(c.Data))
		ins.OccurredAts = append(ins.OccurredAts, c.OccurredAt)
		ins.RecordedAts = append(ins.RecordedAts, c.RecordedAt)
		ins.Seqs = append(ins.Seqs, c.Seq)
		ins.PrevHashes = append(ins.PrevHashes, c.PrevHash)
		ins.Hashes = append(ins.Hashes, sum)
	}
	n, err := q.InsertEvents(ctx, ins)
	if err != nil {
		return fmt.Errorf("appending %d events: %w", len(events), err)
	}
	if n != int64(len(events)) {
		return fmt.Errorf("appending %d events: %d of their keys were used already", len(events), int64(len(events))-n)
	}
	advance := dbsqlc.AdvanceChainHeadsParams{}
	for _, k := range keys {
		h := heads[k]
		advance.SubjectTypes = append(advance.SubjectTypes, k.typ)
		advance.SubjectIds = append(advance.SubjectIds, k.id)
		advance.Seqs = append(advance.Seqs, h.seq)
		advance.Hashes = append(advance.Hashes, nonNilBytes(h.hash))
	}
	if err := q.AdvanceChainHeads(ctx, advance); err != nil {
		return fmt.Errorf("moving the heads of %d audit chains: %w", len(keys), err)
	}
	return nil
}

// FindingsByID reads the findings among ids that the ledger holds, in the
// order of ids; those it does not hold are left out.
func (s *Store) FindingsByID(ctx context.Context, ids []string) ([]casework.Finding, error) {
	rows, err := s.q.FindingsByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading %d findings: %w", len(ids), err)
	}
	byID := make(map[string]casework.Finding, len(rows))
	for _, r := range rows {
		f, err := findingFromRow(r)
		if err != nil {
			return nil, fmt.Errorf("reading finding %q: %w", r.ID, err)
		}
		byID[f.ID] = f
	}
	out := make([]casework.Finding, 0, len(rows))
	for _, id := range ids {
		if f, ok := byID[id]; ok {
			out = append(out, f)
		}
	}
	return out, nil
}
