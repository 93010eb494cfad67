package problemlist

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"

	"github.com/xuncha/xuncha/casework"
	"github.com/xuri/excelize/v2"
)

// TestLongTextIsCutSayingSo: a cell holds at most 32,767 UTF-16 units;
// text past that is cut before the limit and says so, where excelize cut
// it without a word. Text within the limit is left as it is.
func TestLongTextIsCutSayingSo(t *testing.T) {
	units := func(s string) int { return len(utf16.Encode([]rune(s))) }
	within := strings.Repeat("整", excelize.TotalCellChars)
	require.Equal(t, within, fitCell(within))

	// 20,000 characters of CJK Extension B: 40,000 units.
	long := strings.Repeat("\U00020000", 20000)
	cut := fitCell(long)
	require.True(t, strings.HasSuffix(cut, cutMark))
	require.LessOrEqual(t, units(cut), excelize.TotalCellChars)
	require.Greater(t, units(cut), excelize.TotalCellChars-units(cutMark)-2, "cut no shorter than it must be")
	require.True(t, strings.HasPrefix(long, strings.TrimSuffix(cut, cutMark)), "cut between characters")
}

// TestOverdueColumnsSayWhatHappened: a finding closed out after it missed
// its deadline is not overdue now, and the list says it missed one (the
// one column 逾期 said 否, while the statistics counted it late).
func TestOverdueColumnsSayWhatHappened(t *testing.T) {
	f := casework.Finding{Lifecycle: casework.Lifecycle{Stage: "CLOSED", MissedDeadlines: 1}}
	cells := map[string]any{}
	for _, c := range columns {
		cells[c.header] = c.value(row{f: f})
	}
	require.Equal(t, yesNo(false), cells["当前逾期"])
	require.Equal(t, 1, cells["逾期次数"])
}
