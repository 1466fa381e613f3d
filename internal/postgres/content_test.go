package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/content"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
)

func assetIn(title, url string, segment *string) content.AssetInput {
	kind, stage := content.KindCaseStudy, lead.StageMQL
	return content.AssetInput{Title: &title, URL: &url, Kind: &kind, Stage: &stage, Segment: &segment, Tags: []string{" Logistics ", "logistics", "EU"}}
}

func countRows(t *testing.T, bd *bundle, q string, args ...any) int {
	t.Helper()
	var n int
	owner := bd.db.OwnerConn(t)
	require.NoError(t, owner.QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}

func TestStore_ContentAssets(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	bd := f.bundle
	ctx := context.Background()
	mkt := f.mktP.Actor()

	a, err := bd.store.CreateAsset(ctx, bd.a.ID, mkt, assetIn(" Logistics case study ", "https://cdn.example.com/logistics.pdf", str("mid")), t0)
	require.NoError(t, err)
	require.Equal(t, "Logistics case study", a.Title, "trimmed")
	require.Equal(t, []string{"logistics", "eu"}, a.Tags, "lower-cased, deduplicated")
	require.Equal(t, &f.mkt.ID, a.OwnerID, "the creator owns it")
	require.False(t, a.Archived)

	t.Run("Invalid", func(t *testing.T) {
		before := countRows(t, bd, `SELECT count(*) FROM content_assets`)
		for _, bad := range []string{"javascript:alert(1)", "data:text/html,hi", "/relative/path", "ftp://files.example.com/x", "https://", "https://user:pw@example.com/x"} {
			_, err := bd.store.CreateAsset(ctx, bd.a.ID, mkt, assetIn("X", bad, nil), t0)
			requireFields(t, err, "url")
		}
		long := string(make([]byte, 201))
		_, err := bd.store.CreateAsset(ctx, bd.a.ID, mkt, assetIn(long, "https://example.com", nil), t0)
		requireFields(t, err, "title")
		_, err = bd.store.CreateAsset(ctx, bd.a.ID, mkt, assetIn("Fine", "https://example.com", str("gigantic")), t0)
		verrs := requireFields(t, err, "segment")
		require.Contains(t, verrs["segment"], "smb, mid, enterprise")
		_, err = bd.store.CreateAsset(ctx, bd.a.ID, mkt, content.AssetInput{}, t0)
		requireFields(t, err, "title", "kind", "stage", "url")
		require.Equal(t, before, countRows(t, bd, `SELECT count(*) FROM content_assets`), "nothing saved")
	})

	t.Run("UpdateAndArchive", func(t *testing.T) {
		title := "Logistics case study (2026)"
		got, err := bd.store.UpdateAsset(ctx, bd.a.ID, mkt, a.ID, content.AssetInput{Title: &title}, t0.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, title, got.Title)
		require.Equal(t, a.URL, got.URL, "fields left out stay")
		yes := true
		got, err = bd.store.UpdateAsset(ctx, bd.a.ID, mkt, a.ID, content.AssetInput{Archived: &yes}, t0.Add(2*time.Hour))
		require.NoError(t, err)
		require.True(t, got.Archived)
		require.NotNil(t, got.ArchivedAt)
		page, err := bd.store.FindAssets(ctx, bd.a.ID, content.Filter{}, time.Time{}, time.Time{}, "", 50)
		require.NoError(t, err)
		require.Empty(t, page.Assets, "archived assets leave the library")
		page, err = bd.store.FindAssets(ctx, bd.a.ID, content.Filter{Archived: &yes}, time.Time{}, time.Time{}, "", 50)
		require.NoError(t, err)
		require.Len(t, page.Assets, 1)
		no := false
		_, err = bd.store.UpdateAsset(ctx, bd.a.ID, mkt, a.ID, content.AssetInput{Archived: &no}, t0.Add(3*time.Hour))
		require.NoError(t, err)
	})

	t.Run("SearchAndPages", func(t *testing.T) {
		for _, title := range []string{"Security one-pager", "ROI calculator", "Competitor comparison"} {
			_, err := bd.store.CreateAsset(ctx, bd.a.ID, mkt, assetIn(title, "https://example.com/"+title[:3], nil), t0.Add(time.Minute))
			require.NoError(t, err)
		}
		page, err := bd.store.FindAssets(ctx, bd.a.ID, content.Filter{Q: "SECUR"}, time.Time{}, time.Time{}, "", 50)
		require.NoError(t, err)
		require.Len(t, page.Assets, 1)
		page, err = bd.store.FindAssets(ctx, bd.a.ID, content.Filter{Q: "logistics"}, time.Time{}, time.Time{}, "", 50)
		require.NoError(t, err)
		require.Len(t, page.Assets, 4, "tags match too")
		seen := map[uuid.UUID]bool{}
		cursor := ""
		for {
			page, err := bd.store.FindAssets(ctx, bd.a.ID, content.Filter{}, time.Time{}, time.Time{}, cursor, 3)
			require.NoError(t, err)
			for _, x := range page.Assets {
				require.False(t, seen[x.ID], "each asset once")
				seen[x.ID] = true
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		require.Len(t, seen, 4)
		_, err = bd.store.FindAssets(ctx, bd.a.ID, content.Filter{}, time.Time{}, time.Time{}, "garbage!", 3)
		requireFields(t, err, "cursor")
	})

	t.Run("OtherTenant", func(t *testing.T) {
		_, err := bd.store.FindAsset(ctx, bd.b.ID, a.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		title := "stolen"
		_, err = bd.store.UpdateAsset(ctx, bd.b.ID, bd.b.Admin(), a.ID, content.AssetInput{Title: &title}, t0)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		page, err := bd.store.FindAssets(ctx, bd.b.ID, content.Filter{All: true}, time.Time{}, time.Time{}, "", 50)
		require.NoError(t, err)
		require.Empty(t, page.Assets)
	})
}

func TestStore_ContentUseAndFigures(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	bd := f.bundle
	ctx := context.Background()
	mkt := f.mktP.Actor()
	asset, err := bd.store.CreateAsset(ctx, bd.a.ID, mkt, assetIn("Mid-market case study", "https://cdn.example.com/mid.pdf", str("mid")), t0)
	require.NoError(t, err)
	other, err := bd.store.CreateAsset(ctx, bd.a.ID, mkt, assetIn("Never used", "https://cdn.example.com/never.pdf", nil), t0)
	require.NoError(t, err)

	handoff := func(email, segment string) lead.Lead {
		l := f.create(t, lead.Input{Email: str(email), Segment: str(segment)})
		mql, err := f.move(t, f.mktP, l, lead.TransitionInput{To: lead.StageMQL, OwnerID: &f.rep1.ID})
		require.NoError(t, err)
		return mql
	}
	share := func(l lead.Lead, at time.Time) postgres.Activity {
		act, _, err := bd.store.AddActivity(ctx, bd.a.ID, f.repP, l.ID, lead.ActivityInput{Kind: lead.ActContentShared, AssetID: &asset.ID, At: &at}, at)
		require.NoError(t, err)
		return act
	}
	amount := lead.Cents(5_000_00)
	// Used on: won (accepted → opportunity → won), rejected, accepted only.
	won := handoff("won@x.test", "mid")
	act := share(won, t0.Add(2*time.Hour))
	require.NotEmpty(t, act.LinkToken)
	for _, in := range []lead.TransitionInput{{To: lead.StageAccepted}, {To: lead.StageOpportunity, Amount: &amount}, {To: lead.StageWon}} {
		won, err = bd.store.Transition(ctx, bd.a.ID, f.repP, won.ID, in, t0.Add(3*time.Hour))
		require.NoError(t, err)
	}
	rejected := handoff("rej@x.test", "mid")
	share(rejected, t0.Add(2*time.Hour))
	_, err = bd.store.Transition(ctx, bd.a.ID, f.repP, rejected.ID, lead.TransitionInput{To: lead.StageRejected, Reason: "no_budget"}, t0.Add(3*time.Hour))
	require.NoError(t, err)
	accepted := handoff("acc@x.test", "mid")
	again := share(accepted, t0.Add(2*time.Hour))
	share(accepted, t0.Add(150*time.Minute))
	_, err = bd.store.Transition(ctx, bd.a.ID, f.repP, accepted.ID, lead.TransitionInput{To: lead.StageAccepted}, t0.Add(3*time.Hour))
	require.NoError(t, err)
	// Without it: a mid lead accepted, a mid lead still waiting, an smb lead
	// (another segment) and a mid lead never handed off (not compared).
	base := handoff("base@x.test", "mid")
	_, err = bd.store.Transition(ctx, bd.a.ID, f.repP, base.ID, lead.TransitionInput{To: lead.StageAccepted}, t0.Add(3*time.Hour))
	require.NoError(t, err)
	handoff("wait@x.test", "mid")
	handoff("smb@x.test", "smb")
	f.create(t, lead.Input{Email: str("new@x.test"), Segment: str("mid")})

	t.Run("Figures", func(t *testing.T) {
		d, err := bd.store.FindAsset(ctx, bd.a.ID, asset.ID)
		require.NoError(t, err)
		require.Equal(t, content.Figures{Uses: 4, Leads: 3, Accepted: 2, Opportunities: 1, Won: 1,
			BaseLeads: 2, BaseAccepted: 1}, d.Figures)
		require.Len(t, d.Uses, 4)
		require.Equal(t, 2.0/3, *d.Figures.AcceptedRate())
		require.Equal(t, 0.5, *d.Figures.BaseAcceptedRate())
	})

	t.Run("Timeline", func(t *testing.T) {
		tl, err := bd.store.FindTimeline(ctx, bd.a.ID, accepted.ID)
		require.NoError(t, err)
		var titles []string
		for _, e := range tl {
			if e.Kind == lead.ActContentShared {
				titles = append(titles, e.AssetTitle)
			}
		}
		require.Equal(t, []string{"Mid-market case study", "Mid-market case study"}, titles)
	})

	t.Run("TrackedLinkCountsOncePerHour", func(t *testing.T) {
		require.Equal(t, again.LinkToken, share(accepted, t0.Add(4*time.Hour)).LinkToken, "one link per asset and lead")
		tid, ok := content.ParseLinkToken(again.LinkToken)
		require.True(t, ok)
		require.Equal(t, bd.a.ID, tid)
		open := t0.Add(5 * time.Hour)
		for _, at := range []time.Time{open, open.Add(10 * time.Minute), open.Add(59 * time.Minute), open.Add(61 * time.Minute), open.Add(90 * time.Minute)} {
			url, err := bd.store.OpenLink(ctx, bd.a.ID, again.LinkToken, at)
			require.NoError(t, err)
			require.Equal(t, asset.URL, url, "always the asset's own URL")
		}
		d, err := bd.store.FindAsset(ctx, bd.a.ID, asset.ID)
		require.NoError(t, err)
		require.EqualValues(t, 2, d.Figures.Opens, "opens at 0 and 61 minutes count; the others fall in the hour of a counted one")
		tl, err := bd.store.FindTimeline(ctx, bd.a.ID, accepted.ID)
		require.NoError(t, err)
		opens := 0
		for _, e := range tl {
			if e.Type == "content_open" {
				opens++
				require.Equal(t, "Mid-market case study", e.AssetTitle)
			}
		}
		require.Equal(t, 2, opens)
		_, err = bd.store.OpenLink(ctx, bd.b.ID, again.LinkToken, open)
		require.ErrorIs(t, err, postgres.ErrNotFound, "the token does not work in another tenant")
		_, err = bd.store.OpenLink(ctx, bd.a.ID, content.NewLinkToken(bd.a.ID), open)
		require.ErrorIs(t, err, postgres.ErrNotFound)
	})

	t.Run("RefusedShares", func(t *testing.T) {
		before := countRows(t, bd, `SELECT count(*) FROM lead_activities WHERE asset_id IS NOT NULL`)
		yes := true
		_, err := bd.store.UpdateAsset(ctx, bd.a.ID, mkt, other.ID, content.AssetInput{Archived: &yes}, t0.Add(time.Hour))
		require.NoError(t, err)
		_, _, err = bd.store.AddActivity(ctx, bd.a.ID, f.repP, base.ID, lead.ActivityInput{Kind: lead.ActContentShared, AssetID: &other.ID}, t0.Add(4*time.Hour))
		verrs := requireFields(t, err, "asset_id")
		require.Contains(t, verrs["asset_id"], "archived")
		foreign, err := bd.store.CreateAsset(ctx, bd.b.ID, bd.b.Admin(), assetIn("Beta's", "https://beta.example.com", nil), t0)
		require.NoError(t, err)
		_, _, err = bd.store.AddActivity(ctx, bd.a.ID, f.repP, base.ID, lead.ActivityInput{Kind: lead.ActContentShared, AssetID: &foreign.ID}, t0.Add(4*time.Hour))
		requireFields(t, err, "asset_id")
		require.Equal(t, before, countRows(t, bd, `SELECT count(*) FROM lead_activities WHERE asset_id IS NOT NULL`), "nothing saved")
	})

	t.Run("UsageFigure", func(t *testing.T) {
		loc, err := time.LoadLocation(bd.a.TimeZone)
		require.NoError(t, err)
		p := metric.NewPeriod(t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 2), loc)
		c, _, err := bd.store.ContentUsage(ctx, bd.a.ID, p, t0)
		require.NoError(t, err)
		// Both assets were active in the period (the other was archived
		// during it); one was used; the one win had a use before it.
		require.Equal(t, metric.Content{ActiveAssets: 2, UsedAssets: 1, UsageShare: ptrF(0.5), WonWithContent: 1}, c)
		later := metric.NewPeriod(t0.AddDate(0, 0, 3), t0.AddDate(0, 0, 4), loc)
		c, _, err = bd.store.ContentUsage(ctx, bd.a.ID, later, t0)
		require.NoError(t, err)
		require.Equal(t, metric.Content{ActiveAssets: 1, UsedAssets: 0, UsageShare: ptrF(0), WonWithContent: 0}, c, "archived before the period: not active")
	})
}

func ptrF(v float64) *float64 { return &v }

func TestStore_ContentRequests(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	bd := f.bundle
	ctx := context.Background()
	l := f.create(t, lead.Input{Email: str("deal@x.test"), Segment: str("mid")})

	_, err := bd.store.CreateRequest(ctx, bd.a.ID, f.repP, content.RequestInput{Title: "  ", Objection: ""}, t0)
	requireFields(t, err, "title", "objection")
	_, err = bd.store.CreateRequest(ctx, bd.a.ID, f.repP, content.RequestInput{Title: "X", Objection: "Y", Segment: str("huge"), LeadID: ptrID(uuid.New())}, t0)
	requireFields(t, err, "segment", "lead_id")
	require.Zero(t, countRows(t, bd, `SELECT count(*) FROM content_requests`), "nothing saved")

	q, err := bd.store.CreateRequest(ctx, bd.a.ID, f.repP, content.RequestInput{Title: "Logistics case study",
		Objection: "You have no customers in logistics.", Segment: str("mid"), LeadID: &l.ID}, t0)
	require.NoError(t, err)
	require.Equal(t, content.RequestOpen, q.Status)
	require.Equal(t, "Rep One", q.RequesterName)
	notes, _, err := bd.store.FindNotifications(ctx, bd.a.ID, f.mkt.ID, 10)
	require.NoError(t, err)
	require.Len(t, notes, 1, "marketing hears of it")
	require.Contains(t, notes[0].Title, "Logistics case study")

	fulfilled := content.RequestFulfilled
	t.Run("OnlyMarketingChangesStatus", func(t *testing.T) {
		_, err := bd.store.UpdateRequest(ctx, bd.a.ID, f.repP, q.ID, content.RequestUpdate{Status: &fulfilled}, t0)
		require.Error(t, err)
		got, err := bd.store.UpdateRequest(ctx, bd.a.ID, f.repP, q.ID, content.RequestUpdate{Comment: "Any news?"}, t0.Add(time.Hour))
		require.NoError(t, err, "the requester may comment")
		require.Len(t, got.Comments, 1)
	})

	t.Run("FulfilNeedsAnActiveAsset", func(t *testing.T) {
		_, err := bd.store.UpdateRequest(ctx, bd.a.ID, f.mktP, q.ID, content.RequestUpdate{Status: &fulfilled}, t0)
		requireFields(t, err, "asset_id")
		yes := true
		old, err := bd.store.CreateAsset(ctx, bd.a.ID, f.mktP.Actor(), assetIn("Old", "https://example.com/old", nil), t0)
		require.NoError(t, err)
		_, err = bd.store.UpdateAsset(ctx, bd.a.ID, f.mktP.Actor(), old.ID, content.AssetInput{Archived: &yes}, t0)
		require.NoError(t, err)
		_, err = bd.store.UpdateRequest(ctx, bd.a.ID, f.mktP, q.ID, content.RequestUpdate{Status: &fulfilled, AssetID: &old.ID}, t0)
		requireFields(t, err, "asset_id")
	})

	t.Run("RoundTrip", func(t *testing.T) {
		inProgress := content.RequestInProgress
		_, err := bd.store.UpdateRequest(ctx, bd.a.ID, f.mktP, q.ID, content.RequestUpdate{Status: &inProgress, Comment: "On it"}, t0.Add(2*time.Hour))
		require.NoError(t, err)
		a, err := bd.store.CreateAsset(ctx, bd.a.ID, f.mktP.Actor(), assetIn("Logistics case study", "https://example.com/logistics", str("mid")), t0.Add(20*time.Hour))
		require.NoError(t, err)
		got, err := bd.store.UpdateRequest(ctx, bd.a.ID, f.mktP, q.ID, content.RequestUpdate{Status: &fulfilled, AssetID: &a.ID}, t0.Add(26*time.Hour))
		require.NoError(t, err)
		require.Equal(t, content.RequestFulfilled, got.Status)
		require.Equal(t, &a.ID, got.AssetID)
		require.Equal(t, 26*time.Hour, got.Age(t0.Add(100*time.Hour)), "age stops when fulfilled")
		require.Len(t, got.Comments, 2)
		notes, _, err := bd.store.FindNotifications(ctx, bd.a.ID, f.rep1.ID, 10)
		require.NoError(t, err)
		var kinds []string
		for _, n := range notes {
			kinds = append(kinds, n.Kind)
		}
		require.ElementsMatch(t, []string{"content.status", "content.fulfilled"}, kinds, "the requester hears of each change by someone else")
		loc, err := time.LoadLocation(bd.a.TimeZone)
		require.NoError(t, err)
		_, rf, err := bd.store.ContentUsage(ctx, bd.a.ID, metric.NewPeriod(t0, t0.AddDate(0, 0, 3), loc), t0)
		require.NoError(t, err)
		require.Equal(t, postgres.RequestFigures{Open: 0, Fulfilled: 1, MedianFulfilHours: ptrF(26)}, rf)
	})

	t.Run("ListAndOtherTenant", func(t *testing.T) {
		_, err := bd.store.CreateRequest(ctx, bd.a.ID, f.mgrP, content.RequestInput{Title: "ROI tool", Objection: "Too expensive"}, t0.Add(time.Hour))
		require.NoError(t, err)
		page, err := bd.store.FindRequests(ctx, bd.a.ID, postgres.RequestFilter{}, "", 1)
		require.NoError(t, err)
		require.Len(t, page.Requests, 1)
		require.Equal(t, "ROI tool", page.Requests[0].Title, "open ones first")
		page, err = bd.store.FindRequests(ctx, bd.a.ID, postgres.RequestFilter{}, page.NextCursor, 5)
		require.NoError(t, err)
		require.Len(t, page.Requests, 1)
		require.Equal(t, q.ID, page.Requests[0].ID)
		_, err = bd.store.FindRequest(ctx, bd.b.ID, q.ID)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		_, err = bd.store.UpdateRequest(ctx, bd.b.ID, auth.Principal{Type: auth.ActorUser, ID: bd.b.AdminID, Name: "Admin of beta", Role: tenant.RoleAdmin, Tenant: bd.b.Tenant}, q.ID, content.RequestUpdate{Comment: "hi"}, t0)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		other, err := bd.store.FindRequests(ctx, bd.b.ID, postgres.RequestFilter{}, "", 50)
		require.NoError(t, err)
		require.Empty(t, other.Requests)
	})
}

func ptrID(id uuid.UUID) *uuid.UUID { return &id }
