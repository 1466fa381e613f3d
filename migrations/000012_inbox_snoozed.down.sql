BEGIN;
DROP INDEX IF EXISTS leads_snoozed_owner_idx;
DROP INDEX IF EXISTS leads_snoozed_team_idx;
COMMIT;
