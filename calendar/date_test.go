package calendar_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
)

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    calendar.Date
		wantErr string
	}{
		{in: "2026-10-01", want: calendar.Date{Year: 2026, Month: time.October, Day: 1}},
		{in: "2024-02-29", want: calendar.Date{Year: 2024, Month: time.February, Day: 29}},
		{in: "0001-01-01", want: calendar.Date{Year: 1, Month: time.January, Day: 1}},
		{in: "2025-02-29", wantErr: `calendar: invalid date "2025-02-29": day must be between 01 and 28 in February 2025`},
		{in: "2026-13-01", wantErr: `calendar: invalid date "2026-13-01": month must be between 01 and 12`},
		{in: "2026-00-10", wantErr: `calendar: invalid date "2026-00-10": month must be between 01 and 12`},
		{in: "2026-04-31", wantErr: `calendar: invalid date "2026-04-31": day must be between 01 and 30 in April 2026`},
		{in: "0000-01-01", wantErr: `calendar: invalid date "0000-01-01": year must be between 0001 and 9999`},
		{in: "2026-1-01", wantErr: `calendar: invalid date "2026-1-01": want the form YYYY-MM-DD`},
		{in: "2026/10/01", wantErr: `calendar: invalid date "2026/10/01": want the form YYYY-MM-DD`},
		{in: "2026-1a-01", wantErr: `calendar: invalid date "2026-1a-01": want the form YYYY-MM-DD with digits only`},
		{in: "+026-10-01", wantErr: `calendar: invalid date "+026-10-01": want the form YYYY-MM-DD with digits only`},
		{in: "", wantErr: `calendar: invalid date "": want the form YYYY-MM-DD`},
		{in: "2026-10-01T00:00:00Z", wantErr: `want the form YYYY-MM-DD`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := calendar.ParseDate(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.in, got.String())
		})
	}
}

func TestNewDateRefusesOverflow(t *testing.T) {
	t.Parallel()
	_, err := calendar.NewDate(2026, time.February, 30)
	require.EqualError(t, err, "calendar: invalid date 2026-02-30: day must be between 01 and 28 in February 2026")
	d, err := calendar.NewDate(2026, time.December, 31)
	require.NoError(t, err)
	require.Equal(t, "2026-12-31", d.String())
}

func TestDateArithmetic(t *testing.T) {
	t.Parallel()
	d := calendar.MustParseDate("2024-02-28")
	require.Equal(t, "2024-02-29", d.AddDays(1).String())
	require.Equal(t, "2024-03-01", d.AddDays(2).String())
	require.Equal(t, "2023-12-31", calendar.MustParseDate("2024-01-01").AddDays(-1).String())
	require.Equal(t, 366, calendar.MustParseDate("2024-01-01").DaysUntil(calendar.MustParseDate("2025-01-01")))
	require.Equal(t, -1, calendar.MustParseDate("2024-01-01").DaysUntil(calendar.MustParseDate("2023-12-31")))
	require.Equal(t, time.Saturday, calendar.MustParseDate("2026-10-10").Weekday())
	require.Equal(t, time.Thursday, calendar.MustParseDate("2026-10-01").Weekday())
	require.True(t, calendar.MustParseDate("2026-09-20").IsWeekend())
	require.False(t, calendar.MustParseDate("2026-09-21").IsWeekend())
	require.Equal(t, "2025-02-28", calendar.MustParseDate("2025-02-03").LastDayOfMonth().String())
	require.Equal(t, "10-10", calendar.MustParseDate("2026-10-10").MonthDay())

	a, b := calendar.MustParseDate("2025-12-31"), calendar.MustParseDate("2026-01-01")
	require.Equal(t, -1, a.Compare(b))
	require.Equal(t, 1, b.Compare(a))
	require.Equal(t, 0, a.Compare(a))
	require.True(t, a.Before(b))
	require.True(t, b.After(a))
	require.False(t, a.After(a))
	require.True(t, calendar.Date{}.IsZero())
	require.False(t, calendar.Date{}.IsValid())
}

func TestDateInstants(t *testing.T) {
	t.Parallel()
	d := calendar.MustParseDate("2026-10-13")
	require.Equal(t, "Asia/Shanghai", calendar.Location().String())
	require.Equal(t, "2026-10-13T00:00:00+08:00", d.Start().Format(time.RFC3339))
	require.Equal(t, "2026-10-14T00:00:00+08:00", d.End().Format(time.RFC3339))
	require.Equal(t, "2026-10-13T16:00:00Z", d.End().UTC().Format(time.RFC3339))
	// 2026-10-13 16:30 UTC is already 10-14 in Shanghai.
	require.Equal(t, "2026-10-14", calendar.DateOf(time.Date(2026, 10, 13, 16, 30, 0, 0, time.UTC)).String())
	require.Equal(t, "2026-10-13", calendar.DateOf(time.Date(2026, 10, 13, 15, 59, 59, 0, time.UTC)).String())
}

func TestDateJSON(t *testing.T) {
	t.Parallel()
	type wrapper struct {
		D calendar.Date  `json:"d"`
		P *calendar.Date `json:"p,omitempty"`
	}
	out, err := json.Marshal(wrapper{D: calendar.MustParseDate("2026-10-01")})
	require.NoError(t, err)
	require.JSONEq(t, `{"d":"2026-10-01"}`, string(out))

	var back wrapper
	require.NoError(t, json.Unmarshal([]byte(`{"d":"2024-02-29","p":"2025-11-04"}`), &back))
	require.Equal(t, calendar.MustParseDate("2024-02-29"), back.D)
	require.Equal(t, calendar.MustParseDate("2025-11-04"), *back.P)

	require.ErrorContains(t, json.Unmarshal([]byte(`{"d":"2025-02-29"}`), &back), `invalid date "2025-02-29"`)
	require.ErrorContains(t, json.Unmarshal([]byte(`{"d":20251001}`), &back), "cannot unmarshal number")

	// The zero Date is "no date": it round-trips as "" (a zero result that
	// travels with an error, for one); other invalid dates are refused.
	out, err = json.Marshal(wrapper{})
	require.NoError(t, err)
	require.JSONEq(t, `{"d":""}`, string(out))
	require.NoError(t, json.Unmarshal(out, &back))
	require.True(t, back.D.IsZero())
	_, err = json.Marshal(wrapper{D: calendar.Date{Year: 2025, Month: 2, Day: 30}})
	require.ErrorContains(t, err, "cannot write invalid date")
}
