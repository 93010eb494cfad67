package calendar_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
)

// notice2026 returns a fresh copy of the built-in 2026 notice to mutate.
func notice2026(t *testing.T) calendar.Notice {
	t.Helper()
	n, _, err := calendar.Builtin().Year(2026)
	require.NoError(t, err)
	return n
}

func d(s string) calendar.Date { return calendar.MustParseDate(s) }

func TestBuiltinNoticesAreValid(t *testing.T) {
	t.Parallel()
	c := calendar.Builtin()
	require.Equal(t, []int{2024, 2025, 2026, 2027}, c.Years())
	for _, y := range c.Years() {
		n, v, err := c.Year(y)
		require.NoError(t, err)
		require.NoError(t, n.Validate(), "year %d", y)
		require.Equal(t, y, n.Year)
		require.Equal(t, calendar.BuiltinVersionID, v.ID)
		require.Contains(t, v.Label, "built-in")
	}
	require.Same(t, c, calendar.Builtin(), "Builtin parses once")
}

func TestBuiltinDocumentNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		year             int
		doc, date, label string
	}{
		{2024, "国办发明电〔2023〕7号", "2023-10-25", "built-in 2024, 国办发明电〔2023〕7号"},
		{2025, "国办发明电〔2024〕12号", "2024-11-12", "built-in 2025, 国办发明电〔2024〕12号"},
		{2026, "国办发明电〔2025〕7号", "2025-11-04", "built-in 2026, 国办发明电〔2025〕7号"},
		// The 2027 notice's number and date are not recorded (not verified).
		{2027, "", "", "built-in 2027"},
	}
	for _, tt := range tests {
		n, v, err := calendar.Builtin().Year(tt.year)
		require.NoError(t, err)
		require.Equal(t, tt.doc, n.DocNumber)
		if tt.date == "" {
			require.Nil(t, n.DocDate)
		} else {
			require.Equal(t, tt.date, n.DocDate.String())
		}
		require.Equal(t, tt.label, v.Label)
	}
}

func TestYearReturnsACopy(t *testing.T) {
	t.Parallel()
	n := notice2026(t)
	n.Holidays[0].Name = "changed"
	n.MakeupDays[0].Date = d("2026-01-10")
	*n.DocDate = d("2000-01-01")
	again := notice2026(t)
	require.Equal(t, "New Year's Day", again.Holidays[0].Name)
	require.Equal(t, d("2026-01-04"), again.MakeupDays[0].Date)
	require.Equal(t, d("2025-11-04"), *again.DocDate)
}

func TestValidateRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(n *calendar.Notice)
		field  string
		rule   string
	}{
		{"year too early", func(n *calendar.Notice) { n.Year = 1999 }, "year", "must be between 2000 and 2100"},
		{"year too late", func(n *calendar.Notice) { n.Year = 2101 }, "year", "must be between 2000 and 2100"},
		{"doc date long before", func(n *calendar.Notice) { dd := d("2020-01-01"); n.DocDate = &dd }, "doc_date", "must be in 2025 or 2026"},
		{"doc date invalid", func(n *calendar.Notice) { n.DocDate = &calendar.Date{Year: 2025, Month: 2, Day: 30} }, "doc_date", "must be a valid date"},
		{"no holidays", func(n *calendar.Notice) { n.Holidays = nil; n.MakeupDays = nil }, "holidays", "must list at least one holiday"},
		{"holiday end before start", func(n *calendar.Notice) { n.Holidays[2].End = d("2026-04-03") }, "holidays[2].end", "must not be before start 2026-04-04"},
		{"holiday start before the December before", func(n *calendar.Notice) { n.Holidays[0].Start = d("2025-11-30") }, "holidays[0].start", "must be in the notice's year 2026 or the December before it"},
		{"holiday end outside year", func(n *calendar.Notice) { n.Holidays[6].End = d("2027-01-02") }, "holidays[6].end", "must be in the notice's year 2026 or the December before it"},
		{"holiday invalid date", func(n *calendar.Notice) { n.Holidays[1].End = calendar.Date{Year: 2026, Month: 2, Day: 30} }, "holidays[1].end", "must be a valid date"},
		{"holiday zero date", func(n *calendar.Notice) { n.Holidays[1].Start = calendar.Date{} }, "holidays[1].start", "must be a valid date"},
		{"holiday empty name", func(n *calendar.Notice) { n.Holidays[3].Name = " " }, "holidays[3].name", "must not be empty"},
		{"holidays overlap", func(n *calendar.Notice) { n.Holidays[5].End = d("2026-10-02") }, "holidays[6]", "must not overlap holidays[5] (Mid-Autumn Festival 2026-09-25..2026-10-02)"},
		{"makeup day on a weekday", func(n *calendar.Notice) { n.MakeupDays[0].Date = d("2026-01-05") }, "makeup_days[0].date", "must be a Saturday or Sunday (2026-01-05 is a Monday)"},
		{"makeup day inside a holiday", func(n *calendar.Notice) { n.MakeupDays[5].Date = d("2026-10-03") }, "makeup_days[5].date", "must not fall inside holidays[6] (National Day 2026-10-01..2026-10-07)"},
		{"makeup day outside year", func(n *calendar.Notice) { n.MakeupDays[0].Date = d("2027-01-02") }, "makeup_days[0].date", "must be in the notice's year 2026 or the December before it"},
		{"makeup day twice", func(n *calendar.Notice) { n.MakeupDays[2].Date = n.MakeupDays[1].Date }, "makeup_days[2].date", "must not repeat makeup_days[1]"},
		{"makeup day empty name", func(n *calendar.Notice) { n.MakeupDays[1].Name = "" }, "makeup_days[1].name", "must not be empty"},
		{"makeup day unknown holiday", func(n *calendar.Notice) { n.MakeupDays[1].Name = "Christmas" }, "makeup_days[1].name", "must be the name of one of the notice's holidays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := notice2026(t)
			tt.mutate(&n)
			err := n.Validate()
			require.Error(t, err)
			var verr *calendar.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Contains(t, englishOf(verr.Violations), calendar.FieldViolation{Field: tt.field, Rule: tt.rule}, "got %v", err)
			require.True(t, verr.Has(tt.field))
			require.ErrorContains(t, err, tt.field+": "+tt.rule)

			_, withErr := calendar.Builtin().With(n, calendar.Version{ID: 9, Label: "calendar version 9"})
			require.ErrorAs(t, withErr, &verr, "With refuses an invalid notice")
		})
	}
}

func TestValidateReportsEveryViolation(t *testing.T) {
	t.Parallel()
	n := notice2026(t)
	n.Holidays[0].Name = ""
	n.MakeupDays[3].Date = d("2026-05-06") // a Wednesday
	err := n.Validate()
	var verr *calendar.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "notice for 2026", verr.Subject)
	require.True(t, verr.Has("holidays[0].name"))
	require.True(t, verr.Has("makeup_days[3].date"))
	// The make-up day still names "New Year's Day", which no holiday is now called.
	require.True(t, verr.Has("makeup_days[0].name"))
	require.Len(t, verr.Violations, 3)
	require.Equal(t, "calendar: invalid notice for 2026: holidays[0].name: must not be empty; "+
		"makeup_days[0].name: must be the name of one of the notice's holidays; "+
		"makeup_days[3].date: must be a Saturday or Sunday (2026-05-06 is a Wednesday)", err.Error())
}

func TestNoticeJSONRoundTrip(t *testing.T) {
	t.Parallel()
	n := notice2026(t)
	data, err := json.Marshal(n)
	require.NoError(t, err)
	require.Contains(t, string(data), `"doc_number":"国办发明电〔2025〕7号"`)
	require.Contains(t, string(data), `{"name":"National Day","name_zh":"国庆节","start":"2026-10-01","end":"2026-10-07"}`)
	require.Contains(t, string(data), `{"date":"2026-10-10","name":"National Day"}`)
	back, err := calendar.ParseNotice(data)
	require.NoError(t, err)
	require.Equal(t, n, back)
}

func TestParseNoticeRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json, want string
	}{
		{"unknown field", `{"year":2026,"holidays":[],"extra":1}`, `unknown field "extra"`},
		{"bad date", `{"year":2026,"holidays":[{"name":"X","start":"2026-02-30","end":"2026-03-01"}]}`, `invalid date "2026-02-30"`},
		{"two values", `{"year":2026,"holidays":[{"name":"X","start":"2026-03-02","end":"2026-03-02"}]} {}`, "more than one JSON value"},
		{"rule broken", `{"year":2026,"holidays":[{"name":"X","start":"2026-03-02","end":"2026-03-01"}]}`, "holidays[0].end: must not be before start 2026-03-02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := calendar.ParseNotice([]byte(tt.json))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestYearWithoutData(t *testing.T) {
	t.Parallel()
	_, _, err := calendar.Builtin().Year(2031)
	require.True(t, errors.Is(err, calendar.ErrNoData))
	require.EqualError(t, err, "calendar: no data for year 2031: load the State Council notice for 2031 first")
	var nd *calendar.NoDataError
	require.ErrorAs(t, err, &nd)
	require.Equal(t, 2031, nd.Year)

	_, err = calendar.Builtin().IsWorkingDay(calendar.Date{Year: 2031, Month: time.January, Day: 6})
	require.ErrorIs(t, err, calendar.ErrNoData)

	var empty *calendar.Calendar
	require.Empty(t, empty.Years())
	_, err = empty.IsWorkingDay(d("2026-01-05"))
	require.ErrorIs(t, err, calendar.ErrNoData)
	_, err = (&calendar.Calendar{}).AddMonths(d("2026-01-05"), 1)
	require.ErrorIs(t, err, calendar.ErrNoData)
}

// englishOf is violations without their Chinese (internal/i18n's tests
// check the catalogue).
func englishOf(violations []calendar.FieldViolation) []calendar.FieldViolation {
	out := make([]calendar.FieldViolation, len(violations))
	for i, v := range violations {
		out[i] = calendar.FieldViolation{Field: v.Field, Rule: v.Rule}
	}
	return out
}

// TestChineseNames: a version's label and a holiday's name in Chinese, for
// the explanations a clerk reads by default; both came out in English (日历：
// calendar version 3; 10-01 至 10-07 National Day放假) for a notice loaded
// through the API.
func TestChineseNames(t *testing.T) {
	require.Equal(t, "日历版本 3", calendar.Version{ID: 3, Year: 2027, Label: "calendar version 3"}.LabelZH())
	require.Equal(t, "内置 2026，国办发明电〔2025〕7号",
		calendar.Version{ID: calendar.BuiltinVersionID, Year: 2026, Label: "built-in 2026, 国办发明电〔2025〕7号"}.LabelZH())
	require.Equal(t, "内置 2027", calendar.Version{ID: calendar.BuiltinVersionID, Year: 2027, Label: "built-in 2027"}.LabelZH())
	require.Equal(t, "国庆节", calendar.NameZHOf("National Day"))
	require.Equal(t, "春节", calendar.NameZHOf("Spring Festival"))
	require.Equal(t, "国庆节、中秋节", calendar.NameZHOf("国庆节、中秋节"), "a Chinese name is its own")
	require.Empty(t, calendar.NameZHOf("Founders' Day"), "no name made up")
}

// TestViolationsInChinese: a make-up day on a weekday names the weekday in
// Chinese (it read "2031-02-03 是Monday").
func TestViolationsInChinese(t *testing.T) {
	t.Parallel()
	n := notice2026(t)
	n.MakeupDays[0].Date = d("2026-01-05")
	var verr *calendar.ValidationError
	require.ErrorAs(t, n.Validate(), &verr)
	i := slices.IndexFunc(verr.Violations, func(v calendar.FieldViolation) bool { return v.Field == "makeup_days[0].date" })
	require.GreaterOrEqual(t, i, 0)
	require.Equal(t, "必须是星期六或星期日（2026-01-05 是星期一）", verr.Violations[i].RuleZH)
}
