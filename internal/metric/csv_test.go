package metric_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/metric"
)

// flatten walks a decoded metrics object the way API.md names CSV figures:
// objects nest with dots, list items are named by their key field (stage,
// source, campaign, segment, reason), and a funnel step is just its count.
// It is written from the JSON's shape alone, independently of Rows, so the
// agreement test below compares two separate readings of one value.
func flatten(t *testing.T, prefix string, v any, out map[string]string) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if prefix == "" && k == "previous" {
				continue
			}
			flatten(t, prefix+k+".", x, out)
		}
	case []any:
		for _, item := range v {
			obj, ok := item.(map[string]any)
			require.True(t, ok, "lists hold objects: %s", prefix)
			var key string
			rest := map[string]any{}
			for k, x := range obj {
				switch k {
				case "stage", "source", "campaign", "segment", "reason":
					key = x.(string)
				default:
					rest[k] = x
				}
			}
			require.NotEmpty(t, key, "every list item has a key: %s", prefix)
			if prefix == "funnel." {
				flatten(t, prefix+key+".", rest["count"], out)
				continue
			}
			flatten(t, prefix+key+".", rest, out)
		}
	case nil:
		out[strings.TrimSuffix(prefix, ".")] = ""
	case json.Number:
		out[strings.TrimSuffix(prefix, ".")] = v.String()
	case string:
		out[strings.TrimSuffix(prefix, ".")] = v
	default:
		t.Fatalf("%s: unexpected %T", prefix, v)
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep the JSON's own digits
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	return records
}

func TestWriteCSV_AgreesWithJSON(t *testing.T) {
	t.Parallel()
	f := sample(t)
	// A hostile source name: it only ever appears after "by_source.", so
	// the name cell needs no quote, and it must still match the JSON.
	f.BySource = append(f.BySource, metric.SourceRow{Source: "=cmd|' /C calc'!A0", Slice: metric.Slice{Handoffs: 0}})
	f.Derive()

	b, err := json.Marshal(f)
	require.NoError(t, err)
	obj := decode(t, b)
	cur, prev := map[string]string{}, map[string]string{}
	flatten(t, "", obj, cur)
	flatten(t, "", obj["previous"], prev)

	var buf bytes.Buffer
	require.NoError(t, metric.WriteCSV(&buf, f))
	records := readCSV(t, buf.Bytes())
	require.Equal(t, []string{"figure", "value", "previous"}, records[0])

	names := map[string]bool{}
	for _, r := range records[1:] {
		require.Len(t, r, 3)
		name := r[0]
		require.False(t, names[name], "one row per figure: %s twice", name)
		names[name] = true
		wantCur, inCur := cur[name]
		wantPrev, inPrev := prev[name]
		require.True(t, inCur || inPrev, "%s is in the CSV but not in the JSON", name)
		require.Equal(t, wantCur, r[1], "value of %s", name)
		require.Equal(t, wantPrev, r[2], "previous of %s", name)
	}
	for name := range cur {
		require.True(t, names[name], "%s is in the JSON but not in the CSV", name)
	}
	for name := range prev {
		require.True(t, names[name], "previous %s is in the JSON but not in the CSV", name)
	}

	// Spot checks of API.md's names.
	require.Equal(t, "120", cur["by_source.paid_search.handoffs"])
	require.Equal(t, "400000", cur["by_source.paid_search.pipeline_created"])
	require.Equal(t, "340", cur["funnel.accepted"])
	require.Contains(t, cur, "sla_compliance.by_kind.respond.rate")
	require.Equal(t, "12", cur["rejection_reasons.no_budget.by_source.paid_search"])
	require.Equal(t, "21", cur["rejection_reasons.bad_fit.by_source.(none)"])
	require.Contains(t, prev, "by_source.webinar.handoffs")
	require.NotContains(t, cur, "by_source.webinar.handoffs")
}

func TestWriteCSV_Rows(t *testing.T) {
	t.Parallel()
	f := sample(t)
	var buf bytes.Buffer
	require.NoError(t, metric.WriteCSV(&buf, f))
	records := readCSV(t, buf.Bytes())
	byName := map[string][]string{}
	for _, r := range records[1:] {
		byName[r[0]] = r[1:]
	}
	require.Equal(t, []string{"from", "2026-10-01", "2026-08-31"}, records[1], "the period comes first")
	require.Equal(t, []string{"to", "2026-11-01", "2026-10-01"}, records[2])
	require.Equal(t, []string{"412", "380"}, byName["handoffs"])
	require.Equal(t, []string{"0.31", ""}, byName["win_rate"], "null is an empty cell")
	require.Equal(t, []string{"1250000", "0"}, byName["pipeline_created"])
	require.Equal(t, []string{"0.8", ""}, byName["sla_compliance.sales"])
	require.Equal(t, "", byName["sla_compliance.by_kind.respond.rate"][1], "0 of 0 timers: null")
	require.Equal(t, []string{"", "380"}, byName["by_source.webinar.handoffs"], "a row only the previous period has")
	require.Equal(t, []string{"78", "60"}, byName["funnel.opportunity"])

	// Kinds in the agreement's order; funnel in stage order.
	var kinds, funnel []string
	for _, r := range records[1:] {
		if k, ok := strings.CutPrefix(r[0], "sla_compliance.by_kind."); ok && strings.HasSuffix(k, ".met") {
			kinds = append(kinds, strings.TrimSuffix(k, ".met"))
		}
		if s, ok := strings.CutPrefix(r[0], "funnel."); ok {
			funnel = append(funnel, s)
		}
	}
	require.Equal(t, []string{"respond", "first_touch", "recycle"}, kinds)
	require.Equal(t, []string{"mql", "accepted", "sql", "opportunity", "won"}, funnel)

	// No previous: the column is there, empty.
	f.Previous = nil
	buf.Reset()
	require.NoError(t, metric.WriteCSV(&buf, f))
	for _, r := range readCSV(t, buf.Bytes())[1:] {
		require.Equal(t, "", r[2], r[0])
	}
}

func TestWriteCSV_Escaping(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"=1+2":          "'=1+2",
		"+31 20 123":    "'+31 20 123",
		"-5":            "'-5",
		"@SUM(A1)":      "'@SUM(A1)",
		"\t=1":          "'\t=1",
		"\r=1":          "'\r=1",
		"paid_search":   "paid_search",
		"":              "",
		"a=b":           "a=b",
		"'already":      "'already",
		"0.5":           "0.5",
		"by_source.=x.": "by_source.=x.",
	} {
		require.Equal(t, want, metric.EscapeCell(in), in)
	}

	// In the file: a negative amount (a refund booked as a won deal) is
	// defused like any cell, and quoting is the csv package's.
	f := metric.Figures{Period: period(t, "2026-10-01", "2026-11-01"), RevenueWon: -500}
	f.Previous = &metric.Figures{Period: f.Period.Previous(), RevenueWon: 100}
	f.Derive()
	var buf bytes.Buffer
	require.NoError(t, metric.WriteCSV(&buf, f))
	require.Contains(t, buf.String(), "\nrevenue_won,'-5,1\n")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteCSV_WriteError(t *testing.T) {
	t.Parallel()
	err := metric.WriteCSV(failWriter{}, sample(t))
	require.ErrorContains(t, err, "disk full")
}
