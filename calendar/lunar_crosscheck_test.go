package calendar_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
)

// lunarNames maps the embedded notices' holiday names to the names lunar-go's
// HolidayUtil stores.
var lunarNames = map[string]string{
	"New Year's Day":                       "元旦节",
	"Spring Festival":                      "春节",
	"Qingming Festival":                    "清明节",
	"Labour Day":                           "劳动节",
	"Dragon Boat Festival":                 "端午节",
	"Mid-Autumn Festival":                  "中秋节",
	"National Day":                         "国庆节",
	"National Day and Mid-Autumn Festival": "国庆中秋",
}

// TestBuiltinMatchesLunarGo is the proof that the embedded data is right: for
// every day of every embedded year it compares the built-in calendar with the
// independent holiday table of github.com/6tail/lunar-go. Each day must agree
// on being a holiday, a make-up working day or neither, on the holiday it
// belongs to, and on being a working day.
func TestBuiltinMatchesLunarGo(t *testing.T) {
	t.Parallel()
	c := calendar.Builtin()
	for _, year := range c.Years() {
		t.Run(fmt.Sprint(year), func(t *testing.T) {
			t.Parallel()
			n, _, err := c.Year(year)
			require.NoError(t, err)
			require.NotZero(t, HolidayUtil.GetHolidaysByYear(year).Len(), "lunar-go has no data for %d", year)

			holidayOn := map[calendar.Date]string{}
			for _, h := range n.Holidays {
				for day := h.Start; !day.After(h.End); day = day.AddDays(1) {
					holidayOn[day] = h.Name
				}
			}
			makeupOn := map[calendar.Date]string{}
			for _, m := range n.MakeupDays {
				makeupOn[m.Date] = m.Name
			}

			for day := (calendar.Date{Year: year, Month: time.January, Day: 1}); day.Year == year; day = day.AddDays(1) {
				lunar := HolidayUtil.GetHolidayByYmd(day.Year, int(day.Month), day.Day)
				working, err := c.IsWorkingDay(day)
				require.NoError(t, err)
				holidayName, isHoliday := holidayOn[day]
				makeupName, isMakeup := makeupOn[day]
				switch {
				case lunar == nil:
					require.False(t, isHoliday, "%s: holiday %q here, none in lunar-go", day, holidayName)
					require.False(t, isMakeup, "%s: make-up day here, none in lunar-go", day)
					require.Equal(t, !day.IsWeekend(), working, "%s: ordinary day", day)
				case lunar.IsWork():
					require.True(t, isMakeup, "%s: lunar-go has make-up day %s, missing here", day, lunar)
					require.Equal(t, lunar.GetName(), lunarNames[makeupName], "%s: make-up day's holiday", day)
					require.True(t, working, "%s: make-up day is a working day", day)
				default:
					require.True(t, isHoliday, "%s: lunar-go has holiday %s, missing here", day, lunar)
					require.Equal(t, lunar.GetName(), lunarNames[holidayName], "%s: holiday name", day)
					require.False(t, working, "%s: holiday is a rest day", day)
				}
			}
		})
	}
}

// TestLunarGoDaysOutsideTheirYear records the one place lunar-go's table and a
// notice's year differ: lunar-go files the weekend 2023-12-30/31 under New
// Year's Day 2024 (the 2024 notice: "1月1日放假，与周末连休"). Those days are
// weekend rest days either way, so no working-day answer depends on it.
func TestLunarGoDaysOutsideTheirYear(t *testing.T) {
	t.Parallel()
	for _, ymd := range []string{"2023-12-30", "2023-12-31"} {
		h := HolidayUtil.GetHoliday(ymd)
		require.NotNil(t, h, ymd)
		require.Equal(t, "元旦节", h.GetName())
		require.Equal(t, "2024-01-01", h.GetTarget())
		require.False(t, h.IsWork())
		require.True(t, d(ymd).IsWeekend())
	}
}
