package lifecyclebench

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method: the smallest value with at least p% of the values at
// or below it. It is 0 for no values; ds is not modified.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := int(float64(len(sorted))*p/100 + 0.999999999) // ceil without float surprises at exact ranks
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Median returns the median of xs (the mean of the two middle values for an
// even count), 0 for none; xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// MedianInterval is a distribution-free confidence interval for the median
// of the population xs were drawn from: the k-th smallest and k-th largest
// of xs, k as large as keeps the interval's coverage, 1 − 2·P(B < k) for B
// binomial(n, ½), at least confidence (0 < confidence < 1). With too few
// values for that it is their whole range, with the coverage that has.
// It returns the interval and its coverage; for no values, zeros.
func MedianInterval(xs []float64, confidence float64) (lo, hi, coverage float64) {
	n := len(xs)
	if n == 0 {
		return 0, 0, 0
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	// below[k] is P(B < k): the chance that fewer than k values fall below
	// the median.
	below := make([]float64, n+1)
	p, choose := 0.0, 1.0 // choose is C(n, j)
	for j := 0; j < n; j++ {
		p += choose / math.Pow(2, float64(n))
		below[j+1] = p
		choose = choose * float64(n-j) / float64(j+1)
	}
	k := 1
	for k+1 <= (n+1)/2 && 1-2*below[k+1] >= confidence {
		k++
	}
	return sorted[k-1], sorted[n-k], max(0, 1-2*below[k])
}

// ratioVerdict says whether the ratio's median m meets target, and what its
// interval (lo, hi: MedianInterval) adds: one run's median swings with the
// machine's load, so a median just under the target with an interval
// across it is not the same finding as a whole interval under it.
func ratioVerdict(m, lo, hi, target float64) string {
	switch {
	case hi <= target:
		return "met, the whole interval at or under it"
	case m <= target:
		return "met by the median, not by the whole interval"
	case lo > target:
		return "NOT met, the whole interval above it"
	default:
		return "NOT met by the median, the interval reaching under it"
	}
}
