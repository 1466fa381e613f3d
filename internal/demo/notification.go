package demo

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accordhq/accord/internal/lead"
)

// Notification is an in-app notification for a demo user.
type Notification struct {
	UserID    uuid.UUID
	Kind      string
	Title     string
	Body      string
	Link      string
	CreatedAt time.Time
	Read      bool
}

// Notifications derives a few notifications from the generated history:
// each rep's latest assignments, a note to the manager about the leads
// waiting on the slow rep, and one to marketing about the campaign sales
// keeps rejecting. It builds every lead again, so it is for demo-sized
// configurations. A manager or marketer of uuid.Nil gets nothing.
func (g *Generator) Notifications(manager, marketer uuid.UUID) []Notification {
	type assigned struct {
		at   time.Time
		id   uuid.UUID
		name string
		why  string
	}
	byRep := map[uuid.UUID][]assigned{}
	waiting := map[uuid.UUID]int{}
	weekAgo := g.cfg.Now.AddDate(0, 0, -7)
	var rejected, decided int
	var l Lead
	for i := 0; i < g.Len(); i++ {
		g.Lead(i, &l)
		for _, a := range l.Assignments {
			byRep[a.OwnerID] = append(byRep[a.OwnerID], assigned{a.At, l.ID, l.FirstName + " " + l.LastName, a.Why})
		}
		if l.Stage == lead.StageMQL && l.StageChangedAt.Before(g.cfg.Now.Add(-24*time.Hour)) {
			waiting[l.OwnerID]++
		}
		if l.Campaign != RejectedCampaign {
			continue
		}
		for _, t := range l.Transitions {
			if t.From == lead.StageMQL && t.At.After(weekAgo) {
				decided++
				if t.To == lead.StageRejected {
					rejected++
				}
			}
		}
	}
	var out []Notification
	for _, rep := range g.cfg.Reps {
		as := byRep[rep.ID]
		slices.SortFunc(as, func(a, b assigned) int { return a.at.Compare(b.at) })
		for _, a := range as[max(0, len(as)-3):] {
			out = append(out, Notification{UserID: rep.ID, Kind: "lead.assigned", Title: "A lead was assigned to you: " + a.name,
				Body: a.why, Link: "/leads/" + a.id.String(), CreatedAt: a.at, Read: a.at.Before(g.cfg.Now.Add(-24 * time.Hour))})
		}
		if rep.Slow && manager != uuid.Nil && waiting[rep.ID] > 0 {
			out = append(out, Notification{UserID: manager, Kind: "lead.waiting",
				Title: fmt.Sprintf("%d leads have waited more than a day for %s to accept or reject them", waiting[rep.ID], rep.Name),
				Body:  "Open the team inbox to reassign them.", Link: "/inbox", CreatedAt: g.cfg.Now.Add(-2 * time.Hour)})
		}
	}
	if marketer != uuid.Nil && decided > 0 {
		out = append(out, Notification{UserID: marketer, Kind: "campaign.rejections",
			Title: fmt.Sprintf("Sales rejected %d of %d decided leads from %s in the last 7 days", rejected, decided, RejectedCampaign),
			Body:  "Most as not_icp or bad_data: review the campaign's targeting.", Link: "/leads?campaign=" + RejectedCampaign,
			CreatedAt: g.cfg.Now.Add(-5 * time.Hour)})
	}
	return out
}
