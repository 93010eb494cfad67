package deadline_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/deadline"
	"github.com/xuncha/xuncha/internal/derrors"
	"github.com/xuncha/xuncha/internal/i18n"
)

func d(s string) calendar.Date { return calendar.MustParseDate(s) }

// field returns the one field an *derrors.InvalidError names.
func field(t *testing.T, err error) string {
	t.Helper()
	var invalid *derrors.InvalidError
	require.True(t, errors.As(err, &invalid), "want an *InvalidError, got %v", err)
	require.Len(t, invalid.Violations, 1)
	return invalid.Violations[0].Field
}

// TestResolveRules resolves each lifecycle step's rule on the built-in
// calendar. The due days are the charter's rules applied by hand to the
// State Council's notices (2026: National Day 10-01..10-07, make-up days
// Sunday 09-20 and Saturday 10-10).
func TestResolveRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rule deadline.Rule
		due  string
		// summary is how the explanation opens.
		summary string
		// line is another explanation line that must be there.
		line string
	}{
		{
			name: "team report across National Day", rule: deadline.TeamReport("2026-09-30"), due: "2026-10-13",
			summary: "due 2026-10-13: 5 working days after 2026-09-30",
			line:    "10-10 Saturday is a working day",
		},
		{
			name: "rectification month ending on a holiday", rule: deadline.Rectification("feedback_received_on", "2026-09-01", ""),
			due: "2026-10-08", summary: "due 2026-10-08: 1 month after 2026-09-01",
			line: "National Day",
		},
		{
			name: "rectification month ending on a Saturday", rule: deadline.Rectification("feedback_delivered_on", "2026-10-14", ""),
			due: "2026-11-16", summary: "due 2026-11-16: 1 month after 2026-10-14",
		},
		{
			name: "Jan 31 + 1 month", rule: deadline.Rectification("feedback_received_on", "2025-01-31", ""),
			due: "2025-02-28", line: "February has no 31st",
		},
		{
			name: "Jan 31 + 1 month in a leap year", rule: deadline.Rectification("feedback_received_on", "2024-01-31", ""),
			due: "2024-02-29", line: "February has no 31st",
		},
		{
			// Civil Code art. 203, as for the statutory limit: no step
			// falls while the unit's office is closed for the holiday.
			name: "office limit on a holiday", rule: deadline.Rectification("feedback_received_on", "2026-09-01", "2026-10-03"),
			due:     "2026-10-08",
			summary: "due 2026-10-08: set by the office, within the statutory limit of 2026-10-08",
			line:    "2026-10-03, the day set, is a rest day (National Day); the limit ends on the next working day 2026-10-08 (Civil Code art. 203)",
		},
		{
			name: "office limit within the month", rule: deadline.Rectification("feedback_received_on", "2026-09-01", "2026-09-20"),
			due:     "2026-09-20",
			summary: "due 2026-09-20: set by the office, within the statutory limit of 2026-10-08",
			line:    "due 2026-10-08: 1 month after 2026-09-01",
		},
		{
			name: "rectification again after a rejection", rule: deadline.RectificationAgain("2026-09-01", ""),
			due: "2026-10-08", summary: "due 2026-10-08: 1 month after 2026-09-01",
		},
		{
			name: "follow-up, default limit", rule: deadline.FollowUp("2026-09-30", 0), due: "2026-10-13",
			summary: "due 2026-10-13: 5 working days after 2026-09-30",
		},
		{
			name: "follow-up, one working day", rule: deadline.FollowUp("2026-09-30", 1), due: "2026-10-08",
			summary: "due 2026-10-08: 1 working day after 2026-09-30",
		},
		{
			name: "an extension within a month", rule: deadline.Extension("2026-09-01", casework.DefaultExtensionLimits(), "2026-09-30"),
			due:     "2026-09-30",
			summary: "due 2026-09-30: an extension approved by the office, within the limit of extensions, 2026-10-08 (1 month after 2026-09-01, the original last day)",
			line:    "National Day",
		},
		{
			name: "an extension to the last working day allowed",
			rule: deadline.Extension("2026-09-25", casework.ExtensionLimits{MaxCount: 1, TotalWorkingDays: 5}, "2026-10-09"),
			due:  "2026-10-09", line: "due 2026-10-09: 5 working days after 2026-09-25",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(), tt.rule)
			require.NoError(t, err)
			require.Equal(t, d(tt.due), res.Deadline.Due)
			require.Equal(t, d(tt.due).End(), res.Deadline.DueAt, "a deadline is the end of its last day")
			explanation := res.Deadline.Explain()
			if tt.summary != "" {
				require.True(t, strings.HasPrefix(explanation, tt.summary), "explanation:\n%s", explanation)
			}
			require.Contains(t, explanation, tt.line)
		})
	}
}

// TestOfficeDayEndsTheExplanation: a day the office set closes its
// explanation, in both languages, the limit it lies within named before it:
// the statutory limit, or for an approved extension the limit of
// extensions, which may pass the statutory limit and is not called the
// law's. The last line said the period ended on the limit's day, below a
// first line that gave the office's; an extension's called its limit the
// statutory one.
func TestOfficeDayEndsTheExplanation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		rule         deadline.Rule
		last, lastZH string
		limitDay     string
		notNamed     []string
	}{
		{"a day within the statutory limit", deadline.Rectification("feedback_received_on", "2026-09-01", "2026-09-20"),
			"the statutory limit 2026-10-08; the period ends at 24:00 on 2026-09-20 (Asia/Shanghai), i.e. 2026-09-21 00:00 +08:00",
			"法定期限 2026-10-08；期限至 2026-09-20 24:00（北京时间）届满，即 2026-09-21 00:00 +08:00；日历：", "2026-10-08", nil},
		{"an extension", deadline.Extension("2026-09-30", casework.DefaultExtensionLimits(), "2026-10-24"),
			"the limit of extensions 2026-10-30; the period ends at 24:00 on 2026-10-26 (Asia/Shanghai), i.e. 2026-10-27 00:00 +08:00",
			"延期上限 2026-10-30；期限至 2026-10-26 24:00（北京时间）届满", "2026-10-30", []string{"statutory limit", "法定期限"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(), tt.rule)
			require.NoError(t, err)
			en, zh := res.Deadline.Explanation, res.Deadline.ExplanationZH
			require.Equal(t, tt.last, en[len(en)-1])
			require.True(t, strings.HasPrefix(zh[len(zh)-1], tt.lastZH), zh[len(zh)-1])
			for _, line := range append(en, zh...) {
				require.NotContains(t, line, "24:00 on "+tt.limitDay)
				require.NotContains(t, line, "期限至 "+tt.limitDay)
				for _, word := range tt.notNamed {
					require.NotContains(t, line, word)
				}
			}
		})
	}
}

// TestDaySetByASigner: a last day a signer set, refusing a sign-off,
// is said to be theirs, not the office's (it read "set by the office").
func TestDaySetByASigner(t *testing.T) {
	t.Parallel()
	res, err := deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(),
		deadline.RectificationAgain("2026-09-01", "2026-09-21").SetBy("省应急管理厅"))
	require.NoError(t, err)
	require.Equal(t, "due 2026-09-21: set by 省应急管理厅, within the statutory limit of 2026-10-08", res.Deadline.Explanation[0])
	require.Equal(t, "2026-09-21 截止：由省应急管理厅确定，在法定期限 2026-10-08 之内", res.Deadline.ExplanationZH[0])
}

// TestStepsNotTakenAreNotScheduled: a deadline whose lifecycle proposes no
// interview is not refused because the ladder's interview step would fall
// in a year without calendar data; its own last day and the steps it takes
// are known. A rule recorded before Rule.Steps takes every step, and a
// rectification deadline, which takes the interview, still needs the year.
func TestStepsNotTakenAreNotScheduled(t *testing.T) {
	t.Parallel()
	cal, policy := calendar.Builtin(), casework.DefaultEscalationPolicy()
	_, err := cal.IsWorkingDay(d("2028-01-03"))
	require.ErrorIs(t, err, calendar.ErrNoData, "the test needs a year without data after the last built-in one")
	for _, rule := range []deadline.Rule{deadline.TeamReport("2027-12-20"), deadline.FollowUp("2027-12-20", 0),
		deadline.ReferralReceipt("2027-12-20", 5), deadline.SignoffDue("2027-12-20", 5), deadline.InvitationAnswer("2027-12-20", 5)} {
		res, err := deadline.Resolve(cal, policy, rule)
		require.NoError(t, err, "%+v", rule)
		require.Equal(t, "2027-12-27", res.Deadline.Due.String(), "%+v", rule)
		var steps []string
		for _, s := range res.Steps {
			steps = append(steps, s.Step)
		}
		require.Equal(t, []string{casework.StepReminder, casework.StepOverdue}, steps, "%+v", rule)
	}
	recorded := deadline.TeamReport("2027-12-20")
	recorded.Steps = nil
	_, err = deadline.Resolve(cal, policy, recorded)
	require.ErrorIs(t, err, calendar.ErrNoData, "a rule recorded before Rule.Steps schedules the interview too")
	_, err = deadline.Resolve(cal, policy, deadline.Rectification("feedback_received_on", "2027-11-26", ""))
	require.ErrorIs(t, err, calendar.ErrNoData, "the rectification deadline's interview step needs 2028")
}

// TestResolveRefusals checks that a refusal names the request field it is
// about, so the API's preview and the workflow refuse alike.
func TestResolveRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rule  deadline.Rule
		field string
		// says is what the violation says.
		says string
	}{
		{"office limit past the month", deadline.Rectification("feedback_received_on", "2026-09-01", "2026-10-09"),
			"due", "must be no later than 2026-10-08"},
		{"office limit not after the start", deadline.RectificationAgain("2026-09-01", "2026-09-01"),
			"due", "must be after 2026-09-01"},
		{"office limit malformed", deadline.Rectification("feedback_received_on", "2026-09-01", "2026-9-20"),
			"due", "must be a date"},
		{"per-finding limit named by its field", deadline.Rectification("feedback_delivered_on", "2026-09-01", "2026-12-01").
			WithDueField("finding_dues[f-1]"), "finding_dues[f-1]", "must be no later than 2026-10-08"},
		{"extension past its limit", deadline.Extension("2026-09-01", casework.DefaultExtensionLimits(), "2026-10-09"),
			"due", "must be no later than 2026-10-08: extensions may move the deadline at most 1 month after 2026-09-01, its original last day"},
		{"extension not after the original day", deadline.Extension("2026-09-01", casework.DefaultExtensionLimits(), "2026-09-01"),
			"due", "must be after 2026-09-01, the original last day"},
		{"start malformed", deadline.TeamReport("30.09.2026"), "onsite_ended_on", "must be a date"},
		{"interview day malformed", deadline.FollowUp("", 0), "held_on", "must be a date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(), tt.rule)
			require.Equal(t, tt.field, field(t, err))
			require.ErrorContains(t, err, tt.says)
		})
	}

	_, err := deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(), deadline.TeamReport("2031-03-02"))
	require.ErrorIs(t, err, calendar.ErrNoData, "a year without data is an error, never a guess")
	_, err = deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(), deadline.Rule{From: "2026-09-01"})
	require.ErrorIs(t, err, derrors.ErrInvalidArgument, "a rule with no period")
}

// TestExtensionTerms: the last day extensions may reach is the limits'
// total after the original last day, counted with the calendar; limits
// that allow none give none.
func TestExtensionTerms(t *testing.T) {
	t.Parallel()
	policy := casework.DefaultEscalationPolicy()
	policy.Version = 7
	terms, err := deadline.ExtensionTermsFor(calendar.Builtin(), policy, "2026-09-01")
	require.NoError(t, err)
	require.Equal(t, casework.DefaultExtensionLimits(), terms.Limits)
	require.EqualValues(t, 7, terms.PolicyVersion)
	require.NotNil(t, terms.Latest)
	require.Equal(t, d("2026-10-08"), terms.Latest.Due, "1 month after 09-01 is 10-01, in the National Day holiday")

	policy.Extensions = casework.ExtensionLimits{MaxCount: 2, TotalWorkingDays: 5, Severities: []string{"MAJOR"}}
	terms, err = deadline.ExtensionTermsFor(calendar.Builtin(), policy, "2026-09-28")
	require.NoError(t, err)
	require.Equal(t, d("2026-10-10"), terms.Latest.Due, "09-29, 09-30, 10-08, 10-09, 10-10 (a make-up Saturday)")

	policy.Extensions = casework.ExtensionLimits{}
	terms, err = deadline.ExtensionTermsFor(calendar.Builtin(), policy, "2026-09-28")
	require.NoError(t, err)
	require.Nil(t, terms.Latest)

	policy.Extensions = casework.DefaultExtensionLimits()
	_, err = deadline.ExtensionTermsFor(calendar.Builtin(), policy, "2027-12-20")
	require.ErrorIs(t, err, calendar.ErrNoData)
}

// TestSchedule checks the ladder's instants: each step fires at the end of
// its day, counted in working days from the due day.
func TestSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps []casework.EscalationStep
		due   string
		// days are the days each step fires at the end of, in order.
		days []string
	}{
		{
			name: "default ladder", steps: casework.DefaultEscalationPolicy().Steps, due: "2026-10-13",
			// Reminder Monday 10-12; overdue at the due day; interview 5
			// working days later: 10-14, 10-15, 10-16, 10-19, 10-20.
			days: []string{"2026-10-12", "2026-10-13", "2026-10-20"},
		},
		{
			name: "reminder before National Day", steps: casework.DefaultEscalationPolicy().Steps, due: "2026-10-08",
			// Working days after 10-08: 10-09, 10-10 (make-up), 10-12, 10-13, 10-14.
			days: []string{"2026-09-30", "2026-10-08", "2026-10-14"},
		},
		{
			name: "early reminder on a make-up Saturday",
			steps: []casework.EscalationStep{
				{Step: casework.StepReminder, WorkingDays: -2}, {Step: casework.StepOverdue},
				{Step: casework.StepInterviewProposed, WorkingDays: 1},
			},
			// Two working days before Tuesday 10-13: Monday 10-12, then
			// Saturday 10-10 (Sunday 10-11 is a rest day).
			due: "2026-10-13", days: []string{"2026-10-10", "2026-10-13", "2026-10-14"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			steps, err := deadline.Schedule(calendar.Builtin(), casework.EscalationPolicy{Steps: tt.steps}, d(tt.due))
			require.NoError(t, err)
			require.Len(t, steps, len(tt.days))
			for i, s := range steps {
				require.Equal(t, tt.steps[i].Step, s.Step)
				require.Equal(t, tt.steps[i].WorkingDays, s.WorkingDays)
				require.Equal(t, d(tt.days[i]).End(), s.At, "%s fires at the end of %s", s.Step, tt.days[i])
			}
		})
	}

	// 2024-01-01 is New Year's Day and 2023 has no data.
	_, err := deadline.Schedule(calendar.Builtin(), casework.EscalationPolicy{Steps: []casework.EscalationStep{
		{Step: casework.StepReminder, WorkingDays: -2},
	}}, d("2024-01-02"))
	require.ErrorIs(t, err, calendar.ErrNoData)
	require.ErrorContains(t, err, "scheduling REMINDER")
}

// TestResolveCarriesTheLadder checks that Resolve schedules the ladder from
// the office's day, not the statutory one, and records the policy version.
func TestResolveCarriesTheLadder(t *testing.T) {
	t.Parallel()
	policy := casework.DefaultEscalationPolicy()
	policy.Version = 7
	res, err := deadline.Resolve(calendar.Builtin(), policy,
		deadline.Rectification("feedback_received_on", "2026-09-01", "2026-09-21"))
	require.NoError(t, err)
	require.Equal(t, int64(7), res.PolicyVersion)
	want, err := deadline.Schedule(calendar.Builtin(), policy, d("2026-09-21"))
	require.NoError(t, err)
	require.Equal(t, want, res.Steps)
	require.Equal(t, d("2026-09-20").End(), res.Steps[0].At, "the reminder falls on the make-up Sunday before Monday 09-21")
}

func TestWorkingDaysBefore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-10-12", 1, "2026-10-10"}, // Monday: back over Sunday to the make-up Saturday
		{"2026-10-12", 2, "2026-10-09"},
		{"2026-10-10", 1, "2026-10-09"}, // from the make-up Saturday itself
		{"2026-10-09", 2, "2026-09-30"}, // 10-08, then back over National Day
		{"2026-09-21", 1, "2026-09-20"}, // the make-up Sunday
		{"2026-09-22", 3, "2026-09-18"}, // 09-21, 09-20, then Friday 09-18 (Saturday 09-19 rests)
	}
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			t.Parallel()
			got, err := deadline.WorkingDaysBefore(calendar.Builtin(), d(tt.from), tt.n)
			require.NoError(t, err)
			require.Equal(t, d(tt.want), got)
		})
	}
	_, err := deadline.WorkingDaysBefore(calendar.Builtin(), d("2024-01-02"), 2)
	require.ErrorIs(t, err, calendar.ErrNoData, "2023 has no data")
}

// TestWorkingDaysBeforeMirrorsAddWorkingDays checks, over every working day
// the built-in calendar knows, that counting back undoes counting forward.
func TestWorkingDaysBeforeMirrorsAddWorkingDays(t *testing.T) {
	t.Parallel()
	cal := calendar.Builtin()
	for day := d("2024-01-02"); day.Before(d("2027-11-30")); day = day.AddDays(1) {
		working, err := cal.IsWorkingDay(day)
		require.NoError(t, err)
		if !working {
			continue
		}
		for _, n := range []int{1, 2, 5, 10} {
			after, err := cal.AddWorkingDays(day, n)
			require.NoError(t, err)
			back, err := deadline.WorkingDaysBefore(cal, after.Due, n)
			require.NoError(t, err)
			require.Equal(t, day, back, "%d working days before %s", n, after.Due)
		}
	}
}

func TestCompute(t *testing.T) {
	t.Parallel()
	cal := calendar.Builtin()
	got, err := deadline.Compute(cal, "2026-09-30", 5, 0)
	require.NoError(t, err)
	want, err := cal.AddWorkingDays(d("2026-09-30"), 5)
	require.NoError(t, err)
	require.Equal(t, want, got)

	got, err = deadline.Compute(cal, "2025-01-31", 0, 1)
	require.NoError(t, err)
	want, err = cal.AddMonths(d("2025-01-31"), 1)
	require.NoError(t, err)
	require.Equal(t, want, got)

	refusals := []struct {
		name                string
		from                string
		workingDays, months int
		field               string
	}{
		{"both", "2026-09-30", 5, 1, "working_days"},
		{"neither", "2026-09-30", 0, 0, "working_days"},
		{"negative working days", "2026-09-30", -1, 0, "working_days"},
		{"too many months", "2026-09-30", 0, calendar.MaxMonths + 1, "months"},
		{"malformed start", "2026-09-31", 5, 0, "from"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := deadline.Compute(cal, tt.from, tt.workingDays, tt.months)
			require.Equal(t, tt.field, field(t, err))
		})
	}
}

// TestRuleAndResolvedJSON pins the JSON field names: rules and resolved
// deadlines are activity payloads in recorded workflow histories.
func TestRuleAndResolvedJSON(t *testing.T) {
	t.Parallel()
	require.JSONEq(t, `{"field":"onsite_ended_on","from":"2026-09-30","working_days":5,"steps":["REMINDER","OVERDUE"]}`,
		string(must(t, deadline.TeamReport("2026-09-30"))))
	require.JSONEq(t, `{"field":"feedback_received_on","from":"2026-09-01","months":1,"due":"2026-09-20","due_field":"due"}`,
		string(must(t, deadline.Rectification("feedback_received_on", "2026-09-01", "2026-09-20"))))
	at := time.Date(2026, 10, 13, 16, 0, 0, 0, time.UTC)
	require.JSONEq(t, `{"deadline":`+string(must(t, calendar.Deadline{}))+`,"steps":[{"step":"OVERDUE","working_days":0,"at":"2026-10-13T16:00:00Z"}],"policy_version":3}`,
		string(must(t, deadline.Resolved{Steps: []deadline.ScheduledStep{{Step: "OVERDUE", At: at}}, PolicyVersion: 3})))
}

func must(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestResolveExplainsInChinese: a limit the office set opens the Chinese
// account as it opens the English one, followed by the statutory period's.
func TestResolveExplainsInChinese(t *testing.T) {
	t.Parallel()
	res, err := deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(),
		deadline.Rectification("feedback_received_on", "2026-09-01", "2026-09-21"))
	require.NoError(t, err)
	zh := res.Deadline.ExplanationZH
	require.GreaterOrEqual(t, len(zh), 2)
	require.Equal(t, "2026-09-21 截止：由省安委办确定，在法定期限 2026-10-08 之内", zh[0])
	require.Equal(t, "2026-10-08 截止：2026-09-01 之后 1 个月", zh[1])
	require.Len(t, zh, len(res.Deadline.Explanation), "a Chinese line for each English one")
}

// TestOfficeLimitOnARestDayExplainedInChinese: the move to the next
// working day is said in both languages, line for line.
func TestOfficeLimitOnARestDayExplainedInChinese(t *testing.T) {
	t.Parallel()
	res, err := deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(),
		deadline.Rectification("feedback_received_on", "2026-09-01", "2026-10-03"))
	require.NoError(t, err)
	require.Equal(t, "2026-10-08", res.Deadline.Due.String())
	zh := res.Deadline.ExplanationZH
	require.Equal(t, "所定日期 2026-10-03 为休息日（国庆节），期限顺延至其后第一个工作日 2026-10-08（民法典第二百零三条）", zh[1])
	require.Len(t, zh, len(res.Deadline.Explanation))
}

// TestRefusalsInChinese: a refusal names the statutory period and a year
// without calendar data in Chinese, with no English inside (a clerk read
// "不能晚于法定期限 2026-10-08（1 month after 2026-09-01）").
func TestRefusalsInChinese(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		rule deadline.Rule
		says string
	}{
		{"office limit past the month", deadline.Rectification("feedback_received_on", "2026-09-01", "2026-10-09"),
			"due：不能晚于法定期限 2026-10-08（2026-09-01 之后 1 个月）"},
		{"extension past its limit", deadline.Extension("2026-09-01", casework.DefaultExtensionLimits(), "2026-10-09"),
			"due：不能晚于 2026-10-08：延期最多只能将期限自原期限最后一天起延后 1 个月"},
		{"a year without data", deadline.TeamReport("2031-03-02"),
			"日历中没有 2031 年的数据：请先载入国务院关于 2031 年部分节假日安排的通知"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(), tt.rule)
			require.Error(t, err)
			require.Equal(t, tt.says, derrors.Message(err, i18n.Chinese))
		})
	}
}

// TestOfficeDayDescribesItself: a day the office sets is described as the
// computed ones are, by what comes up to it. It listed the statutory
// limit's: National Day (10-03..10-07, after the due day 09-20) as
// skipped, not the make-up Sunday 09-20 it ends on, and (a day in 2026
// within a limit in 2027) the 2027 notice only.
func TestOfficeDayDescribesItself(t *testing.T) {
	res, err := deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(),
		deadline.Rectification("feedback_received_on", "2026-09-03", "2026-09-20"))
	require.NoError(t, err)
	d := res.Deadline
	require.Equal(t, "2026-09-20", d.Due.String())
	for _, s := range d.Skipped {
		require.False(t, s.Start.After(d.Due), "skipped run %s..%s (%s) lies after the due day %s", s.Start, s.End, s.Reason, d.Due)
	}
	require.NotEmpty(t, d.Skipped, "the weekends before it")
	require.Len(t, d.MakeupDays, 1)
	require.Equal(t, "2026-09-20", d.MakeupDays[0].Date.String(), "the make-up Sunday it ends on")

	res, err = deadline.Resolve(calendar.Builtin(), casework.DefaultEscalationPolicy(),
		deadline.Rectification("feedback_received_on", "2026-12-05", "2026-12-27"))
	require.NoError(t, err)
	d = res.Deadline
	require.Equal(t, "2026-12-28", d.Due.String(), "12-27 is a Sunday")
	var years []int
	for _, v := range d.Versions {
		years = append(years, v.Year)
	}
	require.Contains(t, years, 2026, "the due day was decided by the 2026 notice")
	require.Contains(t, years, 2027, "the limit, 2027-01-05, by the 2027 one")
}
