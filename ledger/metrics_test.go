package ledger_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/casework"
	"github.com/xuncha/xuncha/internal/testenv"
	"github.com/xuncha/xuncha/ledger"
)

func TestCalendarCoverage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		today          string
		years          []int
		last, daysLeft int
	}{
		{"next year loaded", "2026-12-01", []int{2024, 2025, 2026, 2027}, 2027, 31 + 365},
		// The alert's threshold: 31 on December 1st means next year is missing.
		{"December 1st without next year", "2026-12-01", []int{2026, 2024, 2025}, 2026, 31},
		{"November 30th without next year", "2026-11-30", []int{2026}, 2026, 32},
		{"last day", "2026-12-31", []int{2026}, 2026, 1},
		{"a gap ends the run", "2026-06-01", []int{2026, 2028}, 2026, 214},
		{"this year missing", "2028-01-01", []int{2026, 2027, 2029}, 0, 0},
		{"duplicates", "2027-01-01", []int{2027, 2027, 2028}, 2028, 365 + 366},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			last, left := ledger.CalendarCoverage(calendar.MustParseDate(tc.today), tc.years)
			require.Equal(t, tc.last, last)
			require.Equal(t, tc.daysLeft, left)
		})
	}
}

func TestGaugesOfAnEmptyLedger(t *testing.T) {
	t.Parallel()
	store, _ := testenv.Ledger(t)
	now := calendar.MustParseDate("2026-12-01").Start().Add(time.Hour)
	g, err := store.Gauges(t.Context(), now)
	require.NoError(t, err)
	require.Empty(t, g.OpenFindings)
	require.Equal(t, map[string]int64{casework.SubjectFinding: 0, casework.SubjectInspection: 0, casework.SubjectInterview: 0}, g.Overdue)
	require.Empty(t, g.Escalations)
	require.Zero(t, g.OutboxPending)
	require.Zero(t, g.OutboxOldest)
	// The built-in notices: 2024–2027.
	require.Equal(t, 2027, g.CalendarLastYear)
	require.Equal(t, 31+365, g.CalendarDaysLeft)
}
