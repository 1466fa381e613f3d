BEGIN;
DROP INDEX IF EXISTS leads_inbox_owner_idx, leads_inbox_team_idx;
COMMIT;
