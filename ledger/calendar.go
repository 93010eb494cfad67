package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
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

// calendarVersionFromRow is the CalendarVersion a row holds.
func calendarVersionFromRow(r dbsqlc.CalendarVersion) (CalendarVersion, error) {
	v := CalendarVersion{
		ID: r.ID, Year: r.Year, RequestID: r.RequestID, DocNumber: r.DocNumber, DocDate: r.DocDate,
		Notice: r.Notice, Note: r.Note, LoadedAt: r.LoadedAt,
	}
	if err := json.Unmarshal(r.LoadedBy, &v.LoadedBy); err != nil {
		return CalendarVersion{}, fmt.Errorf("decoding loaded_by of calendar version %d: %w", v.ID, err)
	}
	return v, nil
}

// InsertCalendarVersion records a new version and its event. A retry with the
// same request ID returns the version first recorded (created is false); the
// same request ID with a different year or notice is derrors.ErrAlreadyExists.
// With expected set, the year's newest version must be it (0: none loaded),
// or the load is derrors.ErrFailedPrecondition: another notice of the year
// was loaded since the caller read it, and this one would undo it. Loads
// of one year are serialised.
func (s *Store) InsertCalendarVersion(ctx context.Context, v CalendarVersion, expected *int64) (_ CalendarVersion, created bool, _ error) {
	loadedBy, err := json.Marshal(v.LoadedBy)
	if err != nil {
		return CalendarVersion{}, false, fmt.Errorf("encoding actor: %w", err)
	}
	var out CalendarVersion
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if err := q.LockCalendarYear(ctx, v.Year); err != nil {
			return fmt.Errorf("locking the calendar of %d: %w", v.Year, err)
		}
		if expected != nil {
			if _, retry, err := optional(q.CalendarVersionOfRequest(ctx, v.RequestID)); err != nil {
				return fmt.Errorf("reading calendar version of request %q: %w", v.RequestID, err)
			} else if !retry {
				current, err := q.CalendarYearVersion(ctx, v.Year)
				if err != nil {
					return fmt.Errorf("reading the calendar of %d: %w", v.Year, err)
				}
				if current != *expected {
					return derrors.StageError{Reason: "VERSION_CHANGED", Subject: fmt.Sprintf("calendar/%d", v.Year), Action: "load",
						Stage: strconv.FormatInt(current, 10)}.
						Says("the calendar of %d is at version %d, not %d: another notice was loaded since it was read; read the year again and send the whole notice",
							v.Year, current, *expected)
				}
			}
		}
		id, inserted, err := optional(q.InsertCalendarVersion(ctx, dbsqlc.InsertCalendarVersionParams{
			Year: v.Year, RequestID: v.RequestID, DocNumber: v.DocNumber, DocDate: v.DocDate, Notice: v.Notice,
			Note: v.Note, LoadedBy: loadedBy,
		}))
		if err != nil {
			return fmt.Errorf("inserting calendar version for %d: %w", v.Year, err)
		}
		if !inserted {
			// Already recorded by an earlier request with this ID.
			r, err := q.CalendarVersionOfRequest(ctx, v.RequestID)
			if err != nil {
				return fmt.Errorf("reading calendar version of request %q: %w", v.RequestID, err)
			}
			first, err := calendarVersionFromRow(r)
			if err != nil {
				return fmt.Errorf("reading calendar version of request %q: %w", v.RequestID, err)
			}
			a, err := namedInChinese(first.Notice)
			if err != nil {
				return fmt.Errorf("reading calendar version of request %q: %w", v.RequestID, err)
			}
			b, err := namedInChinese(v.Notice)
			if err != nil {
				return fmt.Errorf("reading the notice: %w", err)
			}
			same, err := q.SameJSON(ctx, dbsqlc.SameJSONParams{A: a, B: b})
			if err != nil {
				return fmt.Errorf("comparing notices: %w", err)
			}
			if first.Year != v.Year || !same {
				return fmt.Errorf("request_id %q was already used to load a different notice (calendar version %d): %w",
					v.RequestID, first.ID, derrors.ErrAlreadyExists)
			}
			out = first
			return nil
		}
		created = true
		r, err := q.GetCalendarVersion(ctx, id)
		if err != nil {
			return fmt.Errorf("reading calendar version %d: %w", id, err)
		}
		if out, err = calendarVersionFromRow(r); err != nil {
			return fmt.Errorf("reading calendar version %d: %w", id, err)
		}
		data, err := json.Marshal(map[string]any{"year": v.Year, "doc_number": v.DocNumber, "version": id})
		if err != nil {
			return fmt.Errorf("encoding event data: %w", err)
		}
		return s.appendEvent(ctx, q, casework.Event{
			SubjectType: casework.SubjectCalendar,
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
	rows, err := s.q.CalendarVersions(ctx, year)
	if err != nil {
		return nil, fmt.Errorf("listing calendar versions: %w", err)
	}
	list, err := convertAll(rows, calendarVersionFromRow)
	if err != nil {
		return nil, fmt.Errorf("listing calendar versions: %w", err)
	}
	return list, nil
}

// CurrentCalendarVersions returns the newest version of each year that has one.
func (s *Store) CurrentCalendarVersions(ctx context.Context) ([]CalendarVersion, error) {
	rows, err := s.q.CurrentCalendarVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading current calendar versions: %w", err)
	}
	list, err := convertAll(rows, calendarVersionFromRow)
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
	return calendarOf(versions)
}

// calendarOf is the calendar of the built-in base with versions on top.
func calendarOf(versions []CalendarVersion) (*calendar.Calendar, error) {
	cal := calendar.Builtin()
	for _, v := range versions {
		var n calendar.Notice
		if err := json.Unmarshal(v.Notice, &n); err != nil {
			return nil, fmt.Errorf("decoding calendar version %d: %w", v.ID, err)
		}
		next, err := cal.With(n, calendar.Version{ID: v.ID, Label: VersionLabel(v.ID)})
		if err != nil {
			return nil, fmt.Errorf("applying calendar version %d: %w", v.ID, err)
		}
		cal = next
	}
	return cal, nil
}

// DeadlineTerms reads what deadlines are resolved with, the calendar in
// force (Calendar) and the escalation policy (EscalationPolicy), in one
// round trip.
func (s *Store) DeadlineTerms(ctx context.Context) (*calendar.Calendar, casework.EscalationPolicy, error) {
	var versions []dbsqlc.CalendarVersion
	var policy optionalRow[dbsqlc.EscalationPolicy]
	err := s.inPipeline(ctx, func(p *pipeline) error {
		queue(p, &versions, func(q *dbsqlc.Queries, ctx context.Context, _ struct{}) ([]dbsqlc.CalendarVersion, error) {
			return q.CurrentCalendarVersions(ctx)
		}, struct{}{})
		queue(p, &policy, func(q *dbsqlc.Queries, ctx context.Context, _ struct{}) (optionalRow[dbsqlc.EscalationPolicy], error) {
			return optionalOf(q.CurrentEscalationPolicy(ctx))
		}, struct{}{})
		return nil
	})
	if err != nil {
		return nil, casework.EscalationPolicy{}, fmt.Errorf("reading the calendar and the escalation policy: %w", err)
	}
	list, err := convertAll(versions, calendarVersionFromRow)
	if err != nil {
		return nil, casework.EscalationPolicy{}, fmt.Errorf("reading current calendar versions: %w", err)
	}
	cal, err := calendarOf(list)
	if err != nil {
		return nil, casework.EscalationPolicy{}, err
	}
	p, err := escalationPolicyOf(policy.row, policy.found)
	return cal, p, err
}

// VersionLabel names a loaded version for people.
func VersionLabel(id int64) string { return fmt.Sprintf("calendar version %d", id) }

// namedInChinese is a notice's JSON with each holiday's Chinese name the API
// would give it (calendar.NameZHOf) where it has none: a retry of a load
// made before the API gave holidays their Chinese names is the same
// notice, and not refused as another.
func namedInChinese(raw []byte) ([]byte, error) {
	var n calendar.Notice
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, err
	}
	for i, h := range n.Holidays {
		if h.NameZH == "" {
			n.Holidays[i].NameZH = calendar.NameZHOf(h.Name)
		}
	}
	return json.Marshal(n)
}
