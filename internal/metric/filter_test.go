package metric_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/metric"
)

func TestParseFilter(t *testing.T) {
	t.Parallel()
	team := uuid.MustParse("0b5e6f0e-7d0c-4c39-9a8e-2f6f7c1d2e3a")

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		f, errs := metric.ParseFilter(url.Values{"segment": {" enterprise "}, "source": {"paid_search"}, "campaign": {"Q4 launch"}, "team_id": {team.String()}})
		require.Nil(t, errs)
		require.Equal(t, metric.Filter{Segment: "enterprise", Source: "paid_search", Campaign: "Q4 launch", TeamID: &team}, f)
		again, errs := metric.ParseFilter(f.Query())
		require.Nil(t, errs)
		require.Equal(t, f, again, "Query rebuilds the filter")
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		for _, v := range []url.Values{nil, {}, {"segment": {""}, "team_id": {"  "}}} {
			f, errs := metric.ParseFilter(v)
			require.Nil(t, errs)
			require.True(t, f.IsZero())
			require.Empty(t, f.Query(), "a zero filter adds nothing to links")
		}
	})

	t.Run("PlainMap", func(t *testing.T) {
		t.Parallel()
		f, errs := metric.ParseFilter(map[string][]string{"source": {"events"}})
		require.Nil(t, errs)
		require.Equal(t, "events", f.Source)
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			values     url.Values
			field, msg string
		}{
			{url.Values{"team_id": {"42"}}, "team_id", "not a team id"},
			{url.Values{"team_id": {"0b5e6f0e-7d0c-4c39-9a8e-2f6f7c1d2e3"}}, "team_id", "not a team id"},
			{url.Values{"segment": {strings.Repeat("s", 101)}}, "segment", "must be at most 100 characters"},
			{url.Values{"source": {strings.Repeat("ü", 101)}}, "source", "must be at most 100 characters"},
			{url.Values{"campaign": {strings.Repeat("c", 201)}}, "campaign", "must be at most 200 characters"},
			{url.Values{"campaign": {"a\x00b"}}, "campaign", "must not contain control characters"},
			{url.Values{"source": {"a", "b"}}, "source", "give one value"},
		} {
			f, errs := metric.ParseFilter(tc.values)
			require.Equal(t, tc.msg, errs[tc.field], tc.values)
			require.True(t, f.IsZero(), "nothing half-parsed is returned")
		}
		// Limits count characters, not bytes.
		_, errs := metric.ParseFilter(url.Values{"source": {strings.Repeat("ü", 100)}})
		require.Nil(t, errs)
	})
}

func TestUnknownKeys(t *testing.T) {
	t.Parallel()
	allowed := append(append([]string{}, metric.PeriodKeys...), metric.FilterKeys...)
	require.Nil(t, metric.UnknownKeys(url.Values{"from": {"x"}, "team_id": {""}}, allowed...))
	errs := metric.UnknownKeys(url.Values{"sorce": {"ads"}, "from": {"2026-10-01"}, "limit": {"5"}}, allowed...)
	require.Equal(t, []string{"limit", "sorce"}, errs.Fields())
	require.Equal(t, "unknown parameter; use campaign, from, period, segment, source, team_id, to", errs["sorce"])

	merged := metric.Merge(errs, nil, map[string]string{"sorce": "later", "to": "must be after from"})
	require.Equal(t, []string{"limit", "sorce", "to"}, merged.Fields())
	require.Equal(t, errs["sorce"], merged["sorce"], "the first message of a field wins")
	require.Nil(t, metric.Merge(nil, nil))
}

func TestArg(t *testing.T) {
	t.Parallel()
	require.Nil(t, metric.Arg(""))
	require.Equal(t, "", *metric.Arg(metric.None))
	require.Equal(t, "mid", *metric.Arg("mid"))
}
