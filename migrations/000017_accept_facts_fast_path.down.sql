-- The fast path of 000013_funnel_facts again.
BEGIN;

CREATE OR REPLACE FUNCTION accord_transitions_facts() RETURNS trigger
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


COMMIT;
