BEGIN;
DROP TABLE IF EXISTS digest_runs;
ALTER TABLE tenant_settings DROP COLUMN IF EXISTS digest_monthly_roles, DROP COLUMN IF EXISTS digest_weekly_roles;
COMMIT;
