package casework

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/xuncha/xuncha/internal/derrors"
)

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
