package ledger

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDayHistogram adds days in any order, below and above those counted
// so far, and takes findings away as a pending change does: the counts
// come out ascending, without the days that came to zero.
func TestDayHistogram(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		adds [][2]int // days, findings
		want []DayCount
	}{
		{"nothing", nil, nil},
		{"one day", [][2]int{{5, 2}}, []DayCount{{5, 2}}},
		{"ascending, descending, repeated", [][2]int{{10, 1}, {3, 2}, {30, 1}, {10, 4}, {-2, 1}},
			[]DayCount{{-2, 1}, {3, 2}, {10, 5}, {30, 1}}},
		{"taken away to nothing", [][2]int{{7, 1}, {9, 2}, {7, -1}}, []DayCount{{9, 2}}},
		{"taken away before added", [][2]int{{4, -1}, {8, 1}, {4, 2}}, []DayCount{{4, 1}, {8, 1}}},
		{"all gone", [][2]int{{4, 1}, {4, -1}}, nil},
	} {
		var h dayHistogram
		for _, a := range tt.adds {
			h.add(a[0], a[1])
		}
		require.Equal(t, tt.want, h.counts(), tt.name)
	}
}

// TestDayHistogramArrays adds a tally's arrays, in any order, and another
// histogram, below, above and across the days counted so far.
func TestDayHistogramArrays(t *testing.T) {
	t.Parallel()
	var h dayHistogram
	h.addAll(nil, nil)
	require.Nil(t, h.counts())
	h.addAll([]int32{10, 12, 11}, []int32{1, 2, 3})
	h.addAll([]int32{3, 20}, []int32{1, 1})
	h.addAll([]int32{12}, []int32{-2}) // a pending change taking findings away
	require.Equal(t, []DayCount{{3, 1}, {10, 1}, {11, 3}, {20, 1}}, h.counts())

	var o dayHistogram
	o.addAll([]int32{0, 25, 10}, []int32{4, 1, -1})
	h.addHistogram(&o)
	h.addHistogram(&dayHistogram{})
	require.Equal(t, []DayCount{{0, 4}, {3, 1}, {11, 3}, {20, 1}, {25, 1}}, h.counts())
}
