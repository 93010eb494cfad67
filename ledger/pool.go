package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
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

const expertColumns = `id, coalesce(subject, ''), name, organisation, unit_code, rank, kind, content_areas, sectors, home_region,
  affiliations, unavailable, coalesce(to_char(left_on, 'YYYY-MM-DD'), ''), leave_reason, created_by, created_at, updated_at, version`

func scanExpert(row pgx.Row) (casework.Expert, error) {
	var x casework.Expert
	var areas []int32
	var aff, unav, by []byte
	if err := row.Scan(&x.ID, &x.Subject, &x.Name, &x.Organisation, &x.UnitCode, &x.Rank, &x.Kind, &areas, &x.Sectors, &x.HomeRegion,
		&aff, &unav, &x.LeftOn, &x.LeaveReason, &by, &x.CreatedAt, &x.UpdatedAt, &x.Version); err != nil {
		return x, err
	}
	for _, a := range areas {
		x.ContentAreas = append(x.ContentAreas, int(a))
	}
	if len(x.Sectors) == 0 {
		x.Sectors = nil
	}
	for _, j := range []struct {
		b []byte
		v any
	}{{aff, &x.Affiliations}, {unav, &x.Unavailable}, {by, &x.CreatedBy}} {
		if err := json.Unmarshal(j.b, j.v); err != nil {
			return x, fmt.Errorf("decoding expert %q: %w", x.ID, err)
		}
	}
	return x, nil
}

func expertArgs(x casework.Expert) ([]any, error) {
	aff, err := json.Marshal(orEmpty(x.Affiliations))
	if err != nil {
		return nil, err
	}
	unav, err := json.Marshal(orEmpty(x.Unavailable))
	if err != nil {
		return nil, err
	}
	by, err := json.Marshal(x.CreatedBy)
	if err != nil {
		return nil, err
	}
	var subject, leftOn any
	if x.Subject != "" {
		subject = x.Subject
	}
	if x.LeftOn != "" {
		leftOn = x.LeftOn
	}
	areas := make([]int32, len(x.ContentAreas))
	for i, a := range x.ContentAreas {
		areas[i] = int32(a)
	}
	return []any{x.ID, subject, x.Name, x.Organisation, x.UnitCode, x.Rank, x.Kind, areas, nonNil(x.Sectors), x.HomeRegion,
		aff, unav, leftOn, x.LeaveReason, by, x.CreatedAt, x.UpdatedAt, x.Version}, nil
}

const insertExpert = `INSERT INTO experts (id, subject, name, organisation, unit_code, rank, kind, content_areas, sectors,
  home_region, affiliations, unavailable, left_on, leave_reason, created_by, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::date, $14, $15, $16, $17, $18)
ON CONFLICT (id) DO NOTHING`

const updateExpert = `UPDATE experts SET subject = $2, name = $3, organisation = $4, unit_code = $5, rank = $6,
  kind = $7, content_areas = $8, sectors = $9, home_region = $10, affiliations = $11, unavailable = $12, left_on = $13::date,
  leave_reason = $14, updated_at = $15, version = $16
WHERE id = $1`

// CreateExpert adds a person to the pool with the event "add". created is
// false when the ID was taken: the stored entry is returned, and the caller
// decides whether it is a retry.
func (s *Store) CreateExpert(ctx context.Context, x casework.Expert, e casework.Event) (_ casework.Expert, created bool, _ error) {
	args, err := expertArgs(x)
	if err != nil {
		return casework.Expert{}, false, fmt.Errorf("encoding expert %q: %w", x.ID, err)
	}
	e.SubjectType, e.SubjectID = casework.SubjectExpert, x.ID
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if x.Subject != "" {
			var other string
			err := tx.QueryRow(ctx, `SELECT id FROM experts WHERE subject = $1`, x.Subject).Scan(&other)
			if err == nil && other != x.ID {
				return derrors.New(derrors.ErrAlreadyExists, "subject %q is already linked to expert %q", x.Subject, other)
			}
		}
		tag, err := tx.Exec(ctx, insertExpert, args...)
		if err != nil {
			return fmt.Errorf("inserting expert %q: %w", x.ID, err)
		}
		if created = tag.RowsAffected() == 1; !created {
			return nil
		}
		return s.appendEvent(ctx, queries(tx), e)
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
	x, err := scanExpert(s.pool.QueryRow(ctx, `SELECT `+expertColumns+` FROM experts WHERE id = $1`, id))
	if err != nil {
		return casework.Expert{}, notFound(err, fmt.Sprintf("expert %q", id))
	}
	return x, nil
}

// ExpertBySubject reads the pool entry linked to a sign-in subject.
func (s *Store) ExpertBySubject(ctx context.Context, subject string) (casework.Expert, error) {
	x, err := scanExpert(s.pool.QueryRow(ctx, `SELECT `+expertColumns+` FROM experts WHERE subject = $1`, subject))
	if err != nil {
		return casework.Expert{}, notFound(err, fmt.Sprintf("expert of subject %q", subject))
	}
	return x, nil
}

// ListExperts lists the pool in ID order, a page at a time; those who left
// only when includeLeft.
func (s *Store) ListExperts(ctx context.Context, includeLeft bool, pageSize int, pageToken string) ([]casework.Expert, string, error) {
	return listPage("experts", pageSize, pageToken, func(_ *time.Time, afterID string, limit int64) ([]casework.Expert, error) {
		rows, err := s.pool.Query(ctx, `SELECT `+expertColumns+` FROM experts
WHERE id > $1 AND ($2::boolean OR left_on IS NULL) ORDER BY id LIMIT $3`, afterID, includeLeft, limit)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (casework.Expert, error) { return scanExpert(r) })
	}, func(x casework.Expert) (casework.Expert, error) { return x, nil }, func(x casework.Expert) cursor { return cursor{ID: x.ID} })
}

// ChangeExpert changes one entry under its row lock: change edits a copy
// (and may refuse); the row is written with the version one up and the
// event appended in the same transaction. An event key already recorded
// is a retry: nothing is written and the stored entry returned.
func (s *Store) ChangeExpert(ctx context.Context, id string, e casework.Event, change func(*casework.Expert) error) (casework.Expert, error) {
	var out casework.Expert
	e.SubjectType, e.SubjectID = casework.SubjectExpert, id
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		x, err := scanExpert(tx.QueryRow(ctx, `SELECT `+expertColumns+` FROM experts WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFound(err, fmt.Sprintf("expert %q", id))
		}
		if done, err := eventRecorded(ctx, tx, e); err != nil || done {
			out = x
			return err
		}
		next := x
		next.Affiliations, next.Unavailable = slices.Clone(x.Affiliations), slices.Clone(x.Unavailable)
		if err := change(&next); err != nil {
			return err
		}
		next.Version, next.UpdatedAt = x.Version+1, e.OccurredAt
		args, err := expertArgs(next)
		if err != nil {
			return fmt.Errorf("encoding expert %q: %w", id, err)
		}
		if _, err := tx.Exec(ctx, updateExpert, append(args[:14:14], next.UpdatedAt, next.Version)...); err != nil {
			return fmt.Errorf("updating expert %q: %w", id, err)
		}
		out = next
		return s.appendEvent(ctx, queries(tx), e)
	})
	return out, err
}

// eventRecorded reports whether e's key is already in its subject's log.
func eventRecorded(ctx context.Context, tx pgx.Tx, e casework.Event) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM events WHERE subject_type = $1 AND subject_id = $2 AND event_key = $3`,
		e.SubjectType, e.SubjectID, e.Key).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("reading events of %s %q: %w", e.SubjectType, e.SubjectID, err)
	}
	return n > 0, nil
}

// lockPoolDraws serialises the writes that book people (a line-up's draw,
// a swap, a replacement, an inspection's team from a line-up), so that the
// double-booking check sees every booking.
const lockPoolDraws = `SELECT pg_advisory_xact_lock(hashtext('xuncha.pool.draws'))`

const busyQuery = `SELECT m->>'expert_id', 'lineup/' || l.id, to_char(l.planned_start, 'YYYY-MM-DD'), to_char(l.planned_end, 'YYYY-MM-DD')
FROM lineups l, jsonb_array_elements(l.members) m
WHERE l.state IN ('PROPOSED', 'INVITING', 'COMPLETE', 'APPROVED') AND l.id <> $3
  AND l.planned_start <= $2::date AND l.planned_end >= $1::date
  AND m->>'state' IN ('PROPOSED', 'INVITED', 'ACCEPTED')
UNION ALL
SELECT e.id, 'inspection/' || i.id, to_char(i.planned_start, 'YYYY-MM-DD'), to_char(i.planned_end, 'YYYY-MM-DD')
FROM inspections i, jsonb_array_elements(i.team) t, experts e
WHERE i.stage NOT IN ('CLOSED', 'CANCELLED')
  AND i.planned_start <= $2::date AND i.planned_end >= $1::date
  AND (t->>'expert_id' = e.id OR (coalesce(t->>'subject', '') <> '' AND t->>'subject' = e.subject))
ORDER BY 1, 2`

func busyOn(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, from, to, exceptLineup string) ([]casework.Busy, error) {
	rows, err := db.Query(ctx, busyQuery, from, to, exceptLineup)
	if err != nil {
		return nil, fmt.Errorf("reading bookings from %s to %s: %w", from, to, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (casework.Busy, error) {
		var b casework.Busy
		err := r.Scan(&b.ExpertID, &b.What, &b.From, &b.To)
		return b, err
	})
}

// Candidates reads the pool and the bookings overlapping from..to, leaving
// out the line-up exceptLineup's own.
func (s *Store) Candidates(ctx context.Context, from, to, exceptLineup string) (casework.PoolCandidates, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+expertColumns+` FROM experts ORDER BY id`)
	if err != nil {
		return casework.PoolCandidates{}, fmt.Errorf("reading the pool: %w", err)
	}
	experts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (casework.Expert, error) { return scanExpert(r) })
	if err != nil {
		return casework.PoolCandidates{}, fmt.Errorf("reading the pool: %w", err)
	}
	busy, err := busyOn(ctx, s.pool, from, to, exceptLineup)
	if err != nil {
		return casework.PoolCandidates{}, err
	}
	return casework.PoolCandidates{Experts: experts, Busy: busy}, nil
}

// checkNotBooked refuses a line-up whose active members another line-up or
// an inspection books on overlapping dates: two draws raced, and the
// caller draws again.
func checkNotBooked(ctx context.Context, tx pgx.Tx, l casework.Lineup) error {
	busy, err := busyOn(ctx, tx, l.PlannedStart, l.PlannedEnd, l.ID)
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

// ---- line-ups ----

const lineupColumns = `id, request_id, unit_code, unit_name, to_char(planned_start, 'YYYY-MM-DD'), to_char(planned_end, 'YYYY-MM-DD'),
  content_areas, seed, conflict_years, team_size, state, members, exclusions, draws, coalesce(inspection_id, ''), created_by,
  created_at, updated_at, version`

func scanLineup(row pgx.Row) (casework.Lineup, error) {
	var l casework.Lineup
	var areas []int32
	var members, exclusions, by []byte
	if err := row.Scan(&l.ID, &l.RequestID, &l.UnitCode, &l.UnitName, &l.PlannedStart, &l.PlannedEnd, &areas, &l.Seed,
		&l.ConflictYears, &l.TeamSize, &l.State, &members, &exclusions, &l.Draws, &l.InspectionID, &by,
		&l.CreatedAt, &l.UpdatedAt, &l.Version); err != nil {
		return l, err
	}
	for _, a := range areas {
		l.ContentAreas = append(l.ContentAreas, int(a))
	}
	for _, j := range []struct {
		b []byte
		v any
	}{{members, &l.Members}, {exclusions, &l.Exclusions}, {by, &l.CreatedBy}} {
		if err := json.Unmarshal(j.b, j.v); err != nil {
			return l, fmt.Errorf("decoding line-up %q: %w", l.ID, err)
		}
	}
	return l, nil
}

// GetLineup reads one line-up.
func (s *Store) GetLineup(ctx context.Context, id string) (casework.Lineup, error) {
	l, err := scanLineup(s.pool.QueryRow(ctx, `SELECT `+lineupColumns+` FROM lineups WHERE id = $1`, id))
	if err != nil {
		return casework.Lineup{}, notFound(err, fmt.Sprintf("line-up %q", id))
	}
	return l, nil
}

// RecordLineup writes a drawn line-up and its "draw" event, checking under
// the pool's lock that none of its members was booked meanwhile. created
// is false when the ID was taken: the stored line-up is returned.
func (s *Store) RecordLineup(ctx context.Context, l casework.Lineup, e casework.Event) (_ casework.Lineup, created bool, _ error) {
	members, err := json.Marshal(orEmpty(l.Members))
	if err != nil {
		return casework.Lineup{}, false, err
	}
	exclusions, err := json.Marshal(orEmpty(l.Exclusions))
	if err != nil {
		return casework.Lineup{}, false, err
	}
	by, err := json.Marshal(l.CreatedBy)
	if err != nil {
		return casework.Lineup{}, false, err
	}
	areas := make([]int32, len(l.ContentAreas))
	for i, a := range l.ContentAreas {
		areas[i] = int32(a)
	}
	e.SubjectType, e.SubjectID = casework.SubjectLineup, l.ID
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockPoolDraws); err != nil {
			return fmt.Errorf("locking the pool's draws: %w", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM lineups WHERE id = $1)`, l.ID).Scan(&exists); err != nil {
			return fmt.Errorf("reading line-up %q: %w", l.ID, err)
		}
		if exists {
			return nil
		}
		if err := checkNotBooked(ctx, tx, l); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO lineups (id, request_id, unit_code, unit_name, planned_start, planned_end,
  content_areas, seed, conflict_years, team_size, state, members, exclusions, draws, created_by, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5::date, $6::date, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17)`,
			l.ID, l.RequestID, l.UnitCode, l.UnitName, l.PlannedStart, l.PlannedEnd, areas, l.Seed, l.ConflictYears, l.TeamSize,
			l.State, members, exclusions, l.Draws, by, l.CreatedAt, l.Version); err != nil {
			return fmt.Errorf("inserting line-up %q: %w", l.ID, err)
		}
		created = true
		return s.appendEvent(ctx, queries(tx), e)
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

// ChangeLineup changes a line-up under the pool's lock and its row lock:
// change edits a copy (and may refuse); members it books are checked
// against every other booking; the row is written with the version one up
// and the event appended. An event key already recorded is a retry: the
// stored line-up is returned unchanged.
func (s *Store) ChangeLineup(ctx context.Context, id string, e casework.Event, change func(*casework.Lineup) error) (casework.Lineup, error) {
	var out casework.Lineup
	e.SubjectType, e.SubjectID = casework.SubjectLineup, id
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockPoolDraws); err != nil {
			return fmt.Errorf("locking the pool's draws: %w", err)
		}
		l, err := scanLineup(tx.QueryRow(ctx, `SELECT `+lineupColumns+` FROM lineups WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return notFound(err, fmt.Sprintf("line-up %q", id))
		}
		if done, err := eventRecorded(ctx, tx, e); err != nil || done {
			out = l
			return err
		}
		next := l
		next.Members = slices.Clone(l.Members)
		if err := change(&next); err != nil {
			return err
		}
		if err := checkNotBooked(ctx, tx, next); err != nil {
			return err
		}
		out, err = s.writeLineup(ctx, tx, l, next, e)
		return err
	})
	return out, err
}

// writeLineup writes next over l (version one up) and appends e.
func (s *Store) writeLineup(ctx context.Context, tx pgx.Tx, l, next casework.Lineup, e casework.Event) (casework.Lineup, error) {
	members, err := json.Marshal(orEmpty(next.Members))
	if err != nil {
		return casework.Lineup{}, err
	}
	exclusions, err := json.Marshal(orEmpty(next.Exclusions))
	if err != nil {
		return casework.Lineup{}, err
	}
	next.Version, next.UpdatedAt = l.Version+1, e.OccurredAt
	var inspection any
	if next.InspectionID != "" {
		inspection = next.InspectionID
	}
	if _, err := tx.Exec(ctx, `UPDATE lineups SET state = $2, members = $3, exclusions = $4, draws = $5, inspection_id = $6,
  updated_at = $7, version = $8 WHERE id = $1`, next.ID, next.State, members, exclusions, next.Draws, inspection,
		next.UpdatedAt, next.Version); err != nil {
		return casework.Lineup{}, fmt.Errorf("updating line-up %q: %w", next.ID, err)
	}
	if e.Key == "" {
		return next, nil
	}
	e.SubjectType, e.SubjectID = casework.SubjectLineup, next.ID
	if e.StageBefore == "" && e.StageAfter == "" {
		e.StageBefore, e.StageAfter = l.State, next.State
	}
	return next, s.appendEvent(ctx, queries(tx), e)
}

// ---- invitations ----

func scanInvitation(row pgx.Row) (casework.Invitation, error) {
	var doc []byte
	if err := row.Scan(&doc); err != nil {
		return casework.Invitation{}, err
	}
	var inv casework.Invitation
	return inv, json.Unmarshal(doc, &inv)
}

// GetInvitation reads one invitation.
func (s *Store) GetInvitation(ctx context.Context, id string) (casework.Invitation, error) {
	inv, err := scanInvitation(s.pool.QueryRow(ctx, `SELECT doc FROM invitations WHERE id = $1`, id))
	if err != nil {
		return casework.Invitation{}, notFound(err, fmt.Sprintf("invitation %q", id))
	}
	return inv, nil
}

// ListInvitations lists one page of invitations, oldest first: a
// line-up's, a person's, both, or (both empty) all.
func (s *Store) ListInvitations(ctx context.Context, lineupID, expertID string, pageSize int, pageToken string) ([]casework.Invitation, string, error) {
	type row struct {
		inv casework.Invitation
		at  time.Time // the row's created_at, the page's order
	}
	page, next, err := listPage("invitations", pageSize, pageToken, func(afterAt *time.Time, afterID string, limit int64) ([]row, error) {
		rows, err := s.pool.Query(ctx, `SELECT doc, created_at FROM invitations
WHERE ($1 = '' OR lineup_id = $1) AND ($2 = '' OR expert_id = $2)
  AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4::text))
ORDER BY created_at, id LIMIT $5`, lineupID, expertID, afterAt, afterID, limit)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var doc []byte
			var out row
			if err := r.Scan(&doc, &out.at); err != nil {
				return row{}, err
			}
			return out, json.Unmarshal(doc, &out.inv)
		})
	}, func(r row) (row, error) { return r, nil }, func(r row) cursor { return cursor{At: r.at, ID: r.inv.ID} })
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
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invitations WHERE id = $1 AND ($2 = '' OR subject = $2))`,
		id, subject).Scan(&ok); err != nil {
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
	var dueAt *time.Time
	if inv.AnswerDeadline != nil {
		d := inv.AnswerDeadline.DueAt
		dueAt = &d
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockPoolDraws); err != nil {
			return fmt.Errorf("locking the pool's draws: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO invitations (id, workflow_id, lineup_id, expert_id, subject, unit_code, team_role,
  stage, due_at, doc, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (id) DO UPDATE SET stage = EXCLUDED.stage, due_at = EXCLUDED.due_at, doc = EXCLUDED.doc,
  updated_at = EXCLUDED.updated_at, version = EXCLUDED.version
WHERE invitations.version < EXCLUDED.version`, inv.ID, inv.WorkflowID, inv.LineupID, inv.ExpertID, inv.Subject, inv.UnitCode,
			inv.TeamRole, inv.Stage, dueAt, doc, inv.CreatedAt, inv.UpdatedAt, inv.Version); err != nil {
			var fk interface{ SQLState() string }
			if errors.As(err, &fk) && fk.SQLState() == "23503" {
				return derrors.New(derrors.ErrNotFound, "line-up %q or expert %q not found", inv.LineupID, inv.ExpertID)
			}
			return fmt.Errorf("writing invitation %q: %w", inv.ID, err)
		}
		if e.Key != "" {
			e.SubjectType, e.SubjectID = casework.SubjectInvitation, inv.ID
			if err := s.appendEvent(ctx, queries(tx), e); err != nil {
				return err
			}
		}
		return s.followInvitation(ctx, tx, inv)
	})
}

// followInvitation keeps the line-up's member in step with the invitation.
func (s *Store) followInvitation(ctx context.Context, tx pgx.Tx, inv casework.Invitation) error {
	l, err := scanLineup(tx.QueryRow(ctx, `SELECT `+lineupColumns+` FROM lineups WHERE id = $1 FOR UPDATE`, inv.LineupID))
	if err != nil {
		return notFound(err, fmt.Sprintf("line-up %q", inv.LineupID))
	}
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
				next.Members[i].Note = fmt.Sprintf("invitation %s: %s", inv.ID, inv.Stage)
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
	_, err = s.writeLineup(ctx, tx, l, next, e)
	return err
}

// allAccepted reports whether every member on the line-up has accepted.
func allAccepted(l casework.Lineup) bool {
	active := l.Active()
	if len(active) == 0 {
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

const poolStatisticsQuery = `WITH m AS (
  SELECT m->>'expert_id' AS expert_id, (m->>'draw')::int AS draw
  FROM lineups l, jsonb_array_elements(l.members) m
  WHERE extract(year FROM l.planned_start) = $1
), i AS (
  SELECT v.expert_id, v.stage, v.doc->>'judgement' AS judgement
  FROM invitations v JOIN lineups l ON l.id = v.lineup_id
  WHERE extract(year FROM l.planned_start) = $1
)
SELECT e.id, e.name, e.unit_code,
  (SELECT count(*) FROM m WHERE m.expert_id = e.id AND m.draw > 0),
  (SELECT count(*) FROM m WHERE m.expert_id = e.id AND m.draw = 0),
  (SELECT count(*) FROM i WHERE i.expert_id = e.id),
  (SELECT count(*) FROM i WHERE i.expert_id = e.id AND i.stage = 'ACCEPTED'),
  (SELECT count(*) FROM i WHERE i.expert_id = e.id AND i.stage IN ('DECLINED', 'DECLINE_JUSTIFIED', 'DECLINE_UNJUSTIFIED')),
  (SELECT count(*) FROM i WHERE i.expert_id = e.id AND i.judgement = 'UNJUSTIFIED'),
  (SELECT count(*) FROM i WHERE i.expert_id = e.id AND i.stage = 'EXPIRED')
FROM experts e
ORDER BY e.id`

// PoolStatistics counts a year's draws and answers per person and unit.
func (s *Store) PoolStatistics(ctx context.Context, year int) (PoolStatistics, error) {
	rows, err := s.pool.Query(ctx, poolStatisticsQuery, year)
	if err != nil {
		return PoolStatistics{}, fmt.Errorf("counting the pool's draws of %d: %w", year, err)
	}
	experts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PoolTally, error) {
		var t PoolTally
		err := r.Scan(&t.ExpertID, &t.Name, &t.UnitCode, &t.Drawn, &t.SwappedIn, &t.Invited, &t.Accepted, &t.Declined,
			&t.Unjustified, &t.Expired)
		return t, err
	})
	if err != nil {
		return PoolStatistics{}, fmt.Errorf("counting the pool's draws of %d: %w", year, err)
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
