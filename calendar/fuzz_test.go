package calendar_test

import (
	"errors"
	"testing"
	"time"

	"github.com/xuncha/xuncha/calendar"
)

// The fuzz tests draw starting days from the built-in years.
var (
	fuzzFirst = calendar.Date{Year: 2024, Month: time.January, Day: 1}
	fuzzLast  = calendar.Date{Year: 2027, Month: time.December, Day: 31}
)

// fuzzDate maps any int onto a day of 2024–2027.
func fuzzDate(raw int64) calendar.Date {
	span := int64(fuzzFirst.DaysUntil(fuzzLast) + 1)
	return fuzzFirst.AddDays(int(((raw % span) + span) % span))
}

// fuzzCount maps any int onto 1..limit.
func fuzzCount(raw int64, limit int) int {
	return int(((raw%int64(limit))+int64(limit))%int64(limit)) + 1
}

func seedDays(f *testing.F, counts ...int64) {
	for _, s := range []string{
		"2024-01-01", "2024-01-31", "2024-02-09", "2024-02-29", "2024-09-13", "2024-12-31",
		"2025-01-24", "2025-01-31", "2025-09-01", "2025-09-30", "2025-12-30", "2025-12-31",
		"2026-01-14", "2026-02-13", "2026-05-14", "2026-09-10", "2026-09-30", "2026-10-03", "2026-10-10",
		"2027-01-29", "2027-10-31", "2027-12-28", "2027-12-31",
	} {
		for _, n := range counts {
			f.Add(int64(fuzzFirst.DaysUntil(d(s))), n)
		}
	}
}

// countWorkingDays counts the working days strictly after from up to and
// including to, or stops at the first year without data.
func countWorkingDays(t *testing.T, c *calendar.Calendar, from, to calendar.Date) (int, error) {
	t.Helper()
	count := 0
	for day := from.AddDays(1); !day.After(to); day = day.AddDays(1) {
		working, err := c.IsWorkingDay(day)
		if err != nil {
			return count, err
		}
		if working {
			count++
		}
	}
	return count, nil
}

func checkDueAt(t *testing.T, dl calendar.Deadline) {
	t.Helper()
	want := time.Date(dl.Due.Year, dl.Due.Month, dl.Due.Day+1, 0, 0, 0, 0, calendar.Location())
	if !dl.DueAt.Equal(want) || dl.DueAt.Location().String() != "Asia/Shanghai" {
		t.Fatalf("%s: DueAt %v, want %v (next midnight in Asia/Shanghai)", dl.Rule, dl.DueAt, want)
	}
	if h, m, s := dl.DueAt.Clock(); h != 0 || m != 0 || s != 0 || calendar.DateOf(dl.DueAt) != dl.Due.AddDays(1) {
		t.Fatalf("%s: DueAt %v is not the midnight after %s", dl.Rule, dl.DueAt, dl.Due)
	}
}

func FuzzAddWorkingDays(f *testing.F) {
	seedDays(f, 1, 2, 3, 5, 10, 20, 249)
	c := calendar.Builtin()
	f.Fuzz(func(t *testing.T, rawFrom, rawCount int64) {
		from, n := fuzzDate(rawFrom), fuzzCount(rawCount, calendar.MaxWorkingDays)
		dl, err := c.AddWorkingDays(from, n)
		if errors.Is(err, calendar.ErrNoData) {
			// Acceptable only when fewer than n working days remain up to the
			// end of the last known year.
			left, countErr := countWorkingDays(t, c, from, fuzzLast)
			if countErr != nil || left >= n {
				t.Fatalf("%d working days after %s: unexpected %v (%d working days left in the known years)", n, from, err, left)
			}
			return
		}
		if err != nil {
			t.Fatalf("%d working days after %s: %v", n, from, err)
		}
		if !dl.Due.After(from) {
			t.Fatalf("%s: due %s is not after the starting day", dl.Rule, dl.Due)
		}
		working, err := c.IsWorkingDay(dl.Due)
		if err != nil || !working {
			t.Fatalf("%s: due %s is not a working day (%v)", dl.Rule, dl.Due, err)
		}
		count, err := countWorkingDays(t, c, from, dl.Due)
		if err != nil || count != n {
			t.Fatalf("%s: due %s, but %d working days lie after %s up to it (%v)", dl.Rule, dl.Due, count, from, err)
		}
		checkDueAt(t, dl)
		checkSkipsAndMakeups(t, c, dl, from.AddDays(1))
		if want := dl.Due.Year - from.AddDays(1).Year + 1; len(dl.Versions) != want {
			t.Fatalf("%s: %d versions, want one per year touched (%d)", dl.Rule, len(dl.Versions), want)
		}
	})
}

// checkSkipsAndMakeups checks that the skipped runs are rest days in order,
// that the make-up days are working weekend days, and that between start and
// due every rest day is in a run.
func checkSkipsAndMakeups(t *testing.T, c *calendar.Calendar, dl calendar.Deadline, start calendar.Date) {
	t.Helper()
	skipped := map[calendar.Date]bool{}
	prev := start.AddDays(-1)
	for _, s := range dl.Skipped {
		if !s.Start.After(prev) || s.End.Before(s.Start) || !s.End.Before(dl.Due) {
			t.Fatalf("%s: skipped run %v out of order or past due", dl.Rule, s)
		}
		for day := s.Start; !day.After(s.End); day = day.AddDays(1) {
			if working, err := c.IsWorkingDay(day); err != nil || working {
				t.Fatalf("%s: skipped %s, which is a working day (%v)", dl.Rule, day, err)
			}
			if s.Reason == calendar.ReasonWeekend && !day.IsWeekend() {
				t.Fatalf("%s: %s skipped as weekend", dl.Rule, day)
			}
			skipped[day] = true
		}
		prev = s.End
	}
	for day := start; day.Before(dl.Due); day = day.AddDays(1) {
		working, err := c.IsWorkingDay(day)
		if err != nil {
			t.Fatal(err)
		}
		if !working && !skipped[day] {
			t.Fatalf("%s: rest day %s passed over but not listed", dl.Rule, day)
		}
	}
	for _, m := range dl.MakeupDays {
		working, err := c.IsWorkingDay(m.Date)
		if err != nil || !working || !m.Date.IsWeekend() || m.Date.Before(start) || m.Date.After(dl.Due) {
			t.Fatalf("%s: make-up day %v is not a working weekend day in the period (%v)", dl.Rule, m, err)
		}
	}
}

func FuzzAddMonths(f *testing.F) {
	seedDays(f, 1, 2, 3, 6, 11, 12)
	c := calendar.Builtin()
	f.Fuzz(func(t *testing.T, rawFrom, rawCount int64) {
		from, n := fuzzDate(rawFrom), fuzzCount(rawCount, calendar.MaxMonths)
		// The corresponding day, computed independently of the package: the
		// same day n months on, or the last day of that month.
		firstOfMonth := time.Date(from.Year, from.Month+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
		lastDay := firstOfMonth.AddDate(0, 1, -1).Day()
		want := calendar.Date{Year: firstOfMonth.Year(), Month: firstOfMonth.Month(), Day: min(from.Day, lastDay)}

		dl, err := c.AddMonths(from, n)
		if errors.Is(err, calendar.ErrNoData) {
			// Acceptable only when the period reaches past 2027: the
			// corresponding day is after 2027, or it is a rest day and no
			// working day follows it in 2027.
			if want.After(fuzzLast) {
				return
			}
			for day := want; !day.After(fuzzLast); day = day.AddDays(1) {
				if working, _ := c.IsWorkingDay(day); working {
					t.Fatalf("%d months after %s: unexpected %v (%s is a working day)", n, from, err, day)
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("%d months after %s: %v", n, from, err)
		}
		if dl.CorrespondingDay == nil || *dl.CorrespondingDay != want {
			t.Fatalf("%s: corresponding day %v, want %s", dl.Rule, dl.CorrespondingDay, want)
		}
		corresponding := *dl.CorrespondingDay
		if monthIndex(corresponding) != monthIndex(from)+n {
			t.Fatalf("%s: corresponding day %s is not in month %d after %s", dl.Rule, corresponding, n, from)
		}
		if corresponding.Day > from.Day || (corresponding.Day < from.Day && corresponding != corresponding.LastDayOfMonth()) {
			t.Fatalf("%s: corresponding day %s is neither the same day nor the month's last day", dl.Rule, corresponding)
		}
		if dl.Due.Before(corresponding) {
			t.Fatalf("%s: due %s before the corresponding day %s", dl.Rule, dl.Due, corresponding)
		}
		working, err := c.IsWorkingDay(dl.Due)
		if err != nil || !working {
			t.Fatalf("%s: due %s is not a working day (%v)", dl.Rule, dl.Due, err)
		}
		for day := corresponding; day.Before(dl.Due); day = day.AddDays(1) {
			if working, err := c.IsWorkingDay(day); err != nil || working {
				t.Fatalf("%s: due %s, but %s before it is a working day", dl.Rule, dl.Due, day)
			}
		}
		checkDueAt(t, dl)
		checkSkipsAndMakeups(t, c, dl, corresponding)
	})
}

func monthIndex(d calendar.Date) int { return d.Year*12 + int(d.Month) - 1 }
