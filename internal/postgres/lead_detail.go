package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// HolderTime is the business time one holder held a timer: reassignment
// splits a clock into segments so each rep answers for their own part.
type HolderTime struct {
	HolderID   *uuid.UUID
	HolderName string
	From, To   time.Time
	Business   time.Duration
}

// LeadTimer is a timer of one lead with its holder segments.
type LeadTimer struct {
	Timer
	Holders []HolderTime
}

// LeadDetail is everything the lead page shows, read in one transaction so
// the timeline, the clocks and the lead agree with each other.
type LeadDetail struct {
	Lead    lead.Lead
	Events  []lead.Event
	Reasons []Reason
	Timers  []LeadTimer
	Content []LeadContent // assets used on the lead, with tracked links
	Assets  []AssetOption // the library's active assets, to share
}

// FindLeadDetail returns a lead of tenant tid with its timeline, its timers
// (oldest first, holder segments as of now) and the tenant's rejection
// reasons, the content used on it and the library to share from.
func (s *Store) FindLeadDetail(ctx context.Context, tid tenant.ID, id uuid.UUID, now time.Time) (LeadDetail, error) {
	var d LeadDetail
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if d.Lead, err = findLead(ctx, tx, tid, id, false); err != nil {
			return err
		}
		if d.Events, err = findTimeline(ctx, tx, tid, id); err != nil {
			return err
		}
		if d.Reasons, err = findReasons(ctx, tx, tid); err != nil {
			return err
		}
		if d.Timers, err = findLeadTimers(ctx, tx, tid, id); err != nil {
			return err
		}
		if d.Content, err = findLeadContent(ctx, tx, tid, id); err != nil {
			return err
		}
		if d.Assets, err = findAssetOptions(ctx, tx, tid); err != nil {
			return err
		}
		return holdersUntilNow(ctx, tx, tid, d.Lead, d.Timers, now)
	})
	return d, err
}

// holdersUntilNow extends the holder segments of open timers to now. Stored
// segments end at the last event; the current holder's part keeps growing
// in business time, which only the engine on the lead's calendars knows.
func holdersUntilNow(ctx context.Context, tx pgx.Tx, tid tenant.ID, l lead.Lead, timers []LeadTimer, now time.Time) error {
	open := false
	for _, t := range timers {
		open = open || t.Status == "running" || t.Status == "at_risk"
	}
	if !open {
		return nil
	}
	in, err := loadTimerInputs(ctx, tx, tid, l)
	if err != nil {
		return err
	}
	computed, existing := in.evaluate(false, now)
	keyOf := map[uuid.UUID]sla.TimerKey{}
	for key, ex := range existing {
		keyOf[ex.ID] = key
	}
	byKey := map[sla.TimerKey]sla.Timer{}
	for _, c := range computed {
		byKey[c.Key()] = c
	}
	for i, t := range timers {
		if t.Status != "running" && t.Status != "at_risk" {
			continue
		}
		c, ok := byKey[keyOf[t.ID]]
		if !ok {
			continue
		}
		names := map[uuid.UUID]string{}
		for _, h := range t.Holders {
			if h.HolderID != nil {
				names[*h.HolderID] = h.HolderName
			}
		}
		if t.HolderID != nil {
			names[*t.HolderID] = t.HolderName
		}
		var hs []HolderTime
		for _, span := range c.Holders {
			h := HolderTime{HolderID: span.Holder, From: span.From, To: span.To, Business: span.Business}
			if span.Holder != nil {
				h.HolderName = names[*span.Holder]
			}
			hs = append(hs, h)
		}
		timers[i].Holders = hs
	}
	return nil
}

// FindLeadWithTimers returns a lead and its timers (GET /leads/{id}).
func (s *Store) FindLeadWithTimers(ctx context.Context, tid tenant.ID, id uuid.UUID) (lead.Lead, []LeadTimer, error) {
	var l lead.Lead
	var ts []LeadTimer
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if l, err = findLead(ctx, tx, tid, id, false); err != nil {
			return err
		}
		ts, err = findLeadTimers(ctx, tx, tid, id)
		return err
	})
	return l, ts, err
}

// findLeadTimers reads a lead's timers and their holder segments.
func findLeadTimers(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID) ([]LeadTimer, error) {
	rows, err := tx.Query(ctx, timerSelect+` WHERE t.tenant_id = $1 AND t.lead_id = $2 ORDER BY t.started_at, t.kind`, tid, id)
	if err != nil {
		return nil, fmt.Errorf("query lead timers: %w", err)
	}
	timers, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LeadTimer, error) {
		t, err := scanTimer(r)
		return LeadTimer{Timer: t}, err
	})
	if err != nil {
		return nil, fmt.Errorf("scan lead timers: %w", err)
	}
	if len(timers) == 0 {
		return timers, nil
	}
	rows, err = tx.Query(ctx, `
		SELECT t.id, h.holder_id, coalesce(u.name, ''), h."from", h."to", h.business_seconds
		FROM sla_timers t
		CROSS JOIN LATERAL jsonb_to_recordset(t.holders)
		     AS h(holder_id uuid, team_id uuid, "from" timestamptz, "to" timestamptz, business_seconds bigint)
		LEFT JOIN users u ON u.id = h.holder_id
		WHERE t.tenant_id = $1 AND t.lead_id = $2
		ORDER BY t.id, h."from"`, tid, id)
	if err != nil {
		return nil, fmt.Errorf("query timer holders: %w", err)
	}
	index := map[uuid.UUID]int{}
	for i, t := range timers {
		index[t.ID] = i
	}
	var timerID uuid.UUID
	var holder uuid.NullUUID
	var h HolderTime
	var secs int64
	_, err = pgx.ForEachRow(rows, []any{&timerID, &holder, &h.HolderName, &h.From, &h.To, &secs}, func() error {
		h.Business = time.Duration(secs) * time.Second
		h.HolderID = nil
		if holder.Valid {
			id := holder.UUID
			h.HolderID = &id
		}
		if i, ok := index[timerID]; ok {
			timers[i].Holders = append(timers[i].Holders, h)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan timer holders: %w", err)
	}
	return timers, nil
}
