package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Every value falls into a bucket whose middle is within 1/64 of it, and
// bucket indexes grow with the value.
func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1e6, 1e9, 1e12, 1 << 62, 1<<64 - 1} {
		i := bucket(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("bucket(%d) = %d after %d (of %d)", v, i, prev, histBuckets)
		}
		prev = i
		mid := float64(value(i))
		if diff := mid - float64(v); diff > float64(v)/64+1 || -diff > float64(v)/64+1 {
			t.Errorf("value(bucket(%d)) = %.0f: off by more than 1/64", v, mid)
		}
	}
}

// Percentiles match those of the sorted samples within the bucket width.
func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h, a, b histogram
	var samples []time.Duration
	for i := range 100000 {
		d := time.Duration(r.ExpFloat64() * float64(2*time.Millisecond))
		samples = append(samples, d)
		h.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.99, 0.999} {
		want := samples[int(q*float64(len(samples)))-1]
		for name, hh := range map[string]*histogram{"one": &h, "merged": &a} {
			got := hh.Quantile(q)
			if d := got - want; d > want/50 || -d > want/50 {
				t.Errorf("%s: Quantile(%v) = %v, sorted samples give %v", name, q, got, want)
			}
		}
	}
	var empty histogram
	if got := empty.Quantile(0.5); got != 0 {
		t.Errorf("empty Quantile = %v, want 0", got)
	}
}
