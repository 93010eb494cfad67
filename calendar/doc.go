// Package calendar computes statutory deadlines for xuncha: periods in working
// days and in months, counted by the rules of the Civil Code (民法典 arts.
// 200–204) on the working-day calendar that the State Council's yearly notice
// (国务院办公厅关于部分节假日安排的通知) sets.
//
// The rules, in the order they apply:
//
//   - all dates are civil dates in Asia/Shanghai;
//   - the starting day is not counted (art. 201);
//   - "N working days after D" ends on the N-th working day after D. A working
//     day is Monday to Friday, minus the notice's statutory holidays, plus the
//     weekend days the notice turns into working days (调休上班, make-up days);
//   - "N months after D" ends on the corresponding day of the last month, or on
//     that month's last day when it has none (art. 202): Jan 31 + 1 month is
//     Feb 28, or Feb 29 in a leap year;
//   - when that last day is a rest day (a weekend day that is not a make-up
//     working day, or a statutory holiday), the period ends on the first working
//     day after it (art. 203);
//   - a deadline is the end (24:00) of its last day (art. 203), which this
//     package gives both as a [Date] and as the instant 00:00 of the next day.
//
// The calendar is data: one [Notice] per year, each tagged with the [Version]
// it came from. [Builtin] holds the embedded notices for the years listed in
// notices/; [Calendar.With] replaces one year, e.g. by a version loaded from
// the ledger. A computation that needs a year without data fails with an error
// matching [ErrNoData]; the package never guesses a Monday-to-Friday week.
//
// Every value is immutable once built, so a *Calendar is safe for concurrent
// use.
package calendar
