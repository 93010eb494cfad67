package lifecyclebench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(xs ...int) []time.Duration {
		var out []time.Duration
		for _, x := range xs {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name string
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 90, 7 * time.Millisecond},
		{"median of odd count", ms(5, 1, 3), 50, 3 * time.Millisecond},
		{"median of even count is the lower middle", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p90 of ten", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 90, 9 * time.Millisecond},
		{"p90 of eleven", ms(11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 90, 10 * time.Millisecond},
		{"p100 is the maximum", ms(1, 2, 3), 100, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Percentile(tt.ds, tt.p))
		})
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	require.Zero(t, Median(nil))
	require.Equal(t, 2.0, Median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, Median([]float64{4, 1, 3, 2}))
	xs := []float64{3, 1, 2}
	Median(xs)
	require.Equal(t, []float64{3, 1, 2}, xs, "the input is not sorted in place")
}

// TestMedianInterval: the order statistics that bracket the median with
// the coverage asked for, from the binomial distribution (1 − 2·P(B < k)).
func TestMedianInterval(t *testing.T) {
	t.Parallel()
	ten := []float64{1.9, 1.1, 1.8, 1.2, 1.7, 1.3, 1.6, 1.4, 1.5, 2.0}
	lo, hi, coverage := MedianInterval(ten, 0.85)
	// k = 3: 1 − 2·(1+10+45)/1024 ≈ 0.891; k = 4 would cover 0.656.
	require.Equal(t, [2]float64{1.3, 1.8}, [2]float64{lo, hi})
	require.InDelta(t, 1-2*56.0/1024, coverage, 1e-12)
	lo, hi, coverage = MedianInterval(ten, 0.95)
	// k = 2: 1 − 2·11/1024 ≈ 0.979.
	require.Equal(t, [2]float64{1.2, 1.9}, [2]float64{lo, hi})
	require.InDelta(t, 1-2*11.0/1024, coverage, 1e-12)
	// Five values cannot cover 0.95: their range covers 1 − 2/32.
	lo, hi, coverage = MedianInterval([]float64{3, 5, 1, 4, 2}, 0.95)
	require.Equal(t, [2]float64{1, 5}, [2]float64{lo, hi})
	require.InDelta(t, 0.9375, coverage, 1e-12)
	lo, hi, coverage = MedianInterval([]float64{7}, 0.9)
	require.Equal(t, [3]float64{7, 7, 0}, [3]float64{lo, hi, coverage})
	lo, hi, coverage = MedianInterval(nil, 0.9)
	require.Zero(t, lo+hi+coverage)
	require.Equal(t, []float64{1.9, 1.1, 1.8, 1.2, 1.7, 1.3, 1.6, 1.4, 1.5, 2.0}, ten, "the input is not sorted in place")
}

func TestRatioVerdict(t *testing.T) {
	t.Parallel()
	require.Equal(t, "met, the whole interval at or under it", ratioVerdict(1.3, 1.2, 1.5, 1.5))
	require.Equal(t, "met by the median, not by the whole interval", ratioVerdict(1.45, 1.3, 1.7, 1.5))
	require.Equal(t, "NOT met, the whole interval above it", ratioVerdict(1.7, 1.51, 1.9, 1.5))
	require.Equal(t, "NOT met by the median, the interval reaching under it", ratioVerdict(1.6, 1.4, 1.8, 1.5))
}
