package casework

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuncha/xuncha/internal/actor"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

// Escalation is one step of the escalation ladder taken for a deadline.
type Escalation struct {
	ID string `json:"id"`
	// Subject is "finding/<id>" or "inspection/<id>".
	Subject     string    `json:"subject"`
	DeadlineSeq int       `json:"deadline_seq"`
	Step        string    `json:"step"`
	UnitCode    string    `json:"unit_code"`
	DueAt       time.Time `json:"due_at"`
	FiredAt     time.Time `json:"fired_at"`
	// Message says what the step means, in English; MessageZH in Chinese
	// (empty in rows written before it: the English serves both).
	Message   string `json:"message"`
	MessageZH string `json:"message_zh,omitempty"`
}

// Text is the escalation's message in both languages.
func (e Escalation) Text() i18n.Text { return i18n.Text{EN: e.Message, ZH: e.MessageZH} }

// EscalationStep is one rung of the office's ladder.
type EscalationStep struct {
	// Step is REMINDER, OVERDUE or INTERVIEW_PROPOSED.
	Step string `json:"step"`
	// WorkingDays is relative to the due date: <0 before, 0 at, >0 after.
	WorkingDays int `json:"working_days"`
}

// EscalationPolicy is the ladder in force, with the limits on extending a
// rectification deadline.
type EscalationPolicy struct {
	// Version is 0 for the built-in default.
	Version    int64            `json:"version"`
	Steps      []EscalationStep `json:"steps"`
	Extensions ExtensionLimits  `json:"extensions"`
	// SignoffRules say who signs which findings off before they close;
	// none: the office's verification closes every finding.
	SignoffRules []SignoffRule `json:"signoff_rules,omitempty"`
	// InvitationAnswerWorkingDays is how many working days a person drawn
	// for a line-up has to answer an invitation (issue 15), read when each
	// invitation is sent; DefaultInvitationAnswerWorkingDays until the
	// office sets it.
	InvitationAnswerWorkingDays int         `json:"invitation_answer_working_days"`
	UpdatedBy                   actor.Actor `json:"updated_by"`
	UpdatedAt                   time.Time   `json:"updated_at"`
}

// Escalation steps.
const (
	StepReminder          = "REMINDER"
	StepOverdue           = "OVERDUE"
	StepInterviewProposed = "INTERVIEW_PROPOSED"
)

// DefaultEscalationPolicy is the ladder until the office sets one: a reminder
// one working day before the deadline, escalation at the deadline, a proposed
// interview 5 working days later; extensions as DefaultExtensionLimits.
func DefaultEscalationPolicy() EscalationPolicy {
	return EscalationPolicy{Steps: []EscalationStep{
		{Step: StepReminder, WorkingDays: -1},
		{Step: StepOverdue, WorkingDays: 0},
		{Step: StepInterviewProposed, WorkingDays: 5},
	}, Extensions: DefaultExtensionLimits(), InvitationAnswerWorkingDays: DefaultInvitationAnswerWorkingDays}
}

// Bounds of the invitation's answer limit, in working days.
const (
	// DefaultInvitationAnswerWorkingDays is the answer limit until the
	// office sets one.
	DefaultInvitationAnswerWorkingDays = 3
	// MaxInvitationAnswerWorkingDays is the longest answer limit a policy
	// may set: a line-up waits for its invitations before the inspection.
	MaxInvitationAnswerWorkingDays = 30
)

// ValidateInvitationAnswerWorkingDays checks the policy's answer limit:
// 1 to MaxInvitationAnswerWorkingDays working days. The violation names
// invitation_answer_working_days.
func ValidateInvitationAnswerWorkingDays(days int) error {
	if days < 1 || days > MaxInvitationAnswerWorkingDays {
		return derrors.Invalid("invitation_answer_working_days", "must be between 1 and %d working days", MaxInvitationAnswerWorkingDays)
	}
	return nil
}

// ExtensionLimits are the office's limits on extending a finding's
// rectification deadline (延期), part of its escalation policy. They apply
// to each rectification deadline the office sets (the referral's, and each
// one after a rejected verification or a reopening) together with its
// extensions.
type ExtensionLimits struct {
	// MaxCount is how many extensions one rectification deadline may be
	// granted; 0 allows none.
	MaxCount int `json:"max_count"`
	// TotalMonths or TotalWorkingDays (exactly one, when MaxCount is above
	// 0) is how far past its original last day the extensions together may
	// move a deadline: the extended last day is at the latest that period
	// after the original one, counted with the calendar (Civil Code
	// periods, working days by the State Council's notices).
	TotalMonths      int `json:"total_months,omitempty"`
	TotalWorkingDays int `json:"total_working_days,omitempty"`
	// Severities are the hazard severities that may be extended at all
	// (GENERAL, MAJOR). Findings that are not hazards have no severity and
	// may be extended within the same count and total.
	Severities []string `json:"severities,omitempty"`
}

// DefaultExtensionLimits are the extension limits until the office sets
// some: at most 2 extensions, together at most 1 month past the original
// last day, for MAJOR hazards (and findings that are not hazards). A
// GENERAL hazard (一般事故隐患) is by definition one whose harm and
// rectification are small enough to be removed at once (《安全生产事故隐患
// 排查治理暂行规定》第三条); a MAJOR one (重大事故隐患) may need works that
// take time, which is what extensions are for.
func DefaultExtensionLimits() ExtensionLimits {
	return ExtensionLimits{MaxCount: 2, TotalMonths: 1, Severities: []string{SeverityMajor}}
}

// Bounds of the escalation ladder, in working days relative to the due day.
const (
	// MaxReminderWorkingDays is how early a reminder may come: at most this
	// many working days before the due day.
	MaxReminderWorkingDays = 20
	// MaxInterviewWorkingDays is how late an interview may be proposed: at
	// most this many working days after the due day.
	MaxInterviewWorkingDays = 60
)

// EscalationID is the stable ID of the escalation step of a subject's
// deadline: the same subject, deadline sequence and step always give the
// same ID, so a retried escalation lands on the same row.
func EscalationID(subject string, deadlineSeq int, step string) string {
	sum := sha256.Sum256([]byte(subject + "\x00" + strconv.Itoa(deadlineSeq) + "\x00" + step))
	return "esc-" + hex.EncodeToString(sum[:8])
}

// ValidateEscalationSteps checks a ladder: each step is REMINDER, OVERDUE or
// INTERVIEW_PROPOSED and appears at most once; OVERDUE is required and falls
// on the due day (0); a REMINDER comes 1 to MaxReminderWorkingDays working
// days before it (negative), an INTERVIEW_PROPOSED 1 to
// MaxInterviewWorkingDays after it. Violations name steps[i].step,
// steps[i].working_days or steps.
func ValidateEscalationSteps(steps []EscalationStep) error {
	var v derrors.Violations
	seen := map[string]int{}
	for i, st := range steps {
		stepField := fmt.Sprintf("steps[%d].step", i)
		daysField := fmt.Sprintf("steps[%d].working_days", i)
		if first, ok := seen[st.Step]; ok {
			v.Add(stepField, "must not repeat %s (already steps[%d])", st.Step, first)
			continue
		}
		switch st.Step {
		case StepReminder:
			if st.WorkingDays >= 0 || st.WorkingDays < -MaxReminderWorkingDays {
				v.Add(daysField, "must be between -%d and -1 for %s (working days before the due day)", MaxReminderWorkingDays, StepReminder)
			}
		case StepOverdue:
			if st.WorkingDays != 0 {
				v.Add(daysField, "must be 0 for %s (it fires when the due day ends)", StepOverdue)
			}
		case StepInterviewProposed:
			if st.WorkingDays <= 0 || st.WorkingDays > MaxInterviewWorkingDays {
				v.Add(daysField, "must be between 1 and %d for %s (working days after the due day)", MaxInterviewWorkingDays, StepInterviewProposed)
			}
		default:
			v.Add(stepField, "must be one of %s, %s, %s", StepReminder, StepOverdue, StepInterviewProposed)
			continue
		}
		seen[st.Step] = i
	}
	if _, ok := seen[StepOverdue]; !ok {
		v.Add("steps", "must include an %s step with working_days 0", StepOverdue)
	}
	return v.Err()
}

// Bounds of the extension limits.
const (
	// MaxExtensions is the most extensions a policy may allow per deadline.
	MaxExtensions = 10
	// MaxExtensionMonths and MaxExtensionWorkingDays bound the total an
	// extended deadline may move: the calendar's longest periods.
	MaxExtensionMonths      = 12
	MaxExtensionWorkingDays = 250
)

// ValidateExtensionLimits checks the office's limits on extensions: a
// count from 0 (none) to MaxExtensions; with a count above 0, exactly one
// total — 1 to MaxExtensionMonths months or 1 to MaxExtensionWorkingDays
// working days — and at least one hazard severity, each once; with 0,
// neither. Violations name extension_limits.max_count,
// extension_limits.total_months, extension_limits.total_working_days or
// extension_limits.severities[i].
func ValidateExtensionLimits(l ExtensionLimits) error {
	const prefix = "extension_limits."
	var v derrors.Violations
	if l.MaxCount < 0 || l.MaxCount > MaxExtensions {
		v.Add(prefix+"max_count", "must be between 0 (no extensions) and %d", MaxExtensions)
		return v.Err()
	}
	if l.MaxCount == 0 {
		if l.TotalMonths != 0 || l.TotalWorkingDays != 0 || len(l.Severities) > 0 {
			v.Add(prefix+"max_count", "is 0, which allows no extension: leave total_months, total_working_days and severities unset")
		}
		return v.Err()
	}
	switch {
	case l.TotalMonths != 0 && l.TotalWorkingDays != 0:
		v.Add(prefix+"total_months", "give either total_months or total_working_days, not both")
	case l.TotalMonths == 0 && l.TotalWorkingDays == 0:
		v.Add(prefix+"total_months", "give the total either in months (total_months, 1 to %d) or in working days (total_working_days, 1 to %d)",
			MaxExtensionMonths, MaxExtensionWorkingDays)
	case l.TotalMonths < 0 || l.TotalMonths > MaxExtensionMonths:
		v.Add(prefix+"total_months", "must be between 1 and %d", MaxExtensionMonths)
	case l.TotalWorkingDays < 0 || l.TotalWorkingDays > MaxExtensionWorkingDays:
		v.Add(prefix+"total_working_days", "must be between 1 and %d", MaxExtensionWorkingDays)
	}
	if len(l.Severities) == 0 {
		v.Add(prefix+"severities", "must list at least one of %s (set max_count 0 to allow no extension)", strings.Join(HazardSeverities, ", "))
	}
	for i, sev := range l.Severities {
		field := fmt.Sprintf("%sseverities[%d]", prefix, i)
		switch {
		case !slices.Contains(HazardSeverities, sev):
			v.Add(field, "must be one of %s", strings.Join(HazardSeverities, ", "))
		case slices.Index(l.Severities, sev) < i:
			v.Add(field, "%s is listed twice", sev)
		}
	}
	return v.Err()
}
