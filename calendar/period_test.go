package calendar_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/i18n"
)

func TestIsWorkingDay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		date    string
		working bool
	}{
		{"2026-09-30", true},  // Wednesday
		{"2026-10-01", false}, // National Day, Thursday
		{"2026-10-07", false}, // National Day, Wednesday
		{"2026-10-08", true},
		{"2026-10-10", true},  // make-up Saturday
		{"2026-10-11", false}, // Sunday
		{"2026-09-20", true},  // make-up Sunday
		{"2026-02-14", true},  // make-up Saturday
		{"2026-02-16", false}, // Spring Festival, Monday
		{"2026-02-28", true},  // make-up Saturday
		{"2026-03-01", false}, // Sunday
		{"2025-10-08", false}, // National Day and Mid-Autumn Festival, Wednesday
		{"2025-10-11", true},  // make-up Saturday
		{"2024-06-10", false}, // Dragon Boat Festival, Monday
		{"2024-02-18", true},  // make-up Sunday
		{"2027-06-09", false}, // Dragon Boat Festival, Wednesday
		{"2027-02-14", true},  // make-up Sunday
		{"2027-12-31", true},  // Friday
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			t.Parallel()
			got, err := calendar.Builtin().IsWorkingDay(d(tt.date))
			require.NoError(t, err)
			require.Equal(t, tt.working, got)
		})
	}
	_, err := calendar.Builtin().IsWorkingDay(calendar.Date{Year: 2026, Month: 2, Day: 29})
	require.ErrorContains(t, err, "date: must be a valid date")
}

func TestAddWorkingDays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		from     string
		n        int
		due      string
		skipped  []calendar.Skip
		makeups  []string
		versions []string
	}{
		{
			name: "across National Day 2026", from: "2026-09-30", n: 5, due: "2026-10-13",
			skipped: []calendar.Skip{
				{Start: d("2026-10-01"), End: d("2026-10-07"), Reason: "National Day"},
				{Start: d("2026-10-11"), End: d("2026-10-11"), Reason: "weekend"},
			},
			makeups:  []string{"2026-10-10"},
			versions: []string{"built-in 2026, 国办发明电〔2025〕7号"},
		},
		{
			name: "across National Day and Mid-Autumn 2025", from: "2025-09-30", n: 1, due: "2025-10-09",
			skipped: []calendar.Skip{{Start: d("2025-10-01"), End: d("2025-10-08"), Reason: "National Day and Mid-Autumn Festival"}},
		},
		{
			name: "make-up Sunday before National Day 2026 counts", from: "2026-09-18", n: 1, due: "2026-09-20",
			skipped: []calendar.Skip{{Start: d("2026-09-19"), End: d("2026-09-19"), Reason: "weekend"}},
			makeups: []string{"2026-09-20"},
		},
		{
			name: "Spring Festival 2026 lands on the make-up Saturday before it", from: "2026-02-13", n: 1, due: "2026-02-14",
			makeups: []string{"2026-02-14"},
		},
		{
			name: "across Spring Festival 2026", from: "2026-02-13", n: 2, due: "2026-02-24",
			skipped: []calendar.Skip{{Start: d("2026-02-15"), End: d("2026-02-23"), Reason: "Spring Festival"}},
			makeups: []string{"2026-02-14"},
		},
		{
			name: "Spring Festival 2026 into the make-up Saturday after it", from: "2026-02-13", n: 7, due: "2026-03-02",
			skipped: []calendar.Skip{
				{Start: d("2026-02-15"), End: d("2026-02-23"), Reason: "Spring Festival"},
				{Start: d("2026-03-01"), End: d("2026-03-01"), Reason: "weekend"},
			},
			makeups: []string{"2026-02-14", "2026-02-28"},
		},
		{
			name: "Spring Festival 2025 straddles January and February", from: "2025-01-24", n: 3, due: "2025-02-05",
			skipped: []calendar.Skip{
				{Start: d("2025-01-25"), End: d("2025-01-25"), Reason: "weekend"},
				{Start: d("2025-01-28"), End: d("2025-02-04"), Reason: "Spring Festival"},
			},
			makeups: []string{"2025-01-26"},
		},
		{
			name: "year boundary 2025 to 2026", from: "2025-12-30", n: 5, due: "2026-01-07",
			skipped: []calendar.Skip{{Start: d("2026-01-01"), End: d("2026-01-03"), Reason: "New Year's Day"}},
			makeups: []string{"2026-01-04"},
			versions: []string{
				"built-in 2025, 国办发明电〔2024〕12号",
				"built-in 2026, 国办发明电〔2025〕7号",
			},
		},
		{
			name: "year boundary 2024 to 2025 lands after New Year's Day", from: "2024-12-31", n: 1, due: "2025-01-02",
			skipped:  []calendar.Skip{{Start: d("2025-01-01"), End: d("2025-01-01"), Reason: "New Year's Day"}},
			versions: []string{"built-in 2025, 国办发明电〔2024〕12号"},
		},
		{
			name: "starting on a make-up Saturday, which is not counted", from: "2026-10-10", n: 1, due: "2026-10-12",
			skipped: []calendar.Skip{{Start: d("2026-10-11"), End: d("2026-10-11"), Reason: "weekend"}},
		},
		{
			name: "starting on a holiday", from: "2026-10-03", n: 1, due: "2026-10-08",
			skipped: []calendar.Skip{{Start: d("2026-10-04"), End: d("2026-10-07"), Reason: "National Day"}},
		},
		{
			name: "starting on the first day of a holiday", from: "2026-10-01", n: 3, due: "2026-10-10",
			skipped: []calendar.Skip{{Start: d("2026-10-02"), End: d("2026-10-07"), Reason: "National Day"}},
			makeups: []string{"2026-10-10"},
		},
		{
			name: "plain week", from: "2026-03-06", n: 5, due: "2026-03-13",
			skipped: []calendar.Skip{{Start: d("2026-03-07"), End: d("2026-03-08"), Reason: "weekend"}},
		},
		{
			name: "Dragon Boat 2024 joined to the weekend", from: "2024-06-07", n: 1, due: "2024-06-11",
			skipped: []calendar.Skip{{Start: d("2024-06-08"), End: d("2024-06-10"), Reason: "Dragon Boat Festival"}},
		},
		{
			name: "last working day of the known years", from: "2027-12-28", n: 3, due: "2027-12-31",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dl, err := calendar.Builtin().AddWorkingDays(d(tt.from), tt.n)
			require.NoError(t, err)
			require.Equal(t, calendar.KindWorkingDays, dl.Kind)
			require.Equal(t, tt.n, dl.Count)
			require.Equal(t, d(tt.from), dl.From)
			require.Equal(t, tt.due, dl.Due.String())
			require.Nil(t, dl.CorrespondingDay)
			require.True(t, dl.DueAt.Equal(d(tt.due).AddDays(1).Start()))
			if tt.skipped == nil {
				tt.skipped = []calendar.Skip{}
			}
			require.Equal(t, tt.skipped, withoutChinese(t, dl.Skipped))
			var makeups []string
			for _, m := range dl.MakeupDays {
				makeups = append(makeups, m.Date.String())
			}
			require.Equal(t, tt.makeups, makeups)
			if tt.versions != nil {
				var labels []string
				for _, v := range dl.Versions {
					labels = append(labels, v.Label)
				}
				require.Equal(t, tt.versions, labels)
			}
		})
	}
}

func TestAddWorkingDaysExplain(t *testing.T) {
	t.Parallel()
	dl, err := calendar.Builtin().AddWorkingDays(d("2026-09-30"), 5)
	require.NoError(t, err)
	require.Equal(t, "5 working days after 2026-09-30", dl.Rule)
	require.Equal(t, `due 2026-10-13: 5 working days after 2026-09-30 (calendar: built-in 2026, 国办发明电〔2025〕7号)
skipped 10-01..10-07 National Day
10-10 Saturday is a working day (National Day make-up)
skipped 10-11 weekend
the period ends at 24:00 on 2026-10-13 (Asia/Shanghai), i.e. 2026-10-14 00:00 +08:00`, dl.Explain())

	dl, err = calendar.Builtin().AddWorkingDays(d("2025-12-30"), 1)
	require.NoError(t, err)
	require.Equal(t, "1 working day after 2025-12-30", dl.Rule)

	dl, err = calendar.Builtin().AddWorkingDays(d("2025-12-30"), 5)
	require.NoError(t, err)
	require.Equal(t, []calendar.Version{
		{ID: calendar.BuiltinVersionID, Year: 2025, Label: "built-in 2025, 国办发明电〔2024〕12号"},
		{ID: calendar.BuiltinVersionID, Year: 2026, Label: "built-in 2026, 国办发明电〔2025〕7号"},
	}, dl.Versions)
	require.Equal(t, `due 2026-01-07: 5 working days after 2025-12-30 (calendar: built-in 2025, 国办发明电〔2024〕12号; built-in 2026, 国办发明电〔2025〕7号)
skipped 2026-01-01..2026-01-03 New Year's Day
2026-01-04 Sunday is a working day (New Year's Day make-up)
the period ends at 24:00 on 2026-01-07 (Asia/Shanghai), i.e. 2026-01-08 00:00 +08:00`, dl.Explain())
}

func TestAddMonths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		from          string
		n             int
		corresponding string
		due           string
		explanation   []string // lines after the summary, before the closing line
	}{
		{
			name: "Jan 31 in a leap year", from: "2024-01-31", n: 1, corresponding: "2024-02-29", due: "2024-02-29",
			explanation: []string{"1 month after 2024-01-31 falls on 2024-02-29 (February has no 31st; Civil Code art. 202)"},
		},
		{
			name: "Jan 31 in a common year", from: "2025-01-31", n: 1, corresponding: "2025-02-28", due: "2025-02-28",
			explanation: []string{"1 month after 2025-01-31 falls on 2025-02-28 (February has no 31st; Civil Code art. 202)"},
		},
		{
			name: "Feb 29 plus twelve months", from: "2024-02-29", n: 12, corresponding: "2025-02-28", due: "2025-02-28",
			explanation: []string{"12 months after 2024-02-29 falls on 2025-02-28 (February has no 29th; Civil Code art. 202)"},
		},
		{
			name: "ends inside National Day", from: "2025-09-01", n: 1, corresponding: "2025-10-01", due: "2025-10-09",
			explanation: []string{
				"1 month after 2025-09-01 falls on 2025-10-01 (the corresponding day; Civil Code art. 202)",
				"2025-10-01 is a rest day (National Day and Mid-Autumn Festival); the period ends on the next working day 2025-10-09 (Civil Code art. 203)",
				"skipped 10-01..10-08 National Day and Mid-Autumn Festival",
			},
		},
		{
			name: "ends on a plain Sunday", from: "2026-05-14", n: 1, corresponding: "2026-06-14", due: "2026-06-15",
			explanation: []string{
				"1 month after 2026-05-14 falls on 2026-06-14 (the corresponding day; Civil Code art. 202)",
				"2026-06-14 is a rest day (weekend); the period ends on the next working day 2026-06-15 (Civil Code art. 203)",
				"skipped 06-14 weekend",
			},
		},
		{
			name: "ends on a plain Saturday", from: "2026-02-07", n: 1, corresponding: "2026-03-07", due: "2026-03-09",
			explanation: []string{
				"1 month after 2026-02-07 falls on 2026-03-07 (the corresponding day; Civil Code art. 202)",
				"2026-03-07 is a rest day (weekend); the period ends on the next working day 2026-03-09 (Civil Code art. 203)",
				"skipped 03-07..03-08 weekend",
			},
		},
		{
			name: "ends on a make-up Saturday, which is a working day", from: "2026-09-10", n: 1, corresponding: "2026-10-10", due: "2026-10-10",
			explanation: []string{
				"1 month after 2026-09-10 falls on 2026-10-10 (the corresponding day; Civil Code art. 202)",
				"10-10 Saturday is a working day (National Day make-up)",
			},
		},
		{
			name: "no 30th in February, lands on a make-up Saturday", from: "2025-11-30", n: 3, corresponding: "2026-02-28", due: "2026-02-28",
			explanation: []string{
				"3 months after 2025-11-30 falls on 2026-02-28 (February has no 30th; Civil Code art. 202)",
				"2026-02-28 Saturday is a working day (Spring Festival make-up)",
			},
		},
		{
			name: "rolls off New Year's Day onto a make-up Sunday", from: "2025-12-01", n: 1, corresponding: "2026-01-01", due: "2026-01-04",
			explanation: []string{
				"1 month after 2025-12-01 falls on 2026-01-01 (the corresponding day; Civil Code art. 202)",
				"2026-01-01 is a rest day (New Year's Day); the period ends on the next working day 2026-01-04 (Civil Code art. 203)",
				"skipped 2026-01-01..2026-01-03 New Year's Day",
				"2026-01-04 Sunday is a working day (New Year's Day make-up)",
			},
		},
		{
			name: "Jan 31 into Spring Festival 2025", from: "2024-12-31", n: 1, corresponding: "2025-01-31", due: "2025-02-05",
			explanation: []string{
				"1 month after 2024-12-31 falls on 2025-01-31 (the corresponding day; Civil Code art. 202)",
				"2025-01-31 is a rest day (Spring Festival); the period ends on the next working day 2025-02-05 (Civil Code art. 203)",
				"skipped 2025-01-31..2025-02-04 Spring Festival",
			},
		},
		{
			name: "ends on a Saturday that is a holiday", from: "2026-03-04", n: 1, corresponding: "2026-04-04", due: "2026-04-07",
			explanation: []string{
				"1 month after 2026-03-04 falls on 2026-04-04 (the corresponding day; Civil Code art. 202)",
				"2026-04-04 is a rest day (Qingming Festival); the period ends on the next working day 2026-04-07 (Civil Code art. 203)",
				"skipped 04-04..04-06 Qingming Festival",
			},
		},
		{
			name: "twelve months", from: "2026-12-31", n: 12, corresponding: "2027-12-31", due: "2027-12-31",
			explanation: []string{"12 months after 2026-12-31 falls on 2027-12-31 (the corresponding day; Civil Code art. 202)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dl, err := calendar.Builtin().AddMonths(d(tt.from), tt.n)
			require.NoError(t, err)
			require.Equal(t, calendar.KindMonths, dl.Kind)
			require.Equal(t, tt.n, dl.Count)
			require.Equal(t, tt.corresponding, dl.CorrespondingDay.String())
			require.Equal(t, tt.due, dl.Due.String())
			require.True(t, dl.DueAt.Equal(d(tt.due).End()))
			require.Equal(t, tt.explanation, dl.Explanation[1:len(dl.Explanation)-1])
			require.Regexp(t, `^due `+tt.due+`: .* after `+tt.from+` \(calendar: built-in \d{4}`, dl.Explanation[0])
		})
	}
}

func TestPeriodCountRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		months bool
		from   calendar.Date
		n      int
		field  string
		rule   string
	}{
		{"zero working days", false, d("2026-01-05"), 0, "working_days", "must be at least 1"},
		{"negative working days", false, d("2026-01-05"), -3, "working_days", "must be at least 1"},
		{"too many working days", false, d("2026-01-05"), 251, "working_days", "must be at most 250"},
		{"zero months", true, d("2026-01-05"), 0, "months", "must be between 1 and 12"},
		{"thirteen months", true, d("2026-01-05"), 13, "months", "must be between 1 and 12"},
		{"invalid from, working days", false, calendar.Date{Year: 2026, Month: 2, Day: 29}, 1, "from", "must be a valid date"},
		{"invalid from, months", true, calendar.Date{}, 1, "from", "must be a valid date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tt.months {
				_, err = calendar.Builtin().AddMonths(tt.from, tt.n)
			} else {
				_, err = calendar.Builtin().AddWorkingDays(tt.from, tt.n)
			}
			var verr *calendar.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Equal(t, []calendar.FieldViolation{{Field: tt.field, Rule: tt.rule}}, englishOf(verr.Violations))
			require.EqualError(t, err, "calendar: invalid period: "+tt.field+": "+tt.rule)
		})
	}
	_, err := calendar.Builtin().AddWorkingDays(d("2026-01-05"), 250)
	require.NoError(t, err, "250 working days is allowed")
}

func TestPeriodsPastTheKnownYears(t *testing.T) {
	t.Parallel()
	c := calendar.Builtin()

	_, err := c.AddWorkingDays(d("2027-12-28"), 4)
	require.ErrorIs(t, err, calendar.ErrNoData)
	require.EqualError(t, err, "4 working days after 2027-12-28: calendar: no data for year 2028: load the State Council notice for 2028 first")

	_, err = c.AddWorkingDays(d("2027-06-01"), 250)
	require.ErrorIs(t, err, calendar.ErrNoData)

	_, err = c.AddWorkingDays(d("2023-12-29"), 1)
	require.ErrorIs(t, err, calendar.ErrNoData)
	require.ErrorContains(t, err, "no data for year 2023")

	_, err = c.AddMonths(d("2027-12-15"), 1)
	require.ErrorIs(t, err, calendar.ErrNoData)
	require.EqualError(t, err, "1 month after 2027-12-15: calendar: no data for year 2028: load the State Council notice for 2028 first")

	_, err = c.AddMonths(d("2031-03-01"), 1)
	require.ErrorIs(t, err, calendar.ErrNoData)

	// The starting day is not counted, so its year needs no data.
	dl, err := c.AddWorkingDays(d("2023-12-31"), 1)
	require.NoError(t, err)
	require.Equal(t, "2024-01-02", dl.Due.String())
}

// amended2027 is a fictional amendment of the 2027 notice that makes Friday
// 2027-12-31 a holiday bridging to New Year's Day 2028.
func amended2027(t *testing.T) calendar.Notice {
	t.Helper()
	n, _, err := calendar.Builtin().Year(2027)
	require.NoError(t, err)
	n.DocNumber = "fictional amendment"
	n.Holidays = append(n.Holidays, calendar.Holiday{Name: "New Year's Eve bridge", Start: d("2027-12-31"), End: d("2027-12-31")})
	return n
}

func TestMonthPeriodRollingPastDecember31NeedsNextYear(t *testing.T) {
	t.Parallel()
	c, err := calendar.Builtin().With(amended2027(t), calendar.Version{ID: 7, Label: "calendar version 7"})
	require.NoError(t, err)

	_, err = c.AddMonths(d("2027-10-31"), 2)
	require.ErrorIs(t, err, calendar.ErrNoData)
	require.ErrorContains(t, err, "no data for year 2028")

	// The built-in calendar, unchanged, has 2027-12-31 as a working Friday.
	dl, err := calendar.Builtin().AddMonths(d("2027-10-31"), 2)
	require.NoError(t, err)
	require.Equal(t, "2027-12-31", dl.Due.String())
}

func TestWithOverridesAYear(t *testing.T) {
	t.Parallel()
	base := calendar.Builtin()

	// A fictional amended 2026 notice: National Day extended to 10-08, make-up
	// Saturday 10-10 moved to Sunday 10-11.
	amended := notice2026(t)
	amended.DocNumber = "fictional amendment"
	amended.Holidays[6].End = d("2026-10-08")
	amended.MakeupDays[5].Date = d("2026-10-11")
	v := calendar.Version{ID: 3, Label: "calendar version 3"}
	c, err := base.With(amended, v)
	require.NoError(t, err)

	before, err := base.AddWorkingDays(d("2026-09-30"), 5)
	require.NoError(t, err)
	after, err := c.AddWorkingDays(d("2026-09-30"), 5)
	require.NoError(t, err)
	require.Equal(t, "2026-10-13", before.Due.String())
	// 10-09 Fri, 10-11 Sun (make-up), 10-12, 10-13, 10-14.
	require.Equal(t, "2026-10-14", after.Due.String())
	require.Equal(t, []calendar.Version{{ID: 3, Year: 2026, Label: "calendar version 3"}}, after.Versions, "With sets the year")
	require.Equal(t, "due 2026-10-14: 5 working days after 2026-09-30 (calendar: calendar version 3)", after.Explanation[0])
	require.Contains(t, after.Explanation, "skipped 10-01..10-08 National Day")
	require.Contains(t, after.Explanation, "skipped 10-10 weekend")
	require.Contains(t, after.Explanation, "10-11 Sunday is a working day (National Day make-up)")

	// Other years keep the built-in version.
	_, v2025, err := c.Year(2025)
	require.NoError(t, err)
	require.Equal(t, calendar.BuiltinVersionID, v2025.ID)
	// The base calendar is unchanged.
	_, v2026, err := base.Year(2026)
	require.NoError(t, err)
	require.Equal(t, "built-in 2026, 国办发明电〔2025〕7号", v2026.Label)

	// With can add a year the base lacks.
	n2028 := calendar.Notice{
		Year: 2028,
		Holidays: []calendar.Holiday{
			{Name: "New Year's Day", Start: d("2028-01-01"), End: d("2028-01-03")},
		},
	}
	c2028, err := base.With(n2028, calendar.Version{ID: 4, Label: "calendar version 4"})
	require.NoError(t, err)
	require.Equal(t, []int{2024, 2025, 2026, 2027, 2028}, c2028.Years())
	dl, err := c2028.AddWorkingDays(d("2027-12-30"), 2)
	require.NoError(t, err)
	require.Equal(t, "2028-01-04", dl.Due.String())
	require.Len(t, dl.Versions, 2)
	_, err = base.AddWorkingDays(d("2027-12-30"), 2)
	require.ErrorIs(t, err, calendar.ErrNoData, "the base still lacks 2028")
}

// TestNoticeReachesIntoDecember: a notice may say what days of the
// December before its year are, as the 2019 notice did (New Year's Day off
// from Sunday 2018-12-30 to 2019-01-01, Saturday 2018-12-29 worked), and
// those days are then what it says, not what the year's own notice said.
// The 2018 notice here is cut down to what the test needs.
func TestNoticeReachesIntoDecember(t *testing.T) {
	t.Parallel()
	n2018 := calendar.Notice{Year: 2018, Holidays: []calendar.Holiday{
		{Name: "National Day", NameZH: "国庆节", Start: d("2018-10-01"), End: d("2018-10-07")},
	}}
	n2019 := calendar.Notice{Year: 2019, DocNumber: "国办发明电〔2018〕15号",
		Holidays: []calendar.Holiday{
			{Name: "New Year's Day", NameZH: "元旦", Start: d("2018-12-30"), End: d("2019-01-01")},
			{Name: "Spring Festival", NameZH: "春节", Start: d("2019-02-04"), End: d("2019-02-10")},
		},
		MakeupDays: []calendar.MakeupDay{
			{Date: d("2018-12-29"), Name: "New Year's Day"},
			{Date: d("2019-02-02"), Name: "Spring Festival"},
			{Date: d("2019-02-03"), Name: "Spring Festival"},
		},
	}
	require.NoError(t, n2019.Validate())
	var empty *calendar.Calendar
	only2018, err := empty.With(n2018, calendar.Version{ID: 1, Label: "calendar version 1"})
	require.NoError(t, err)
	both, err := only2018.With(n2019, calendar.Version{ID: 2, Label: "calendar version 2"})
	require.NoError(t, err)

	working := func(c *calendar.Calendar, day string) bool {
		ok, err := c.IsWorkingDay(d(day))
		require.NoError(t, err, day)
		return ok
	}
	require.True(t, working(only2018, "2018-12-31"), "Monday 2018-12-31 is a working day as long as only 2018's notice is known")
	require.False(t, working(only2018, "2018-12-29"), "and Saturday 2018-12-29 a rest day")
	require.False(t, working(both, "2018-12-31"), "2019's notice makes Monday 2018-12-31 New Year's Day")
	require.True(t, working(both, "2018-12-29"), "and Saturday 2018-12-29 a make-up working day")
	require.True(t, working(both, "2018-12-28"), "a day 2019's notice does not name stays what 2018's says")

	// 12-28 (1), 12-29 make-up (2), 12-30..01-01 New Year's Day, 01-02 (3).
	dl, err := both.AddWorkingDays(d("2018-12-27"), 3)
	require.NoError(t, err)
	require.Equal(t, "2019-01-02", dl.Due.String())
	require.Contains(t, dl.Explanation, "skipped 2018-12-30..2019-01-01 New Year's Day")
	require.Contains(t, dl.Explanation, "2018-12-29 Saturday is a working day (New Year's Day make-up)")
	require.Equal(t, []calendar.Version{{ID: 1, Year: 2018, Label: "calendar version 1"}, {ID: 2, Year: 2019, Label: "calendar version 2"}},
		dl.Versions, "12-28 was decided by 2018's notice, the rest by 2019's")
	fromSaturday, err := both.AddWorkingDays(d("2018-12-28"), 1)
	require.NoError(t, err)
	require.Equal(t, "2018-12-29", fromSaturday.Due.String())
	require.Equal(t, []calendar.Version{{ID: 2, Year: 2019, Label: "calendar version 2"}}, fromSaturday.Versions,
		"the make-up Saturday is 2019's notice's")

	// calendar show 2018 says which of its December days 2019's notice decides.
	lines, err := both.YearLines(2018)
	require.NoError(t, err)
	require.Equal(t, []string{
		"days of December 2018 that the 2019 notice decides (calendar version 2):",
		"  2018-12-29 Saturday  working day (New Year's Day)",
		"  2018-12-30 Sunday    New Year's Day",
		"  2018-12-31 Monday    New Year's Day",
	}, lines[len(lines)-4:])
	zh, err := both.YearLinesIn(2018, i18n.Chinese)
	require.NoError(t, err)
	require.Equal(t, []string{
		"2018 年 12 月由 2019 年通知确定的日期（日历版本 2）：",
		"  2018-12-29 星期六  上班（元旦）",
		"  2018-12-30 星期日  元旦放假",
		"  2018-12-31 星期一  元旦放假",
	}, zh[len(zh)-4:])
	lines, err = only2018.YearLines(2018)
	require.NoError(t, err)
	require.NotContains(t, strings.Join(lines, "\n"), "December", "nothing to say while 2019 is not loaded")

	// The day's own year must be known all the same.
	var none *calendar.Calendar
	only2019, err := none.With(n2019, calendar.Version{ID: 2, Label: "calendar version 2"})
	require.NoError(t, err)
	_, err = only2019.IsWorkingDay(d("2018-12-31"))
	require.ErrorIs(t, err, calendar.ErrNoData)

	// Not earlier than that December.
	early := n2019
	early.MakeupDays = append([]calendar.MakeupDay{{Date: d("2018-11-24"), Name: "New Year's Day"}}, n2019.MakeupDays[1:]...)
	require.ErrorContains(t, early.Validate(), "makeup_days[0].date: must be in the notice's year 2019 or the December before it")
}

func TestDeadlineJSON(t *testing.T) {
	t.Parallel()
	dl, err := calendar.Builtin().AddMonths(d("2025-09-01"), 1)
	require.NoError(t, err)
	data, err := json.Marshal(dl)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(data, &got))
	require.Equal(t, "1 month after 2025-09-01", got["rule"])
	require.Equal(t, "months", got["kind"])
	require.EqualValues(t, 1, got["count"])
	require.Equal(t, "2025-09-01", got["from"])
	require.Equal(t, "2025-10-01", got["corresponding_day"])
	require.Equal(t, "2025-10-09", got["due"])
	require.Equal(t, "2025-10-10T00:00:00+08:00", got["due_at"])
	require.Equal(t, []any{map[string]any{"start": "2025-10-01", "end": "2025-10-08", "reason": "National Day and Mid-Autumn Festival",
		"reason_zh": "国庆节、中秋节"}}, got["skipped"])
	require.Equal(t, []any{}, got["makeup_days"])
	require.Equal(t, []any{map[string]any{"id": float64(0), "year": float64(2025), "label": "built-in 2025, 国办发明电〔2024〕12号"}}, got["versions"],
		"a built-in version is id 0 with its notice's year")
	require.Len(t, got["explanation"], 5)

	var back calendar.Deadline
	require.NoError(t, json.Unmarshal(data, &back))
	require.True(t, back.DueAt.Equal(dl.DueAt))
	back.DueAt = dl.DueAt
	require.Equal(t, dl, back)
}

func TestDeadlineMissed(t *testing.T) {
	t.Parallel()
	dl, err := calendar.Builtin().AddWorkingDays(d("2026-09-30"), 5)
	require.NoError(t, err)
	loc := calendar.Location()
	require.False(t, dl.Missed(time.Date(2026, 10, 13, 23, 59, 59, 0, loc)))
	require.True(t, dl.Missed(time.Date(2026, 10, 14, 0, 0, 0, 0, loc)))
	require.True(t, dl.Missed(time.Date(2026, 10, 13, 16, 0, 0, 0, time.UTC)))
}

func BenchmarkAddWorkingDays(b *testing.B) {
	c := calendar.Builtin()
	from := d("2026-09-30")
	for b.Loop() {
		if _, err := c.AddWorkingDays(from, 20); err != nil {
			b.Fatal(err)
		}
	}
}

// TestExplanationInChinese: the example, line for line, and the
// English for an English caller.
func TestExplanationInChinese(t *testing.T) {
	from, err := calendar.ParseDate("2026-09-30")
	require.NoError(t, err)
	d, err := calendar.Builtin().AddWorkingDays(from, 5)
	require.NoError(t, err)
	require.Equal(t, []string{
		"2026-10-13 截止：2026-09-30 之后第 5 个工作日",
		"10-01 至 10-07 国庆节放假",
		"10-10（星期六）调休上班（国庆节）",
		"10-11 周末",
		"期限至 2026-10-13 24:00（北京时间）届满，即 2026-10-14 00:00 +08:00；日历：内置 2026，国办发明电〔2025〕7号",
	}, d.ExplanationIn(i18n.Chinese))
	require.Equal(t, d.Explanation, d.ExplanationIn(i18n.English))

	jan31, err := calendar.ParseDate("2026-01-31")
	require.NoError(t, err)
	m, err := calendar.Builtin().AddMonths(jan31, 1)
	require.NoError(t, err)
	require.Equal(t, "2 月没有 31 日，期满日为该月最后一天 2026-02-28（民法典第二百零二条）", m.ExplanationZH[1])
	old := d
	old.ExplanationZH = nil
	require.Equal(t, d.Explanation, old.ExplanationIn(i18n.Chinese), "a deadline computed before the Chinese existed answers in English")
}

// withoutChinese is skipped with each run's Chinese reason checked (every
// run has one) and cleared, for comparing the English.
func withoutChinese(t *testing.T, skipped []calendar.Skip) []calendar.Skip {
	t.Helper()
	out := make([]calendar.Skip, len(skipped))
	for i, sk := range skipped {
		require.NotEmpty(t, sk.ReasonZH, "the Chinese reason of %v", sk)
		sk.ReasonZH = ""
		out[i] = sk
	}
	return out
}

// TestPeriodInChinese: a deadline states its period, the rest days it
// passed over and the make-up days it counted in Chinese too, for an
// answer in Chinese.
func TestPeriodInChinese(t *testing.T) {
	t.Parallel()
	dl, err := calendar.Builtin().AddWorkingDays(d("2026-09-30"), 3)
	require.NoError(t, err)
	require.Equal(t, i18n.Text{EN: "3 working days after 2026-09-30", ZH: "2026-09-30 之后 3 个工作日"}, dl.RuleText())
	require.Equal(t, "国庆节", dl.Skipped[0].ReasonIn(i18n.Chinese))
	require.Equal(t, "National Day", dl.Skipped[0].ReasonIn(i18n.English))
	require.Equal(t, "国庆节", dl.MakeupDays[0].NameZH)

	dl, err = calendar.Builtin().AddMonths(d("2026-11-25"), 1)
	require.NoError(t, err)
	require.Equal(t, "2026-11-25 之后 1 个月", dl.RuleText().In(i18n.Chinese))
	require.Equal(t, "1 month after 2026-11-25", dl.RuleText().In(i18n.English))

	old := calendar.Deadline{Rule: "5 working days after 2026-09-30"}
	require.Equal(t, old.Rule, old.RuleText().In(i18n.Chinese), "a deadline recorded without its kind says its rule as it was")
	require.Equal(t, "weekend", calendar.Skip{Reason: "weekend"}.ReasonIn(i18n.Chinese))
}
