package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

// CalendarVersion is one loaded State Council holiday notice for a year.
// Versions are append-only: a newer one for the same year supersedes, never
// overwrites.
type CalendarVersion struct {
	ID        int64
	Year      int
	RequestID string
	DocNumber string
	DocDate   *time.Time // a date: midnight UTC; nil when not given
	// Notice is the calendar package's Notice as JSON.
	Notice   json.RawMessage
	Note     string
	LoadedBy actor.Actor
	LoadedAt time.Time
}

const insertCalendarVersion = `
INSERT INTO calendar_versions (year, request_id, doc_number, doc_date, notice, note, loaded_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (request_id) DO NOTHING
RETURNING id`

const selectCalendarVersionColumns = `
SELECT id, year, request_id, doc_number, doc_date, notice, note, loaded_by, loaded_at
FROM calendar_versions`

func scanCalendarVersion(row pgx.Row) (CalendarVersion, error) {
	var v CalendarVersion
	var loadedBy []byte
	if err := row.Scan(&v.ID, &v.Year, &v.RequestID, &v.DocNumber, &v.DocDate, &v.Notice, &v.Note, &loadedBy, &v.LoadedAt); err != nil {
		return CalendarVersion{}, err
	}
	if err := json.Unmarshal(loadedBy, &v.LoadedBy); err != nil {
		return CalendarVersion{}, fmt.Errorf("decoding loaded_by of calendar version %d: %w", v.ID, err)
	}
	return v, nil
}

// InsertCalendarVersion records a new version and its event. A retry with the
// same request ID returns the version first recorded (created is false); the
// same request ID with a different year or notice is derrors.ErrAlreadyExists.
func (s *Store) InsertCalendarVersion(ctx context.Context, v CalendarVersion) (_ CalendarVersion, created bool, _ error) {
	loadedBy, err := json.Marshal(v.LoadedBy)
	if err != nil {
		return CalendarVersion{}, false, fmt.Errorf("encoding actor: %w", err)
	}
	var out CalendarVersion
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, insertCalendarVersion, v.Year, v.RequestID, v.DocNumber, v.DocDate, v.Notice, v.Note, loadedBy).Scan(&id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// Already recorded by an earlier request with this ID.
			first, err := scanCalendarVersion(tx.QueryRow(ctx, selectCalendarVersionColumns+` WHERE request_id = $1`, v.RequestID))
			if err != nil {
				return fmt.Errorf("reading calendar version of request %q: %w", v.RequestID, err)
			}
			var same bool
			if err := tx.QueryRow(ctx, `SELECT $1::jsonb = $2::jsonb`, first.Notice, v.Notice).Scan(&same); err != nil {
				return fmt.Errorf("comparing notices: %w", err)
			}
			if first.Year != v.Year || !same {
				return fmt.Errorf("request_id %q was already used to load a different notice (calendar version %d): %w",
					v.RequestID, first.ID, derrors.ErrAlreadyExists)
			}
			out = first
			return nil
		case err != nil:
			return fmt.Errorf("inserting calendar version for %d: %w", v.Year, err)
		}
		created = true
		out, err = scanCalendarVersion(tx.QueryRow(ctx, selectCalendarVersionColumns+` WHERE id = $1`, id))
		if err != nil {
			return fmt.Errorf("reading calendar version %d: %w", id, err)
		}
		data, err := json.Marshal(map[string]any{"year": v.Year, "doc_number": v.DocNumber, "version": id})
		if err != nil {
			return fmt.Errorf("encoding event data: %w", err)
		}
		return appendEvent(ctx, tx, Event{
			SubjectType: SubjectCalendar,
			SubjectID:   fmt.Sprint(v.Year),
			Key:         "load/" + v.RequestID,
			Action:      "load_calendar_version",
			Actor:       v.LoadedBy,
			Note:        v.Note,
			Data:        data,
			OccurredAt:  out.LoadedAt,
		})
	})
	if err != nil {
		return CalendarVersion{}, false, err
	}
	return out, created, nil
}

// CalendarVersions lists loaded versions, newest first; year 0 means all years.
func (s *Store) CalendarVersions(ctx context.Context, year int) ([]CalendarVersion, error) {
	rows, err := s.pool.Query(ctx, selectCalendarVersionColumns+`
WHERE $1 = 0 OR year = $1
ORDER BY id DESC`, year)
	if err != nil {
		return nil, fmt.Errorf("listing calendar versions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CalendarVersion, error) { return scanCalendarVersion(r) })
	if err != nil {
		return nil, fmt.Errorf("listing calendar versions: %w", err)
	}
	return list, nil
}

// CurrentCalendarVersions returns the newest version of each year that has one.
func (s *Store) CurrentCalendarVersions(ctx context.Context) ([]CalendarVersion, error) {
	rows, err := s.pool.Query(ctx, `
SELECT DISTINCT ON (year) id, year, request_id, doc_number, doc_date, notice, note, loaded_by, loaded_at
FROM calendar_versions
ORDER BY year, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("reading current calendar versions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CalendarVersion, error) { return scanCalendarVersion(r) })
	if err != nil {
		return nil, fmt.Errorf("reading current calendar versions: %w", err)
	}
	return list, nil
}

// Calendar returns the working-day calendar in force: the built-in base with
// each year's newest loaded version on top.
func (s *Store) Calendar(ctx context.Context) (*calendar.Calendar, error) {
	versions, err := s.CurrentCalendarVersions(ctx)
	if err != nil {
		return nil, err
	}
	cal := calendar.Builtin()
	for _, v := range versions {
		var n calendar.Notice
		if err := json.Unmarshal(v.Notice, &n); err != nil {
			return nil, fmt.Errorf("decoding calendar version %d: %w", v.ID, err)
		}
		cal, err = cal.With(n, calendar.Version{ID: v.ID, Label: VersionLabel(v.ID)})
		if err != nil {
			return nil, fmt.Errorf("applying calendar version %d: %w", v.ID, err)
		}
	}
	return cal, nil
}

// VersionLabel names a loaded version for people.
func VersionLabel(id int64) string { return fmt.Sprintf("calendar version %d", id) }
