package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// timerCalendars resolves the schedule of a clause and holding team (the
// sla.Calendars of one tenant).
type timerCalendars struct {
	def   *sla.Schedule
	byID  map[uuid.UUID]*sla.Schedule
	teams map[uuid.UUID]*sla.Schedule
}

// Schedule implements sla.Calendars.
func (c *timerCalendars) Schedule(clauseCal *uuid.UUID, team *uuid.UUID) *sla.Schedule {
	if clauseCal != nil {
		if s, ok := c.byID[*clauseCal]; ok {
			return s
		}
	}
	if team != nil {
		if s, ok := c.teams[*team]; ok {
			return s
		}
	}
	return c.def
}

// storedTimer is what the store keeps of a timer between recomputations.
type storedTimer struct {
	ID              uuid.UUID  `json:"id"`
	Kind            string     `json:"kind"`
	StartSeq        int        `json:"start_seq"`
	Version         int        `json:"agreement_version"`
	Status          string     `json:"status"`
	BreachedAt      *time.Time `json:"breached_at"`
	StoppedAt       *time.Time `json:"stopped_at"`
	AtRiskNotified  bool       `json:"at_risk_notified"`
	EscalationLevel int        `json:"escalation_level"`
}

// timerInputs is everything a lead's timers are computed from, read in one
// round trip as JSON.
type timerInputs struct {
	current   *agreementRow
	pinned    []agreementRow
	existing  []storedTimer
	facts     sla.Facts
	calendars *timerCalendars
}

type agreementRow struct {
	Version       int          `json:"version"`
	EffectiveFrom time.Time    `json:"effective_from"`
	Author        string       `json:"author_name"`
	Clauses       []clauseJSON `json:"clauses"`
}

func (a agreementRow) agreement() sla.Agreement {
	out := sla.Agreement{Version: a.Version, EffectiveFrom: a.EffectiveFrom, Author: a.Author}
	for _, c := range a.Clauses {
		out.Clauses = append(out.Clauses, c.clause())
	}
	return out
}

type calendarRow struct {
	ID       uuid.UUID             `json:"id"`
	TimeZone string                `json:"tz"`
	Always   bool                  `json:"always"`
	Hours    map[string][][]string `json:"hours"`
	Default  bool                  `json:"default"`
	Holidays []string              `json:"holidays"`
}

const timerInputsQuery = `
	SELECT
	  (SELECT row_to_json(a) FROM (SELECT version, effective_from, author_name, clauses FROM agreement_versions
	                               WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1) a),
	  (SELECT coalesce(json_agg(row_to_json(v)), '[]') FROM (
	     SELECT version, effective_from, author_name, clauses FROM agreement_versions
	     WHERE tenant_id = $1 AND version IN (SELECT agreement_version FROM sla_timers WHERE tenant_id = $1 AND lead_id = $2)) v),
	  (SELECT coalesce(json_agg(row_to_json(t)), '[]') FROM (
	     SELECT id, kind, start_seq, agreement_version, status, breached_at, stopped_at, at_risk_notified, escalation_level
	     FROM sla_timers WHERE tenant_id = $1 AND lead_id = $2) t),
	  (SELECT coalesce(json_agg(json_build_array(seq, at, to_stage) ORDER BY seq), '[]') FROM lead_transitions
	   WHERE tenant_id = $1 AND lead_id = $2),
	  (SELECT coalesce(json_agg(json_build_array(kind, at)), '[]') FROM lead_activities
	   WHERE tenant_id = $1 AND lead_id = $2 AND kind IN ('call', 'email', 'meeting', 'linkedin', 'nurture')),
	  (SELECT coalesce(json_agg(json_build_array(at, until)), '[]') FROM lead_pauses WHERE tenant_id = $1 AND lead_id = $2),
	  (SELECT coalesce(json_agg(json_build_array(at, owner_id, team_id) ORDER BY at, id), '[]') FROM lead_assignments
	   WHERE tenant_id = $1 AND lead_id = $2),
	  (SELECT coalesce(json_agg(json_build_object('id', c.id, 'tz', c.time_zone, 'always', c.always_open, 'hours', c.hours,
	            'default', c.is_default,
	            'holidays', (SELECT coalesce(json_agg(h.day::text), '[]') FROM calendar_holidays h
	                         WHERE h.tenant_id = c.tenant_id AND h.calendar_id = c.id))), '[]')
	   FROM calendars c WHERE c.tenant_id = $1),
	  (SELECT coalesce(json_agg(json_build_array(id, calendar_id)), '[]') FROM teams WHERE tenant_id = $1 AND calendar_id IS NOT NULL)`

// loadTimerInputs reads a lead's history, timers, agreement versions and
// the tenant's calendars.
func loadTimerInputs(ctx context.Context, tx pgx.Tx, tid tenant.ID, l lead.Lead) (timerInputs, error) {
	return scanTimerInputs(tx.QueryRow(ctx, timerInputsQuery, tid, l.ID), l)
}

// scanTimerInputs decodes the row of timerInputsQuery for lead l, wherever
// it was sent (alone, or in a batch with the statement before it).
func scanTimerInputs(row pgx.Row, l lead.Lead) (timerInputs, error) {
	var in timerInputs
	var current, pinned, existing, moves, acts, pauses, holds, cals, teams []byte
	if err := row.Scan(&current, &pinned, &existing, &moves, &acts, &pauses, &holds, &cals, &teams); err != nil {
		return in, fmt.Errorf("load timer inputs: %w", err)
	}
	if current != nil {
		in.current = &agreementRow{}
		if err := json.Unmarshal(current, in.current); err != nil {
			return in, fmt.Errorf("decode agreement: %w", err)
		}
	}
	if err := json.Unmarshal(pinned, &in.pinned); err != nil {
		return in, fmt.Errorf("decode pinned agreements: %w", err)
	}
	if err := json.Unmarshal(existing, &in.existing); err != nil {
		return in, fmt.Errorf("decode timers: %w", err)
	}
	if in.current == nil && len(in.existing) == 0 {
		return in, nil // no agreement yet: nothing to compute
	}
	f := sla.Facts{Source: l.Source}
	if l.Segment != nil {
		f.Segment = *l.Segment
	}
	var rawMoves [][3]json.RawMessage
	if err := json.Unmarshal(moves, &rawMoves); err != nil {
		return in, fmt.Errorf("decode moves: %w", err)
	}
	for _, m := range rawMoves {
		var mv sla.Move
		if err := decodeAll(m[:], &mv.Seq, &mv.At, &mv.To); err != nil {
			return in, fmt.Errorf("decode move: %w", err)
		}
		f.Moves = append(f.Moves, mv)
	}
	var rawActs [][2]json.RawMessage
	if err := json.Unmarshal(acts, &rawActs); err != nil {
		return in, fmt.Errorf("decode activities: %w", err)
	}
	for _, a := range rawActs {
		var kind string
		var at time.Time
		if err := decodeAll(a[:], &kind, &at); err != nil {
			return in, fmt.Errorf("decode activity: %w", err)
		}
		if kind == string(lead.ActNurture) {
			f.Nurtures = append(f.Nurtures, at)
		} else {
			f.Touches = append(f.Touches, at)
		}
	}
	var rawPauses [][2]time.Time
	if err := json.Unmarshal(pauses, &rawPauses); err != nil {
		return in, fmt.Errorf("decode pauses: %w", err)
	}
	for _, p := range rawPauses {
		f.Pauses = append(f.Pauses, sla.Window{From: p[0], Until: p[1]})
	}
	var rawHolds [][3]json.RawMessage
	if err := json.Unmarshal(holds, &rawHolds); err != nil {
		return in, fmt.Errorf("decode holdings: %w", err)
	}
	for _, h := range rawHolds {
		var hd sla.Holding
		if err := decodeAll(h[:], &hd.At, &hd.Owner, &hd.Team); err != nil {
			return in, fmt.Errorf("decode holding: %w", err)
		}
		f.Holdings = append(f.Holdings, hd)
	}
	in.facts = f
	tc, err := buildCalendars(cals, teams)
	if err != nil {
		return in, err
	}
	in.calendars = tc
	return in, nil
}

func decodeAll(raw []json.RawMessage, dst ...any) error {
	for i, d := range dst {
		if err := json.Unmarshal(raw[i], d); err != nil {
			return err
		}
	}
	return nil
}

func buildCalendars(cals, teams []byte) (*timerCalendars, error) {
	var rows []calendarRow
	if err := json.Unmarshal(cals, &rows); err != nil {
		return nil, fmt.Errorf("decode calendars: %w", err)
	}
	tc := &timerCalendars{byID: map[uuid.UUID]*sla.Schedule{}, teams: map[uuid.UUID]*sla.Schedule{}}
	for _, r := range rows {
		week, errs := sla.ParseWeek(r.Hours)
		if errs != nil {
			return nil, fmt.Errorf("calendar %s: %w", r.ID, errs)
		}
		c := sla.Calendar{ID: r.ID, Name: r.ID.String(), TimeZone: r.TimeZone, AlwaysOpen: r.Always, Hours: week}
		for _, d := range r.Holidays {
			c.Holidays = append(c.Holidays, sla.Holiday{Date: d, Name: "holiday"})
		}
		s, err := sla.NewSchedule(c)
		if err != nil {
			return nil, err
		}
		tc.byID[r.ID] = s
		if r.Default {
			tc.def = s
		}
	}
	if tc.def == nil {
		// Every tenant has a default calendar; this guards an inconsistent
		// database rather than a real case.
		tc.def = sla.MustSchedule(sla.Calendar{Name: "fallback", TimeZone: "UTC", Hours: sla.DefaultWeek()})
	}
	var pairs [][2]uuid.UUID
	if err := json.Unmarshal(teams, &pairs); err != nil {
		return nil, fmt.Errorf("decode team calendars: %w", err)
	}
	for _, p := range pairs {
		if s, ok := tc.byID[p[1]]; ok {
			tc.teams[p[0]] = s
		}
	}
	return tc, nil
}

// timerRow is one timer to write, as the upsert statement reads it.
type timerRow struct {
	ID          uuid.UUID       `json:"id"`
	Kind        string          `json:"kind"`
	Side        string          `json:"side"`
	StartSeq    int             `json:"start_seq"`
	ClauseID    uuid.UUID       `json:"clause_id"`
	Version     int             `json:"agreement_version"`
	Status      string          `json:"status"`
	StartedAt   time.Time       `json:"started_at"`
	DueAt       time.Time       `json:"due_at"`
	WarnAt      time.Time       `json:"warn_at"`
	StoppedAt   *time.Time      `json:"stopped_at"`
	BreachedAt  *time.Time      `json:"breached_at"`
	HolderID    *uuid.UUID      `json:"holder_id"`
	TeamID      *uuid.UUID      `json:"team_id"`
	Paused      int             `json:"paused_minutes"`
	Holders     json.RawMessage `json:"holders"`
	NextCheckAt *time.Time      `json:"next_check_at"`
	Escalations json.RawMessage `json:"escalations"`
	NewBreach   bool            `json:"new_breach"`
}

type holderJSON struct {
	Holder   *uuid.UUID `json:"holder_id"`
	Team     *uuid.UUID `json:"team_id"`
	From     time.Time  `json:"from"`
	To       time.Time  `json:"to"`
	Business int64      `json:"business_seconds"`
}

const upsertTimersQuery = `
	WITH input AS (
	  SELECT * FROM json_to_recordset($3::json) AS x(id uuid, kind text, side text, start_seq int, clause_id uuid,
	    agreement_version int, status text, started_at timestamptz, due_at timestamptz, warn_at timestamptz,
	    stopped_at timestamptz, breached_at timestamptz, holder_id uuid, team_id uuid, paused_minutes int, holders jsonb,
	    next_check_at timestamptz, escalations jsonb, new_breach boolean)),
	up AS (
	  INSERT INTO sla_timers (tenant_id, id, lead_id, kind, side, start_seq, clause_id, agreement_version, status, started_at,
	                          due_at, warn_at, stopped_at, breached_at, holder_id, team_id, paused_minutes, holders,
	                          next_check_at, escalations, updated_at)
	  SELECT $1, id, $2, kind, side, start_seq, clause_id, agreement_version, status, started_at, due_at, warn_at, stopped_at,
	         breached_at, holder_id, team_id, paused_minutes, holders, next_check_at, escalations, $4
	  FROM input
	  ON CONFLICT (tenant_id, lead_id, kind, start_seq) DO UPDATE SET
	    clause_id = excluded.clause_id, agreement_version = excluded.agreement_version, status = excluded.status,
	    due_at = excluded.due_at, warn_at = excluded.warn_at, stopped_at = excluded.stopped_at,
	    breached_at = excluded.breached_at, holder_id = excluded.holder_id, team_id = excluded.team_id,
	    paused_minutes = excluded.paused_minutes, holders = excluded.holders, next_check_at = excluded.next_check_at,
	    escalations = excluded.escalations, updated_at = excluded.updated_at
	  RETURNING id)
	INSERT INTO sla_breaches (tenant_id, id, timer_id, lead_id, kind, side, clause_id, holder_id, team_id, due_at, breached_at, detected_at)
	SELECT $1, gen_random_uuid(), i.id, $2, i.kind, i.side, i.clause_id, i.holder_id, i.team_id, i.due_at, i.breached_at, $4
	FROM input i JOIN up ON up.id = i.id
	WHERE i.new_breach
	ON CONFLICT (tenant_id, timer_id) DO NOTHING`

// evaluate computes the lead's timers at now, each pinned to the version it
// started under (open ones to the version in force with repin), and returns
// the stored timers by key beside them.
func (in timerInputs) evaluate(repin bool, now time.Time) ([]sla.Timer, map[sla.TimerKey]storedTimer) {
	vs := sla.Versions{ByNum: map[int]sla.Agreement{}, Pinned: map[sla.TimerKey]int{}}
	if in.current != nil {
		vs.Current = in.current.agreement()
		vs.ByNum[vs.Current.Version] = vs.Current
	}
	for _, p := range in.pinned {
		vs.ByNum[p.Version] = p.agreement()
	}
	existing := map[sla.TimerKey]storedTimer{}
	for _, t := range in.existing {
		key := sla.TimerKey{Kind: sla.Kind(t.Kind), StartSeq: t.StartSeq}
		existing[key] = t
		if !(repin && sla.Status(t.Status).Open()) {
			vs.Pinned[key] = t.Version
		}
	}
	return sla.Evaluate(in.facts, vs, in.calendars, now), existing
}

// syncTimers recomputes the timers of lead l from its history, in the
// transaction of the event that changed it: timers start, stop and move
// with their cause. Recorded breaches are never erased. repin moves open
// timers to the version in force (an agreement applied to running timers).
func (s *Store) syncTimers(ctx context.Context, tx pgx.Tx, tid tenant.ID, l lead.Lead, now time.Time, repin bool) error {
	in, err := loadTimerInputs(ctx, tx, tid, l)
	if err != nil {
		return err
	}
	return s.syncTimersFrom(ctx, tx, tid, l, in, now, repin)
}

// syncTimersFrom is syncTimers with the inputs already read.
func (s *Store) syncTimersFrom(ctx context.Context, tx pgx.Tx, tid tenant.ID, l lead.Lead, in timerInputs, now time.Time, repin bool) error {
	if in.current == nil && len(in.existing) == 0 {
		return nil
	}
	computed, existing := in.evaluate(repin, now)
	var rows []timerRow
	seen := map[sla.TimerKey]bool{}
	for _, t := range computed {
		key := t.Key()
		seen[key] = true
		ex, had := existing[key]
		row := timerRowOf(t)
		if had {
			row.ID = ex.ID
			if ex.Status == string(sla.StatusBreached) && t.Status != sla.StatusBreached {
				// A recorded breach stays; late facts may only say when the
				// lead was finally dealt with.
				row.Status, row.BreachedAt = ex.Status, ex.BreachedAt
				if t.StoppedAt != nil {
					row.StoppedAt = t.StoppedAt
				}
			}
		} else {
			row.ID = uuid.New()
		}
		row.NewBreach = row.Status == string(sla.StatusBreached) && !(had && ex.Status == string(sla.StatusBreached))
		row.NextCheckAt = nextCheck(row, t, ex, had, now)
		rows = append(rows, row)
	}
	// A timer the history no longer starts (the lead's scope changed and no
	// clause matches) is cancelled if it still ran.
	for key, ex := range existing {
		if seen[key] || !sla.Status(ex.Status).Open() {
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE sla_timers SET status = 'cancelled', stopped_at = $3, next_check_at = NULL, updated_at = $3
			WHERE tenant_id = $1 AND id = $2`, tid, ex.ID, now); err != nil {
			return fmt.Errorf("cancel timer: %w", err)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	raw, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("encode timers: %w", err)
	}
	if _, err := tx.Exec(ctx, upsertTimersQuery, tid, l.ID, raw, now); err != nil {
		return fmt.Errorf("write timers: %w", mapErr(err))
	}
	return nil
}

func timerRowOf(t sla.Timer) timerRow {
	hs := make([]holderJSON, len(t.Holders))
	for i, h := range t.Holders {
		hs[i] = holderJSON{Holder: h.Holder, Team: h.Team, From: h.From, To: h.To, Business: int64(h.Business / time.Second)}
	}
	holders, _ := json.Marshal(hs)
	esc, _ := json.Marshal(t.Escalations)
	if t.Escalations == nil {
		esc = []byte("[]")
	}
	return timerRow{Kind: string(t.Kind), Side: string(t.Side), StartSeq: t.StartSeq, ClauseID: t.ClauseID, Version: t.Version,
		Status: string(t.Status), StartedAt: t.StartedAt, DueAt: t.DueAt, WarnAt: t.WarnAt, StoppedAt: t.StoppedAt,
		BreachedAt: t.BreachedAt, HolderID: t.Holder, TeamID: t.Team, Paused: t.PausedMinutes, Holders: holders, Escalations: esc}
}

// nextCheck is when the worker must look at a timer next: its warning
// (while not yet notified), its due time, then each pending escalation step
// while the lead stays unresolved.
func nextCheck(row timerRow, t sla.Timer, ex storedTimer, had bool, now time.Time) *time.Time {
	switch sla.Status(row.Status) {
	case sla.StatusRunning, sla.StatusAtRisk:
		if !(had && ex.AtRiskNotified) && row.WarnAt.Before(row.DueAt) {
			return &row.WarnAt
		}
		return &row.DueAt
	case sla.StatusBreached:
		if row.StoppedAt != nil {
			// Dealt with: the ladder stops, but a breach just recorded still
			// gets its first step (the breach notification).
			if !(had && ex.EscalationLevel > 0) && len(t.Escalations) > 0 && !t.Escalations[0].After(*row.StoppedAt) {
				return &t.Escalations[0]
			}
			return nil
		}
		level := 0
		if had {
			level = ex.EscalationLevel
		}
		if level < len(t.Escalations) {
			return &t.Escalations[level]
		}
	}
	return nil
}

// BackfillTimers computes the timers of every lead of tenant tid from its
// history, 500 leads per transaction: for history stored without them (the
// demo seed, a bulk load). Leads whose history starts no timer are left as
// they are; it is safe to run twice.
func (s *Store) BackfillTimers(ctx context.Context, tid tenant.ID, now time.Time) (int, error) {
	after := uuid.Nil
	total := 0
	for {
		var n int
		err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, leadSelect+` WHERE l.tenant_id = $1 AND l.id > $2 ORDER BY l.id LIMIT 500`, tid, after)
			if err != nil {
				return fmt.Errorf("query leads: %w", err)
			}
			leads, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lead.Lead, error) { return scanLead(r) })
			if err != nil {
				return fmt.Errorf("scan leads: %w", err)
			}
			for _, l := range leads {
				if err := s.syncTimers(ctx, tx, tid, l, now, false); err != nil {
					return err
				}
			}
			n = len(leads)
			if n > 0 {
				after = leads[n-1].ID
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < 500 {
			return total, nil
		}
	}
}

// RecomputeTimers recomputes the timers of every lead of tenant tid that
// has a running timer, a batch of leads per transaction; repin moves them
// to the version in force. It returns the number of leads.
func (s *Store) RecomputeTimers(ctx context.Context, tid tenant.ID, repin bool, now time.Time) (int, error) {
	after := uuid.Nil
	total := 0
	for {
		var ids []uuid.UUID
		err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `
				SELECT DISTINCT lead_id FROM sla_timers
				WHERE tenant_id = $1 AND status IN ('running', 'at_risk') AND lead_id > $2
				ORDER BY lead_id LIMIT 500`, tid, after)
			if err != nil {
				return fmt.Errorf("leads with running timers: %w", err)
			}
			if ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
				return fmt.Errorf("scan leads: %w", err)
			}
			for _, id := range ids {
				l, err := findLead(ctx, tx, tid, id, false)
				if err != nil {
					return err
				}
				if err := s.syncTimers(ctx, tx, tid, l, now, repin); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(ids)
		if len(ids) < 500 {
			return total, nil
		}
		after = ids[len(ids)-1]
	}
}
