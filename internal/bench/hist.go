package bench

import (
	"math/bits"
	"time"
)

// histogram counts latencies in log-linear buckets, as an HDR histogram
// does: exact below 128 ns, then 64 buckets per power of two, so a
// percentile is within 1/64 (1.6 %) of the true value, in a fixed 30 KB
// whatever the number of samples. It is a few lines, which is why the
// bench does not depend on an HDR library; one histogram per worker needs
// no lock, and Merge adds them up at the end.
type histogram struct {
	counts [histBuckets]uint64
	total  uint64
}

const (
	subBits     = 6
	subBuckets  = 1 << subBits   // buckets per power of two
	exactBelow  = 2 * subBuckets // values below are their own bucket
	histBuckets = exactBelow + (64-subBits-1)*subBuckets
)

// bucket is the index of the bucket of v.
func bucket(v uint64) int {
	if v < exactBelow {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // ≥ 1
	sub := v >> e                    // in [subBuckets, 2·subBuckets)
	return exactBelow + (e-1)*subBuckets + int(sub-subBuckets)
}

// value is the middle of bucket i's range.
func value(i int) uint64 {
	if i < exactBelow {
		return uint64(i)
	}
	e := (i-exactBelow)/subBuckets + 1
	sub := uint64((i-exactBelow)%subBuckets + subBuckets)
	low := sub << e
	return low + (uint64(1)<<e)/2
}

// Record adds one latency (negative counts as zero).
func (h *histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucket(uint64(d))]++
	h.total++
}

// Merge adds o's counts to h.
func (h *histogram) Merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

// Quantile is the latency below which a fraction q (0 < q ≤ 1) of the
// samples lie; 0 without samples.
func (h *histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(value(i))
		}
	}
	return time.Duration(value(histBuckets - 1))
}
