package calendar_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/calendar"
	"github.com/xuncha/xuncha/internal/i18n"
)

func TestWriteYear(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	require.NoError(t, calendar.Builtin().WriteYear(&out, 2026))
	require.Equal(t, `2026: 国务院办公厅关于2026年部分节假日安排的通知 (国办发明电〔2025〕7号, issued 2025-11-04)
calendar version: built-in 2026, 国办发明电〔2025〕7号 (id 0)
holidays: 33 days in 7 periods
  2026-01-01..2026-01-03  New Year's Day (元旦)  3 days
  2026-02-15..2026-02-23  Spring Festival (春节)  9 days
  2026-04-04..2026-04-06  Qingming Festival (清明节)  3 days
  2026-05-01..2026-05-05  Labour Day (劳动节)  5 days
  2026-06-19..2026-06-21  Dragon Boat Festival (端午节)  3 days
  2026-09-25..2026-09-27  Mid-Autumn Festival (中秋节)  3 days
  2026-10-01..2026-10-07  National Day (国庆节)  7 days
make-up working days: 6
  2026-01-04 Sunday    working day (New Year's Day)
  2026-02-14 Saturday  working day (Spring Festival)
  2026-02-28 Saturday  working day (Spring Festival)
  2026-05-09 Saturday  working day (Labour Day)
  2026-09-20 Sunday    working day (National Day)
  2026-10-10 Saturday  working day (National Day)
`, out.String())
}

func TestYearLinesSingleDayAndUnknownDocument(t *testing.T) {
	t.Parallel()
	lines, err := calendar.Builtin().YearLines(2027)
	require.NoError(t, err)
	require.Equal(t, "2027: 国务院办公厅关于2027年部分节假日安排的通知 (document number not recorded)", lines[0])
	require.Contains(t, lines, "  2027-06-09              Dragon Boat Festival (端午节)  1 day")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteYearErrors(t *testing.T) {
	t.Parallel()
	err := calendar.Builtin().WriteYear(&strings.Builder{}, 2031)
	require.ErrorIs(t, err, calendar.ErrNoData)
	err = calendar.Builtin().WriteYear(failingWriter{}, 2026)
	require.EqualError(t, err, "calendar: write year 2026: disk full")
}

// TestYearLinesInChinese: `xuncha calendar show` speaks the user's
// language; it was English whatever the locale.
func TestYearLinesInChinese(t *testing.T) {
	t.Parallel()
	lines, err := calendar.Builtin().YearLinesIn(2026, i18n.Chinese)
	require.NoError(t, err)
	require.Equal(t, []string{
		"2026：国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号，2025-11-04 印发）",
		"日历版本：内置 2026，国办发明电〔2025〕7号（id 0）",
		"放假：共 33 天，7 段",
	}, lines[:3])
	require.Contains(t, lines, "  2026-10-01..2026-10-07  国庆节  7 天")
	require.Contains(t, lines, "  2026-10-10 星期六  上班（国庆节）")
	require.Contains(t, lines, "调休上班：6 天")
	lines, err = calendar.Builtin().YearLinesIn(2027, i18n.Chinese)
	require.NoError(t, err)
	require.Equal(t, "2027：国务院办公厅关于2027年部分节假日安排的通知（文号未记录）", lines[0])
}
