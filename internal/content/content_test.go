package content_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/content"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/tenant"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://cdn.example.com/case.pdf", true},
		{"http://example.com", true},
		{"HTTPS://Example.com/x?y=1#z", true},
		{"javascript:alert(1)", false},
		{"JavaScript://example.com/%0aalert(1)", false},
		{"data:text/html,<script>", false},
		{"vbscript:msgbox", false},
		{"//evil.example.com", false},
		{"/relative", false},
		{"ftp://example.com/file", false},
		{"https://", false},
		{"https:///path", false},
		{"https://user:pw@example.com", false},
		{"https://example.com/a b", false},
		{"https://example.com/\nx", false},
		{"", false},
		{"https://example.com/" + strings.Repeat("a", 2000), false},
	} {
		msg := content.CheckURL(tc.url)
		require.Equal(t, tc.ok, msg == "", "%q: %s", tc.url, msg)
	}
}

func TestAssetInput(t *testing.T) {
	t.Parallel()
	title, url := "  Deck  ", " https://example.com/deck "
	kind, stage := content.KindDeck, lead.StageOpportunity
	seg := " "
	segp := &seg
	in := content.AssetInput{Title: &title, URL: &url, Kind: &kind, Stage: &stage, Segment: &segp, Tags: []string{"A", " a ", "", "b"}}
	in.Normalize()
	require.Equal(t, "Deck", *in.Title)
	require.Equal(t, "https://example.com/deck", *in.URL)
	require.Nil(t, *in.Segment, "a blank segment is every segment")
	require.Equal(t, []string{"a", "b"}, in.Tags)
	require.Nil(t, in.Validate(true))

	bad := content.Kind("poster")
	lost := lead.StageLost
	blank := " "
	errs := content.AssetInput{Title: &blank, Kind: &bad, Stage: &lost}.Validate(true)
	require.ElementsMatch(t, []string{"title", "kind", "stage", "url"}, errs.Fields())
	require.Nil(t, content.AssetInput{}.Validate(false), "an empty update is valid")
	many := make([]string, 21)
	for i := range many {
		many[i] = uuid.NewString()
	}
	require.Contains(t, content.AssetInput{Tags: many}.Validate(false), "tags")
	require.Contains(t, content.AssetInput{Tags: []string{strings.Repeat("x", 41)}}.Validate(false), "tags")
}

func TestRequestRules(t *testing.T) {
	t.Parallel()
	in := content.RequestInput{Title: "  ", Objection: "\n"}
	in.Normalize()
	require.ElementsMatch(t, []string{"title", "objection"}, in.Validate().Fields())
	in = content.RequestInput{Title: "ROI", Objection: strings.Repeat("x", 2001)}
	require.ElementsMatch(t, []string{"objection"}, in.Validate().Fields())

	cur := content.Request{Status: content.RequestOpen}
	fulfilled := content.RequestFulfilled
	require.Contains(t, content.RequestUpdate{Status: &fulfilled}.Validate(cur), "asset_id")
	id := uuid.New()
	require.Nil(t, content.RequestUpdate{Status: &fulfilled, AssetID: &id}.Validate(cur))
	cur.AssetID = &id
	require.Nil(t, content.RequestUpdate{Status: &fulfilled}.Validate(cur), "an asset linked before")
	bogus := content.RequestStatus("done")
	require.Contains(t, content.RequestUpdate{Status: &bogus}.Validate(cur), "status")
	require.Contains(t, content.RequestUpdate{Comment: "   "}.Validate(cur), "status", "nothing to change")

	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	r := content.Request{CreatedAt: t0}
	require.Equal(t, 5*time.Hour, r.Age(t0.Add(5*time.Hour)))
	closed := t0.Add(time.Hour)
	r.ClosedAt = &closed
	require.Equal(t, time.Hour, r.Age(t0.Add(5*time.Hour)))
}

func TestCountsOpen(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	require.True(t, content.CountsOpen(nil, t0))
	require.False(t, content.CountsOpen(&t0, t0.Add(59*time.Minute+59*time.Second)))
	require.True(t, content.CountsOpen(&t0, t0.Add(time.Hour)))
}

func TestLinkToken(t *testing.T) {
	t.Parallel()
	tid := tenant.ID(uuid.New())
	tok := content.NewLinkToken(tid)
	got, ok := content.ParseLinkToken(tok)
	require.True(t, ok)
	require.Equal(t, tid, got)
	require.NotEqual(t, tok, content.NewLinkToken(tid), "random")
	for _, bad := range []string{"", "x", tok[:len(tok)-1], strings.Replace(tok, ".", "_", 1), "zz" + tok[2:], tok + "AAAA"} {
		_, ok := content.ParseLinkToken(bad)
		require.False(t, ok, bad)
	}
}
