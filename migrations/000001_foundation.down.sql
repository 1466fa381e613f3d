BEGIN;
DROP TABLE IF EXISTS audit_log, api_tokens, invitations CASCADE;
ALTER TABLE IF EXISTS memberships DROP CONSTRAINT IF EXISTS memberships_tenant_id_team_id_fkey;
DROP TABLE IF EXISTS teams, memberships, calendar_holidays, calendars, login_failures, sessions, users, tenants CASCADE;
DROP FUNCTION IF EXISTS accord_user(), accord_tenant();
COMMIT;
