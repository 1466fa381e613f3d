-- Digests: the weekly pipeline review and the monthly performance report,
-- e-mailed by the worker to the roles each tenant chooses, once per period.
BEGIN;

-- Which roles get each digest; an empty list switches that digest off.
ALTER TABLE tenant_settings
  ADD COLUMN digest_weekly_roles text[] NOT NULL DEFAULT '{admin,marketing,manager}'
    CHECK (digest_weekly_roles <@ '{admin,marketing,manager,rep,viewer}'::text[]),
  ADD COLUMN digest_monthly_roles text[] NOT NULL DEFAULT '{admin,marketing,manager}'
    CHECK (digest_monthly_roles <@ '{admin,marketing,manager,rep,viewer}'::text[]);

-- One row per tenant, digest and period: the primary key makes a second
-- worker's insert a no-op, and the e-mails are queued in the transaction
-- whose insert won, so each period's digest goes out exactly once.
-- announced is false for a run recorded without sending (a period found
-- long after it ended, or before the tenant existed).
CREATE TABLE digest_runs (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kind         text NOT NULL CHECK (kind IN ('weekly', 'monthly')),
  period_start date NOT NULL,
  period_end   date NOT NULL CHECK (period_end > period_start),
  sent_at      timestamptz NOT NULL,
  announced    boolean NOT NULL,
  recipients   int NOT NULL DEFAULT 0 CHECK (recipients >= 0),
  PRIMARY KEY (tenant_id, kind, period_start)
);

ALTER TABLE digest_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE digest_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON digest_runs USING (tenant_id = accord_tenant()) WITH CHECK (tenant_id = accord_tenant());

-- Runs are history: the application records them and never rewrites one.
GRANT SELECT, INSERT ON digest_runs TO accord_app;
REVOKE UPDATE, DELETE ON digest_runs FROM accord_app;

COMMIT;
