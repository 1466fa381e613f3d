package metric_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/metric"
)

func ptr[T any](v T) *T { return &v }

func TestQuantile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		values []float64
		q      float64
		want   *float64
	}{
		{"no values", nil, 0.5, nil},
		{"empty", []float64{}, 0.9, nil},
		{"single value, median", []float64{7}, 0.5, ptr(7.0)},
		{"single value, p90", []float64{7}, 0.9, ptr(7.0)},
		{"odd count: the middle", []float64{3, 1, 2}, 0.5, ptr(2.0)},
		{"even count: mean of the middle two", []float64{4, 1, 3, 2}, 0.5, ptr(2.5)},
		{"two values", []float64{10, 20}, 0.5, ptr(15.0)},
		// h = 0.9·(5−1) = 3.6: 40 + 0.6·(50−40) = 46.
		{"p90 of five", []float64{50, 10, 40, 20, 30}, 0.9, ptr(46.0)},
		// h = 0.9·(10−1) = 8.1: 9 + 0.1·(10−9) = 9.1.
		{"p90 of 1..10", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, ptr(9.1)},
		// h = 0.9·(4−1) = 2.7: 30 + 0.7·(100−30) = 79.
		{"p90 of four", []float64{5, 30, 100, 20}, 0.9, ptr(79.0)},
		// h = 0.9·(11−1) = 9: exactly a rank, no interpolation.
		{"p90 on a rank", []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, ptr(9.0)},
		{"q=0 is the minimum", []float64{3, -1, 2}, 0, ptr(-1.0)},
		{"q=1 is the maximum", []float64{3, -1, 2}, 1, ptr(3.0)},
		{"ties", []float64{2, 2, 2, 9}, 0.5, ptr(2.0)},
		{"q below 0", []float64{1, 2}, -0.1, nil},
		{"q above 1", []float64{1, 2}, 1.1, nil},
	} {
		got := metric.Quantile(tc.values, tc.q)
		if tc.want == nil {
			require.Nil(t, got, tc.name)
			continue
		}
		require.NotNil(t, got, tc.name)
		require.InDelta(t, *tc.want, *got, 1e-12, tc.name)
	}

	in := []float64{3, 1, 2}
	metric.Median(in)
	require.Equal(t, []float64{3, 1, 2}, in, "the caller's slice is not sorted")
	require.Equal(t, 2.5, *metric.Median([]float64{1, 2, 3, 4}))
	require.InDelta(t, 9.1, *metric.P90([]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}), 1e-12)
}

func TestRate(t *testing.T) {
	t.Parallel()
	require.Nil(t, metric.Rate(0, 0), "nothing to divide by: unknown, not 0 %")
	require.Nil(t, metric.Rate(5, 0))
	require.Equal(t, 0.0, *metric.Rate(0, 5))
	require.Equal(t, 0.75, *metric.Rate(3, 4))
	require.Equal(t, 1.0, *metric.Rate(7, 7))
	require.Equal(t, 340.0/389.0, *metric.Rate(340, 389))
}

func TestDaysMinutesWithin60(t *testing.T) {
	t.Parallel()
	require.Equal(t, 1.5, metric.Days(36*time.Hour))
	require.Equal(t, 0.0, metric.Days(0))
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	// 24 Oct 12:00 → 26 Oct 12:00 in Berlin spans the 25-hour day: 49 h, not 2 days.
	d := time.Date(2026, 10, 26, 12, 0, 0, 0, berlin).Sub(time.Date(2026, 10, 24, 12, 0, 0, 0, berlin))
	require.Equal(t, 49.0/24.0, metric.Days(d))

	require.Equal(t, 59.5, metric.Minutes(59*time.Minute+30*time.Second))
	for _, tc := range []struct {
		d    time.Duration
		want bool
	}{
		{0, true},
		{59*time.Minute + 59*time.Second, true},
		{60 * time.Minute, true}, // 60:00 is within
		{60*time.Minute + time.Millisecond, false},
		{61 * time.Minute, false},
	} {
		require.Equal(t, tc.want, metric.Within60(tc.d), tc.d.String())
	}
	require.Equal(t, 3.0, *metric.Float(3))
}

func TestNewSpeedToLead(t *testing.T) {
	t.Parallel()
	s := metric.NewSpeedToLead([]float64{5, 60, 61, 30}, 2)
	require.Equal(t, int64(4), s.Touched)
	require.Equal(t, int64(3), s.Within1h, "60.0 minutes is within the hour")
	require.Equal(t, int64(2), s.Untouched)
	require.Equal(t, 0.75, *s.Within1hShare)
	require.Equal(t, 45.0, *s.MedianMinutes)
	require.InDelta(t, 60.7, *s.P90Minutes, 1e-12) // h = 2.7: 60 + 0.7·1

	none := metric.NewSpeedToLead(nil, 3)
	require.Nil(t, none.MedianMinutes)
	require.Nil(t, none.P90Minutes)
	require.Nil(t, none.Within1hShare)
	require.Equal(t, int64(3), none.Untouched)
}
