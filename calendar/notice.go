package calendar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/xuncha/xuncha/internal/i18n"
)

// Range of years a notice may be for.
const (
	// MinYear is the earliest year a notice may be for.
	MinYear = 2000
	// MaxYear is the latest year a notice may be for.
	MaxYear = 2100
)

// Holiday is one statutory holiday period of a notice: the days from Start to
// End, both included, are rest days. Name is the English name used in
// explanations ("National Day"); NameZH is the notice's own name (国庆节).
type Holiday struct {
	Name   string `json:"name"`
	NameZH string `json:"name_zh,omitempty"`
	Start  Date   `json:"start"`
	End    Date   `json:"end"`
}

// Days returns the number of days of the holiday, both ends counted.
func (h Holiday) Days() int { return h.Start.DaysUntil(h.End) + 1 }

// Contains reports whether d falls within the holiday.
func (h Holiday) Contains(d Date) bool { return !d.Before(h.Start) && !d.After(h.End) }

// DisplayName returns "National Day (国庆节)", or only the name when the notice
// gives no Chinese name.
func (h Holiday) DisplayName() string {
	if h.NameZH == "" {
		return h.Name
	}
	return h.Name + " (" + h.NameZH + ")"
}

// MakeupDay is a Saturday or Sunday that a notice turns into a working day
// (调休上班). Name is the Name of the holiday it belongs to.
type MakeupDay struct {
	Date Date   `json:"date"`
	Name string `json:"name"`
	// NameZH is the holiday's Chinese name, in a computed deadline's
	// make-up days (a notice names its holidays in Chinese once, on the
	// holiday); empty in deadlines computed before it existed.
	NameZH string `json:"name_zh,omitempty"`
}

// Notice is one year's holiday arrangement as published by the General Office
// of the State Council (国务院办公厅关于部分节假日安排的通知), or an amendment
// of it. DocNumber (e.g. 国办发明电〔2025〕7号) and DocDate are empty when not
// known.
type Notice struct {
	Year       int         `json:"year"`
	DocNumber  string      `json:"doc_number"`
	DocDate    *Date       `json:"doc_date,omitempty"`
	Holidays   []Holiday   `json:"holidays"`
	MakeupDays []MakeupDay `json:"makeup_days"`
}

// ParseNotice reads a notice from JSON (the form the embedded notices and the
// ledger's calendar versions use), refusing unknown fields, and validates it.
// A notice that breaks a rule yields a *ValidationError.
func ParseNotice(data []byte) (Notice, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var n Notice
	if err := dec.Decode(&n); err != nil {
		return Notice{}, fmt.Errorf("calendar: read notice JSON: %w", err)
	}
	if dec.More() {
		return Notice{}, fmt.Errorf("calendar: read notice JSON: more than one JSON value")
	}
	if err := n.Validate(); err != nil {
		return Notice{}, err
	}
	return n, nil
}

// FieldViolation is one broken rule: Field is the path of the offending field
// in JSON form (e.g. "holidays[2].end" of a notice, "working_days" of a
// period), Rule says what it must be (e.g. "must not be before start
// 2026-04-04").
type FieldViolation struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
	// RuleZH is Rule in Chinese (the catalogue's, internal/i18n).
	RuleZH string `json:"rule_zh,omitempty"`
}

// String returns "field: rule".
func (v FieldViolation) String() string { return v.Field + ": " + v.Rule }

// ValidationError reports every rule a notice, or the arguments of a period
// computation, break. The API turns Violations into google.rpc.BadRequest field
// violations.
type ValidationError struct {
	// Subject names what was checked, e.g. "notice for 2026" or "period".
	Subject    string
	Violations []FieldViolation
}

// Error returns "calendar: invalid SUBJECT: field: rule; field: rule".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return "calendar: invalid " + e.Subject + ": " + strings.Join(parts, "; ")
}

// Has reports whether one of the violations is for field.
func (e *ValidationError) Has(field string) bool {
	for _, v := range e.Violations {
		if v.Field == field {
			return true
		}
	}
	return false
}

type violations struct{ list []FieldViolation }

func (vs *violations) add(field, format string, args ...any) {
	vs.list = append(vs.list, FieldViolation{Field: field, Rule: fmt.Sprintf(format, args...), RuleZH: i18n.Zh(format, args...)})
}

func (vs *violations) err(subject string) error {
	if len(vs.list) == 0 {
		return nil
	}
	return &ValidationError{Subject: subject, Violations: vs.list}
}

// Validate checks the notice and returns a *ValidationError listing every
// broken rule, or nil. The rules: the year is between MinYear and MaxYear; the
// document date, if given, is in the year or the year before; there is at
// least one holiday; every holiday has a name and valid start and end dates
// inside the year or the December before it (covers), end not before start,
// and overlaps no other holiday; every make-up day is a valid Saturday or
// Sunday inside the year or that December, outside every holiday, listed
// once, and names one of the notice's holidays.
func (n Notice) Validate() error {
	var vs violations
	yearOK := n.Year >= MinYear && n.Year <= MaxYear
	if !yearOK {
		vs.add("year", "must be between %d and %d", MinYear, MaxYear)
	}
	if n.DocDate != nil {
		switch {
		case !n.DocDate.IsValid():
			vs.add("doc_date", "must be a valid date")
		case yearOK && (n.DocDate.Year < n.Year-1 || n.DocDate.Year > n.Year):
			vs.add("doc_date", "must be in %d or %d", n.Year-1, n.Year)
		}
	}
	if len(n.Holidays) == 0 {
		vs.add("holidays", "must list at least one holiday")
	}

	inYear := func(field string, d Date) bool {
		switch {
		case !d.IsValid():
			vs.add(field, "must be a valid date")
			return false
		case yearOK && !n.covers(d):
			vs.add(field, "must be in the notice's year %d or the December before it", n.Year)
			return false
		}
		return true
	}

	holidayOK := make([]bool, len(n.Holidays))
	names := make(map[string]bool, len(n.Holidays))
	for i, h := range n.Holidays {
		field := fmt.Sprintf("holidays[%d]", i)
		if strings.TrimSpace(h.Name) == "" {
			vs.add(field+".name", "must not be empty")
		}
		names[h.Name] = true
		startOK := inYear(field+".start", h.Start)
		endOK := inYear(field+".end", h.End)
		if startOK && endOK {
			if h.End.Before(h.Start) {
				vs.add(field+".end", "must not be before start %s", h.Start)
			} else {
				holidayOK[i] = true
			}
		}
	}
	for j, hj := range n.Holidays {
		if !holidayOK[j] {
			continue
		}
		for i := range j {
			hi := n.Holidays[i]
			if holidayOK[i] && !hj.Start.After(hi.End) && !hi.Start.After(hj.End) {
				vs.add(fmt.Sprintf("holidays[%d]", j), "must not overlap holidays[%d] (%s %s..%s)", i, hi.Name, hi.Start, hi.End)
			}
		}
	}

	seen := make(map[Date]int, len(n.MakeupDays))
	for i, m := range n.MakeupDays {
		field := fmt.Sprintf("makeup_days[%d]", i)
		if inYear(field+".date", m.Date) {
			if !m.Date.IsWeekend() {
				vs.add(field+".date", "must be a Saturday or Sunday (%s is a %s)", m.Date,
					i18n.Text{EN: m.Date.Weekday().String(), ZH: weekdayZH[m.Date.Weekday()]})
			}
			for k, h := range n.Holidays {
				if holidayOK[k] && h.Contains(m.Date) {
					vs.add(field+".date", "must not fall inside holidays[%d] (%s %s..%s)", k, h.Name, h.Start, h.End)
				}
			}
			if first, dup := seen[m.Date]; dup {
				vs.add(field+".date", "must not repeat makeup_days[%d]", first)
			} else {
				seen[m.Date] = i
			}
		}
		switch {
		case strings.TrimSpace(m.Name) == "":
			vs.add(field+".name", "must not be empty")
		case !names[m.Name]:
			vs.add(field+".name", "must be the name of one of the notice's holidays")
		}
	}
	return vs.err(fmt.Sprintf("notice for %d", n.Year))
}

// covers reports whether a notice for n.Year may say what d is: a day of
// its year, or of the December before it, where a New Year holiday may
// begin and its make-up days fall (the 2019 notice: 2018-12-30 to
// 2019-01-01 off, Saturday 2018-12-29 worked).
func (n Notice) covers(d Date) bool {
	return d.Year == n.Year || (d.Year == n.Year-1 && d.Month == time.December)
}

// clone returns a deep copy, so a Calendar never shares slices with callers.
func (n Notice) clone() Notice {
	c := n
	if n.DocDate != nil {
		d := *n.DocDate
		c.DocDate = &d
	}
	c.Holidays = append([]Holiday(nil), n.Holidays...)
	c.MakeupDays = append([]MakeupDay(nil), n.MakeupDays...)
	return c
}

// Title returns the notice's title, e.g. 国务院办公厅关于2026年部分节假日安排的通知.
func (n Notice) Title() string {
	return fmt.Sprintf("国务院办公厅关于%d年部分节假日安排的通知", n.Year)
}
