package view

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/metric"
)

func TestFormat(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	require.Equal(t, "0", Count(0))
	require.Equal(t, "1,234,567", Count(1234567))
	require.Equal(t, "−1,000", Count(-1000))
	require.Equal(t, "no data", Percent(nil), "never 0 % for nothing to divide by")
	require.Equal(t, "0.0 %", Percent(f(0)))
	require.Equal(t, "87.5 %", Percent(f(0.87451)))
	require.Equal(t, "EUR 12,000", Money(1_200_000, "EUR"))
	require.Equal(t, "EUR 12,345.67", Money(1_234_567, "EUR"))
	require.Equal(t, "EUR −0.05", Money(-5, "EUR"))
	require.Equal(t, "no data", Minutes(nil))
	require.Equal(t, "59 min", Minutes(f(59.4)))
	require.Equal(t, "1 h 00 min", Minutes(f(60)))
	require.Equal(t, "6 h 05 min", Minutes(f(365)))
	require.Equal(t, "2.5 days", Minutes(f(3600)))
	require.Equal(t, "41.5 days", DaysText(f(41.46)))
	require.Equal(t, "33.3 %", ScoreValue(33.333, metric.UnitPercent, "EUR"))
	require.Equal(t, "EUR 1,250.50", ScoreValue(1250.5, metric.UnitAmount, "EUR"))
	require.Equal(t, "380", ScoreValue(380.2, metric.UnitCount, "EUR"))
}
