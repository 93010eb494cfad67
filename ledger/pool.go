package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// The inspection expert pool (巡查专家库, issue 15): its people, the
// line-ups drawn from them and the invitations they answer. The draw and
// the team rules are the workflows' (workflows/pool_draw.go); the ledger
// keeps what was drawn and checks, under one lock in the writing
// transaction, that nobody is booked twice for overlapping dates.

// memberStateOf is the line-up member's state an invitation stage leaves.
func memberStateOf(stage string) string {
	switch stage {
	case "ACCEPTED":
		return casework.MemberAccepted
	case "DECLINED", "DECLINE_JUSTIFIED", "DECLINE_UNJUSTIFIED":
		return casework.MemberDeclined
	case "EXPIRED":
		return casework.MemberExpired
	case "WITHDRAWN":
		return casework.MemberWithdrawn
	}
	return casework.MemberInvited
}

// ---- experts ----

// expertFromRow is the pool entry a row holds.
func expertFromRow(r dbsqlc.Expert) (casework.Expert, error) {
	x := casework.Expert{
		ID: r.ID, Name: r.Name, Organisation: r.Organisation, UnitCode: r.UnitCode, Rank: r.Rank, Kind: r.Kind,
		ContentAreas: nilIfEmpty(r.ContentAreas), Sectors: nilIfEmpty(r.Sectors), HomeRegion: r.HomeRegion,
		LeaveReason: r.LeaveReason, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version,
	}
	if r.Subject != nil {
		x.Subject = *r.Subject
	}
	if r.LeftOn != nil {
		x.LeftOn = r.LeftOn.Format(time.DateOnly)
	}
	for _, j := range []struct {
		column string
		b      []byte
		v      any
	}{{"affiliations", r.Affiliations, &x.Affiliations}, {"unavailable", r.Unavailable, &x.Unavailable}, {"created_by", r.CreatedBy, &x.CreatedBy}} {
		if err := json.Unmarshal(j.b, j.v); err != nil {
			return casework.Expert{}, fmt.Errorf("decoding %s of expert %q: %w", j.column, x.ID, err)
		}
	}
	x.Affiliations, x.Unavailable = nilIfEmpty(x.Affiliations), nilIfEmpty(x.Unavailable)
	return x, nil
}

// expertRow is the row of a pool entry, for InsertExpert; UpdateExpert
// takes the columns a change may edit from it.
func expertRow(x casework.Expert) (dbsqlc.InsertExpertParams, error) {
	p := dbsqlc.InsertExpertParams{
		ID: x.ID, Name: x.Name, Organisation: x.Organisation, UnitCode: x.UnitCode, Rank: x.Rank, Kind: x.Kind,
		ContentAreas: orEmpty(x.ContentAreas), Sectors: orEmpty(x.Sectors), HomeRegion: x.HomeRegion,
		LeaveReason: x.LeaveReason, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt, Version: x.Version,
	}
	if x.Subject != "" {
		p.Subject = &x.Subject
	}
	if x.LeftOn != "" {
		d, err := parseDay("left_on", x.LeftOn)
		if err != nil {
			return p, err
		}
		p.LeftOn = &d
	}
	var err error
	if p.Affiliations, err = json.Marshal(orEmpty(x.Affiliations)); err != nil {
		return p, err
	}
	if p.Unavailable, err = json.Marshal(orEmpty(x.Unavailable)); err != nil {
		return p, err
	}
	p.CreatedBy, err = json.Marshal(x.CreatedBy)
	return p, err
}

// ExpertOfSubject returns the ID of the person of the pool whose entry
// links the sign-in subject; found is false when none does.
func (s *Store) ExpertOfSubject(ctx context.Context, subject string) (id string, found bool, err error) {
	id, found, err = optional(s.q.ExpertIDOfSubject(ctx, &subject))
	if err != nil {
		return "", false, fmt.Errorf("reading the expert of subject %q: %w", subject, err)
	}
	return id, found, nil
}

// CreateExpert adds a person to the pool with the event "add". created is
// false when the ID was taken: the stored entry is returned, and the caller
// decides whether it is a retry.
func (s *Store) CreateExpert(ctx context.Context, x casework.Expert, e casework.Event) (_ casework.Expert, created bool, _ error) {
	row, err := expertRow(x)
	if err != nil {
		return casework.Expert{}, false, fmt.Errorf("encoding expert %q: %w", x.ID, err)
	}
	e.SubjectType, e.SubjectID = casework.SubjectExpert, x.ID
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		// The ID first, then the subject (when there is one): every add
		// takes them in that order.
		keys := []string{"id/" + x.ID}
		if x.Subject != "" {
			keys = append(keys, "subject/"+x.Subject)
		}
		for _, key := range keys {
			if err := q.LockExpertKey(ctx, key); err != nil {
				return fmt.Errorf("locking expert %q: %w", x.ID, err)
			}
		}
		if x.Subject != "" {
			other, err := q.ExpertIDOfSubject(ctx, &x.Subject)
			if err == nil && other != x.ID {
				return derrors.New(derrors.ErrAlreadyExists, "subject %q is already linked to expert %q", x.Subject, other)
			}
		}
		n, err := q.InsertExpert(ctx, row)
		if err != nil {
			return fmt.Errorf("inserting expert %q: %w", x.ID, err)
		}
		if created = n == 1; !created {
			return nil
		}
		return s.appendEvent(ctx, q, e)
	})
	if err != nil {
		return casework.Expert{}, false, err
	}
	if created {
		return x, true, nil
	}
	stored, err := s.GetExpert(ctx, x.ID)
	return stored, false, err
}

// GetExpert reads one person of the pool.
func (s *Store) GetExpert(ctx context.Context, id string) (casework.Expert, error) {
	r, err := s.q.GetExpert(ctx, id)
	if err != nil {
		return casework.Expert{}, notFound(err, "expert", id)
	}
	return expertFromRow(r)
}

// ExpertBySubject reads the pool entry linked to a sign-in subject.
func (s *Store) ExpertBySubject(ctx context.Context, subject string) (casework.Expert, error) {
	r, err := s.q.ExpertBySubject(ctx, &subject)
	if err != nil {
		return casework.Expert{}, notFound(err, "expert of subject", subject)
	}
	return expertFromRow(r)
}

// ListExperts lists the pool in ID order, a page at a time; those who left
// only when includeLeft.
func (s *Store) ListExperts(ctx context.Context, includeLeft bool, pageSize int, pageToken string) ([]casework.Expert, string, error) {
	return listPage("experts", pageSize, pageToken, func(_ *time.Time, afterID string, limit int64) ([]dbsqlc.Expert, error) {
		return s.q.ListExperts(ctx, dbsqlc.ListExpertsParams{AfterID: afterID, IncludeLeft: includeLeft, RowLimit: limit})
	}, expertFromRow, func(x casework.Expert) cursor { return cursor{ID: x.ID} })
}

// ChangeExpert changes one entry under its row lock: change edits a copy
// (and may refuse); the row is written with the version one up and the
// event appended in the same transaction. An event key already recorded
// is a retry: nothing is written and the stored entry returned.
func (s *Store) ChangeExpert(ctx context.Context, id string, e casework.Event, change func(*casework.Expert) error) (casework.Expert, error) {
	var out casework.Expert
	e.SubjectType, e.SubjectID = casework.SubjectExpert, id
	err := s.inTx(ctx, func(q *dbsqlc.Queries) error {
		r, err := q.LockExpert(ctx, id)
		if err != nil {
			return notFound(err, "expert", id)
		}
		x, err := expertFromRow(r)
		if err != nil {
			return err
		}
		if done, err := eventRecorded(ctx, q, e); err != nil || done {
			out = x
			return err
		}
		next := x
		next.Affiliations, next.Unavailable = slices.Clone(x.Affiliations), slices.Clone(x.Unavailable)
		if err := change(&next); err != nil {
			return err
		}
		next.Version, next.UpdatedAt = x.Version+1, e.OccurredAt
		row, err := expertRow(next)
		if err != nil {
			return fmt.Errorf("encoding expert %q: %w", id, err)
		}
		if err := q.UpdateExpert(ctx, dbsqlc.UpdateExpertParams{
			ID: row.ID, Subject: row.Subject, Name: row.Name, Organisation: row.Organisation, UnitCode: row.UnitCode,
			Rank: row.Rank, Kind: row.Kind, ContentAreas: row.ContentAreas, Sectors: row.Sectors,
			HomeRegion: row.HomeRegion, Affiliations: row.Affiliations, Unavailable: row.Unavailable,
			LeftOn: row.LeftOn, LeaveReason: row.LeaveReason, UpdatedAt: row.UpdatedAt, Version: row.Version,
		}); err != nil {
			return fmt.Errorf("updating expert %q: %w", id, err)
		}
		out = next
		return s.appendEvent(ctx, q, e)
	})
	return out, err
}

// eventRecorded reports whether e's key is already in its subject's log.
func eventRecorded(ctx context.Context, q *dbsqlc.Queries, e casework.Event) (bool, error) {
	done, err := q.EventKeyRecorded(ctx, dbsqlc.EventKeyRecordedParams{SubjectType: e.SubjectType, SubjectID: e.SubjectID, EventKey: e.Key})
	if err != nil {
		return false, fmt.Errorf("reading events of %s %q: %w", e.SubjectType, e.SubjectID, err)
	}
	return done, nil
}

// lockPoolDraws takes the pool's lock: it serialises the writes that book
// people (a line-up's draw, a swap, a replacement, an inspection's team
// from a line-up), so that the double-booking check sees every booking.
func lockPoolDraws(ctx context.Context, q *dbsqlc.Queries) error {
	if err := q.LockPoolDraws(ctx); err != nil {
		return fmt.Errorf("locking the pool's draws: %w", err)
	}
	return nil
}

// parseDay reads a day (YYYY-MM-DD) the pool stores as a date. The
// workflows check their days before they write (calendar.ParseDate); one
// that still cannot be read is refused as invalid input, a permanent
// refusal (activities.ClassifyLedgerError), as PostgreSQL's own data
// exception was when it parsed the days: a write is never retried for it.
func parseDay(field, s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, derrors.Invalid(field, "must be a date YYYY-MM-DD")
	}
	return d, nil
}

// busyOn reads the bookings overlapping from..to (YYYY-MM-DD), leaving out
// the line-up exceptLineup's own.
func busyOn(ctx context.Context, q *dbsqlc.Queries, from, to, exceptLineup string) ([]casework.Busy, error) {
	what := func(err error) error { return fmt.Errorf("reading bookings from %s to %s: %w", from, to, err) }
	fromDay, err := parseDay("from", from)
	if err != nil {
		return nil, err
	}
	toDay, err := parseDay("to", to)
	if err != nil {
		return nil, err
	}
	rows, err := q.Bookings(ctx, dbsqlc.BookingsParams{FromDay: fromDay, ToDay: toDay, ExceptLineup: exceptLineup})
	if err != nil {
		return nil, what(err)
	}
	busy := make([]casework.Busy, len(rows))
	for i, r := range rows {
		busy[i] = casework.Busy{ExpertID: r.ExpertID, What: r.What,
			From: r.FromDay.Format(time.DateOnly), To: r.ToDay.Format(time.DateOnly)}
	}
	return busy, nil
}

// Candidates reads the pool and the bookings overlapping from..to, leaving
// out the line-up exceptLineup's own.
func (s *Store) Candidates(ctx context.Context, from, to, exceptLineup string) (casework.PoolCandidates, error) {
	rows, err := s.q.AllExperts(ctx)
	if err != nil {
		return casework.PoolCandidates{}, fmt.Errorf("reading the pool: %w", err)
	}
	experts := make([]casework.Expert, len(rows))
	for i, r := range rows {
		if experts[i], err = expertFromRow(r); err != nil {
			return casework.PoolCandidates{}, fmt.Errorf("reading the pool: %w", err)
		}
	}
	busy, err := busyOn(ctx, s.q, from, to, exceptLineup)
	if err != nil {
		return casework.PoolCandidates{}, err
	}
	return casework.PoolCandidates{Experts: experts, Busy: busy}, nil
}

// checkNotBooked refuses a line-up whose active members another line-up or
// an inspection books on overlapping dates: two draws raced, and the
// caller draws again.
func checkNotBooked(ctx context.Context, q *dbsqlc.Queries, l casework.Lineup) error {
	busy, err := busyOn(ctx, q, l.PlannedStart, l.PlannedEnd, l.ID)
	if err != nil {
		return err
	}
	for _, m := range l.Active() {
		for _, b := range busy {
			if b.ExpertID == m.ExpertID {
				return derrors.StageError{Reason: "EXPERT_BOOKED", Subject: "lineup/" + l.ID, Action: "draw", Stage: l.State}.
					Says("%s (%s) was booked on %s from %s to %s while this line-up was drawn; draw again",
						m.Name, m.ExpertID, b.What, b.From, b.To)
			}
		}
	}
	return nil
}

// checkTeamNotBooked refuses a new inspection whose team, typed in rather
// than taken from a line-up, names by sign-in subject a person of the pool
// whom a line-up or another inspection books on overlapping days. A team
// taken from a line-up was checked as it was drawn; a typed one booked the
// person twice, and the line-up that had them could then be neither
// approved (EXPERT_BOOKED) nor changed (COMPLETE). It takes the pool's
// lock, as every write that books people does.
func checkTeamNotBooked(ctx context.Context, q *dbsqlc.Queries, in casework.Inspection) error {
	var typed []int
	for i, m := range in.Team {
		if m.ExpertID == "" && m.Subject != "" {
			typed = append(typed, i)
		}
	}
	if len(typed) == 0 {
		return nil
	}
	if err := lockPoolDraws(ctx, q); err != nil {
		return err
	}
	busy, err := busyOn(ctx, q, in.PlannedStart.Format(time.DateOnly), in.PlannedEnd.Format(time.DateOnly), "")
	if err != nil {
		return err
	}
	var v derrors.Violations
	for _, i := range typed {
		m := in.Team[i]
		id, found, err := optional(q.ExpertIDOfSubject(ctx, &m.Subject))
		if err != nil {
			return fmt.Errorf("reading the pool's person of %q: %w", m.Subject, err)
		}
		if !found {
			continue
		}
		for _, b := range busy {
			if b.ExpertID == id && b.What != casework.SubjectInspection+"/"+in.ID {
				v.Add(fmt.Sprintf("inspection.team[%d].subject", i), "names %s of the pool (%s), whom %s books from %s to %s: a person serves one inspection at a time",
					m.Name, id, b.What, b.From, b.To)
				break
			}
		}
	}
	return v.Err()
}

// ---- line-ups ----

// lineupFromRow is the line-up a row holds.
func lineupFromRow(r dbsqlc.Lineup) (casework.Lineup, error) {
	l := casework.Lineup{
		ID: r.ID, RequestID: r.RequestID, UnitCode: r.UnitCode, UnitName: r.UnitName,
		PlannedStart: r.PlannedStart.Format(time.DateOnly), PlannedEnd: r.PlannedEnd.Format(time.DateOnly),
		ContentAreas: nilIfEmpty(r.ContentAreas), Seed: r.Seed, ConflictYears: r.ConflictYears, TeamSize: r.TeamSize,
		State: r.State, Draws: r.Draws, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version,
	}
	if r.InspectionID != nil {
		l.InspectionID = *r.InspectionID
	}
	for _, j := range []struct {
		column string
		b      []byte
		v      any
	}{{"members", r.Members, &l.Members}, {"exclusions", r.Exclusions, &l.Exclusions}, {"created_by", r.CreatedBy, &l.CreatedBy}} {
		if err := json.Unmarshal(j.b, j.v); err != nil {
			return casework.Lineup{}, fmt.Errorf("decoding %s of line-up %q: %w", j.column, l.ID, err)
		}
	}
	return l, nil
}

// lockLineup reads a line-up under its row lock.
func lockLineup(ctx context.Context, q *dbsqlc.Queries, id string) (casework.Lineup, error) {
	r, err := q.LockLineup(ctx, id)
	if err != nil {
		return casework.Lineup{}, notFound(err, "line-up", id)
	}
	return lineupFromRow(r)
}

// GetLineup reads one line-up.
func (s *Store) GetLineup(ctx context.Context, id string) (casework.Lineup, error) {
	r, err := s.q.GetLineup(ctx, id)
	if err != nil {
		return casework.Lineup{}, notFound(err, "line-up", id)
	}
	return lineupFromRow(r)
}

// RecordLineup writes a drawn line-up and its "draw" event, checking under
// the pool's lock that none of its members was booked meanwhile. created
// is false when the ID was taken: the stored line-up is returned.
func (s *Store) RecordLineup(ctx context.Context, l casework.Lineup, e casework.Event) (_ casework.Lineup, created bool, _ error) {
	row := dbsqlc.InsertLineupParams{
		ID: l.ID, RequestID: l.RequestID, UnitCode: l.UnitCode, UnitName: l.UnitName,
		ContentAreas: orEmpty(l.ContentAreas), Seed: l.Seed, ConflictYears: l.ConflictYears, TeamSize: l.TeamSize,
		State: l.State, Draws: l.Draws, CreatedAt: l.CreatedAt, Version: l.Version,
	}
	var err error
	if row.PlannedStart, err = parseDay("planned_start", l.PlannedStart); err != nil {
		return casework.Lineup{}, false, err
	}
	if row.PlannedEnd, err = parseDay("planned_end", l.PlannedEnd); err != nil {
		return casework.Lineup{}, false, err
	}
	if row.Members, err = json.Marshal(orEmpty(l.Members)); err != nil {
		return casework.Lineup{}, false, err
	}
	if row.Exclusions, err = json.Marshal(orEmpty(l.Exclusions)); err != nil {
		return casework.Lineup{}, false, err
	}
	if row.CreatedBy, err = json.Marshal(l.CreatedBy); err != nil {
		return casework.Lineup{}, false, err
	}
	e.SubjectType, e.SubjectID = casework.SubjectLineup, l.ID
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := lockPoolDraws(ctx, q); err != nil {
			return err
		}
		exists, err := q.LineupExists(ctx, l.ID)
		if err != nil {
			return fmt.Errorf("reading line-up %q: %w", l.ID, err)
		}
		if exists {
			return nil
		}
		if err := checkNotBooked(ctx, q, l); err != nil {
			return err
		}
		if err := q.InsertLineup(ctx, row); err != nil {
			return fmt.Errorf("inserting line-up %q: %w", l.ID, err)
		}
		created = true
		return s.appendEvent(ctx, q, e)
	})
	if err != nil {
		return casework.Lineup{}, false, err
	}
	if created {
		return l, true, nil
	}
	stored, err := s.GetLineup(ctx, l.ID)
	return stored, false, err
}

// ErrNoChange, returned by a ChangeLineup change, leaves the line-up as it
// is: nothing written, no event, the stored line-up returned.
var ErrNoChange = errors.New("nothing to change")

// ChangeLineup changes a line-up under the pool's lock and its row lock:
// change edits a copy (and may refuse); members it books are checked
// against every other booking; the row is written with the version one up
// and the event appended. An event key already recorded is a retry: the
// stored line-up is returned unchanged.
func (s *Store) ChangeLineup(ctx context.Context, id string, e casework.Event, change func(*casework.Lineup) error) (casework.Lineup, error) {
	var out casework.Lineup
	e.SubjectType, e.SubjectID = casework.SubjectLineup, id
	err := s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := lockPoolDraws(ctx, q); err != nil {
			return err
		}
		l, err := lockLineup(ctx, q, id)
		if err != nil {
			return err
		}
		if done, err := eventRecorded(ctx, q, e); err != nil || done {
			out = l
			return err
		}
		next := l
		next.Members = slices.Clone(l.Members)
		if err := change(&next); errors.Is(err, ErrNoChange) {
			out = l
			return nil
		} else if err != nil {
			return err
		}
		// A cancel books nobody: it is not refused for a member another
		// inspection took meanwhile.
		if next.State != casework.LineupCancelled {
			if err := checkNotBooked(ctx, q, next); err != nil {
				return err
			}
		}
		out, err = s.writeLineup(ctx, q, l, next, e)
		return err
	})
	return out, err
}

// writeLineup writes next over l (version one up) and appends e.
func (s *Store) writeLineup(ctx context.Context, q *dbsqlc.Queries, l, next casework.Lineup, e casework.Event) (casework.Lineup, error) {
	next.Version, next.UpdatedAt = l.Version+1, e.OccurredAt
	p := dbsqlc.UpdateLineupParams{ID: next.ID, State: next.State, Draws: next.Draws, UpdatedAt: next.UpdatedAt, Version: next.Version}
	var err error
	if p.Members, err = json.Marshal(orEmpty(next.Members)); err != nil {
		return casework.Lineup{}, err
	}
	if p.Exclusions, err = json.Marshal(orEmpty(next.Exclusions)); err != nil {
		return casework.Lineup{}, err
	}
	if next.InspectionID != "" {
		p.InspectionID = &next.InspectionID
	}
	if err := q.UpdateLineup(ctx, p); err != nil {
		return casework.Lineup{}, fmt.Errorf("updating line-up %q: %w", next.ID, err)
	}
	if e.Key == "" {
		return next, nil
	}
	e.SubjectType, e.SubjectID = casework.SubjectLineup, next.ID
	if e.StageBefore == "" && e.StageAfter == "" {
		e.StageBefore, e.StageAfter = l.State, next.State
	}
	return next, s.appendEvent(ctx, q, e)
}

// ---- invitations ----

// GetInvitation reads one invitation.
func (s *Store) GetInvitation(ctx context.Context, id string) (casework.Invitation, error) {
	doc, err := s.q.GetInvitation(ctx, id)
	if err != nil {
		return casework.Invitation{}, notFound(err, "invitation", id)
	}
	var inv casework.Invitation
	if err := json.Unmarshal(doc, &inv); err != nil {
		return casework.Invitation{}, fmt.Errorf("decoding invitation %q: %w", id, err)
	}
	return inv, nil
}

// ListInvitations lists one page of invitations, oldest first: a
// line-up's, a person's, both, or (both empty) all; only those in stage
// when it is not empty.
func (s *Store) ListInvitations(ctx context.Context, lineupID, expertID, stage string, pageSize int, pageToken string) ([]casework.Invitation, string, error) {
	type row struct {
		inv casework.Invitation
		at  time.Time // the row's created_at, the page's order
	}
	page, next, err := listPage("invitations", pageSize, pageToken, func(afterAt *time.Time, afterID string, limit int64) ([]dbsqlc.ListInvitationsRow, error) {
		return s.q.ListInvitations(ctx, dbsqlc.ListInvitationsParams{LineupID: lineupID, ExpertID: expertID, Stage: stage,
			AfterAt: afterAt, AfterID: afterID, RowLimit: limit})
	}, func(r dbsqlc.ListInvitationsRow) (row, error) {
		out := row{at: r.CreatedAt}
		if err := json.Unmarshal(r.Doc, &out.inv); err != nil {
			return row{}, fmt.Errorf("decoding invitation %q: %w", r.ID, err)
		}
		return out, nil
	}, func(r row) cursor { return cursor{At: r.at, ID: r.inv.ID} })
	if err != nil {
		return nil, "", err
	}
	out := make([]casework.Invitation, len(page))
	for i, r := range page {
		out[i] = r.inv
	}
	return out, next, nil
}

// InvitationInReach says whether the invitation exists and, for a caller
// limited to its own entry (subject non-empty), is that person's.
func (s *Store) InvitationInReach(ctx context.Context, id, subject string) error {
	ok, err := s.q.InvitationInReach(ctx, dbsqlc.InvitationInReachParams{ID: id, Subject: subject})
	if err != nil {
		return fmt.Errorf("reading invitation %q: %w", id, err)
	}
	if !ok {
		return derrors.New(derrors.ErrNotFound, "invitation %q not found", id)
	}
	return nil
}

// CreateInvitation writes a new invitation with its event ("invite").
// Retrying changes nothing.
func (s *Store) CreateInvitation(ctx context.Context, inv casework.Invitation, e casework.Event) error {
	return s.ApplyInvitationChange(ctx, inv, e)
}

// ApplyInvitationChange writes an invitation's row (insert, or update when
// its version is above the stored one), its event when e has a key, and
// the line-up member's state the stage leaves; when every member on the
// line-up has accepted, the line-up is COMPLETE. One transaction.
func (s *Store) ApplyInvitationChange(ctx context.Context, inv casework.Invitation, e casework.Event) error {
	doc, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("encoding invitation %q: %w", inv.ID, err)
	}
	row := dbsqlc.WriteInvitationParams{
		ID: inv.ID, WorkflowID: inv.WorkflowID, LineupID: inv.LineupID, ExpertID: inv.ExpertID, Subject: inv.Subject,
		UnitCode: inv.UnitCode, TeamRole: inv.TeamRole, Stage: inv.Stage, Doc: doc,
		CreatedAt: inv.CreatedAt, UpdatedAt: inv.UpdatedAt, Version: inv.Version,
	}
	if inv.AnswerDeadline != nil {
		d := inv.AnswerDeadline.DueAt
		row.DueAt = &d
	}
	return s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := lockPoolDraws(ctx, q); err != nil {
			return err
		}
		l, err := lockLineup(ctx, q, inv.LineupID)
		if err != nil {
			return err
		}
		if l.State == casework.LineupCancelled {
			stored, _, err := optional(q.InvitationVersion(ctx, inv.ID))
			if err != nil {
				return fmt.Errorf("reading invitation %q: %w", inv.ID, err)
			}
			if err := answerAfterCancel(l, inv, stored); err != nil {
				return err
			}
		}
		if err := q.WriteInvitation(ctx, row); err != nil {
			var fk interface{ SQLState() string }
			if errors.As(err, &fk) && fk.SQLState() == "23503" {
				return derrors.New(derrors.ErrNotFound, "line-up %q or expert %q not found", inv.LineupID, inv.ExpertID)
			}
			return fmt.Errorf("writing invitation %q: %w", inv.ID, err)
		}
		if e.Key != "" {
			e.SubjectType, e.SubjectID = casework.SubjectInvitation, inv.ID
			if err := s.appendEvent(ctx, q, e); err != nil {
				return err
			}
		}
		return s.followInvitation(ctx, q, l, inv)
	})
}

// followInvitation keeps the line-up's member in step with the invitation;
// l is the line-up, locked.
func (s *Store) followInvitation(ctx context.Context, q *dbsqlc.Queries, l casework.Lineup, inv casework.Invitation) error {
	next := l
	next.Members = slices.Clone(l.Members)
	changed := false
	for i, m := range next.Members {
		if m.InvitationID != inv.ID || !casework.MemberActive(m.State) {
			continue
		}
		if st := memberStateOf(inv.Stage); st != m.State {
			next.Members[i].State = st
			if !casework.MemberActive(st) {
				next.Members[i].SetNote(i18n.T("invitation %s: %s", inv.ID, i18n.Term(i18n.InvitationStage, inv.Stage)))
			}
			changed = true
		}
	}
	if !changed {
		return nil
	}
	// The line-up changes when the invitation did; its completion is an
	// event of its own.
	e := casework.Event{OccurredAt: inv.UpdatedAt}
	if next.State == casework.LineupInviting && allAccepted(next) {
		next.State = casework.LineupComplete
		e = casework.Event{Key: "complete", Action: "complete", Actor: actor.System, OccurredAt: inv.UpdatedAt,
			Note: fmt.Sprintf("every member accepted (the last, %s): the line-up awaits the office's approval", inv.ExpertID),
			Data: json.RawMessage(fmt.Sprintf(`{"invitation_id":%q,"members":%d}`, inv.ID, len(next.Active())))}
	}
	_, err := s.writeLineup(ctx, q, l, next, e)
	return err
}

// answerAfterCancel refuses, on a CANCELLED line-up, an invitation's first
// write (version 1) or its answer (accepted, declined) that its member does
// not hold yet: the cancel withdrew the member (CancelLineup in the API),
// and its invitation is withdrawn after it. Taking the line-up's lock, the
// invitation's write and the cancel cannot pass each other: an acceptance
// either came first (the member stays ACCEPTED, and lineup.cancelled names
// them) or is refused. storedVersion is the invitation's version before
// this write (0: none): a write made before the cancel, retried, is taken.
func answerAfterCancel(l casework.Lineup, inv casework.Invitation, storedVersion int) error {
	if l.State != casework.LineupCancelled || storedVersion >= inv.Version {
		return nil // not cancelled, or a retry of a write made before the cancel
	}
	st := memberStateOf(inv.Stage)
	first := st == casework.MemberInvited && inv.Version == 1
	if !first && st != casework.MemberAccepted && st != casework.MemberDeclined {
		return nil // a lapse, a withdrawal, a reminder: nothing new asked of anyone
	}
	i := slices.IndexFunc(l.Members, func(m casework.LineupMember) bool { return m.InvitationID == inv.ID })
	if i >= 0 && l.Members[i].State == st {
		return nil // a retry of what the line-up already holds
	}
	return derrors.StageError{Reason: "STAGE_NOT_ALLOWED", Subject: "lineup/" + l.ID, Action: "invitation " + inv.Stage,
		Stage: l.State}.Says("line-up %s was cancelled: invitation %s can no longer be %s", l.ID, inv.ID,
		i18n.Term(i18n.InvitationStage, inv.Stage))
}

// allAccepted reports whether every member on the line-up has accepted
// and no place is left open: a member who declined or lapsed is replaced
// first (casework.Lineup.OpenPlaces). Before, the last of them to decline
// made the line-up COMPLETE one short, and no replacement was drawn.
func allAccepted(l casework.Lineup) bool {
	active := l.Active()
	if len(active) == 0 || len(l.OpenPlaces()) > 0 {
		return false
	}
	for _, m := range active {
		if m.State != casework.MemberAccepted {
			return false
		}
	}
	return true
}

// RecordInvitationEscalation records an escalation step of an invitation's
// answer deadline with its event, then the invitation's new row.
func (s *Store) RecordInvitationEscalation(ctx context.Context, esc casework.Escalation, inv casework.Invitation, e casework.Event) (casework.Escalation, error) {
	e.SubjectType, e.SubjectID = casework.SubjectInvitation, inv.ID
	stored, err := s.RecordEscalation(ctx, esc, casework.Finding{}, e)
	if err != nil {
		return casework.Escalation{}, err
	}
	return stored, s.ApplyInvitationChange(ctx, inv, casework.Event{})
}

// ---- fairness ----

// PoolTally counts, for one person or one member unit and one year (of the
// line-ups' planned start), how often they were drawn, invited, accepted,
// declined (and of those, judged unjustified) and let an invitation lapse.
type PoolTally struct {
	ExpertID    string `json:"expert_id,omitempty"`
	Name        string `json:"name,omitempty"`
	UnitCode    string `json:"unit_code"`
	Drawn       int    `json:"drawn"`
	SwappedIn   int    `json:"swapped_in"`
	Invited     int    `json:"invited"`
	Accepted    int    `json:"accepted"`
	Declined    int    `json:"declined"`
	Unjustified int    `json:"unjustified"`
	Expired     int    `json:"expired"`
}

// PoolStatistics are a year's tallies per person (every person of the
// pool, drawn or not) and per member unit.
type PoolStatistics struct {
	Year    int         `json:"year"`
	Experts []PoolTally `json:"experts"`
	Units   []PoolTally `json:"units"`
}

// PoolStatistics counts a year's draws and answers per person and unit.
func (s *Store) PoolStatistics(ctx context.Context, year int) (PoolStatistics, error) {
	rows, err := s.q.PoolTallies(ctx, year)
	if err != nil {
		return PoolStatistics{}, fmt.Errorf("counting the pool's draws of %d: %w", year, err)
	}
	experts := make([]PoolTally, len(rows))
	for i, r := range rows {
		experts[i] = PoolTally{ExpertID: r.ID, Name: r.Name, UnitCode: r.UnitCode, Drawn: r.Drawn, SwappedIn: r.SwappedIn,
			Invited: r.Invited, Accepted: r.Accepted, Declined: r.Declined, Unjustified: r.Unjustified, Expired: r.Expired}
	}
	out := PoolStatistics{Year: year, Experts: experts}
	units := map[string]*PoolTally{}
	var codes []string
	for _, t := range experts {
		u, ok := units[t.UnitCode]
		if !ok {
			u = &PoolTally{UnitCode: t.UnitCode}
			units[t.UnitCode] = u
			codes = append(codes, t.UnitCode)
		}
		u.Drawn += t.Drawn
		u.SwappedIn += t.SwappedIn
		u.Invited += t.Invited
		u.Accepted += t.Accepted
		u.Declined += t.Declined
		u.Unjustified += t.Unjustified
		u.Expired += t.Expired
	}
	slices.Sort(codes)
	for _, c := range codes {
		out.Units = append(out.Units, *units[c])
	}
	return out, nil
}
