-- The inbox reads an owner's (or a team's) open leads, longest waiting
-- first: partial indexes on exactly that, so a rep with tens of thousands
-- of open leads gets the first page without a sort.
BEGIN;
CREATE INDEX leads_inbox_owner_idx ON leads (tenant_id, owner_id, stage_changed_at, id)
  WHERE stage IN ('mql', 'accepted', 'sql', 'opportunity');
CREATE INDEX leads_inbox_team_idx ON leads (tenant_id, team_id, stage_changed_at, id)
  WHERE stage IN ('mql', 'accepted', 'sql', 'opportunity');
COMMIT;
