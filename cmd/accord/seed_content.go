package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/content"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
)

// demoAsset is one asset of the demo library and how often reps reach for
// it: every share-th worked lead of its segment gets it.
type demoAsset struct {
	title, url string
	kind       content.Kind
	stage      lead.Stage
	segment    string
	tags       []string
	share      int // 0: never used
	archived   bool
}

var demoAssets = []demoAsset{
	{"Logistics customer story: Nordfracht", "https://www.acme.test/stories/nordfracht.pdf", content.KindCaseStudy, lead.StageAccepted, "mid", []string{"logistics", "roi"}, 3, false},
	{"Security & compliance one-pager", "https://www.acme.test/security.pdf", content.KindOnePager, lead.StageSQL, "enterprise", []string{"security", "soc2"}, 2, false},
	{"Acme vs. Spreadsheets", "https://www.acme.test/compare/spreadsheets", content.KindComparison, lead.StageMQL, "smb", []string{"comparison"}, 4, false},
	{"ROI calculator", "https://www.acme.test/roi", content.KindROITool, lead.StageOpportunity, "", []string{"roi", "pricing"}, 5, false},
	{"Product tour (6 min)", "https://www.acme.test/tour", content.KindVideo, lead.StageMQL, "", []string{"demo"}, 7, false},
	{"Enterprise pitch deck 2026", "https://www.acme.test/decks/enterprise-2026.pdf", content.KindDeck, lead.StageOpportunity, "enterprise", []string{"pitch"}, 0, false},
	{"Data residency whitepaper", "https://www.acme.test/whitepapers/residency.pdf", content.KindWhitepaper, lead.StageSQL, "enterprise", []string{"security", "gdpr"}, 0, false},
	{"Pitch deck 2025", "https://www.acme.test/decks/2025.pdf", content.KindDeck, lead.StageOpportunity, "", nil, 0, true},
}

// seedDemoContent fills the demo library: assets marketing made before the
// history began, their use by the reps on the leads they worked, rejected
// ones too (before each lead's latest move, so wins had content first), some tracked opens,
// and requests from sales, one open and one fulfilled.
func seedDemoContent(ctx context.Context, store *postgres.Store, t tenant.Tenant, mara auth.Actor, reps map[uuid.UUID]string, setupAt, now time.Time) error {
	ids := make([]uuid.UUID, len(demoAssets))
	for i, d := range demoAssets {
		title, url, kind, stage := d.title, d.url, d.kind, d.stage
		var seg *string
		if d.segment != "" {
			s := d.segment
			seg = &s
		}
		a, err := store.CreateAsset(ctx, t.ID, mara, content.AssetInput{Title: &title, URL: &url, Kind: &kind, Stage: &stage, Segment: &seg, Tags: d.tags}, setupAt)
		if err != nil {
			return fmt.Errorf("seed demo asset %s: %w", d.title, err)
		}
		ids[i] = a.ID
	}
	page, err := store.FindLeads(ctx, t.ID, lead.Filter{Stages: []lead.Stage{lead.StageRejected, lead.StageAccepted, lead.StageSQL, lead.StageOpportunity, lead.StageWon, lead.StageLost}, Limit: 500})
	if err != nil {
		return fmt.Errorf("seed demo content uses: %w", err)
	}
	// Won deals are few among the newest leads: every other one had the
	// ROI calculator (ids[3]) before it was won.
	wins, err := store.FindLeads(ctx, t.ID, lead.Filter{Stages: []lead.Stage{lead.StageWon}, Limit: 100})
	if err != nil {
		return fmt.Errorf("seed demo content uses: %w", err)
	}
	for i, l := range wins.Leads {
		if i%2 == 0 && !slices.ContainsFunc(page.Leads, func(x lead.Lead) bool { return x.ID == l.ID }) {
			page.Leads = append(page.Leads, l)
		}
	}
	uses := 0
	for n, l := range page.Leads {
		if l.OwnerID == nil || reps[*l.OwnerID] == "" || !l.StageChangedAt.After(l.CreatedAt) {
			continue
		}
		rep := auth.Principal{Type: auth.ActorUser, ID: *l.OwnerID, Name: reps[*l.OwnerID], Role: tenant.RoleRep, Tenant: t}
		for i, d := range demoAssets {
			if d.share == 0 || d.archived || n%d.share != 0 || (d.segment != "" && (l.Segment == nil || *l.Segment != d.segment)) {
				continue
			}
			at := l.CreatedAt.Add(l.StageChangedAt.Sub(l.CreatedAt) / 2)
			act, _, err := store.AddActivity(ctx, t.ID, rep, l.ID, lead.ActivityInput{Kind: lead.ActContentShared, AssetID: &ids[i], At: &at}, now)
			if err != nil {
				return fmt.Errorf("seed demo content use: %w", err)
			}
			uses++
			if uses%3 == 0 {
				if _, err := store.OpenLink(ctx, t.ID, act.LinkToken, at.Add(90*time.Minute)); err != nil {
					return fmt.Errorf("seed demo open: %w", err)
				}
			}
		}
	}
	yes := true
	if _, err := store.UpdateAsset(ctx, t.ID, mara, ids[len(ids)-1], content.AssetInput{Archived: &yes}, setupAt.Add(24*time.Hour)); err != nil {
		return fmt.Errorf("seed demo archive: %w", err)
	}
	var rey uuid.UUID
	for id, name := range reps {
		if name == "Rey Alvarez" {
			rey = id
		}
	}
	asker := auth.Principal{Type: auth.ActorUser, ID: rey, Name: "Rey Alvarez", Role: tenant.RoleRep, Tenant: t}
	logistics := "mid"
	open, err := store.CreateRequest(ctx, t.ID, asker, content.RequestInput{Title: "Case study for retail chains",
		Objection: "“Show me a retailer of our size that runs on Acme.” Three deals stalled on this in a month.", Segment: &logistics}, now.Add(-50*time.Hour))
	if err != nil {
		return fmt.Errorf("seed demo request: %w", err)
	}
	marketer := auth.Principal{Type: auth.ActorUser, ID: mara.ID, Name: mara.Name, Role: tenant.RoleMarketing, Tenant: t}
	if _, err := store.UpdateRequest(ctx, t.ID, marketer, open.ID, content.RequestUpdate{Comment: "Interviewing two customers next week; draft by Friday."}, now.Add(-20*time.Hour)); err != nil {
		return fmt.Errorf("seed demo request comment: %w", err)
	}
	done, err := store.CreateRequest(ctx, t.ID, asker, content.RequestInput{Title: "ROI calculator",
		Objection: "Finance asks for the payback period before any demo."}, setupAt.Add(48*time.Hour))
	if err != nil {
		return fmt.Errorf("seed demo request: %w", err)
	}
	fulfilled := content.RequestFulfilled
	if _, err := store.UpdateRequest(ctx, t.ID, marketer, done.ID, content.RequestUpdate{Status: &fulfilled, AssetID: &ids[3],
		Comment: "Here it is: payback, three-year ROI, editable assumptions."}, setupAt.Add(5*24*time.Hour)); err != nil {
		return fmt.Errorf("seed demo request fulfil: %w", err)
	}
	return nil
}
