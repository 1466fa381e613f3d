-- Funnel rollups: the cohort and flow figures of a quarter of a big tenant
-- (535,000 handoffs at 1,000,000 leads) were a pass over its facts and a
-- sort of their speeds on every dashboard, 1.1 to 1.5 s. Here the
-- database keeps them pre-aggregated per UTC day, written at the same time
-- as the facts (migration 13) by statement triggers, so a bulk load stays
-- set-based.
--
-- Writes never update a shared counter: a fact's trigger appends delta
-- rows (-1 for the rows a statement replaced, +1 for the new ones, per
-- key), so concurrent accepts of leads with the same day and attributes
-- never wait on one another. The worker folds the deltas into the rollups
-- (accord_compact_rollups); a reader adds the deltas not folded yet, so a
-- figure never waits for it and is exact either way.
--
-- Days are UTC days: a key no tenant's time zone (nor its change) can make
-- wrong. A period bounded by local midnights reads its whole UTC days from
-- the rollups and the hours on either side from the facts.
BEGIN;

-- The speed-to-lead histogram's bin of m minutes to first touch: bin b
-- holds (upper(b - 1), upper(b)], minute by minute up to two hours, ten by
-- ten up to a day, hour by hour up to a week, then one bin. Every bound of
-- the dashboard's speed distribution (15, 30, 60, 120, 240, 480, 1440
-- minutes, inclusive) is a bin bound, so the distribution and "within an
-- hour" are sums of bins; a quantile is found in its bin and read from the
-- few facts of that bin (lead_handoffs_speed_idx). NULL (untouched) has
-- no bin.
CREATE FUNCTION accord_speed_bin(m float8) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (CASE WHEN m IS NULL THEN NULL
               WHEN m <= 120 THEN ceil(m)
               WHEN m <= 1440 THEN 120 + ceil((m - 120) / 10)
               WHEN m <= 10080 THEN 252 + ceil((m - 1440) / 60)
               ELSE 397 END)::smallint
$$;

-- A handoff's bin, stored: a quantile's read compares it alone (a
-- leakproof comparison, which row-level security lets an index answer; an
-- expression over touched_at and at is not one, and was filtered row by
-- row after the policy). Indexing it makes a touch's update of the fact no
-- longer a HOT one; accepts, which change only the decision and the stage
-- reached, still are. With touched_at beside it, a bin's minutes are read
-- from the index alone.
ALTER TABLE lead_handoffs ADD COLUMN speed_bin smallint
  GENERATED ALWAYS AS (accord_speed_bin(date_part('epoch', touched_at - at) / 60)) STORED;
CREATE INDEX lead_handoffs_speed_idx ON lead_handoffs (tenant_id, speed_bin, at) INCLUDE (touched_at) WHERE speed_bin IS NOT NULL;
-- A period's wins (time to close) without walking its other outcomes.
CREATE INDEX lead_outcomes_won_idx ON lead_outcomes (tenant_id, at) INCLUDE (first_handoff_at) WHERE stage = 'won';

-- Deltas: one row per key a statement changed, at the facts' grain.
CREATE TABLE lead_handoff_deltas (
  tenant_id uuid NOT NULL,
  day       date NOT NULL,
  segment   text,
  source    text NOT NULL,
  campaign  text NOT NULL,
  team_id   uuid,
  decision  text,
  reached   smallint NOT NULL,
  bin       smallint, -- NULL: untouched
  n         bigint NOT NULL
);
CREATE INDEX lead_handoff_deltas_day_idx ON lead_handoff_deltas (tenant_id, day);

CREATE TABLE lead_outcome_deltas (
  tenant_id uuid NOT NULL,
  day       date NOT NULL,
  segment   text,
  source    text NOT NULL,
  campaign  text NOT NULL,
  team_id   uuid,
  stage     text NOT NULL,
  reason    text,
  n         bigint NOT NULL,
  amount    bigint NOT NULL
);
CREATE INDEX lead_outcome_deltas_day_idx ON lead_outcome_deltas (tenant_id, day);

-- Each rollup holds every UTC day (level 0, day) and every UTC week
-- (level 1, day its Monday): a quarter reads a dozen weeks and the days
-- on either side.
--
-- The rollups answer no filter or one: fdim 0 is every fact (fval ''),
-- 1 a segment ('' none), 2 a source, 3 a campaign, 4 a team (its id; ''
-- none). Within it, sdim 0 is the total (sval ''), 1 by source, 2 by
-- campaign, 3 by segment: the dashboard's breakdowns.
CREATE TABLE lead_cohort_rollup (
  tenant_id uuid NOT NULL,
  fdim      smallint NOT NULL,
  fval      text NOT NULL,
  level     smallint NOT NULL,
  day       date NOT NULL,
  sdim      smallint NOT NULL,
  sval      text NOT NULL,
  handoffs  bigint NOT NULL,
  accepted  bigint NOT NULL,
  rejected  bigint NOT NULL,
  -- Handoffs whose window reached accepted, sql, opportunity, won.
  reached1  bigint NOT NULL,
  reached2  bigint NOT NULL,
  reached3  bigint NOT NULL,
  reached4  bigint NOT NULL,
  PRIMARY KEY (tenant_id, fdim, fval, level, day, sdim, sval)
);

-- Touched handoffs by accord_speed_bin.
CREATE TABLE lead_speed_rollup (
  tenant_id uuid NOT NULL,
  fdim      smallint NOT NULL,
  fval      text NOT NULL,
  level     smallint NOT NULL,
  day       date NOT NULL,
  bin       smallint NOT NULL,
  n         bigint NOT NULL,
  PRIMARY KEY (tenant_id, fdim, fval, level, day, bin)
);

-- Outcomes; reason is kept for rejections in the total and by source and
-- campaign (the rejection reasons' breakdowns), '' otherwise.
CREATE TABLE lead_flow_rollup (
  tenant_id uuid NOT NULL,
  fdim      smallint NOT NULL,
  fval      text NOT NULL,
  level     smallint NOT NULL,
  day       date NOT NULL,
  sdim      smallint NOT NULL,
  sval      text NOT NULL,
  stage     text NOT NULL,
  reason    text NOT NULL,
  n         bigint NOT NULL,
  amount    bigint NOT NULL,
  PRIMARY KEY (tenant_id, fdim, fval, level, day, sdim, sval, stage, reason)
);

-- The delta triggers. A statement's rows are grouped by key, the rows it
-- replaced counted -1 and the new +1; keys that net to zero (an edit that
-- changes nothing a figure reads) write nothing.
CREATE FUNCTION accord_handoffs_rollup() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO lead_handoff_deltas (tenant_id, day, segment, source, campaign, team_id, decision, reached, bin, n)
    SELECT tenant_id, (at AT TIME ZONE 'UTC')::date, segment, source, campaign, team_id, decision, reached,
           speed_bin, count(*)
    FROM new_handoffs GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO lead_handoff_deltas (tenant_id, day, segment, source, campaign, team_id, decision, reached, bin, n)
    SELECT tenant_id, (at AT TIME ZONE 'UTC')::date, segment, source, campaign, team_id, decision, reached,
           speed_bin, -count(*)
    FROM old_handoffs GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
  ELSE
    INSERT INTO lead_handoff_deltas (tenant_id, day, segment, source, campaign, team_id, decision, reached, bin, n)
    SELECT tenant_id, (at AT TIME ZONE 'UTC')::date, segment, source, campaign, team_id, decision, reached,
           speed_bin, sum(n)
    FROM (SELECT tenant_id, at, segment, source, campaign, team_id, decision, reached, speed_bin, -1 AS n FROM old_handoffs
          UNION ALL
          SELECT tenant_id, at, segment, source, campaign, team_id, decision, reached, speed_bin, 1 FROM new_handoffs) c
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    HAVING sum(n) <> 0;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER lead_handoffs_rollup_insert AFTER INSERT ON lead_handoffs
  REFERENCING NEW TABLE AS new_handoffs FOR EACH STATEMENT EXECUTE FUNCTION accord_handoffs_rollup();
CREATE TRIGGER lead_handoffs_rollup_update AFTER UPDATE ON lead_handoffs
  REFERENCING OLD TABLE AS old_handoffs NEW TABLE AS new_handoffs FOR EACH STATEMENT EXECUTE FUNCTION accord_handoffs_rollup();
CREATE TRIGGER lead_handoffs_rollup_delete AFTER DELETE ON lead_handoffs
  REFERENCING OLD TABLE AS old_handoffs FOR EACH STATEMENT EXECUTE FUNCTION accord_handoffs_rollup();

CREATE FUNCTION accord_outcomes_rollup() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO lead_outcome_deltas (tenant_id, day, segment, source, campaign, team_id, stage, reason, n, amount)
    SELECT tenant_id, (at AT TIME ZONE 'UTC')::date, segment, source, campaign, team_id, stage, reason,
           count(*), coalesce(sum(amount_cents), 0)
    FROM new_outcomes GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO lead_outcome_deltas (tenant_id, day, segment, source, campaign, team_id, stage, reason, n, amount)
    SELECT tenant_id, (at AT TIME ZONE 'UTC')::date, segment, source, campaign, team_id, stage, reason,
           -count(*), -coalesce(sum(amount_cents), 0)
    FROM old_outcomes GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
  ELSE
    INSERT INTO lead_outcome_deltas (tenant_id, day, segment, source, campaign, team_id, stage, reason, n, amount)
    SELECT tenant_id, (at AT TIME ZONE 'UTC')::date, segment, source, campaign, team_id, stage, reason,
           sum(n), sum(amount)
    FROM (SELECT tenant_id, at, segment, source, campaign, team_id, stage, reason, -1 AS n, -coalesce(amount_cents, 0) AS amount
          FROM old_outcomes
          UNION ALL
          SELECT tenant_id, at, segment, source, campaign, team_id, stage, reason, 1, coalesce(amount_cents, 0) FROM new_outcomes) c
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(n) <> 0 OR sum(amount) <> 0;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER lead_outcomes_rollup_insert AFTER INSERT ON lead_outcomes
  REFERENCING NEW TABLE AS new_outcomes FOR EACH STATEMENT EXECUTE FUNCTION accord_outcomes_rollup();
CREATE TRIGGER lead_outcomes_rollup_update AFTER UPDATE ON lead_outcomes
  REFERENCING OLD TABLE AS old_outcomes NEW TABLE AS new_outcomes FOR EACH STATEMENT EXECUTE FUNCTION accord_outcomes_rollup();
CREATE TRIGGER lead_outcomes_rollup_delete AFTER DELETE ON lead_outcomes
  REFERENCING OLD TABLE AS old_outcomes FOR EACH STATEMENT EXECUTE FUNCTION accord_outcomes_rollup();

-- accord_compact_tenant_rollups folds tenant t's deltas into its rollups,
-- in one statement per table family (the deltas it deletes are exactly
-- those it adds). One compaction per tenant at a time, by an advisory
-- lock: a second one skips rather than waits, and the rollups have a
-- single writer, so their upserts cannot deadlock (they are sorted
-- anyway). Appends meanwhile are untouched: the delete sees only the rows
-- of its snapshot.
CREATE FUNCTION accord_compact_tenant_rollups(t uuid) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET jit = off SET work_mem = '64MB' AS $$
DECLARE
  h bigint;
  o bigint;
BEGIN
  IF NOT pg_try_advisory_xact_lock(1600016, hashtext(t::text)) THEN
    RETURN 0;
  END IF;
  WITH gone AS (
    DELETE FROM lead_handoff_deltas WHERE tenant_id = t RETURNING *
  ), g AS (
    SELECT day, segment, source, campaign, team_id, decision, reached, bin, sum(n) AS n
    FROM gone GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  ), cube AS (
    INSERT INTO lead_cohort_rollup AS r (tenant_id, fdim, fval, level, day, sdim, sval, handoffs, accepted, rejected,
                                         reached1, reached2, reached3, reached4)
    SELECT t, fd.dim, fd.val, lv.level, lv.day, sd.dim, sd.val, sum(g.n),
           coalesce(sum(g.n) FILTER (WHERE g.decision = 'accepted'), 0),
           coalesce(sum(g.n) FILTER (WHERE g.decision = 'rejected'), 0),
           coalesce(sum(g.n) FILTER (WHERE g.reached >= 1), 0), coalesce(sum(g.n) FILTER (WHERE g.reached >= 2), 0),
           coalesce(sum(g.n) FILTER (WHERE g.reached >= 3), 0), coalesce(sum(g.n) FILTER (WHERE g.reached >= 4), 0)
    FROM g
    CROSS JOIN LATERAL (VALUES (0::smallint, ''), (1, coalesce(g.segment, '')), (2, g.source), (3, g.campaign),
                               (4, coalesce(g.team_id::text, ''))) fd (dim, val)
    CROSS JOIN LATERAL (VALUES (0::smallint, ''), (1, g.source), (2, g.campaign), (3, coalesce(g.segment, ''))) sd (dim, val)
    CROSS JOIN LATERAL (VALUES (0::smallint, g.day), (1, date_trunc('week', g.day)::date)) lv (level, day)
    GROUP BY 2, 3, 4, 5, 6, 7
    ORDER BY 2, 3, 4, 5, 6, 7
    ON CONFLICT (tenant_id, fdim, fval, level, day, sdim, sval) DO UPDATE SET
      handoffs = r.handoffs + excluded.handoffs, accepted = r.accepted + excluded.accepted,
      rejected = r.rejected + excluded.rejected, reached1 = r.reached1 + excluded.reached1,
      reached2 = r.reached2 + excluded.reached2, reached3 = r.reached3 + excluded.reached3,
      reached4 = r.reached4 + excluded.reached4
    RETURNING 1
  ), speed AS (
    INSERT INTO lead_speed_rollup AS r (tenant_id, fdim, fval, level, day, bin, n)
    SELECT t, fd.dim, fd.val, lv.level, lv.day, g.bin, sum(g.n)
    FROM g
    CROSS JOIN LATERAL (VALUES (0::smallint, ''), (1, coalesce(g.segment, '')), (2, g.source), (3, g.campaign),
                               (4, coalesce(g.team_id::text, ''))) fd (dim, val)
    CROSS JOIN LATERAL (VALUES (0::smallint, g.day), (1, date_trunc('week', g.day)::date)) lv (level, day)
    WHERE g.bin IS NOT NULL
    GROUP BY 2, 3, 4, 5, 6
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (tenant_id, fdim, fval, level, day, bin) DO UPDATE SET n = r.n + excluded.n
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM gone) + 0 * (SELECT count(*) FROM cube) + 0 * (SELECT count(*) FROM speed) INTO h;

  WITH gone AS (
    DELETE FROM lead_outcome_deltas WHERE tenant_id = t RETURNING *
  ), g AS (
    SELECT day, segment, source, campaign, team_id, stage, reason, sum(n) AS n, sum(amount) AS amount
    FROM gone GROUP BY 1, 2, 3, 4, 5, 6, 7
  ), cube AS (
    INSERT INTO lead_flow_rollup AS r (tenant_id, fdim, fval, level, day, sdim, sval, stage, reason, n, amount)
    SELECT t, fd.dim, fd.val, lv.level, lv.day, sd.dim, sd.val, g.stage,
           CASE WHEN g.stage = 'rejected' AND sd.dim < 3 THEN coalesce(g.reason, '') ELSE '' END, sum(g.n), sum(g.amount)
    FROM g
    CROSS JOIN LATERAL (VALUES (0::smallint, ''), (1, coalesce(g.segment, '')), (2, g.source), (3, g.campaign),
                               (4, coalesce(g.team_id::text, ''))) fd (dim, val)
    CROSS JOIN LATERAL (VALUES (0::smallint, ''), (1, g.source), (2, g.campaign), (3, coalesce(g.segment, ''))) sd (dim, val)
    CROSS JOIN LATERAL (VALUES (0::smallint, g.day), (1, date_trunc('week', g.day)::date)) lv (level, day)
    GROUP BY 2, 3, 4, 5, 6, 7, 8, 9
    ORDER BY 2, 3, 4, 5, 6, 7, 8, 9
    ON CONFLICT (tenant_id, fdim, fval, level, day, sdim, sval, stage, reason) DO UPDATE SET
      n = r.n + excluded.n, amount = r.amount + excluded.amount
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM gone) + 0 * (SELECT count(*) FROM cube) INTO o;
  RETURN h + o;
END
$$;

-- accord_compact_rollups compacts every tenant with deltas, each under its
-- own policies (as accord_transitions_gone deletes), and returns the
-- number of deltas folded.
CREATE FUNCTION accord_compact_rollups() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  t uuid;
  n bigint := 0;
  caller text := current_setting('accord.tenant_id', true);
BEGIN
  FOR t IN SELECT id FROM tenants ORDER BY id LOOP
    PERFORM set_config('accord.tenant_id', t::text, true);
    IF EXISTS (SELECT FROM lead_handoff_deltas WHERE tenant_id = t) OR EXISTS (SELECT FROM lead_outcome_deltas WHERE tenant_id = t) THEN
      n := n + accord_compact_tenant_rollups(t);
    END IF;
  END LOOP;
  PERFORM set_config('accord.tenant_id', coalesce(caller, ''), true);
  RETURN n;
END
$$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['lead_handoff_deltas', 'lead_outcome_deltas', 'lead_cohort_rollup', 'lead_speed_rollup',
                           'lead_flow_rollup'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = accord_tenant()) WITH CHECK (tenant_id = accord_tenant())', t);
    EXECUTE format('GRANT SELECT ON %I TO accord_app', t);
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I FROM accord_app', t);
  END LOOP;
END
$$;

-- The facts there are, as one delta per key, compacted by the worker's
-- first pass.
DO $$
DECLARE
  t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('accord.tenant_id', t::text, true);
    INSERT INTO lead_handoff_deltas (tenant_id, day, segment, source, campaign, team_id, decision, reached, bin, n)
    SELECT tenant_id, (at AT TIME ZONE 'UTC')::date, segment, source, campaign, team_id, decision, reached,
           speed_bin, count(*)
    FROM lead_handoffs WHERE tenant_id = t GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
    INSERT INTO lead_outcome_deltas (tenant_id, day, segment, source, campaign, team_id, stage, reason, n, amount)
    SELECT tenant_id, (at AT TIME ZONE 'UTC')::date, segment, source, campaign, team_id, stage, reason,
           count(*), coalesce(sum(amount_cents), 0)
    FROM lead_outcomes WHERE tenant_id = t GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
  END LOOP;
  PERFORM set_config('accord.tenant_id', '', true);
END
$$;

COMMIT;
