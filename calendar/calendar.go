package calendar

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/xuncha/xuncha/internal/i18n"
)

// ErrNoData is matched (with errors.Is) by every error about a year the
// calendar has no notice for. The concrete error is a *NoDataError.
var ErrNoData = errors.New("calendar: no data for year")

// NoDataError reports that a computation needed a year the calendar has no
// notice for. It matches ErrNoData.
type NoDataError struct {
	Year int
}

// Error says which year is missing and what to do about it.
func (e *NoDataError) Error() string {
	return fmt.Sprintf("calendar: no data for year %d: load the State Council notice for %d first", e.Year, e.Year)
}

// Text is the error for a client, in both languages.
func (e *NoDataError) Text() i18n.Text {
	return i18n.T("the calendar has no data for %d: load the State Council notice for %d first", e.Year, e.Year)
}

// In is the error for a client in lang (derrors.Message asks for it).
func (e *NoDataError) In(lang i18n.Lang) string { return e.Text().In(lang) }

// Is makes errors.Is(err, ErrNoData) true.
func (e *NoDataError) Is(target error) bool { return target == ErrNoData }

// Version identifies where a year's notice came from: ID 0 is the built-in
// base embedded in this package; a version loaded from the ledger carries the
// ledger's ID. Label is for people, e.g. "built-in 2026, 国办发明电〔2025〕7号"
// or "calendar version 3".
type Version struct {
	ID int64 `json:"id"`
	// Year is the year the version's notice covers, so that a built-in
	// version (ID 0 for every year) still says which notice it is.
	Year  int    `json:"year,omitempty"`
	Label string `json:"label"`
}

// BuiltinVersionID is the Version.ID of the embedded notices.
const BuiltinVersionID int64 = 0

// LabelIn is the version's label in lang.
func (v Version) LabelIn(lang i18n.Lang) string {
	return i18n.Text{EN: v.Label, ZH: v.LabelZH()}.In(lang)
}

// LabelZH is the version's label in Chinese: "内置 2026，国办发明电〔2025〕7号"
// for an embedded notice, "日历版本 3" for a version loaded from the ledger
// (whose Label is "calendar version 3"). Explanations in Chinese gave the
// English label.
func (v Version) LabelZH() string {
	if v.ID != BuiltinVersionID {
		return fmt.Sprintf("日历版本 %d", v.ID)
	}
	zh := fmt.Sprintf("内置 %d", v.Year)
	if _, doc, ok := strings.Cut(v.Label, ", "); ok {
		zh += "，" + doc
	}
	return zh
}

// NameZHOf is the Chinese name of a holiday named name: name itself when
// it is written in Chinese, else the Chinese name the embedded notices give
// a holiday of that English name ("National Day": 国庆节), else "".
func NameZHOf(name string) string {
	for _, r := range name {
		if unicode.Is(unicode.Han, r) {
			return name
		}
	}
	return holidayNamesZH()[name]
}

// holidayNamesZH maps the embedded notices' English holiday names to their
// Chinese ones.
var holidayNamesZH = sync.OnceValue(func() map[string]string {
	names := map[string]string{}
	for _, y := range Builtin().years {
		for _, h := range y.notice.Holidays {
			if h.NameZH != "" {
				names[h.Name] = h.NameZH
			}
		}
	}
	return names
})

// dayKind is what a day is in the working-day calendar.
type dayKind uint8

const (
	plainWorkday  dayKind = iota // Monday to Friday, not a holiday
	plainWeekend                 // Saturday or Sunday, not a make-up day
	holiday                      // inside a statutory holiday
	makeupWorkday                // weekend day turned into a working day
)

// dayInfo classifies one day; name is the holiday's Name for holiday and
// makeupWorkday, nameZH its NameZH (empty when the notice has none).
type dayInfo struct {
	kind   dayKind
	name   string
	nameZH string
}

func (i dayInfo) working() bool { return i.kind == plainWorkday || i.kind == makeupWorkday }

// reasonZH is reason in Chinese: the holiday's Chinese name (NameZHOf its
// name when the notice gives none, as a notice loaded before name_zh; its
// name when that knows none either), or 周末.
func (i dayInfo) reasonZH() string {
	switch {
	case i.kind != holiday:
		return "周末"
	case i.nameZH != "":
		return i.nameZH
	}
	if zh := NameZHOf(i.name); zh != "" {
		return zh
	}
	return i.name
}

// reason returns why a rest day is one: the holiday's name, or "weekend".
func (i dayInfo) reason() string {
	if i.kind == holiday {
		return i.name
	}
	return "weekend"
}

// yearData is one year's notice, its version and every day classified.
type yearData struct {
	notice  Notice
	version Version
	days    []dayInfo // index: day of year - 1
	// december are the days of the December before the year that the
	// notice names (Notice.covers): they override what that year's own
	// notice says of them (classify).
	december map[Date]dayInfo
}

func newYearData(n Notice, v Version) *yearData {
	first := Date{Year: n.Year, Month: time.January, Day: 1}
	count := first.DaysUntil(Date{Year: n.Year + 1, Month: time.January, Day: 1})
	y := &yearData{notice: n.clone(), version: v, days: make([]dayInfo, count)}
	for i := range y.days {
		if first.AddDays(i).IsWeekend() {
			y.days[i].kind = plainWeekend
		}
	}
	set := func(d Date, info dayInfo) {
		if d.Year == n.Year {
			y.days[first.DaysUntil(d)] = info
			return
		}
		if y.december == nil {
			y.december = map[Date]dayInfo{}
		}
		y.december[d] = info
	}
	for _, h := range n.Holidays {
		for d := h.Start; !d.After(h.End); d = d.AddDays(1) {
			set(d, dayInfo{kind: holiday, name: h.Name, nameZH: h.NameZH})
		}
	}
	for _, m := range n.MakeupDays {
		info := dayInfo{kind: makeupWorkday, name: m.Name}
		for _, h := range n.Holidays {
			if h.Name == m.Name {
				info.nameZH = h.NameZH
			}
		}
		set(m.Date, info)
	}
	return y
}

func (y *yearData) day(d Date) dayInfo {
	return y.days[Date{Year: d.Year, Month: time.January, Day: 1}.DaysUntil(d)]
}

// Calendar is an immutable set of years, each with its notice and the version
// the notice came from. Build one with [Builtin] and [Calendar.With]; the zero
// Calendar (and a nil *Calendar) has no years. A Calendar is safe for
// concurrent use.
type Calendar struct {
	years map[int]*yearData
}

//go:embed notices/*.json
var embeddedNotices embed.FS

var builtin = sync.OnceValue(func() *Calendar {
	c, err := loadEmbedded(embeddedNotices)
	if err != nil {
		// The embedded data is checked by the package's tests; reaching this
		// means the binary was built from broken data.
		panic(err)
	}
	return c
})

// Builtin returns the calendar embedded in this package: the State Council
// notices for the years in calendar/notices, each with Version ID 0.
func Builtin() *Calendar { return builtin() }

func loadEmbedded(fsys fs.FS) (*Calendar, error) {
	paths, err := fs.Glob(fsys, "notices/*.json")
	if err != nil {
		return nil, fmt.Errorf("calendar: list embedded notices: %w", err)
	}
	c := &Calendar{years: make(map[int]*yearData, len(paths))}
	for _, path := range paths {
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return nil, fmt.Errorf("calendar: read embedded notice %s: %w", path, err)
		}
		n, err := ParseNotice(data)
		if err != nil {
			return nil, fmt.Errorf("calendar: embedded notice %s: %w", path, err)
		}
		if _, dup := c.years[n.Year]; dup {
			return nil, fmt.Errorf("calendar: embedded notice %s: second notice for %d", path, n.Year)
		}
		c.years[n.Year] = newYearData(n, builtinVersion(n))
	}
	return c, nil
}

// builtinVersion labels an embedded notice: "built-in 2026, 国办发明电〔2025〕7号".
func builtinVersion(n Notice) Version {
	label := fmt.Sprintf("built-in %d", n.Year)
	if n.DocNumber != "" {
		label += ", " + n.DocNumber
	}
	return Version{ID: BuiltinVersionID, Year: n.Year, Label: label}
}

// With returns a copy of c in which n's year is n, from version v (its Year
// set to n's), whether or not c had that year. c itself is unchanged. It refuses a notice that does not
// pass [Notice.Validate], returning the *ValidationError.
func (c *Calendar) With(n Notice, v Version) (*Calendar, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	years := make(map[int]*yearData, c.size()+1)
	if c != nil {
		maps.Copy(years, c.years)
	}
	v.Year = n.Year
	years[n.Year] = newYearData(n, v)
	return &Calendar{years: years}, nil
}

func (c *Calendar) size() int {
	if c == nil {
		return 0
	}
	return len(c.years)
}

func (c *Calendar) year(y int) (*yearData, error) {
	if c != nil {
		if data, ok := c.years[y]; ok {
			return data, nil
		}
	}
	return nil, &NoDataError{Year: y}
}

// Year returns year y's notice (a copy) and the version it came from, or an
// error matching ErrNoData.
func (c *Calendar) Year(y int) (Notice, Version, error) {
	data, err := c.year(y)
	if err != nil {
		return Notice{}, Version{}, err
	}
	return data.notice.clone(), data.version, nil
}

// Years returns the years c has data for, in ascending order.
func (c *Calendar) Years() []int {
	if c == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(c.years))
}

// classify returns what d is and the year data that says so: d's year's,
// or, for a day of December that the next year's notice names (a New Year
// holiday beginning there, a make-up day before it), the next year's. The
// later notice decides that day; d's own year must still be known.
func (c *Calendar) classify(d Date) (dayInfo, *yearData, error) {
	data, err := c.year(d.Year)
	if err != nil {
		return dayInfo{}, nil, err
	}
	if next, ok := c.years[d.Year+1]; ok {
		if info, named := next.december[d]; named {
			return info, next, nil
		}
	}
	return data.day(d), data, nil
}

// IsWorkingDay reports whether d is a working day: Monday to Friday and not a
// statutory holiday, or a make-up working day. A year without data yields an
// error matching ErrNoData.
func (c *Calendar) IsWorkingDay(d Date) (bool, error) {
	if !d.IsValid() {
		return false, invalidArgument("date", "date", "must be a valid date")
	}
	info, _, err := c.classify(d)
	if err != nil {
		return false, err
	}
	return info.working(), nil
}

// NextWorkingDay returns d when it is a working day, else the first
// working day after it, with why d is a rest day (the holiday's name, or
// "weekend"; reasonZH in Chinese). A year without data yields an error
// matching ErrNoData.
func (c *Calendar) NextWorkingDay(d Date) (next Date, reason, reasonZH string, err error) {
	if !d.IsValid() {
		return d, "", "", invalidArgument("date", "date", "must be a valid date")
	}
	info, _, err := c.classify(d)
	if err != nil || info.working() {
		return d, "", "", err
	}
	reason, reasonZH = info.reason(), info.reasonZH()
	for next = d.AddDays(1); ; next = next.AddDays(1) {
		if info, _, err = c.classify(next); err != nil || info.working() {
			return next, reason, reasonZH, err
		}
	}
}

func invalidArgument(subject, field, rule string) error {
	return &ValidationError{Subject: subject, Violations: []FieldViolation{{Field: field, Rule: rule, RuleZH: i18n.Zh(rule)}}}
}
