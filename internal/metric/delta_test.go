package metric_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/metric"
)

func TestDelta(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		cur, prev *float64
		kind      metric.DeltaKind
		want      *float64
		text      string
	}{
		{"rate up", ptr(0.532), ptr(0.5), metric.DeltaRate, ptr(3.2), "+3.2 pp"},
		{"rate down", ptr(0.5), ptr(0.55), metric.DeltaRate, ptr(-5.0), "−5.0 pp"},
		{"rate unchanged", ptr(0.5), ptr(0.5), metric.DeltaRate, ptr(0.0), "0.0 pp"},
		{"rate change that rounds to zero", ptr(0.5), ptr(0.5004), metric.DeltaRate, ptr(-0.04), "0.0 pp"},
		{"count down", ptr(88.0), ptr(100.0), metric.DeltaCount, ptr(-12.0), "−12 %"},
		{"count up", ptr(450.0), ptr(400.0), metric.DeltaCount, ptr(12.5), "+13 %"},
		{"count doubled", ptr(2.0), ptr(1.0), metric.DeltaCount, ptr(100.0), "+100 %"},
		{"count from zero", ptr(5.0), ptr(0.0), metric.DeltaCount, nil, "no data"},
		{"zero to zero", ptr(0.0), ptr(0.0), metric.DeltaCount, ptr(0.0), "0 %"},
		{"no current", nil, ptr(0.5), metric.DeltaRate, nil, "no data"},
		{"no previous", ptr(0.5), nil, metric.DeltaRate, nil, "no data"},
		{"no previous count", ptr(5.0), nil, metric.DeltaCount, nil, "no data"},
	} {
		got := metric.Delta(tc.cur, tc.prev, tc.kind)
		if tc.want == nil {
			require.Nil(t, got, tc.name)
		} else {
			require.NotNil(t, got, tc.name)
			require.InDelta(t, *tc.want, *got, 1e-9, tc.name)
		}
		require.Equal(t, tc.text, metric.FormatDelta(got, tc.kind), tc.name)
	}
	// Counts come in as integers.
	require.Equal(t, "+25 %", metric.FormatDelta(metric.Delta(metric.Float(5), metric.Float(4), metric.DeltaCount), metric.DeltaCount))
}
