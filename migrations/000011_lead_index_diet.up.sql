-- Leads that arrive in bulk (CSV imports) are new and have no owner and no
-- team yet; every btree they enter costs an import several µs a row. The
-- indexes that serve owners, teams and stages past new leave such rows out.
-- Every query keeps its index: a query for an owner or a team
-- (owner_id = $n) implies owner_id IS NOT NULL, and one for a stage other
-- than new (stage = 'opportunity', to_stage IN ('mql', …)) implies
-- stage <> 'new', so the planner uses the partial indexes as before. Lists
-- of new leads run along leads_created_idx, in their order.
BEGIN;
DROP INDEX leads_owner_idx;
CREATE INDEX leads_owner_idx ON leads (tenant_id, owner_id, stage, stage_changed_at) WHERE owner_id IS NOT NULL;
DROP INDEX leads_team_idx;
CREATE INDEX leads_team_idx ON leads (tenant_id, team_id, stage, stage_changed_at) WHERE team_id IS NOT NULL;
DROP INDEX leads_owner_created_idx;
CREATE INDEX leads_owner_created_idx ON leads (tenant_id, owner_id, created_at DESC, id DESC) WHERE owner_id IS NOT NULL;
DROP INDEX leads_stage_idx;
CREATE INDEX leads_stage_idx ON leads (tenant_id, stage) WHERE stage <> 'new';
-- Every lead's history starts with its arrival (to_stage = 'new'); the
-- reports read handoffs, decisions and outcomes.
DROP INDEX lead_transitions_stage_idx;
CREATE INDEX lead_transitions_stage_idx ON lead_transitions (tenant_id, to_stage, at) WHERE to_stage <> 'new';
COMMIT;
