-- Funnel facts: the dashboard's cohort and flow figures (DESIGN.md §5) read
-- one narrow row per handoff and per outcome instead of judging every
-- handoff of the period against the whole history on each request (2.1 s
-- for a quarter of 100,000 leads). The database keeps the facts true at
-- write time: triggers on lead_transitions, lead_activities and the lead
-- attributes the filters use re-judge exactly the leads a statement
-- touched; leads a statement brings whole (a bulk load, an import) are
-- judged in one window pass over its rows, while an accept or a logged
-- touch updates its one fact through its key. A fact is judged with
-- every event stored so far, which is what "judged with every event known
-- when the figure is asked" asks of a figure read from it.
BEGIN;

-- One row per handoff (a transition to mql): what followed it before the
-- lead's next handoff. segment, source, campaign and icp_fit are the
-- lead's now (the filters judge the lead as it is); team_id is the
-- handoff's own (a handoff's team is the one it was made in).
CREATE TABLE lead_handoffs (
  tenant_id  uuid NOT NULL,
  lead_id    uuid NOT NULL,
  seq        int NOT NULL,
  at         timestamptz NOT NULL,
  team_id    uuid,
  segment    text,
  source     text NOT NULL,
  campaign   text NOT NULL,
  icp_fit    boolean NOT NULL,
  -- The lead's next handoff, which ends this one's window.
  next_seq   int,
  next_at    timestamptz,
  -- The first accept or reject in the window.
  decision   text CHECK (decision IN ('accepted', 'rejected')),
  decided_at timestamptz,
  -- The furthest stage reached in the window: 1 accepted, 2 sql,
  -- 3 opportunity, 4 won (reaching one includes skipping past it).
  reached    smallint NOT NULL CHECK (reached BETWEEN 0 AND 4),
  -- The first touch at or after the handoff, before the next one.
  touched_at timestamptz,
  -- No foreign key to lead_transitions: a fact is derived from its
  -- transition and written only by the triggers below, in the statement
  -- that stores the transition, so it cannot point at a missing one; and
  -- lead_transitions_facts_gone deletes it with its transition (which
  -- goes only with its lead), as ON DELETE CASCADE did. A foreign key
  -- would check every fact a bulk load writes, row by row, for nothing.
  PRIMARY KEY (tenant_id, lead_id, seq)
) WITH (fillfactor = 90);
-- The period's handoffs; no judged column is indexed, so re-judging a
-- handoff is a HOT update (fillfactor leaves the room for it).
CREATE INDEX lead_handoffs_at_idx ON lead_handoffs (tenant_id, at);

-- One row per transition to opportunity, won, lost or rejected, with the
-- amount it leaves the lead at (a won transition without an amount keeps
-- the last one set) and the lead's first handoff before it (time to close;
-- NULL for a lead imported past the handoff). Written once, like the
-- transition; only the lead's attributes change.
CREATE TABLE lead_outcomes (
  tenant_id        uuid NOT NULL,
  lead_id          uuid NOT NULL,
  seq              int NOT NULL,
  stage            text NOT NULL CHECK (stage IN ('opportunity', 'won', 'lost', 'rejected')),
  at               timestamptz NOT NULL,
  team_id          uuid,
  reason           text,
  amount_cents     bigint,
  first_handoff_at timestamptz,
  segment          text,
  source           text NOT NULL,
  campaign         text NOT NULL,
  -- No foreign key, as for lead_handoffs.
  PRIMARY KEY (tenant_id, lead_id, seq)
);
CREATE INDEX lead_outcomes_at_idx ON lead_outcomes (tenant_id, at);

-- Open pipeline (the leads now in opportunity, under the filters) by
-- index alone: 60,000 open opportunities of a tenant of 1,000,000 leads
-- were 26,000 heap pages to visit per dashboard. Only leads in that stage
-- enter it, so accepting and importing leads never write it.
CREATE INDEX leads_open_pipeline_idx ON leads (tenant_id) INCLUDE (amount_cents, segment, source, campaign, team_id)
  WHERE stage = 'opportunity';

-- The one definition of a handoff's judgement, over the history: the
-- triggers and the backfill below store what it says. With
-- security_invoker, it reads with the caller's row-level security.
CREATE VIEW lead_handoff_judgements WITH (security_invoker = true) AS
  SELECT x.tenant_id, x.lead_id, x.seq, x.at, x.team_id, l.segment, l.source, l.campaign, l.icp_fit,
         nx.seq AS next_seq, nx.at AS next_at, d.to_stage AS decision, d.at AS decided_at,
         (SELECT coalesce(max(CASE r.to_stage WHEN 'accepted' THEN 1 WHEN 'sql' THEN 2 WHEN 'opportunity' THEN 3 WHEN 'won' THEN 4 ELSE 0 END), 0)
          FROM lead_transitions r
          WHERE r.tenant_id = x.tenant_id AND r.lead_id = x.lead_id AND r.seq > x.seq AND (nx.seq IS NULL OR r.seq < nx.seq))::smallint AS reached,
         (SELECT min(a.at) FROM lead_activities a
          WHERE a.tenant_id = x.tenant_id AND a.lead_id = x.lead_id AND a.kind IN ('call', 'email', 'meeting', 'linkedin')
            AND a.at >= x.at AND (nx.at IS NULL OR a.at < nx.at)) AS touched_at
  FROM lead_transitions x
  JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id
  LEFT JOIN LATERAL (
    SELECT n.seq, n.at FROM lead_transitions n
    WHERE n.tenant_id = x.tenant_id AND n.lead_id = x.lead_id AND n.to_stage = 'mql' AND n.seq > x.seq
    ORDER BY n.seq LIMIT 1) nx ON true
  LEFT JOIN LATERAL (
    SELECT d.to_stage, d.at FROM lead_transitions d
    WHERE d.tenant_id = x.tenant_id AND d.lead_id = x.lead_id AND d.seq > x.seq AND (nx.seq IS NULL OR d.seq < nx.seq)
      AND d.to_stage IN ('accepted', 'rejected')
    ORDER BY d.seq LIMIT 1) d ON true
  WHERE x.to_stage = 'mql';

-- accord_judge_handoffs stores the judgement of every handoff of leads ids
-- of tenant t. It first locks the leads (as an UPDATE of them would):
-- two transactions judging one lead at once (a touch and an accept) would
-- otherwise each store what its own snapshot saw, and the later write
-- would lose the other's event; after the lock, the judgement's fresh
-- snapshot holds both. The array parameter keeps the plan an index lookup
-- per lead whatever the number of leads. Unchanged facts are not
-- rewritten.
CREATE FUNCTION accord_judge_handoffs(t uuid, ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM FROM leads WHERE tenant_id = t AND id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
  INSERT INTO lead_handoffs AS h (tenant_id, lead_id, seq, at, team_id, segment, source, campaign, icp_fit,
                                  next_seq, next_at, decision, decided_at, reached, touched_at)
  SELECT j.tenant_id, j.lead_id, j.seq, j.at, j.team_id, j.segment, j.source, j.campaign, j.icp_fit,
         j.next_seq, j.next_at, j.decision, j.decided_at, j.reached, j.touched_at
  FROM lead_handoff_judgements j
  WHERE j.tenant_id = t AND j.lead_id = ANY (ids)
  ON CONFLICT (tenant_id, lead_id, seq) DO UPDATE SET
    segment = excluded.segment, source = excluded.source, campaign = excluded.campaign, icp_fit = excluded.icp_fit,
    next_seq = excluded.next_seq, next_at = excluded.next_at, decision = excluded.decision,
    decided_at = excluded.decided_at, reached = excluded.reached, touched_at = excluded.touched_at
  WHERE (h.segment, h.source, h.campaign, h.icp_fit, h.next_seq, h.next_at, h.decision, h.decided_at, h.reached, h.touched_at)
        IS DISTINCT FROM (excluded.segment, excluded.source, excluded.campaign, excluded.icp_fit, excluded.next_seq,
                          excluded.next_at, excluded.decision, excluded.decided_at, excluded.reached, excluded.touched_at);
END
$$;

-- accord_record_outcomes stores the outcome facts of transitions ids of
-- tenant t.
CREATE FUNCTION accord_record_outcomes(t uuid, ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO lead_outcomes (tenant_id, lead_id, seq, stage, at, team_id, reason, amount_cents, first_handoff_at,
                             segment, source, campaign)
  SELECT x.tenant_id, x.lead_id, x.seq, x.to_stage, x.at, x.team_id, x.reason,
         CASE WHEN x.to_stage IN ('opportunity', 'won') THEN
           coalesce(x.amount_cents, (SELECT p.amount_cents FROM lead_transitions p
                                     WHERE p.tenant_id = x.tenant_id AND p.lead_id = x.lead_id AND p.seq < x.seq
                                       AND p.amount_cents IS NOT NULL
                                     ORDER BY p.seq DESC LIMIT 1))
         END,
         (SELECT min(m.at) FROM lead_transitions m
          WHERE m.tenant_id = x.tenant_id AND m.lead_id = x.lead_id AND m.to_stage = 'mql' AND m.seq < x.seq),
         l.segment, l.source, l.campaign
  FROM lead_transitions x
  JOIN leads l ON l.tenant_id = x.tenant_id AND l.id = x.lead_id
  WHERE x.tenant_id = t AND x.id = ANY (ids) AND x.to_stage IN ('opportunity', 'won', 'lost', 'rejected')
  ON CONFLICT DO NOTHING;
END
$$;

-- Statement-level, so that a bulk insert (seeds, CSV import) re-judges its
-- leads set-based in one pass. A lead's first transition (its arrival)
-- changes no handoff and is skipped. The busiest write by far, one
-- decision or stage change appended to a lead's history, can change only
-- the lead's open (latest) handoff, and only its decision and furthest
-- stage: one update of that fact merges it, where re-judging would cost
-- a dozen lookups per accept.
--
-- Its window pass sorts a bulk statement's rows in memory (a chunk of
-- 25,000 leads spilled to disk at the default work_mem) and is not worth
-- compiling (JIT took 100 ms of its 1.6 s).
CREATE FUNCTION accord_transitions_facts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET work_mem = '64MB' SET jit = off AS $$
DECLARE
  r record;
  one record;
BEGIN
  IF (SELECT count(*) FROM new_transitions) = 1 THEN
    SELECT tenant_id, id, lead_id, seq, to_stage, at INTO one FROM new_transitions;
    IF one.to_stage = 'new' THEN
      RETURN NULL;
    END IF;
    IF one.to_stage <> 'mql' AND one.seq = (SELECT max(seq) FROM lead_transitions WHERE tenant_id = one.tenant_id AND lead_id = one.lead_id) THEN
      -- As accord_judge_handoffs, under the lead's lock (a stage change
      -- holds it already).
      PERFORM FROM leads WHERE tenant_id = one.tenant_id AND id = one.lead_id FOR NO KEY UPDATE;
      UPDATE lead_handoffs SET
        decision = coalesce(decision, CASE WHEN one.to_stage IN ('accepted', 'rejected') THEN one.to_stage END),
        decided_at = CASE WHEN decision IS NULL AND one.to_stage IN ('accepted', 'rejected') THEN one.at ELSE decided_at END,
        reached = greatest(reached, CASE one.to_stage WHEN 'accepted' THEN 1 WHEN 'sql' THEN 2 WHEN 'opportunity' THEN 3 WHEN 'won' THEN 4 ELSE 0 END)
      WHERE tenant_id = one.tenant_id AND lead_id = one.lead_id AND next_seq IS NULL AND seq < one.seq
        AND ((decision IS NULL AND one.to_stage IN ('accepted', 'rejected'))
             OR reached < CASE one.to_stage WHEN 'accepted' THEN 1 WHEN 'sql' THEN 2 WHEN 'opportunity' THEN 3 WHEN 'won' THEN 4 ELSE 0 END);
      IF one.to_stage IN ('opportunity', 'won', 'lost', 'rejected') THEN
        PERFORM accord_record_outcomes(one.tenant_id, ARRAY[one.id]);
      END IF;
      RETURN NULL;
    END IF;
  END IF;
  -- Several rows: split the leads that move into those whose whole
  -- history is in this statement (a bulk load or an import creating
  -- them: all their rows are here, and no other transaction can see
  -- them yet) and those that had one before.
  FOR r IN SELECT s.tenant_id, array_agg(s.lead_id) FILTER (WHERE s.fresh) AS fresh,
                  array_agg(s.lead_id) FILTER (WHERE NOT s.fresh) AS old
           FROM (SELECT n.tenant_id, n.lead_id,
                        count(*) = (SELECT count(*) FROM lead_transitions o
                                    WHERE o.tenant_id = n.tenant_id AND o.lead_id = n.lead_id) AS fresh
                 FROM new_transitions n GROUP BY n.tenant_id, n.lead_id
                 HAVING bool_or(n.to_stage <> 'new')) s
           GROUP BY s.tenant_id LOOP
    IF r.fresh IS NOT NULL THEN
      -- The new leads' facts in one window pass over the statement's
      -- rows, in lead_handoff_judgements' terms: g numbers each row by
      -- the handoffs at or before it, so a handoff's window (after it,
      -- before the lead's next handoff) is its group; the lead's first
      -- handoff and the amounts set so far run along with it. No lock
      -- and no lookup of the history: there is none beyond these rows.
      WITH x AS (
        SELECT n.lead_id, n.seq, n.to_stage, n.at, n.team_id, n.reason,
               count(*) FILTER (WHERE n.to_stage = 'mql') OVER w AS g,
               min(n.at) FILTER (WHERE n.to_stage = 'mql') OVER w AS first_handoff_at,
               array_agg(n.amount_cents) FILTER (WHERE n.amount_cents IS NOT NULL) OVER w AS amounts
        FROM new_transitions n JOIN unnest(r.fresh) AS f (lead_id) ON f.lead_id = n.lead_id
        WHERE n.tenant_id = r.tenant_id
        WINDOW w AS (PARTITION BY n.lead_id ORDER BY n.seq)
      ), h AS (
        SELECT x.lead_id, min(x.seq) AS seq, min(x.at) FILTER (WHERE x.to_stage = 'mql') AS at,
               (array_agg(x.team_id) FILTER (WHERE x.to_stage = 'mql'))[1] AS team_id,
               lead(min(x.seq)) OVER v AS next_seq,
               lead(min(x.at) FILTER (WHERE x.to_stage = 'mql')) OVER v AS next_at,
               (array_agg(x.to_stage ORDER BY x.seq) FILTER (WHERE x.to_stage IN ('accepted', 'rejected')))[1] AS decision,
               (array_agg(x.at ORDER BY x.seq) FILTER (WHERE x.to_stage IN ('accepted', 'rejected')))[1] AS decided_at,
               max(CASE x.to_stage WHEN 'accepted' THEN 1 WHEN 'sql' THEN 2 WHEN 'opportunity' THEN 3 WHEN 'won' THEN 4 ELSE 0 END)::smallint AS reached
        FROM x WHERE x.g > 0
        GROUP BY x.lead_id, x.g
        WINDOW v AS (PARTITION BY x.lead_id ORDER BY x.g)
      ), handoffs AS (
        INSERT INTO lead_handoffs (tenant_id, lead_id, seq, at, team_id, segment, source, campaign, icp_fit,
                                   next_seq, next_at, decision, decided_at, reached, touched_at)
        SELECT r.tenant_id, h.lead_id, h.seq, h.at, h.team_id, l.segment, l.source, l.campaign, l.icp_fit,
               h.next_seq, h.next_at, h.decision, h.decided_at, h.reached,
               (SELECT min(a.at) FROM lead_activities a
                WHERE a.tenant_id = r.tenant_id AND a.lead_id = h.lead_id AND a.kind IN ('call', 'email', 'meeting', 'linkedin')
                  AND a.at >= h.at AND (h.next_at IS NULL OR a.at < h.next_at))
        FROM h JOIN leads l ON l.tenant_id = r.tenant_id AND l.id = h.lead_id
      )
      INSERT INTO lead_outcomes (tenant_id, lead_id, seq, stage, at, team_id, reason, amount_cents, first_handoff_at,
                                 segment, source, campaign)
      SELECT r.tenant_id, x.lead_id, x.seq, x.to_stage, x.at, x.team_id, x.reason,
             CASE WHEN x.to_stage IN ('opportunity', 'won') THEN x.amounts[cardinality(x.amounts)] END,
             x.first_handoff_at, l.segment, l.source, l.campaign
      FROM x JOIN leads l ON l.tenant_id = r.tenant_id AND l.id = x.lead_id
      WHERE x.to_stage IN ('opportunity', 'won', 'lost', 'rejected');
    END IF;
    IF r.old IS NOT NULL THEN
      PERFORM accord_judge_handoffs(r.tenant_id, r.old);
      PERFORM accord_record_outcomes(r.tenant_id, array(
        SELECT n.id FROM new_transitions n JOIN unnest(r.old) AS o (lead_id) ON o.lead_id = n.lead_id
        WHERE n.tenant_id = r.tenant_id AND n.to_stage IN ('opportunity', 'won', 'lost', 'rejected')));
    END IF;
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER lead_transitions_facts AFTER INSERT ON lead_transitions
  REFERENCING NEW TABLE AS new_transitions
  FOR EACH STATEMENT EXECUTE FUNCTION accord_transitions_facts();

-- A touch (logged late, too) may be the first of a handoff's window. One
-- touch, as a rep logs it, can only be the first of the one window that
-- holds its time; a batch re-judges its leads.
CREATE FUNCTION accord_activities_facts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  r record;
  one record;
BEGIN
  IF (SELECT count(*) FROM new_activities) = 1 THEN
    SELECT tenant_id, lead_id, kind, at INTO one FROM new_activities;
    IF one.kind NOT IN ('call', 'email', 'meeting', 'linkedin') THEN
      RETURN NULL;
    END IF;
    -- Locked first, so that a handoff stored meanwhile (which moves the
    -- windows) is seen by the update's snapshot.
    PERFORM FROM leads WHERE tenant_id = one.tenant_id AND id = one.lead_id FOR NO KEY UPDATE;
    UPDATE lead_handoffs SET touched_at = one.at
    WHERE tenant_id = one.tenant_id AND lead_id = one.lead_id AND at <= one.at AND (next_at IS NULL OR one.at < next_at)
      AND (touched_at IS NULL OR one.at < touched_at);
    RETURN NULL;
  END IF;
  -- A lead without any transition yet has no handoff to judge: it is
  -- being bulk-loaded in this transaction (every other write stores a
  -- lead with its arrival), activities first, and its transitions'
  -- statement will judge it with these touches.
  FOR r IN SELECT a.tenant_id, array_agg(a.lead_id) AS leads
           FROM (SELECT DISTINCT tenant_id, lead_id FROM new_activities
                 WHERE kind IN ('call', 'email', 'meeting', 'linkedin')) a
           WHERE EXISTS (SELECT FROM lead_transitions o WHERE o.tenant_id = a.tenant_id AND o.lead_id = a.lead_id)
           GROUP BY a.tenant_id LOOP
    PERFORM accord_judge_handoffs(r.tenant_id, r.leads);
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER lead_activities_facts AFTER INSERT ON lead_activities
  REFERENCING NEW TABLE AS new_activities
  FOR EACH STATEMENT EXECUTE FUNCTION accord_activities_facts();

-- The filters' attributes follow the lead. Per row, and only when one of
-- them changed (the WHEN is checked without calling the function), so
-- stage changes and the inbox's writes never run it; an edit updates the
-- lead's few facts through their primary key.
CREATE FUNCTION accord_lead_facts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  UPDATE lead_handoffs SET segment = NEW.segment, source = NEW.source, campaign = NEW.campaign, icp_fit = NEW.icp_fit
  WHERE tenant_id = NEW.tenant_id AND lead_id = NEW.id;
  IF (OLD.segment, OLD.source, OLD.campaign) IS DISTINCT FROM (NEW.segment, NEW.source, NEW.campaign) THEN
    UPDATE lead_outcomes SET segment = NEW.segment, source = NEW.source, campaign = NEW.campaign
    WHERE tenant_id = NEW.tenant_id AND lead_id = NEW.id;
  END IF;
  RETURN NULL;
END
$$;

-- A transition goes only with its lead (the application cannot delete
-- one): its facts go with it, as a foreign key's cascade would take them,
-- tenant by tenant under that tenant's policies.
CREATE FUNCTION accord_transitions_gone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  t uuid;
  caller text := current_setting('accord.tenant_id', true);
BEGIN
  FOR t IN SELECT DISTINCT tenant_id FROM old_transitions LOOP
    PERFORM set_config('accord.tenant_id', t::text, true);
    DELETE FROM lead_handoffs h USING old_transitions o
    WHERE o.tenant_id = t AND h.tenant_id = t AND h.lead_id = o.lead_id AND h.seq = o.seq;
    DELETE FROM lead_outcomes f USING old_transitions o
    WHERE o.tenant_id = t AND f.tenant_id = t AND f.lead_id = o.lead_id AND f.seq = o.seq;
  END LOOP;
  PERFORM set_config('accord.tenant_id', coalesce(caller, ''), true);
  RETURN NULL;
END
$$;

CREATE TRIGGER lead_transitions_facts_gone AFTER DELETE ON lead_transitions
  REFERENCING OLD TABLE AS old_transitions
  FOR EACH STATEMENT EXECUTE FUNCTION accord_transitions_gone();

CREATE TRIGGER leads_facts AFTER UPDATE OF segment, source, campaign, icp_fit ON leads
  FOR EACH ROW
  WHEN ((OLD.segment, OLD.source, OLD.campaign, OLD.icp_fit) IS DISTINCT FROM (NEW.segment, NEW.source, NEW.campaign, NEW.icp_fit))
  EXECUTE FUNCTION accord_lead_facts();

ALTER TABLE lead_handoffs ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_handoffs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_handoffs USING (tenant_id = accord_tenant()) WITH CHECK (tenant_id = accord_tenant());
ALTER TABLE lead_outcomes ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_outcomes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_outcomes USING (tenant_id = accord_tenant()) WITH CHECK (tenant_id = accord_tenant());

-- The application reads the facts; only the triggers (running as the
-- owner, under the same policies) write them, so no code path can let
-- them drift from the history.
GRANT SELECT ON lead_handoffs, lead_outcomes, lead_handoff_judgements TO accord_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON lead_handoffs, lead_outcomes FROM accord_app;

-- The facts of the history there is, tenant by tenant under its own
-- policies.
DO $$
DECLARE
  t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('accord.tenant_id', t::text, true);
    INSERT INTO lead_handoffs (tenant_id, lead_id, seq, at, team_id, segment, source, campaign, icp_fit,
                               next_seq, next_at, decision, decided_at, reached, touched_at)
    SELECT tenant_id, lead_id, seq, at, team_id, segment, source, campaign, icp_fit,
           next_seq, next_at, decision, decided_at, reached, touched_at
    FROM lead_handoff_judgements WHERE tenant_id = t;
    PERFORM accord_record_outcomes(t, array(
      SELECT id FROM lead_transitions WHERE tenant_id = t AND to_stage IN ('opportunity', 'won', 'lost', 'rejected')));
  END LOOP;
  PERFORM set_config('accord.tenant_id', '', true);
END
$$;

COMMIT;
