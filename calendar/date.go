package calendar

import (
	"fmt"
	"os"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Shanghai must load on machines without zoneinfo.
)

// TimeZone is the IANA name of the zone every deadline is computed in.
const TimeZone = "Asia/Shanghai"

// TestDayEndsAtEnv names a setting for benchmarks only, never for an
// office: an RFC 3339 instant at which the current day ends. When it is set,
// [Location] is not Asia/Shanghai but a fixed zone whose midnight falls on
// that instant, so that every deadline due today ends at it, minutes ahead
// instead of at the next 24:00 in Beijing (the midnight-herd benchmark,
// e2e/cluster). Every process of a deployment must see the same value: a
// workflow computes its days in the zone of the worker that runs it.
const TestDayEndsAtEnv = "XUNCHA_TEST_DAY_ENDS_AT"

var zone = sync.OnceValues(func() (*time.Location, error) {
	if v := os.Getenv(TestDayEndsAtEnv); v != "" {
		return testZone(v)
	}
	loc, err := time.LoadLocation(TimeZone)
	if err != nil {
		// Unreachable: time/tzdata embeds the zone database in the binary.
		panic(fmt.Sprintf("calendar: load time zone %s: %v", TimeZone, err))
	}
	return loc, nil
})

// testZone is the fixed zone in which a day ends at the instant v
// (TestDayEndsAtEnv): its offset from UTC is minus v's time of day in UTC,
// taken between -12h and +12h.
func testZone(v string) (*time.Location, error) {
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("calendar: %s=%q: must be an RFC 3339 instant (2026-11-29T20:15:00Z): %w", TestDayEndsAtEnv, v, err)
	}
	at = at.UTC()
	if at.Second() != 0 || at.Nanosecond() != 0 {
		// A zone's offset is written to the minute (RFC 3339, in every
		// recorded instant): one of 02:50:31 would read back 31 s off.
		return nil, fmt.Errorf("calendar: %s=%q: must fall on a whole minute (offsets are written to the minute)", TestDayEndsAtEnv, v)
	}
	offset := -(at.Hour()*3600 + at.Minute()*60)
	if offset < -12*3600 {
		offset += 24 * 3600
	}
	return time.FixedZone(fmt.Sprintf("%s %s", TestDayEndsAtEnv, at.Format(time.RFC3339)), offset), nil
}

// Location returns the Asia/Shanghai time zone that deadlines are computed
// in (or, with TestDayEndsAtEnv set, the benchmarks' zone).
func Location() *time.Location {
	loc, err := zone()
	if err != nil {
		// CheckTestSetting refuses the value at every process's start.
		panic(err.Error())
	}
	return loc
}

// CheckTestSetting reports whether TestDayEndsAtEnv is set (its zone's
// name) and refuses a malformed value. Processes call it as they start, so
// that the setting is never in force unnoticed.
func CheckTestSetting() (zoneName string, _ error) {
	if os.Getenv(TestDayEndsAtEnv) == "" {
		return "", nil
	}
	loc, err := zone()
	if err != nil {
		return "", err
	}
	return loc.String(), nil
}

// Date is a civil date (year, month, day) without a time of day or a zone. Its
// text form, also in JSON, is "YYYY-MM-DD". The zero Date is not a valid date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date year-month-day, or an error naming the part that is
// out of range (Feb 30 is refused, not normalised to Mar 2).
func NewDate(year int, month time.Month, day int) (Date, error) {
	d := Date{Year: year, Month: month, Day: day}
	if err := d.check(); err != nil {
		return Date{}, fmt.Errorf("calendar: invalid date %04d-%02d-%02d: %w", year, int(month), day, err)
	}
	return d, nil
}

// MustDate is like [NewDate] but panics on an invalid date. It is meant for
// constants in tests and tables.
func MustDate(year int, month time.Month, day int) Date {
	d, err := NewDate(year, month, day)
	if err != nil {
		panic(err)
	}
	return d
}

// ParseDate parses a date written "YYYY-MM-DD" (exactly four, two and two
// digits), e.g. "2026-10-01".
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("calendar: invalid date %q: want the form YYYY-MM-DD", s)
	}
	year, okY := digits(s[0:4])
	month, okM := digits(s[5:7])
	day, okD := digits(s[8:10])
	if !okY || !okM || !okD {
		return Date{}, fmt.Errorf("calendar: invalid date %q: want the form YYYY-MM-DD with digits only", s)
	}
	d := Date{Year: year, Month: time.Month(month), Day: day}
	if err := d.check(); err != nil {
		return Date{}, fmt.Errorf("calendar: invalid date %q: %w", s, err)
	}
	return d, nil
}

// MustParseDate is like [ParseDate] but panics on a malformed date. It is meant
// for constants in tests and tables.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf returns the civil date of the instant t in Asia/Shanghai.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Location()).Date()
	return Date{Year: y, Month: m, Day: d}
}

func digits(s string) (int, bool) {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

func (d Date) check() error {
	switch {
	case d.Year < 1 || d.Year > 9999:
		return fmt.Errorf("year must be between 0001 and 9999")
	case d.Month < time.January || d.Month > time.December:
		return fmt.Errorf("month must be between 01 and 12")
	case d.Day < 1 || d.Day > daysIn(d.Year, d.Month):
		return fmt.Errorf("day must be between 01 and %02d in %s %d", daysIn(d.Year, d.Month), d.Month, d.Year)
	}
	return nil
}

// IsValid reports whether d names a real day of the years 1 to 9999.
func (d Date) IsValid() bool { return d.check() == nil }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// String returns d as "YYYY-MM-DD".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MonthDay returns d as "MM-DD", for explanations within one year.
func (d Date) MonthDay() string {
	return fmt.Sprintf("%02d-%02d", int(d.Month), d.Day)
}

// MarshalText writes d as "YYYY-MM-DD", and the zero Date (no date) as "";
// it refuses any other invalid date, so none reaches JSON as "0000-00-00".
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("calendar: cannot write invalid date %s: %w", d, err)
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads a date written "YYYY-MM-DD"; "" is the zero Date.
func (d *Date) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*d = Date{}
		return nil
	}
	parsed, err := ParseDate(string(text))
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

// timeIn returns the start of d (00:00) in loc.
func (d Date) timeIn(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Start returns the instant d begins: 00:00 in Asia/Shanghai.
func (d Date) Start() time.Time { return d.timeIn(Location()) }

// End returns the instant d ends: 24:00 in Asia/Shanghai, which is 00:00 of the
// following day.
func (d Date) End() time.Time { return d.AddDays(1).Start() }

// AddDays returns the date n days after d (before d when n is negative).
func (d Date) AddDays(n int) Date {
	t := d.timeIn(time.UTC).AddDate(0, 0, n)
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
}

// DaysUntil returns the number of days from d to e: 1 when e is the day after
// d, negative when e is before d.
func (d Date) DaysUntil(e Date) int {
	return int(e.timeIn(time.UTC).Sub(d.timeIn(time.UTC)) / (24 * time.Hour))
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.timeIn(time.UTC).Weekday() }

// IsWeekend reports whether d is a Saturday or a Sunday.
func (d Date) IsWeekend() bool {
	wd := d.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// Compare returns -1 if d is before e, 0 if they are the same day, +1 if d is
// after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// daysIn returns the number of days of month m in year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// LastDayOfMonth returns the last day of d's month.
func (d Date) LastDayOfMonth() Date {
	return Date{Year: d.Year, Month: d.Month, Day: daysIn(d.Year, d.Month)}
}

// The window every date the API accepts must fall in. Dates outside it are
// typing mistakes (0001, 9999) or attacks on the arithmetic, never a real
// inspection; refusing them at the boundary keeps every computation in years
// the calendar can know.
var (
	// EarliestDate is the first date the API accepts: 2000-01-01, the first
	// day of MinYear.
	EarliestDate = Date{Year: MinYear, Month: time.January, Day: 1}
	// LatestDate is the last date the API accepts: 2100-12-31, the last day
	// of MaxYear.
	LatestDate = Date{Year: MaxYear, Month: time.December, Day: 31}
)

// InWindow reports whether d lies within [EarliestDate, LatestDate].
func (d Date) InWindow() bool {
	return !d.Before(EarliestDate) && !d.After(LatestDate)
}
