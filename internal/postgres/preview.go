package postgres

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// PreviewDays is how much history a preview replays (DESIGN.md §4.1).
const PreviewDays = 90

// Outcome counts resolved timers: met and breached.
type Outcome struct {
	Met      int
	Breached int
}

// PreviewRow is one team's or rep's outcome now and under the proposal.
type PreviewRow struct {
	ID       *uuid.UUID
	Name     string
	Current  Outcome
	Proposed Outcome
}

// Preview compares the agreement in force with a proposed set of clauses
// over the last 90 days of history.
type Preview struct {
	Days     int
	Leads    int
	Current  Outcome
	Proposed Outcome
	ByTeam   []PreviewRow
	ByRep    []PreviewRow
	Elapsed  time.Duration
}

// PreviewAgreement replays the last 90 days of handoffs under the clauses in
// force and under proposed, and counts met and breached timers per team and
// rep. It saves nothing.
func (s *Store) PreviewAgreement(ctx context.Context, tid tenant.ID, proposed []sla.Clause, now time.Time) (Preview, error) {
	started := time.Now()
	pv := Preview{Days: PreviewDays}
	from := now.AddDate(0, 0, -PreviewDays)
	var cur sla.Agreement
	var facts map[uuid.UUID]*sla.Facts
	var cals *timerCalendars
	names := map[uuid.UUID]string{}
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if cur, err = findAgreement(ctx, tx, tid); err != nil {
			return err
		}
		segments, err := findSegments(ctx, tx, tid)
		if err != nil {
			return err
		}
		calRows, err := findCalendars(ctx, tx, tid, uuid.Nil)
		if err != nil {
			return err
		}
		known := map[uuid.UUID]bool{}
		for _, c := range calRows {
			known[c.ID] = true
		}
		for i := range proposed {
			proposed[i].Normalize()
		}
		if errs := sla.ValidateClauses(proposed, segments, known); errs != nil {
			return errs
		}
		if cals, err = loadCalendars(ctx, tx, tid); err != nil {
			return err
		}
		if facts, err = loadWindowFacts(ctx, tx, tid, from); err != nil {
			return err
		}
		return loadNames(ctx, tx, tid, names)
	})
	if err != nil {
		return pv, err
	}
	prop := sla.Agreement{Version: cur.Version + 1, Clauses: sla.AssignIDs(proposed, cur.Clauses)}
	pv.Leads = len(facts)

	// Replay in parallel: each lead is independent.
	type tally struct {
		cur, prop Outcome
		team      map[uuid.UUID]*[2]Outcome
		rep       map[uuid.UUID]*[2]Outcome
	}
	list := make([]*sla.Facts, 0, len(facts))
	for _, f := range facts {
		list = append(list, f)
	}
	workers := runtime.GOMAXPROCS(0)
	parts := make([]tally, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			t := tally{team: map[uuid.UUID]*[2]Outcome{}, rep: map[uuid.UUID]*[2]Outcome{}}
			count := func(ts []sla.Timer, side int) {
				for _, x := range ts {
					if x.StartedAt.Before(from) {
						continue
					}
					var o *Outcome
					if side == 0 {
						o = &t.cur
					} else {
						o = &t.prop
					}
					inc := func(o *Outcome) {
						switch x.Status {
						case sla.StatusMet:
							o.Met++
						case sla.StatusBreached:
							o.Breached++
						}
					}
					inc(o)
					for _, g := range []struct {
						id *uuid.UUID
						m  map[uuid.UUID]*[2]Outcome
					}{{x.Team, t.team}, {x.Holder, t.rep}} {
						if g.id == nil {
							continue
						}
						e := g.m[*g.id]
						if e == nil {
							e = &[2]Outcome{}
							g.m[*g.id] = e
						}
						inc(&e[side])
					}
				}
			}
			for i := w; i < len(list); i += workers {
				count(sla.EvaluateOutcomes(*list[i], sla.Versions{Current: cur}, cals, now), 0)
				count(sla.EvaluateOutcomes(*list[i], sla.Versions{Current: prop}, cals, now), 1)
			}
			parts[w] = t
		}(w)
	}
	wg.Wait()
	team := map[uuid.UUID]*[2]Outcome{}
	rep := map[uuid.UUID]*[2]Outcome{}
	for _, t := range parts {
		pv.Current.Met += t.cur.Met
		pv.Current.Breached += t.cur.Breached
		pv.Proposed.Met += t.prop.Met
		pv.Proposed.Breached += t.prop.Breached
		for _, m := range []struct{ src, dst map[uuid.UUID]*[2]Outcome }{{t.team, team}, {t.rep, rep}} {
			for id, o := range m.src {
				d := m.dst[id]
				if d == nil {
					d = &[2]Outcome{}
					m.dst[id] = d
				}
				for i := 0; i < 2; i++ {
					d[i].Met += o[i].Met
					d[i].Breached += o[i].Breached
				}
			}
		}
	}
	rows := func(m map[uuid.UUID]*[2]Outcome) []PreviewRow {
		out := make([]PreviewRow, 0, len(m))
		for id, o := range m {
			id := id
			out = append(out, PreviewRow{ID: &id, Name: names[id], Current: o[0], Proposed: o[1]})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	pv.ByTeam, pv.ByRep = rows(team), rows(rep)
	pv.Elapsed = time.Since(started)
	return pv, nil
}

// loadCalendars reads the tenant's calendars and team calendars.
func loadCalendars(ctx context.Context, tx pgx.Tx, tid tenant.ID) (*timerCalendars, error) {
	var cals, teams []byte
	err := tx.QueryRow(ctx, `
		SELECT
		  (SELECT coalesce(json_agg(json_build_object('id', c.id, 'tz', c.time_zone, 'always', c.always_open, 'hours', c.hours,
		            'default', c.is_default,
		            'holidays', (SELECT coalesce(json_agg(h.day::text), '[]') FROM calendar_holidays h
		                         WHERE h.tenant_id = c.tenant_id AND h.calendar_id = c.id))), '[]')
		   FROM calendars c WHERE c.tenant_id = $1),
		  (SELECT coalesce(json_agg(json_build_array(id, calendar_id)), '[]') FROM teams WHERE tenant_id = $1 AND calendar_id IS NOT NULL)`,
		tid).Scan(&cals, &teams)
	if err != nil {
		return nil, fmt.Errorf("load calendars: %w", err)
	}
	return buildCalendars(cals, teams)
}

func loadNames(ctx context.Context, tx pgx.Tx, tid tenant.ID, names map[uuid.UUID]string) error {
	rows, err := tx.Query(ctx, `
		SELECT m.user_id, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1
		UNION ALL SELECT id, name FROM teams WHERE tenant_id = $1`, tid)
	if err != nil {
		return fmt.Errorf("load names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("scan names: %w", err)
		}
		names[id] = name
	}
	return rows.Err()
}

// loadWindowFacts reads the history of every lead handed off since from,
// in four streamed queries (not one query per lead).
func loadWindowFacts(ctx context.Context, tx pgx.Tx, tid tenant.ID, from time.Time) (map[uuid.UUID]*sla.Facts, error) {
	facts := map[uuid.UUID]*sla.Facts{}
	// The leads handed off in the window. Their timers there depend only on
	// what happened from the handoff on, so every other read is bounded by
	// the window too: range scans, no per-lead lookups.
	rows, err := tx.Query(ctx, `
		SELECT l.id, coalesce(l.segment, ''), l.source FROM leads l
		JOIN (SELECT DISTINCT lead_id FROM lead_transitions WHERE tenant_id = $1 AND to_stage = 'mql' AND at >= $2) h ON h.lead_id = l.id
		WHERE l.tenant_id = $1`, tid, from)
	if err != nil {
		return nil, fmt.Errorf("window leads: %w", err)
	}
	var id uuid.UUID
	f := &sla.Facts{}
	if _, err := pgx.ForEachRow(rows, []any{(*[16]byte)(&id), &f.Segment, &f.Source}, func() error {
		facts[id] = &sla.Facts{Segment: f.Segment, Source: f.Source}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("window leads: %w", err)
	}
	if len(facts) == 0 {
		return facts, nil
	}
	each := func(what, q string, dest []any, add func(*sla.Facts)) error {
		rows, err := tx.Query(ctx, q, tid, from)
		if err != nil {
			return fmt.Errorf("window %s: %w", what, err)
		}
		if _, err := pgx.ForEachRow(rows, dest, func() error {
			if f, ok := facts[id]; ok {
				add(f)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("window %s: %w", what, err)
		}
		return nil
	}
	var m sla.Move
	if err := each("transitions", `SELECT lead_id, seq, at, to_stage FROM lead_transitions WHERE tenant_id = $1 AND at >= $2`,
		[]any{(*[16]byte)(&id), &m.Seq, &m.At, &m.To}, func(f *sla.Facts) { f.Moves = append(f.Moves, m) }); err != nil {
		return nil, err
	}
	var kind string
	var at time.Time
	if err := each("activities", `SELECT lead_id, kind, at FROM lead_activities
		WHERE tenant_id = $1 AND kind IN ('call', 'email', 'meeting', 'linkedin', 'nurture') AND at >= $2`,
		[]any{(*[16]byte)(&id), &kind, &at}, func(f *sla.Facts) {
			if kind == "nurture" {
				f.Nurtures = append(f.Nurtures, at)
			} else {
				f.Touches = append(f.Touches, at)
			}
		}); err != nil {
		return nil, err
	}
	var w sla.Window
	if err := each("pauses", `SELECT lead_id, at, until FROM lead_pauses WHERE tenant_id = $1 AND until >= $2`,
		[]any{(*[16]byte)(&id), &w.From, &w.Until}, func(f *sla.Facts) { f.Pauses = append(f.Pauses, w) }); err != nil {
		return nil, err
	}
	var h sla.Holding
	var owner, team pgtype.UUID
	if err := each("assignments", `SELECT lead_id, at, owner_id, team_id FROM lead_assignments WHERE tenant_id = $1 AND at >= $2 ORDER BY at, id`,
		[]any{(*[16]byte)(&id), &h.At, &owner, &team}, func(f *sla.Facts) {
			f.Holdings = append(f.Holdings, sla.Holding{At: h.At, Owner: optUUID(owner), Team: optUUID(team)})
		}); err != nil {
		return nil, err
	}
	return facts, nil
}

// optUUID turns a scanned nullable uuid into an optional one (scanning into
// pgtype.UUID takes pgx's binary path; *uuid.UUID goes through text).
func optUUID(u pgtype.UUID) *uuid.UUID {
	if !u.Valid {
		return nil
	}
	id := uuid.UUID(u.Bytes)
	return &id
}
