package problemlist

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"
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
