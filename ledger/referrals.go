package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuncha/xuncha/calendar"
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

// Administrative levels of an inspected unit (the routing table's rows).
const (
	UnitLevelProvince = "PROVINCE" // 省级: a provincial department, a provincial enterprise
	UnitLevelCity     = "CITY"     // 市州级
	UnitLevelCounty   = "COUNTY"   // 县市区级 and below
)

// UnitLevels lists the levels in order.
var UnitLevels = []string{UnitLevelProvince, UnitLevelCity, UnitLevelCounty}

// Kinds of clue.
const (
	ClueDiscipline      = "DISCIPLINE"       // 违纪: party discipline
	ClueDutyCrime       = "DUTY_CRIME"       // 职务违法、职务犯罪
	ClueDereliction     = "DERELICTION"      // 失职失责: responsibilities not carried out
	ClueSectorViolation = "SECTOR_VIOLATION" // 行业领域违法违规: for the sector's competent department
)

// ClueKinds lists the kinds in order.
var ClueKinds = []string{ClueDiscipline, ClueDutyCrime, ClueDereliction, ClueSectorViolation}

// Cadre ranks of the people concerned (干部管理权限).
const (
	RankDepartment = "DEPARTMENT" // 厅局级
	RankDivision   = "DIVISION"   // 县处级
	RankSection    = "SECTION"    // 乡科级
	RankOther      = "OTHER"      // 一般干部、企业管理人员及其他
)

// CadreRanks lists the ranks in order.
var CadreRanks = []string{RankDepartment, RankDivision, RankSection, RankOther}

// Limits of the acknowledgement period.
const (
	// DefaultAckWorkingDays is the receipt's limit for a receiver the
	// routing table does not name (an override) unless the office gives one.
	DefaultAckWorkingDays = 5
	// MaxAckWorkingDays bounds the receipt's limit.
	MaxAckWorkingDays = 30
)

// Clue referral states.
const (
	// ReferralAwaitingReceipt: referred, the receipt (回执) not yet given.
	ReferralAwaitingReceipt = "AWAITING_RECEIPT"
	// ReferralAcknowledged: the receiver acknowledged receipt.
	ReferralAcknowledged = "ACKNOWLEDGED"
	// ReferralFiled: the receiver opened a case (立案); the handling result
	// is still owed.
	ReferralFiled = "FILED"
	// ReferralConcluded: the receiver reported the handling result (处理结果).
	ReferralConcluded = "CONCLUDED"
	// ReferralNotFiled: the receiver decided not to open a case (不予立案),
	// with its reasons.
	ReferralNotFiled = "NOT_FILED"
)

// Outcomes a receiver reports.
const (
	OutcomeFiled     = "FILED"
	OutcomeNotFiled  = "NOT_FILED"
	OutcomeConcluded = "CONCLUDED"
)

// ReferralOutcomes lists the outcomes in order.
var ReferralOutcomes = []string{OutcomeFiled, OutcomeNotFiled, OutcomeConcluded}

// ReferralSettled reports whether a referral's outcome is final: the
// finding may close only when every referral is settled.
func ReferralSettled(state string) bool {
	return state == ReferralConcluded || state == ReferralNotFiled
}

// ClueReferral is one referral (移交) of a finding's clue to a receiving
// body, with its receipt and outcomes.
type ClueReferral struct {
	// Seq numbers the finding's referrals: 1, 2, ….
	Seq       int    `json:"seq"`
	UnitLevel string `json:"unit_level"`
	ClueKind  string `json:"clue_kind"`
	CadreRank string `json:"cadre_rank"`
	// ProposedReceiver is the routing table's receiver for the key (empty
	// when it has none) and RouteVersion its row.
	ProposedReceiver string `json:"proposed_receiver,omitempty"`
	RouteVersion     int64  `json:"route_version,omitempty"`
	// Receiver is the body the clue went to: the proposal confirmed, or
	// the office's override, with OverrideReason.
	Receiver       string `json:"receiver"`
	OverrideReason string `json:"override_reason,omitempty"`
	Note           string `json:"note,omitempty"`
	// State is one of the referral states.
	State          string      `json:"state"`
	AckWorkingDays int         `json:"ack_working_days"`
	ReferredBy     actor.Actor `json:"referred_by"`
	ReferredAt     time.Time   `json:"referred_at"`
	// AckDeadline is the receipt's deadline; ReceiptOverdue is set when it
	// passed without one (the ladder escalated) and stays set when the
	// receipt comes late.
	AckDeadline    *calendar.Deadline `json:"ack_deadline,omitempty"`
	ReceiptOverdue bool               `json:"receipt_overdue,omitempty"`
	// The receipt (回执).
	AcknowledgedBy *actor.Actor `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time   `json:"acknowledged_at,omitempty"`
	ReceiptNumber  string       `json:"receipt_number,omitempty"`
	AckNote        string       `json:"ack_note,omitempty"`
	// Outcomes are what the receiver reported, oldest first.
	Outcomes []ReferralOutcome `json:"outcomes,omitempty"`
}

// ReferralOutcome is one outcome a receiver reported: a case opened (立案),
// none opened (不予立案) or the handling result (处理结果).
type ReferralOutcome struct {
	Outcome     string      `json:"outcome"`
	Summary     string      `json:"summary"`
	CaseNumber  string      `json:"case_number,omitempty"`
	EvidenceIDs []string    `json:"evidence_ids,omitempty"`
	ReportedBy  actor.Actor `json:"reported_by"`
	ReportedAt  time.Time   `json:"reported_at"`
}

// ReferralRoute is one row of the office's routing table in force.
type ReferralRoute struct {
	// Version is the row's ID: the routing table's change that set it.
	Version        int64       `json:"version"`
	UnitLevel      string      `json:"unit_level"`
	ClueKind       string      `json:"clue_kind"`
	CadreRank      string      `json:"cadre_rank"`
	Receiver       string      `json:"receiver"`
	AckWorkingDays int         `json:"ack_working_days"`
	Note           string      `json:"note,omitempty"`
	UpdatedBy      actor.Actor `json:"updated_by"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

// RouteKey names a route: the subject ID of its events
// ("CITY/DISCIPLINE/DIVISION").
func RouteKey(level, kind, rank string) string { return level + "/" + kind + "/" + rank }

// SubjectReferralRoute marks events of a routing table row (subject ID
// RouteKey).
const SubjectReferralRoute = "referral_route"

// ValidateRouteKey checks a routing key's three fields; violations name
// prefix+unit_level, clue_kind and cadre_rank.
func ValidateRouteKey(v *derrors.Violations, prefix, level, kind, rank string) {
	for _, c := range []struct {
		field, value string
		allowed      []string
	}{{"unit_level", level, UnitLevels}, {"clue_kind", kind, ClueKinds}, {"cadre_rank", rank, CadreRanks}} {
		if !slices.Contains(c.allowed, c.value) {
			v.Add(prefix+c.field, "must be one of %s", strings.Join(c.allowed, ", "))
		}
	}
}

// ValidateReceiver checks a receiving body's name (field names it).
func ValidateReceiver(v *derrors.Violations, field, receiver string) {
	switch {
	case strings.TrimSpace(receiver) == "":
		v.Add(field, "must name the receiving body (as its API identity's organisation names it)")
	case strings.TrimSpace(receiver) != receiver:
		v.Add(field, "must not start or end with spaces")
	case utf8.RuneCountInString(receiver) > 200:
		v.Add(field, "must be at most 200 characters")
	}
}

// ValidateAckWorkingDays checks a receipt's limit in working days.
func ValidateAckWorkingDays(v *derrors.Violations, field string, days int) {
	if days < 1 || days > MaxAckWorkingDays {
		v.Add(field, "must be between 1 and %d working days", MaxAckWorkingDays)
	}
}

func routeFromRow(r dbsqlc.ReferralRoute) (ReferralRoute, error) {
	out := ReferralRoute{Version: r.ID, UnitLevel: r.UnitLevel, ClueKind: r.ClueKind, CadreRank: r.CadreRank,
		Receiver: r.Receiver, AckWorkingDays: r.AckWorkingDays, Note: r.Note, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal(r.UpdatedBy, &out.UpdatedBy); err != nil {
		return ReferralRoute{}, fmt.Errorf("decoding updated_by of referral route %d: %w", r.ID, err)
	}
	return out, nil
}

// ReferralRoutes returns the routing table in force, in key order.
func (s *Store) ReferralRoutes(ctx context.Context) ([]ReferralRoute, error) {
	rows, err := s.q.CurrentReferralRoutes(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the referral routes: %w", err)
	}
	out := make([]ReferralRoute, 0, len(rows))
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
func (s *Store) MatchReferralRoute(ctx context.Context, level, kind, rank string) (ReferralRoute, bool, error) {
	r, found, err := optional(s.q.CurrentReferralRoute(ctx, dbsqlc.CurrentReferralRouteParams{UnitLevel: level, ClueKind: kind, CadreRank: rank}))
	if err != nil {
		return ReferralRoute{}, false, fmt.Errorf("reading the referral route %s: %w", RouteKey(level, kind, rank), err)
	}
	if !found || r.Receiver == "" {
		return ReferralRoute{}, false, nil
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
func (s *Store) SetReferralRoute(ctx context.Context, requestID string, route ReferralRoute, by actor.Actor) (ReferralRoute, error) {
	var v derrors.Violations
	if requestID == "" {
		v.Add("request_id", "must not be empty")
	}
	ValidateRouteKey(&v, "", route.UnitLevel, route.ClueKind, route.CadreRank)
	removal := route.Receiver == ""
	if !removal {
		ValidateReceiver(&v, "receiver", route.Receiver)
		ValidateAckWorkingDays(&v, "ack_working_days", route.AckWorkingDays)
	} else if route.AckWorkingDays != 0 {
		v.Add("ack_working_days", "is not given when removing a route")
	}
	if utf8.RuneCountInString(route.Note) > 2000 {
		v.Add("note", "must be at most 2000 characters")
	}
	if err := v.Err(); err != nil {
		return ReferralRoute{}, err
	}
	byJSON, err := json.Marshal(by)
	if err != nil {
		return ReferralRoute{}, fmt.Errorf("encoding actor: %w", err)
	}
	key := RouteKey(route.UnitLevel, route.ClueKind, route.CadreRank)
	var out ReferralRoute
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
		return s.appendEvent(ctx, q, Event{
			SubjectType: SubjectReferralRoute, SubjectID: key, Key: "set/" + requestID,
			Action: action, Actor: by, Note: note, Data: data, OccurredAt: out.UpdatedAt,
		})
	})
	if err != nil {
		return ReferralRoute{}, err
	}
	return out, nil
}
