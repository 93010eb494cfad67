package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/ledger/internal/dbsqlc"
)

// Referral of clues by cadre-management authority (移交, issue 14 item 2):
// a VIOLATION_CLUE or responsibility problem goes to the body with
// jurisdiction over the people concerned. The office keeps a routing table
// (administrative level of the unit × kind of clue × cadre rank → receiving
// body) that proposes the receiver; the receiver acknowledges receipt (回执)
// within a number of working days and later reports the outcome (立案 /
// 处理结果). The routing table is append-only: every change is a row, the
// newest of a key is in force.

func routeFromRow(r dbsqlc.ReferralRoute) (casework.ReferralRoute, error) {
	out := casework.ReferralRoute{Version: r.ID, UnitLevel: r.UnitLevel, ClueKind: r.ClueKind, CadreRank: r.CadreRank,
		Receiver: r.Receiver, AckWorkingDays: r.AckWorkingDays, Note: r.Note, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.UpdatedBy, &out.UpdatedBy); err != nil {
		return casework.ReferralRoute{}, fmt.Errorf("decoding updated_by of referral route %d: %w", r.ID, err)
	}
	return out, nil
}

// ReferralRoutes returns the routing table in force, in key order.
func (s *Store) ReferralRoutes(ctx context.Context) ([]casework.ReferralRoute, error) {
	rows, err := s.q.CurrentReferralRoutes(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the referral routes: %w", err)
	}
	out := make([]casework.ReferralRoute, 0, len(rows))
	for _, r := range rows {
		route, err := routeFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, route)
	}
	return out, nil
}

// MatchReferralRoute returns the route in force for a key, and false when
// the table has none (never set, or removed).
func (s *Store) MatchReferralRoute(ctx context.Context, level, kind, rank string) (casework.ReferralRoute, bool, error) {
	r, found, err := optional(s.q.CurrentReferralRoute(ctx, dbsqlc.CurrentReferralRouteParams{UnitLevel: level, ClueKind: kind, CadreRank: rank}))
	if err != nil {
		return casework.ReferralRoute{}, false, fmt.Errorf("reading the referral route %s: %w", casework.RouteKey(level, kind, rank), err)
	}
	if !found || r.Receiver == "" {
		return casework.ReferralRoute{}, false, nil
	}
	route, err := routeFromRow(r)
	return route, err == nil, err
}

// SetReferralRoute puts a route in force (receiver and ackWorkingDays set)
// or removes it (receiver empty, ackWorkingDays 0), recording the change
// and its event (subject SubjectReferralRoute, RouteKey) in one
// transaction. A retry with the same request ID returns the first answer;
// the same request ID for a different change is derrors.ErrAlreadyExists.
// Removing a key that has no route is derrors.ErrNotFound.
func (s *Store) SetReferralRoute(ctx context.Context, requestID string, route casework.ReferralRoute, by actor.Actor) (casework.ReferralRoute, error) {
	var v derrors.Violations
	if requestID == "" {
		v.Add("request_id", "must not be empty")
	}
	casework.ValidateRouteKey(&v, "", route.UnitLevel, route.ClueKind, route.CadreRank)
	removal := route.Receiver == ""
	if !removal {
		casework.ValidateReceiver(&v, "receiver", route.Receiver)
		casework.ValidateAckWorkingDays(&v, "ack_working_days", route.AckWorkingDays)
	} else if route.AckWorkingDays != 0 {
		v.Add("ack_working_days", "is not given when removing a route")
	}
	if utf8.RuneCountInString(route.Note) > 2000 {
		v.Add("note", "must be at most 2000 characters")
	}
	if err := v.Err(); err != nil {
		return casework.ReferralRoute{}, err
	}
	byJSON, err := json.Marshal(by)
	if err != nil {
		return casework.ReferralRoute{}, fmt.Errorf("encoding actor: %w", err)
	}
	key := casework.RouteKey(route.UnitLevel, route.ClueKind, route.CadreRank)
	var out casework.ReferralRoute
	err = s.inTx(ctx, func(q *dbsqlc.Queries) error {
		if removal {
			cur, found, err := optional(q.CurrentReferralRoute(ctx, dbsqlc.CurrentReferralRouteParams{
				UnitLevel: route.UnitLevel, ClueKind: route.ClueKind, CadreRank: route.CadreRank}))
			if err != nil {
				return fmt.Errorf("reading the referral route %s: %w", key, err)
			}
			_, retried, err := optional(q.ReferralRouteOfRequest(ctx, requestID))
			if err != nil {
				return fmt.Errorf("reading the referral route of request %q: %w", requestID, err)
			}
			if (!found || cur.Receiver == "") && !retried {
				return derrors.New(derrors.ErrNotFound, "the routing table has no route %s to remove", key)
			}
		}
		id, inserted, err := optional(q.InsertReferralRoute(ctx, dbsqlc.InsertReferralRouteParams{
			RequestID: requestID, UnitLevel: route.UnitLevel, ClueKind: route.ClueKind, CadreRank: route.CadreRank,
			Receiver: route.Receiver, AckWorkingDays: route.AckWorkingDays, Note: route.Note, UpdatedBy: byJSON,
		}))
		if err != nil {
			return fmt.Errorf("inserting referral route %s: %w", key, err)
		}
		if !inserted {
			r, err := q.ReferralRouteOfRequest(ctx, requestID)
			if err != nil {
				return fmt.Errorf("reading the referral route of request %q: %w", requestID, err)
			}
			if r.UnitLevel != route.UnitLevel || r.ClueKind != route.ClueKind || r.CadreRank != route.CadreRank ||
				r.Receiver != route.Receiver || r.AckWorkingDays != route.AckWorkingDays || r.Note != route.Note {
				return fmt.Errorf("request_id %q was already used for a different change of the routing table (version %d): %w",
					requestID, r.ID, derrors.ErrAlreadyExists)
			}
			out, err = routeFromRow(r)
			return err
		}
		r, err := q.GetReferralRoute(ctx, id)
		if err != nil {
			return fmt.Errorf("reading referral route %d: %w", id, err)
		}
		if out, err = routeFromRow(r); err != nil {
			return err
		}
		action, note := "set_referral_route", fmt.Sprintf("%s → %s (receipt within %d working days)", key, route.Receiver, route.AckWorkingDays)
		if removal {
			action, note = "remove_referral_route", key+" removed"
		}
		if route.Note != "" {
			note += ": " + route.Note
		}
		data, err := json.Marshal(map[string]any{"version": id, "route": out})
		if err != nil {
			return fmt.Errorf("encoding event data: %w", err)
		}
		return s.appendEvent(ctx, q, casework.Event{
			SubjectType: casework.SubjectReferralRoute, SubjectID: key, Key: "set/" + requestID,
			Action: action, Actor: by, Note: note, Data: data, OccurredAt: out.UpdatedAt,
		})
	})
	if err != nil {
		return casework.ReferralRoute{}, err
	}
	return out, nil
}
