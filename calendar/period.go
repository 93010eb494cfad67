package calendar

import (
	"fmt"
	"github.com/xuncha/xuncha/internal/i18n"
	"slices"
	"strings"
	"time"
)

// Period kinds, the values of Deadline.Kind. They double as the field names
// of the count in validation errors ("working_days: must be at least 1").
const (
	// KindWorkingDays is a period of working days (工作日).
	KindWorkingDays = "working_days"
	// KindMonths is a period of calendar months.
	KindMonths = "months"
)

// Limits on the count of a period.
const (
	// MaxWorkingDays is the largest count AddWorkingDays accepts.
	MaxWorkingDays = 250
	// MaxMonths is the largest count AddMonths accepts.
	MaxMonths = 12
)

// Skip is a run of consecutive rest days a period passed over for one reason:
// a holiday's Name (e.g. "National Day") or "weekend".
type Skip struct {
	Start  Date   `json:"start"`
	End    Date   `json:"end"`
	Reason string `json:"reason"`
	// ReasonZH is Reason in Chinese (the holiday's Chinese name, or 周末);
	// empty in deadlines computed before it existed.
	ReasonZH string `json:"reason_zh,omitempty"`
}

// ReasonIn is the skip's reason in lang: the Chinese where there is one,
// else the English.
func (s Skip) ReasonIn(lang i18n.Lang) string {
	return i18n.Text{EN: s.Reason, ZH: s.ReasonZH}.In(lang)
}

// ReasonWeekend is Skip.Reason for Saturdays and Sundays that are not make-up
// working days.
const ReasonWeekend = "weekend"

// Deadline is a computed period end, with everything needed to explain it.
type Deadline struct {
	// Rule states the period, e.g. "5 working days after 2026-09-30".
	Rule string `json:"rule"`
	// Kind is KindWorkingDays or KindMonths.
	Kind string `json:"kind"`
	// Count is the number of working days or months.
	Count int `json:"count"`
	// From is the starting day, which is not counted.
	From Date `json:"from"`
	// CorrespondingDay is, for a period in months, the day the period falls
	// on before a rest day moves it (Civil Code art. 202); nil for working
	// days.
	CorrespondingDay *Date `json:"corresponding_day,omitempty"`
	// Due is the last day of the period.
	Due Date `json:"due"`
	// DueAt is the end of Due, 24:00 Asia/Shanghai, i.e. 00:00 of the next day.
	DueAt time.Time `json:"due_at"`
	// Skipped lists the runs of rest days passed over, in order.
	Skipped []Skip `json:"skipped"`
	// MakeupDays lists the make-up working days counted or landed on.
	MakeupDays []MakeupDay `json:"makeup_days"`
	// Versions lists the calendar version of every year looked at, by year.
	Versions []Version `json:"versions"`
	// Explanation is the human account, first line the summary
	// "due 2026-10-13: 5 working days after 2026-09-30 (calendar: ...)".
	Explanation []string `json:"explanation"`
	// ExplanationZH is the account in Chinese, first line the summary
	// "2026-10-13 截止：2026-09-30 之后第 5 个工作日"; empty in deadlines
	// computed before it existed.
	ExplanationZH []string `json:"explanation_zh,omitempty"`
}

// RuleText states the period in both languages: Rule, and in Chinese
// "2026-09-30 之后 5 个工作日" or "2026-11-25 之后 1 个月" (a deadline
// recorded without its kind has Rule alone).
func (d Deadline) RuleText() i18n.Text {
	t := i18n.Text{EN: d.Rule}
	switch d.Kind {
	case KindWorkingDays:
		t.ZH = fmt.Sprintf("%s 之后 %d 个工作日", d.From, d.Count)
	case KindMonths:
		t.ZH = fmt.Sprintf("%s 之后 %d 个月", d.From, d.Count)
	}
	return t
}

// PeriodText is the period alone in Chinese ("1 个月", "5 个工作日"),
// for a sentence that names its start apart; in English, Rule.
func (d Deadline) PeriodText() i18n.Text {
	t := d.RuleText()
	switch d.Kind {
	case KindWorkingDays:
		t.ZH = fmt.Sprintf("%d 个工作日", d.Count)
	case KindMonths:
		t.ZH = fmt.Sprintf("%d 个月", d.Count)
	}
	return t
}

// Explain returns the explanation as multi-line text.
func (d Deadline) Explain() string { return strings.Join(d.Explanation, "\n") }

// ExplanationIn is the explanation in lang (the English where a deadline
// computed before the Chinese existed has none).
func (d Deadline) ExplanationIn(lang i18n.Lang) []string {
	if lang == i18n.Chinese && len(d.ExplanationZH) > 0 {
		return d.ExplanationZH
	}
	return d.Explanation
}

// Missed reports whether the deadline has passed at now: true from DueAt on.
func (d Deadline) Missed(now time.Time) bool { return !now.Before(d.DueAt) }

// AddWorkingDays returns the deadline n working days after from: the n-th
// working day after from, from itself not counted. n must be between 1 and
// MaxWorkingDays. Any day the count passes through in a year without data
// makes it fail with an error matching ErrNoData.
func (c *Calendar) AddWorkingDays(from Date, n int) (Deadline, error) {
	var vs violations
	if !from.IsValid() {
		vs.add("from", "must be a valid date")
	}
	switch {
	case n < 1:
		vs.add(KindWorkingDays, "must be at least 1")
	case n > MaxWorkingDays:
		vs.add(KindWorkingDays, "must be at most %d", MaxWorkingDays)
	}
	if err := vs.err("period"); err != nil {
		return Deadline{}, err
	}

	rule := fmt.Sprintf("%s after %s", plural(n, "working day", "working days"), from)
	w := walk{cal: c}
	due := from
	for counted := 0; counted < n; {
		due = due.AddDays(1)
		info, err := w.visit(due)
		if err != nil {
			return Deadline{}, fmt.Errorf("%s: %w", rule, err)
		}
		if info.working() {
			counted++
		}
	}

	dl := w.deadline(KindWorkingDays, rule, n, from, due)
	events, eventsZH := w.eventLines(from, due)
	dl.Explanation = append(dl.Explanation, events...)
	dl.Explanation = append(dl.Explanation, closingLine(due))
	dl.ExplanationZH = append([]string{fmt.Sprintf("%s 截止：%s 之后第 %d 个工作日", due, from, n)}, eventsZH...)
	dl.ExplanationZH = append(dl.ExplanationZH, w.closingLineZH(due))
	return dl, nil
}

// AddMonths returns the deadline n months after from: the corresponding day of
// the last month, or that month's last day when it has none (Civil Code art.
// 202); when that day is a rest day, the first working day after it (art.
// 203). n must be between 1 and MaxMonths. Looking up a year without data
// makes it fail with an error matching ErrNoData.
func (c *Calendar) AddMonths(from Date, n int) (Deadline, error) {
	var vs violations
	if !from.IsValid() {
		vs.add("from", "must be a valid date")
	}
	if n < 1 || n > MaxMonths {
		vs.add(KindMonths, "must be between 1 and %d", MaxMonths)
	}
	if err := vs.err("period"); err != nil {
		return Deadline{}, err
	}

	rule := fmt.Sprintf("%s after %s", plural(n, "month", "months"), from)
	corresponding := addCalendarMonths(from, n)
	w := walk{cal: c}
	info, err := w.visit(corresponding)
	if err != nil {
		return Deadline{}, fmt.Errorf("%s: %w", rule, err)
	}
	landed := info
	due := corresponding
	for !info.working() {
		due = due.AddDays(1)
		if info, err = w.visit(due); err != nil {
			return Deadline{}, fmt.Errorf("%s: %w", rule, err)
		}
	}

	dl := w.deadline(KindMonths, rule, n, from, due)
	dl.CorrespondingDay = &corresponding
	falls := fmt.Sprintf("%s falls on %s", rule, corresponding)
	if corresponding.Day != from.Day {
		falls += fmt.Sprintf(" (%s has no %s; Civil Code art. 202)", corresponding.Month, ordinal(from.Day))
	} else {
		falls += " (the corresponding day; Civil Code art. 202)"
	}
	dl.Explanation = append(dl.Explanation, falls)
	if !landed.working() {
		dl.Explanation = append(dl.Explanation, fmt.Sprintf(
			"%s is a rest day (%s); the period ends on the next working day %s (Civil Code art. 203)",
			corresponding, landed.reason(), due))
	}
	events, eventsZH := w.eventLines(from, due)
	dl.Explanation = append(dl.Explanation, events...)
	dl.Explanation = append(dl.Explanation, closingLine(due))
	dl.ExplanationZH = []string{fmt.Sprintf("%s 截止：%s 之后 %d 个月", due, from, n)}
	if corresponding.Day != from.Day {
		dl.ExplanationZH = append(dl.ExplanationZH, fmt.Sprintf("%d 月没有 %d 日，期满日为该月最后一天 %s（民法典第二百零二条）",
			int(corresponding.Month), from.Day, corresponding))
	} else {
		dl.ExplanationZH = append(dl.ExplanationZH, fmt.Sprintf("期满日为对应日 %s（民法典第二百零二条）", corresponding))
	}
	if !landed.working() {
		dl.ExplanationZH = append(dl.ExplanationZH, fmt.Sprintf("%s 为休息日（%s），期限顺延至其后第一个工作日 %s（民法典第二百零三条）",
			corresponding, landed.reasonZH(), due))
	}
	dl.ExplanationZH = append(dl.ExplanationZH, eventsZH...)
	dl.ExplanationZH = append(dl.ExplanationZH, w.closingLineZH(due))
	return dl, nil
}

// addCalendarMonths returns the day n months after d, or the last day of that
// month when it is shorter (Jan 31 + 1 = Feb 28 or 29), unlike time.AddDate,
// which would overflow into March.
func addCalendarMonths(d Date, n int) Date {
	months := int(d.Month) - 1 + n
	year := d.Year + months/12
	month := time.Month(months%12 + 1)
	return Date{Year: year, Month: month, Day: min(d.Day, daysIn(year, month))}
}

// Passed is what the days after from up to due (inclusive) pass over: the
// runs of rest days, the make-up working days and the calendar versions
// that decided them. It describes a last day set by hand (an office's
// shorter limit, an extension) as AddWorkingDays and AddMonths describe
// the ones they compute.
func (c *Calendar) Passed(from, due Date) (skipped []Skip, makeups []MakeupDay, versions []Version, err error) {
	w := walk{cal: c}
	for d := from.AddDays(1); !d.After(due); d = d.AddDays(1) {
		if _, err := w.visit(d); err != nil {
			return nil, nil, nil, err
		}
	}
	return w.skipped, w.makeups, w.versions, nil
}

// walk records what a period passes over, day by day, in order.
type walk struct {
	cal      *Calendar
	skipped  []Skip
	makeups  []MakeupDay
	versions []Version
}

func (w *walk) visit(d Date) (dayInfo, error) {
	info, data, err := w.cal.classify(d)
	if err != nil {
		return dayInfo{}, err
	}
	// Each notice that decided a day, once, in the order first used: a
	// day of December may be decided by the next year's (classify).
	if !slices.Contains(w.versions, data.version) {
		w.versions = append(w.versions, data.version)
	}
	switch {
	case info.kind == makeupWorkday:
		w.makeups = append(w.makeups, MakeupDay{Date: d, Name: info.name,
			NameZH: dayInfo{kind: holiday, name: info.name, nameZH: info.nameZH}.reasonZH()})
	case !info.working():
		reason := info.reason()
		if n := len(w.skipped); n > 0 && w.skipped[n-1].Reason == reason && w.skipped[n-1].End.AddDays(1) == d {
			w.skipped[n-1].End = d
		} else {
			w.skipped = append(w.skipped, Skip{Start: d, End: d, Reason: reason, ReasonZH: info.reasonZH()})
		}
	}
	return info, nil
}

// deadline builds the Deadline with its summary line; the caller adds the
// rest of the explanation.
func (w *walk) deadline(kind, rule string, count int, from, due Date) Deadline {
	labels := make([]string, len(w.versions))
	for i, v := range w.versions {
		labels[i] = v.Label
	}
	return Deadline{
		Rule:        rule,
		Kind:        kind,
		Count:       count,
		From:        from,
		Due:         due,
		DueAt:       due.End(),
		Skipped:     append([]Skip{}, w.skipped...),
		MakeupDays:  append([]MakeupDay{}, w.makeups...),
		Versions:    append([]Version{}, w.versions...),
		Explanation: []string{fmt.Sprintf("due %s: %s (calendar: %s)", due, rule, strings.Join(labels, "; "))},
	}
}

// walkEvent is one line of an explanation's middle: a run of skipped rest
// days (skip >= 0) or a make-up working day (makeup >= 0), by index.
type walkEvent struct{ skip, makeup int }

// events are the skipped runs and make-up days in date order, and the
// format of their dates: MM-DD when the whole period lies in one year.
func (w *walk) events(from, due Date) ([]walkEvent, func(Date) string) {
	format := Date.String
	if from.Year == due.Year {
		format = Date.MonthDay
	}
	var out []walkEvent
	si, mi := 0, 0
	for si < len(w.skipped) || mi < len(w.makeups) {
		if mi == len(w.makeups) || (si < len(w.skipped) && w.skipped[si].Start.Before(w.makeups[mi].Date)) {
			out = append(out, walkEvent{skip: si, makeup: -1})
			si++
			continue
		}
		out = append(out, walkEvent{skip: -1, makeup: mi})
		mi++
	}
	return out, format
}

// eventLines returns the skipped runs and make-up days in date order, in
// English and in Chinese ("10-01 至 10-07 国庆节放假", "10-10（星期六）调休上班（国庆节）").
func (w *walk) eventLines(from, due Date) (en, zh []string) {
	events, format := w.events(from, due)
	for _, e := range events {
		if e.skip < 0 {
			m := w.makeups[e.makeup]
			en = append(en, fmt.Sprintf("%s %s is a working day (%s make-up)", format(m.Date), m.Date.Weekday(), m.Name))
			zh = append(zh, fmt.Sprintf("%s（%s）调休上班（%s）", format(m.Date), weekdayZH[m.Date.Weekday()], w.makeups[e.makeup].NameZH))
			continue
		}
		s := w.skipped[e.skip]
		span, spanZH := format(s.Start), format(s.Start)
		if s.End != s.Start {
			span += ".." + format(s.End)
			spanZH += " 至 " + format(s.End)
		}
		en = append(en, fmt.Sprintf("skipped %s %s", span, s.Reason))
		if s.Reason == ReasonWeekend {
			zh = append(zh, spanZH+" 周末")
		} else {
			zh = append(zh, fmt.Sprintf("%s %s放假", spanZH, w.skipped[e.skip].ReasonZH))
		}
	}
	return en, zh
}

// weekdayZH names the days of the week.
var weekdayZH = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

// closingLineZH is closingLine in Chinese, with the calendar versions.
func (w *walk) closingLineZH(due Date) string { return closingLineZH(due, w.versions) }

func closingLineZH(due Date, versions []Version) string {
	labels := make([]string, len(versions))
	for i, v := range versions {
		labels[i] = v.LabelZH()
	}
	return fmt.Sprintf("期限至 %s 24:00（北京时间）届满，即 %s；日历：%s", due, due.End().Format("2006-01-02 15:04 -07:00"), strings.Join(labels, "；"))
}

// EndingOn is d's explanation, in both languages, with its last line, the
// closing one, for a period that ends on due instead: a day the office set
// within the limit d explains, which the closing line names as limit and
// limitZH ("the statutory limit", 法定期限; for an extension, the limit of
// extensions). The explanation said the period ended on the limit's day,
// below a first line that gave the office's.
func (d Deadline) EndingOn(due Date, limit, limitZH string) (explanation, explanationZH []string) {
	explanation = slices.Clone(d.Explanation)
	if n := len(explanation); n > 0 {
		explanation[n-1] = limit + " " + d.Due.String() + "; " + closingLine(due)
	}
	explanationZH = slices.Clone(d.ExplanationZH)
	if n := len(explanationZH); n > 0 {
		explanationZH[n-1] = limitZH + " " + d.Due.String() + "；" + closingLineZH(due, d.Versions)
	}
	return explanation, explanationZH
}

func closingLine(due Date) string {
	return fmt.Sprintf("the period ends at 24:00 on %s (%s), i.e. %s", due, TimeZone, due.End().Format("2006-01-02 15:04 -07:00"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// ordinal returns "29th", "30th", "31st"; only those days can be missing from
// a month.
func ordinal(day int) string {
	switch {
	case day%10 == 1 && day != 11:
		return fmt.Sprintf("%dst", day)
	case day%10 == 2 && day != 12:
		return fmt.Sprintf("%dnd", day)
	case day%10 == 3 && day != 13:
		return fmt.Sprintf("%drd", day)
	}
	return fmt.Sprintf("%dth", day)
}
