package casework

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
)

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
