package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/demo"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/metric"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/tenant"
)

// referenceHandoffs judges every handoff straight from the history, the
// way DESIGN.md §5 words it, written independently of the migration's
// view: the facts in lead_handoffs must be exactly these rows.
const referenceHandoffs = `
	SELECT (lead_id, seq, at, team_id, segment, source, campaign, icp_fit, next_seq, next_at,
	        decision, decided_at, reached, touched_at)::text
	FROM (` + referenceJudged + `) j ORDER BY lead_id, seq`

// referenceJudged is every handoff with its judgement, one column each.
const referenceJudged = `
	WITH h AS (
	  SELECT x.lead_id, x.seq, x.at, x.team_id,
	         (SELECT min(n.seq) FROM lead_transitions n WHERE n.lead_id = x.lead_id AND n.to_stage = 'mql' AND n.seq > x.seq) AS next_seq
	  FROM lead_transitions x WHERE x.to_stage = 'mql'
	), w AS (
	  SELECT h.*, (SELECT n.at FROM lead_transitions n WHERE n.lead_id = h.lead_id AND n.seq = h.next_seq) AS next_at,
	         (SELECT min(e.seq) FROM lead_transitions e
	          WHERE e.lead_id = h.lead_id AND e.seq > h.seq AND e.seq < coalesce(h.next_seq, 2147483647)
	            AND e.to_stage IN ('accepted', 'rejected')) AS decided_seq
	  FROM h
	)
	SELECT w.lead_id, w.seq, w.at, w.team_id, l.segment, l.source, l.campaign, l.icp_fit, w.next_seq, w.next_at,
	       d.to_stage AS decision, d.at AS decided_at,
	       (SELECT coalesce(max(array_position(ARRAY['accepted', 'sql', 'opportunity', 'won'], r.to_stage)), 0)
	        FROM lead_transitions r WHERE r.lead_id = w.lead_id AND r.seq > w.seq AND r.seq < coalesce(w.next_seq, 2147483647)) AS reached,
	       (SELECT min(a.at) FROM lead_activities a
	        WHERE a.lead_id = w.lead_id AND a.kind IN ('call', 'email', 'meeting', 'linkedin')
	          AND a.at >= w.at AND a.at < coalesce(w.next_at, 'infinity')) AS touched_at
	FROM w
	JOIN leads l ON l.id = w.lead_id
	LEFT JOIN lead_transitions d ON d.lead_id = w.lead_id AND d.seq = w.decided_seq`

// storedHandoffs lists lead_handoffs in referenceHandoffs' form.
const storedHandoffs = `
	SELECT (lead_id, seq, at, team_id, segment, source, campaign, icp_fit, next_seq, next_at,
	        decision, decided_at, reached, touched_at)::text
	FROM lead_handoffs ORDER BY lead_id, seq`

// referenceOutcomes is the flow from the history: transitions to
// opportunity, won, lost and rejected, the amount the lead is at after
// each (the latest set at or before it, for opportunity and won) and its
// first handoff before it.
const referenceOutcomes = `
	SELECT (x.lead_id, x.seq, x.to_stage, x.at, x.team_id, x.reason,
	        CASE WHEN x.to_stage IN ('opportunity', 'won') THEN
	          (SELECT p.amount_cents FROM lead_transitions p
	           WHERE p.lead_id = x.lead_id AND p.seq <= x.seq AND p.amount_cents IS NOT NULL ORDER BY p.seq DESC LIMIT 1) END,
	        (SELECT min(m.at) FROM lead_transitions m WHERE m.lead_id = x.lead_id AND m.to_stage = 'mql' AND m.seq < x.seq),
	        l.segment, l.source, l.campaign)::text
	FROM lead_transitions x JOIN leads l ON l.id = x.lead_id
	WHERE x.to_stage IN ('opportunity', 'won', 'lost', 'rejected')
	ORDER BY x.lead_id, x.seq`

const storedOutcomes = `
	SELECT (lead_id, seq, stage, at, team_id, reason, amount_cents, first_handoff_at, segment, source, campaign)::text
	FROM lead_outcomes ORDER BY lead_id, seq`

// requireFactsTrue checks tenant tid's facts against the reference over
// its history, and returns how many handoffs there are.
func requireFactsTrue(t *testing.T, st *postgres.Store, tid tenant.ID, step string) int {
	t.Helper()
	var n int
	inTenant(t, st, tid, func(tx pgx.Tx) {
		list := func(q string) []string {
			rows, err := tx.Query(context.Background(), q)
			require.NoError(t, err)
			out, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			return out
		}
		want := list(referenceHandoffs)
		requireSameRows(t, want, list(storedHandoffs), "handoff facts after "+step)
		requireSameRows(t, list(referenceOutcomes), list(storedOutcomes), "outcome facts after "+step)
		n = len(want)
	})
	return n
}

// requireSameRows fails with the rows only one side has (a few of them),
// rather than both lists whole.
func requireSameRows(t *testing.T, want, got []string, what string) {
	t.Helper()
	if slices.Equal(want, got) {
		return
	}
	has := func(rows []string) map[string]bool {
		m := map[string]bool{}
		for _, r := range rows {
			m[r] = true
		}
		return m
	}
	inWant, inGot := has(want), has(got)
	var missing, extra []string
	for _, r := range want {
		if !inGot[r] && len(missing) < 5 {
			missing = append(missing, r)
		}
	}
	for _, r := range got {
		if !inWant[r] && len(extra) < 5 {
			extra = append(extra, r)
		}
	}
	t.Fatalf("%s: %d rows expected, %d stored\nmissing: %s\nunexpected: %s", what, len(want), len(got),
		strings.Join(missing, "\n  "), strings.Join(extra, "\n  "))
}

// TestStore_FunnelFacts: the facts the figures read (migration 13) stay
// exactly what the history says through every write path: a bulk insert,
// then random transitions, touches logged late into any handoff's window,
// non-touch activities, lead attribute edits, and a CSV import that
// creates handed-off leads and edits existing ones. Another tenant's facts
// never show, and the application cannot write facts itself.
func TestStore_FunnelFacts(t *testing.T) {
	t.Parallel()
	f := setupFunnel(t)
	ctx := context.Background()
	st, tid := f.store, f.a.ID

	// A generated history, through COPY and the statement triggers.
	reasons, err := st.FindReasons(ctx, tid)
	require.NoError(t, err)
	cfg := demo.Config{Seed: 7, Now: t0, Days: 30, Leads: 400, Location: f.a.Location(), Segments: postgres.DefaultSegments,
		Marketer: auth.Actor{Type: auth.ActorUser, ID: f.mkt.ID, Name: f.mkt.Name}, Website: "https://www.alpha.test"}
	for _, r := range reasons {
		cfg.Reasons = append(cfg.Reasons, r.Code)
	}
	for _, m := range []auth.Member{f.rep1, f.rep2} {
		cfg.Reps = append(cfg.Reps, demo.Rep{ID: m.ID, Name: m.Name, TeamID: f.team.ID, TeamName: f.team.Name})
	}
	g, err := demo.New(cfg)
	require.NoError(t, err)
	_, err = st.BulkInsertLeadHistory(ctx, tid, g, postgres.BulkOptions{ChunkSize: 150})
	require.NoError(t, err)
	require.Greater(t, requireFactsTrue(t, st, tid, "bulk insert"), 100)
	requireRollupsTrue(t, st, tid, f.team, t0, "bulk insert")

	page, err := st.FindLeads(ctx, tid, lead.Filter{Limit: 400})
	require.NoError(t, err)
	leads := page.Leads
	require.NotEmpty(t, leads)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 13))
	now := t0.Add(40 * 24 * time.Hour)
	sources := []string{"webinar", "paid_search", "organic", ""}
	segments := []string{"smb", "mid", "enterprise"}
	kinds := []lead.ActivityKind{lead.ActCall, lead.ActEmail, lead.ActMeeting, lead.ActLinkedIn, lead.ActNote, lead.ActNurture}
	for i := range 300 {
		l, err := st.FindLead(ctx, tid, leads[r.IntN(len(leads))].ID)
		require.NoError(t, err)
		switch op := r.IntN(10); {
		case op < 5:
			// A move the funnel allows, a little after the lead's last one.
			targets := lead.Targets(l.Stage)
			if len(targets) == 0 {
				continue
			}
			in := lead.TransitionInput{To: targets[r.IntN(len(targets))]}
			if in.To == lead.StageMQL {
				in.OwnerID = &f.rep1.ID
			}
			if needsReason, needsAmount, err := lead.CheckMove(l.Stage, in.To, lead.Mover{API: true}); err == nil {
				if needsReason || in.To == lead.StageRejected {
					in.Reason = reasons[r.IntN(len(reasons))].Code
				}
				if needsAmount || (in.To == lead.StageWon && r.IntN(2) == 0) {
					c := lead.Cents(1000 + r.Int64N(1_000_000))
					in.Amount = &c
				}
			}
			at := l.StageChangedAt.Add(time.Duration(r.IntN(600)) * time.Minute)
			if at.After(now) {
				at = now
			}
			in.At = &at
			_, err = st.Transition(ctx, tid, f.api, l.ID, in, now)
			require.NoError(t, err, "move %d: %s → %s", i, l.Stage, in.To)
		case op < 8:
			// An activity at any time since the lead arrived: late touches
			// land in earlier handoffs' windows.
			at := l.CreatedAt.Add(time.Duration(r.Int64N(int64(now.Sub(l.CreatedAt)))))
			in := lead.ActivityInput{Kind: kinds[r.IntN(len(kinds))], At: &at}
			_, _, err = st.AddActivity(ctx, tid, f.api, l.ID, in, now)
			require.NoError(t, err, "activity %d", i)
		default:
			// An edit of the attributes the filters use.
			in := lead.Input{Email: l.Email, ExternalID: l.ExternalID, Source: &sources[r.IntN(len(sources))],
				Segment: &segments[r.IntN(len(segments))], Campaign: str(fmt.Sprintf("c%d", r.IntN(3))), ICPFit: boolPtr(r.IntN(2) == 0)}
			_, err = st.UpsertLead(ctx, tid, f.api, in, now)
			require.NoError(t, err, "edit %d", i)
		}
	}
	requireFactsTrue(t, st, tid, "random writes")
	requireCohortsTrue(t, st, tid, f.team.ID, t0.AddDate(0, 0, -20), t0.AddDate(0, 0, -5))
	requireRollupsTrue(t, st, tid, f.team, now, "random writes")

	// An import: new leads handed off on arrival (one with the won stage),
	// and existing leads edited in one set-based UPDATE.
	var csv strings.Builder
	csv.WriteString("external_id,email,first_name,segment,source,campaign,created_at,stage\r\n")
	for i := range 20 {
		fmt.Fprintf(&csv, "imp-%d,imp%d@example.com,Imp,smb,import_src,imp,2026-10-%02d 09:00,%s\r\n", i, i, 1+i, []string{"new", "mql", "won"}[i%3])
	}
	for _, l := range leads[:15] {
		fmt.Fprintf(&csv, ",%s,,enterprise,edited_src,edited,,\r\n", *l.Email)
	}
	id := uploadImport(t, st, f.a, lead.PresetAccord, "facts.csv", csv.String(), true)
	im := runImport(t, st, tid, id, 10)
	require.Equal(t, lead.ImportDone, im.Status, im.Failure)
	require.Equal(t, 35, im.Created+im.Updated)
	requireFactsTrue(t, st, tid, "import")
	requireRollupsTrue(t, st, tid, f.team, now, "import")
	require.Positive(t, count(t, st, tid, `SELECT count(*) FROM lead_handoffs WHERE source = 'edited_src'`), "imported edits reach the facts")

	// One statement that brings a new lead's whole history (judged in the
	// trigger's window pass) and moves a lead that has one (re-judged from
	// its history): each half by its own path, both true. The new lead is
	// handed off twice, decided, touched in each window and won with an
	// amount set on the way.
	fresh, old := newLeadID(t), leads[0].ID
	commitInTenant(t, st, tid, func(tx pgx.Tx) {
		_, err := tx.Exec(ctx, `INSERT INTO leads (tenant_id, id, source, campaign, segment, stage, stage_changed_at, currency, created_at, updated_at)
			VALUES ($1, $2, 'fresh_src', 'fresh', 'smb', 'won', $3, 'EUR', $3, $3)`, tid, fresh, now)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `INSERT INTO lead_activities (tenant_id, lead_id, kind, at, recorded_at, actor_type, actor_name)
			VALUES ($1, $2, 'call', $3::timestamptz + interval '2 hours', $3, 'system', 't'),
			       ($1, $2, 'note', $3::timestamptz + interval '1 hour', $3, 'system', 't'),
			       ($1, $2, 'email', $3::timestamptz + interval '6 hours', $3, 'system', 't')`, tid, fresh, now)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `
			INSERT INTO lead_transitions (tenant_id, lead_id, seq, from_stage, to_stage, at, recorded_at, actor_type, actor_name, reason, amount_cents, team_id)
			SELECT $1, v.lead_id, v.seq, NULL, v.to_stage, $3::timestamptz + v.after, $3, 'system', 't', v.reason, v.amount, $5
			FROM (VALUES ($2::uuid, 1, 'new', interval '0', NULL, NULL::bigint),
			             ($2, 2, 'mql', interval '1 hour', NULL, NULL),
			             ($2, 3, 'rejected', interval '3 hours', 'no_budget', NULL),
			             ($2, 4, 'mql', interval '5 hours', NULL, NULL),
			             ($2, 5, 'accepted', interval '7 hours', NULL, NULL),
			             ($2, 6, 'opportunity', interval '8 hours', NULL, 50000),
			             ($2, 7, 'won', interval '9 hours', NULL, NULL),
			             ($4, (SELECT max(seq) + 1 FROM lead_transitions WHERE lead_id = $4), 'mql', interval '10 hours', NULL, NULL))
			  AS v (lead_id, seq, to_stage, after, reason, amount)`, tid, fresh, now, old, f.team.ID)
		require.NoError(t, err)
	})
	requireFactsTrue(t, st, tid, "a statement with a new and a known lead")
	requireRollupsTrue(t, st, tid, f.team, now, "a statement with a new and a known lead")
	require.Equal(t, 2, count(t, st, tid, `SELECT count(*) FROM lead_handoffs WHERE lead_id = $1`, fresh))
	require.Equal(t, 2, count(t, st, tid, `SELECT count(*) FROM lead_outcomes WHERE lead_id = $1 AND amount_cents = 50000`, fresh))

	// The figures come from the facts: a quarter's handoffs are the
	// reference's handoffs of that quarter.
	p := metric.NewPeriod(t0.AddDate(0, 0, -60), now, f.a.Location())
	m, err := st.FindMetrics(ctx, tid, p, metric.Filter{}, now)
	require.NoError(t, err)
	require.NoError(t, m.Check())
	require.EqualValues(t, count(t, st, tid, `SELECT count(*) FROM lead_transitions WHERE to_stage = 'mql' AND at >= $1 AND at < $2`, p.From, p.To),
		m.Handoffs)
	d, err := st.FindDashboard(ctx, tid, p, metric.Filter{}, now)
	require.NoError(t, err)
	var speed int64
	for _, n := range d.Speed {
		speed += n
	}
	require.Equal(t, m.Handoffs, speed, "every handoff has its bar")

	t.Run("OtherTenant", func(t *testing.T) {
		require.Zero(t, count(t, st, f.b.ID, `SELECT count(*) FROM lead_handoffs`))
		require.Zero(t, count(t, st, f.b.ID, `SELECT count(*) FROM lead_outcomes`))
		require.Zero(t, count(t, st, f.b.ID, `SELECT count(*) FROM lead_handoffs WHERE tenant_id = $1`, tid))
		for _, table := range []string{"lead_handoff_deltas", "lead_outcome_deltas", "lead_cohort_rollup", "lead_speed_rollup", "lead_flow_rollup"} {
			require.Zero(t, count(t, st, f.b.ID, `SELECT count(*) FROM `+table), table)
		}
		require.Positive(t, count(t, st, tid, `SELECT count(*) FROM lead_cohort_rollup`))
		other, err := st.FindMetrics(ctx, f.b.ID, p, metric.Filter{}, now)
		require.NoError(t, err)
		require.Zero(t, other.Handoffs)
		require.Zero(t, other.Wins+other.Losses)
		require.Empty(t, other.BySource)
	})

	// No foreign key holds the facts to their transitions: the delete
	// trigger takes them with their lead, as a cascade would, and leaves
	// every other lead's facts as the history says.
	t.Run("GoWithTheirLead", func(t *testing.T) {
		// The owner, as the tenant (the policies hold for it too); the
		// trigger runs as it.
		tx, err := f.db.OwnerConn(t).Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, true)`, tid.String())
		require.NoError(t, err)
		tag, err := tx.Exec(ctx, `DELETE FROM leads WHERE tenant_id = $1 AND id = ANY ($2)`, tid, []uuid.UUID{fresh, leads[1].ID})
		require.NoError(t, err)
		require.EqualValues(t, 2, tag.RowsAffected())
		require.NoError(t, tx.Commit(ctx))
		require.Zero(t, count(t, st, tid, `SELECT count(*) FROM lead_handoffs WHERE lead_id = ANY ($1)`, []uuid.UUID{fresh, leads[1].ID}))
		require.Zero(t, count(t, st, tid, `SELECT count(*) FROM lead_outcomes WHERE lead_id = ANY ($1)`, []uuid.UUID{fresh, leads[1].ID}))
		requireFactsTrue(t, st, tid, "deleting leads")
		requireRollupsTrue(t, st, tid, f.team, now, "deleting leads")
		require.Zero(t, count(t, st, tid, `
			SELECT count(*) FROM (SELECT tenant_id, lead_id, seq FROM lead_handoffs UNION ALL SELECT tenant_id, lead_id, seq FROM lead_outcomes) f
			WHERE NOT EXISTS (SELECT FROM lead_transitions x WHERE x.tenant_id = f.tenant_id AND x.lead_id = f.lead_id AND x.seq = f.seq)`),
			"every fact has its transition")
	})

	t.Run("AppCannotWrite", func(t *testing.T) {
		inTenant(t, st, tid, func(tx pgx.Tx) {
			_, err := tx.Exec(ctx, `UPDATE lead_handoffs SET reached = 4`)
			require.ErrorContains(t, err, "permission denied")
		})
		inTenant(t, st, tid, func(tx pgx.Tx) {
			_, err := tx.Exec(ctx, `UPDATE lead_cohort_rollup SET handoffs = 0`)
			require.ErrorContains(t, err, "permission denied")
		})
		inTenant(t, st, tid, func(tx pgx.Tx) {
			_, err := tx.Exec(ctx, `INSERT INTO lead_handoff_deltas (tenant_id, day, source, campaign, reached, n) VALUES ($1, now(), '', '', 0, 1)`, tid)
			require.ErrorContains(t, err, "permission denied")
		})
	})
}

// commitInTenant runs fn in a transaction of tenant tid and commits it.
func commitInTenant(t *testing.T, st *postgres.Store, tid tenant.ID, fn func(pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, true)`, tid.String())
	require.NoError(t, err)
	fn(tx)
	require.NoError(t, tx.Commit(ctx))
}

func newLeadID(t *testing.T) uuid.UUID {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	return id
}

// requireCohortsTrue checks that the lead list's handoff filter (the
// drill-down behind every cohort figure) lists exactly the leads the
// reference judges to have a handoff in [from, to) with each decision,
// stage reached and touch, with and without the team.
func requireCohortsTrue(t *testing.T, st *postgres.Store, tid tenant.ID, team uuid.UUID, from, to time.Time) {
	t.Helper()
	ctx := context.Background()
	type judged struct {
		lead     string
		team     *uuid.UUID
		decision *string
		reached  int
		touched  bool
	}
	var all []judged
	inTenant(t, st, tid, func(tx pgx.Tx) {
		rows, err := tx.Query(ctx, `SELECT lead_id::text, team_id, decision, reached, touched_at IS NOT NULL
			FROM (`+referenceJudged+`) j WHERE at >= $1 AND at < $2`, from, to)
		require.NoError(t, err)
		var j judged
		_, err = pgx.ForEachRow(rows, []any{&j.lead, &j.team, &j.decision, &j.reached, &j.touched}, func() error {
			all = append(all, j)
			return nil
		})
		require.NoError(t, err)
	})
	nonEmpty := 0
	for _, decision := range []string{"", "accepted", "rejected", "undecided"} {
		for _, reached := range []lead.Stage{"", lead.StageAccepted, lead.StageOpportunity, lead.StageWon} {
			for _, touched := range []*bool{nil, boolPtr(true), boolPtr(false)} {
				for _, teamID := range []*uuid.UUID{nil, &team} {
					want := []string{}
					for _, j := range all {
						switch {
						case decision == "undecided" && j.decision != nil,
							decision != "" && decision != "undecided" && (j.decision == nil || *j.decision != decision),
							j.reached < reached.Rank(),
							touched != nil && j.touched != *touched,
							teamID != nil && (j.team == nil || *j.team != *teamID):
							continue
						}
						if !slices.Contains(want, j.lead) {
							want = append(want, j.lead)
						}
					}
					slices.Sort(want)
					page, err := st.FindLeads(ctx, tid, lead.Filter{Limit: 1000, TeamID: teamID,
						Handoff: &lead.HandoffFilter{From: from, To: to, Decision: decision, Reached: reached, Touched: touched}})
					require.NoError(t, err)
					got := make([]string, 0, len(page.Leads))
					for _, l := range page.Leads {
						got = append(got, l.ID.String())
					}
					slices.Sort(got)
					what := fmt.Sprintf("cohort decision %q reached %q touched %v team %v", decision, reached, touched, teamID != nil)
					require.Equal(t, want, got, what)
					require.Empty(t, page.NextCursor, what)
					if len(want) > 0 {
						nonEmpty++
					}
				}
			}
		}
	}
	require.Greater(t, nonEmpty, 40, "most cohorts have leads")
}
