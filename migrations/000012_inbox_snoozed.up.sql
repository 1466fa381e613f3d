-- The inbox lists snoozed leads after the others, by wake-up time. Without
-- an index that order read every open lead of the rep (50 ms for a rep of
-- 50,000 leads); snoozed leads are few, so partial indexes cost writes
-- almost nothing.
BEGIN;
CREATE INDEX leads_snoozed_owner_idx ON leads (tenant_id, owner_id, snoozed_until, id)
  WHERE snoozed_until IS NOT NULL AND stage IN ('mql', 'accepted', 'sql', 'opportunity');
CREATE INDEX leads_snoozed_team_idx ON leads (tenant_id, team_id, snoozed_until, id)
  WHERE snoozed_until IS NOT NULL AND stage IN ('mql', 'accepted', 'sql', 'opportunity');
COMMIT;
