package postgres_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
	"github.com/accordhq/accord/internal/validator"
)

// requireFields asserts that err is a validator.Errors naming exactly fields.
func requireFields(t *testing.T, err error, fields ...string) validator.Errors {
	t.Helper()
	var verrs validator.Errors
	require.ErrorAs(t, err, &verrs)
	require.ElementsMatch(t, fields, verrs.Fields(), "%v", verrs)
	return verrs
}

func lastAudit(t *testing.T, bd *bundle, tn tenant.ID, entity string) postgres.AuditEntry {
	t.Helper()
	entries, err := bd.store.FindAuditEntries(context.Background(), tn, entity, 1)
	require.NoError(t, err)
	require.Len(t, entries, 1, "an audit entry about %s", entity)
	return entries[0]
}

func TestStore_Segments(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	bd := f.bundle
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		got, err := bd.store.ReplaceSegments(ctx, bd.a.ID, bd.a.Admin(), []string{" Enterprise", "mid", "SMB", "strategic"}, t0)
		require.NoError(t, err)
		require.Equal(t, []string{"enterprise", "mid", "smb", "strategic"}, got, "trimmed, lower-cased, in the order given")
		stored, err := bd.store.FindSegments(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, got, stored)
		e := lastAudit(t, bd, bd.a.ID, "segments")
		require.Equal(t, "segments.replaced", e.Action)
		require.JSONEq(t, `["smb", "mid", "enterprise"]`, string(e.Before))
		require.JSONEq(t, `["enterprise", "mid", "smb", "strategic"]`, string(e.After))
	})

	t.Run("Invalid", func(t *testing.T) {
		_, err := bd.store.ReplaceSegments(ctx, bd.a.ID, bd.a.Admin(), []string{"ok", "Big Co", "OK", ""}, t0)
		verrs := requireFields(t, err, "segments.1", "segments.2", "segments.3")
		require.Contains(t, verrs["segments.2"], "listed twice")
		require.Equal(t, "must not be blank", verrs["segments.3"])
		many := make([]string, 51)
		for i := range many {
			many[i] = uuid.NewString()[:8]
		}
		_, err = bd.store.ReplaceSegments(ctx, bd.a.ID, bd.a.Admin(), many, t0)
		requireFields(t, err, "segments")
	})

	t.Run("InUseCannotBeRemoved", func(t *testing.T) {
		f.create(t, lead.Input{Email: str("big@x.test"), Segment: str("enterprise")})
		require.NoError(t, bd.store.ReplaceRouting(ctx, bd.a.ID, bd.a.Admin(), lead.Routing{
			Rules: []lead.RoutingRule{{Segment: str("mid"), TeamID: f.team.ID}}}, t0))
		rev := lead.Cents(100)
		_, err := bd.store.UpdateTargets(ctx, bd.a.ID, bd.a.Admin(), []postgres.TargetChange{{Period: "2026-10", Segment: "smb", Revenue: &rev}}, t0)
		require.NoError(t, err)

		_, err = bd.store.ReplaceSegments(ctx, bd.a.ID, bd.a.Admin(), []string{"strategic"}, t0)
		verrs := requireFields(t, err, "segments")
		require.Contains(t, verrs["segments"], "enterprise is used by 1 lead and cannot be removed")
		require.Contains(t, verrs["segments"], "mid is used by 1 routing rule")
		require.Contains(t, verrs["segments"], "smb is used by 1 target")
		stored, err := bd.store.FindSegments(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"enterprise", "mid", "smb", "strategic"}, stored, "nothing changed")

		usage, err := bd.store.FindSegmentUsage(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, map[string]int{"enterprise": 1}, usage)

		got, err := bd.store.ReplaceSegments(ctx, bd.a.ID, bd.a.Admin(), []string{"smb", "mid", "enterprise"}, t0)
		require.NoError(t, err, "removing an unused segment is fine")
		require.Equal(t, []string{"smb", "mid", "enterprise"}, got)
	})

	t.Run("OtherTenantUntouched", func(t *testing.T) {
		got, err := bd.store.FindSegments(ctx, bd.b.ID)
		require.NoError(t, err)
		require.Equal(t, postgres.DefaultSegments, got)
		usage, err := bd.store.FindSegmentUsage(ctx, bd.b.ID)
		require.NoError(t, err)
		require.Empty(t, usage)
	})
}

func TestStore_Reasons(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		r, err := bd.store.CreateReason(ctx, bd.a.ID, bd.a.Admin(), postgres.Reason{Code: " Wrong_Region ", Label: " Outside our regions "}, t0)
		require.NoError(t, err)
		require.Equal(t, postgres.Reason{Code: "wrong_region", Label: "Outside our regions"}, r)
		all, err := bd.store.FindReasons(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Len(t, all, len(postgres.DefaultReasons)+1)
		require.Contains(t, all, r)
		e := lastAudit(t, bd, bd.a.ID, "rejection_reason")
		require.Equal(t, "reason.created", e.Action)
		require.Equal(t, "wrong_region", e.EntityID)
	})

	t.Run("Invalid", func(t *testing.T) {
		_, err := bd.store.CreateReason(ctx, bd.a.ID, bd.a.Admin(), postgres.Reason{Code: "no budget!", Label: ""}, t0)
		requireFields(t, err, "code", "label")
		_, err = bd.store.CreateReason(ctx, bd.a.ID, bd.a.Admin(), postgres.Reason{Code: "no_budget", Label: "Again"}, t0)
		verrs := requireFields(t, err, "code")
		require.Equal(t, "exists already", verrs["code"])
	})

	t.Run("OtherTenantNotShown", func(t *testing.T) {
		all, err := bd.store.FindReasons(ctx, bd.b.ID)
		require.NoError(t, err)
		require.Len(t, all, len(postgres.DefaultReasons))
		_, err = bd.store.CreateReason(ctx, bd.b.ID, bd.b.Admin(), postgres.Reason{Code: "wrong_region", Label: "Beta's own"}, t0)
		require.NoError(t, err, "codes are unique per tenant, not globally")
	})
}

func TestStore_Routing(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	bd := f.bundle
	ctx := context.Background()
	mkt, err := bd.store.CreateTeam(ctx, bd.a.ID, bd.a.Admin(), tenant.TeamInput{Name: "Demand gen", Side: tenant.SideMarketing}, t0)
	require.NoError(t, err)
	betaTeam, err := bd.store.CreateTeam(ctx, bd.b.ID, bd.b.Admin(), tenant.TeamInput{Name: "Beta sales", Side: tenant.SideSales}, t0)
	require.NoError(t, err)

	t.Run("OK", func(t *testing.T) {
		in := lead.Routing{
			Rules: []lead.RoutingRule{
				{Segment: str("Enterprise"), Country: str(" de "), TeamID: f.team.ID},
				{Segment: str("enterprise"), Source: str(" "), TeamID: f.team.ID},
				{Source: str("paid_search"), TeamID: f.team.ID},
			},
			DefaultTeamID: &f.team.ID,
		}
		require.NoError(t, bd.store.ReplaceRouting(ctx, bd.a.ID, bd.a.Admin(), in, t0))
		require.Equal(t, "Enterprise", *in.Rules[0].Segment, "the caller's rules are not changed")
		got, err := bd.store.FindRouting(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, lead.Routing{
			Rules: []lead.RoutingRule{
				{Segment: str("enterprise"), Country: str("DE"), TeamID: f.team.ID},
				{Segment: str("enterprise"), TeamID: f.team.ID},
				{Source: str("paid_search"), TeamID: f.team.ID},
			},
			DefaultTeamID: &f.team.ID,
		}, got)
		e := lastAudit(t, bd, bd.a.ID, "routing")
		require.Equal(t, "routing.replaced", e.Action)
		var after struct {
			Rules []map[string]any `json:"rules"`
		}
		require.NoError(t, json.Unmarshal(e.After, &after))
		require.Len(t, after.Rules, 3)
	})

	t.Run("Invalid", func(t *testing.T) {
		before, err := bd.store.FindRouting(ctx, bd.a.ID)
		require.NoError(t, err)
		err = bd.store.ReplaceRouting(ctx, bd.a.ID, bd.a.Admin(), lead.Routing{
			Rules: []lead.RoutingRule{
				{Segment: str("enterprise"), TeamID: f.team.ID},
				{Segment: str("enterprise"), Country: str("DE"), TeamID: f.team.ID}, // never reached
				{Segment: str("galactic"), TeamID: f.team.ID},
				{Country: str("Germany"), TeamID: f.team.ID},
				{Source: str("events"), TeamID: betaTeam.ID},
				{Source: str("webinar"), TeamID: mkt.ID},
				{Source: str("referral")},
			},
			DefaultTeamID: &betaTeam.ID,
		}, t0)
		verrs := requireFields(t, err, "rules.1", "rules.2.segment", "rules.3.country", "rules.4.team_id", "rules.5.team_id",
			"rules.6.team_id", "default_team_id")
		require.Contains(t, verrs["rules.1"], "can never match: rule 1 (segment = enterprise)")
		require.Equal(t, "must be one of smb, mid, enterprise", verrs["rules.2.segment"])
		require.Equal(t, "is not a team of this tenant", verrs["rules.4.team_id"], "another tenant's team")
		require.Contains(t, verrs["rules.5.team_id"], "marketing team")
		require.Equal(t, "is not a team of this tenant", verrs["default_team_id"])
		after, err := bd.store.FindRouting(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, before, after, "nothing changed")
	})

	t.Run("OtherTenantNotShown", func(t *testing.T) {
		got, err := bd.store.FindRouting(ctx, bd.b.ID)
		require.NoError(t, err)
		require.Empty(t, got.Rules)
		require.Nil(t, got.DefaultTeamID)
	})

	t.Run("Clear", func(t *testing.T) {
		require.NoError(t, bd.store.ReplaceRouting(ctx, bd.a.ID, bd.a.Admin(), lead.Routing{}, t0))
		got, err := bd.store.FindRouting(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Empty(t, got.Rules)
		require.Nil(t, got.DefaultTeamID)
	})
}

func TestStore_QualificationUpdate(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()

	q, err := bd.store.FindQualification(ctx, bd.a.ID)
	require.NoError(t, err)
	require.False(t, q.Active(), "a new tenant has no rule")

	full := lead.Qualification{MinScore: num(70), RequireICPFit: true,
		PageViews: &lead.PageViewRule{URLContains: " /pricing ", Count: 3, WithinHours: 48}}
	require.NoError(t, bd.store.SetQualification(ctx, bd.a.ID, bd.a.Admin(), full, t0))
	require.Equal(t, " /pricing ", full.PageViews.URLContains, "the caller's rule is not changed")

	t.Run("PartialChangeKeepsTheRest", func(t *testing.T) {
		got, err := bd.store.UpdateQualification(ctx, bd.a.ID, bd.a.Admin(), func(q *lead.Qualification) { q.MinScore = num(80) }, t0)
		require.NoError(t, err)
		require.Equal(t, lead.Qualification{MinScore: num(80), RequireICPFit: true,
			PageViews: &lead.PageViewRule{URLContains: "/pricing", Count: 3, WithinHours: 48}}, got)
		stored, err := bd.store.FindQualification(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, got, stored)
		e := lastAudit(t, bd, bd.a.ID, "qualification")
		require.Equal(t, "qualification.set", e.Action)
		require.JSONEq(t, `{"min_score": 70, "require_icp_fit": true, "page_views": {"url_contains": "/pricing", "count": 3, "within_hours": 48}}`, string(e.Before))
		require.JSONEq(t, `{"min_score": 80, "require_icp_fit": true, "page_views": {"url_contains": "/pricing", "count": 3, "within_hours": 48}}`, string(e.After))
	})

	t.Run("InvalidSavesNothing", func(t *testing.T) {
		_, err := bd.store.UpdateQualification(ctx, bd.a.ID, bd.a.Admin(), func(q *lead.Qualification) {
			q.MinScore = num(101)
			q.PageViews.Count = 0
		}, t0)
		requireFields(t, err, "min_score", "page_views.count")
		stored, err := bd.store.FindQualification(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, 80, *stored.MinScore)
		require.Equal(t, 3, stored.PageViews.Count, "the change saw a copy of the rule in force")
	})

	t.Run("SwitchedOff", func(t *testing.T) {
		got, err := bd.store.UpdateQualification(ctx, bd.a.ID, bd.a.Admin(), func(q *lead.Qualification) { *q = lead.Qualification{} }, t0)
		require.NoError(t, err)
		require.False(t, got.Active())
		stored, err := bd.store.FindQualification(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, lead.Qualification{}, stored)
	})

	t.Run("OtherTenantNotShown", func(t *testing.T) {
		require.NoError(t, bd.store.SetQualification(ctx, bd.a.ID, bd.a.Admin(), full, t0))
		got, err := bd.store.FindQualification(ctx, bd.b.ID)
		require.NoError(t, err)
		require.False(t, got.Active())
	})
}

func TestStore_Targets(t *testing.T) {
	t.Parallel()
	bd := setup(t)
	ctx := context.Background()
	cents := func(c lead.Cents) *lead.Cents { return &c }

	t.Run("UpdateSetsAndRemovesNamedOnly", func(t *testing.T) {
		got, err := bd.store.UpdateTargets(ctx, bd.a.ID, bd.a.Admin(), []postgres.TargetChange{
			{Period: "2026-10", Revenue: cents(50000000)},
			{Period: "2026-10", Segment: " Enterprise ", Revenue: cents(20000050)},
			{Period: "2026-11", Revenue: cents(55000000)},
		}, t0)
		require.NoError(t, err)
		require.Equal(t, []postgres.Target{
			{Period: "2026-10", Segment: "", Revenue: 50000000},
			{Period: "2026-10", Segment: "enterprise", Revenue: 20000050},
			{Period: "2026-11", Segment: "", Revenue: 55000000},
		}, got)

		got, err = bd.store.UpdateTargets(ctx, bd.a.ID, bd.a.Admin(), []postgres.TargetChange{
			{Period: "2026-10", Segment: "enterprise"}, // removed
			{Period: "2026-11", Revenue: cents(60000000)},
			{Period: "2027-01", Segment: "smb", Revenue: cents(0)},
		}, t0)
		require.NoError(t, err)
		require.Equal(t, []postgres.Target{
			{Period: "2026-10", Segment: "", Revenue: 50000000},
			{Period: "2026-11", Segment: "", Revenue: 60000000},
			{Period: "2027-01", Segment: "smb", Revenue: 0},
		}, got, "targets not named stay")
		e := lastAudit(t, bd, bd.a.ID, "targets")
		require.Equal(t, "targets.set", e.Action)
		require.Contains(t, string(e.Before), `"revenue": "200000.50"`)
	})

	t.Run("ReplaceSetsTheWholeList", func(t *testing.T) {
		got, err := bd.store.ReplaceTargets(ctx, bd.a.ID, bd.a.Admin(), []postgres.Target{{Period: "2026-12", Segment: "mid", Revenue: 100}}, t0)
		require.NoError(t, err)
		require.Equal(t, []postgres.Target{{Period: "2026-12", Segment: "mid", Revenue: 100}}, got)
		stored, err := bd.store.FindTargets(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, got, stored)
	})

	t.Run("Invalid", func(t *testing.T) {
		_, err := bd.store.UpdateTargets(ctx, bd.a.ID, bd.a.Admin(), []postgres.TargetChange{
			{Period: "2026-13", Revenue: cents(1)},
			{Period: "2026-10", Revenue: cents(-1)},
			{Period: "2026-10", Segment: "galactic", Revenue: cents(1)},
			{Period: "2026-10", Revenue: cents(2)},
		}, t0)
		verrs := requireFields(t, err, "targets.0.period", "targets.1.revenue", "targets.2.segment", "targets.3")
		require.Equal(t, "this month and segment are listed twice", verrs["targets.3"])
		check := postgres.CheckTargets([]postgres.TargetChange{
			{Period: "2026-13", Revenue: cents(1)},
			{Period: "2026-10", Revenue: cents(-1)},
			{Period: "2026-10", Segment: "galactic", Revenue: cents(1)},
			{Period: "2026-10", Revenue: cents(2)},
		})
		require.ElementsMatch(t, []string{"targets.0.period", "targets.1.revenue", "targets.3"}, check.Fields(),
			"the checks that need no database")
		stored, err := bd.store.FindTargets(ctx, bd.a.ID)
		require.NoError(t, err)
		require.Equal(t, []postgres.Target{{Period: "2026-12", Segment: "mid", Revenue: 100}}, stored, "nothing changed")
	})

	t.Run("OtherTenantNotShown", func(t *testing.T) {
		got, err := bd.store.FindTargets(ctx, bd.b.ID)
		require.NoError(t, err)
		require.Empty(t, got)
	})
}
