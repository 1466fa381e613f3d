-- The agreement: versioned clauses, the timers they start on leads, the
-- breaches of those timers, period results, and webhook endpoints.
BEGIN;

-- Every save of the agreement is a new, immutable version (version 0, no
-- clauses, is implicit for a new tenant).
CREATE TABLE agreement_versions (
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  version          int NOT NULL CHECK (version > 0),
  effective_from   timestamptz NOT NULL,
  author_type      text NOT NULL CHECK (author_type IN ('user', 'token', 'system')),
  author_id        uuid,
  author_name      text NOT NULL,
  clauses          jsonb NOT NULL,
  apply_to_running boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, version)
);

-- One clock of one lead under one clause: kind and the transition that
-- started it (start_seq) identify it across recomputations.
CREATE TABLE sla_timers (
  tenant_id         uuid NOT NULL,
  id                uuid NOT NULL,
  lead_id           uuid NOT NULL,
  kind              text NOT NULL CHECK (kind IN ('respond', 'first_touch', 'attempts', 'recycle')),
  side              text NOT NULL CHECK (side IN ('marketing', 'sales')),
  start_seq         int NOT NULL,
  clause_id         uuid NOT NULL,
  agreement_version int NOT NULL,
  status            text NOT NULL CHECK (status IN ('running', 'at_risk', 'met', 'breached', 'cancelled')),
  started_at        timestamptz NOT NULL,
  due_at            timestamptz NOT NULL,
  warn_at           timestamptz NOT NULL,
  stopped_at        timestamptz,
  breached_at       timestamptz,
  holder_id         uuid,
  team_id           uuid,
  paused_minutes    int NOT NULL DEFAULT 0,
  holders           jsonb NOT NULL DEFAULT '[]',
  -- When the worker must look at this timer next: the warning, the due
  -- time, or the next escalation step; NULL when there is nothing left.
  next_check_at     timestamptz,
  at_risk_notified  boolean NOT NULL DEFAULT false,
  escalations       jsonb NOT NULL DEFAULT '[]',
  escalation_level  int NOT NULL DEFAULT 0,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, lead_id, kind, start_seq),
  FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, agreement_version) REFERENCES agreement_versions (tenant_id, version)
);
-- The worker's queue: only timers with something left to do, by when. It
-- spans tenants, so it does not lead with tenant_id.
CREATE INDEX sla_timers_next_check_idx ON sla_timers (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX sla_timers_open_idx ON sla_timers (tenant_id, holder_id, due_at) WHERE status IN ('running', 'at_risk');
CREATE INDEX sla_timers_status_idx ON sla_timers (tenant_id, status, due_at);
CREATE INDEX sla_timers_stopped_idx ON sla_timers (tenant_id, stopped_at) WHERE stopped_at IS NOT NULL;

-- Exactly one breach per timer, never deleted.
CREATE TABLE sla_breaches (
  tenant_id          uuid NOT NULL,
  id                 uuid NOT NULL,
  timer_id           uuid NOT NULL,
  lead_id            uuid NOT NULL,
  kind               text NOT NULL,
  side               text NOT NULL,
  clause_id          uuid NOT NULL,
  holder_id          uuid,
  team_id            uuid,
  due_at             timestamptz NOT NULL,
  breached_at        timestamptz NOT NULL,
  detected_at        timestamptz NOT NULL,
  escalation_level   int NOT NULL DEFAULT 0,
  acknowledged_at    timestamptz,
  acknowledged_by    uuid,
  excuse_reason      text,
  excuse_requested_by uuid,
  excuse_requested_at timestamptz,
  excused_by         uuid,
  excused_at         timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, timer_id),
  FOREIGN KEY (tenant_id, timer_id) REFERENCES sla_timers (tenant_id, id) ON DELETE CASCADE,
  CHECK (excused_by IS NULL OR excused_by <> excuse_requested_by)
);
CREATE INDEX sla_breaches_breached_idx ON sla_breaches (tenant_id, breached_at);
CREATE INDEX sla_breaches_lead_idx ON sla_breaches (tenant_id, lead_id);

-- Each escalation step fires once per timer.
CREATE TABLE sla_escalations (
  tenant_id  uuid NOT NULL,
  timer_id   uuid NOT NULL,
  step       int NOT NULL,
  fired_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, timer_id, step),
  FOREIGN KEY (tenant_id, timer_id) REFERENCES sla_timers (tenant_id, id) ON DELETE CASCADE
);

-- The outcome of a period clause for one period, recorded once at its end.
CREATE TABLE sla_period_results (
  tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  clause_id     uuid NOT NULL,
  period_start  date NOT NULL,
  period_end    date NOT NULL,
  agreement_version int NOT NULL,
  kind          text NOT NULL,
  side          text NOT NULL,
  target        numeric NOT NULL,
  actual        numeric,
  status        text NOT NULL CHECK (status IN ('met', 'missed')),
  recorded_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, clause_id, period_start)
);

CREATE TABLE webhook_endpoints (
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id         uuid NOT NULL,
  url        text NOT NULL,
  events     text[] NOT NULL,
  format     text NOT NULL DEFAULT 'accord' CHECK (format IN ('accord', 'slack')),
  secret     text NOT NULL,
  active     boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['agreement_versions', 'sla_timers', 'sla_breaches', 'sla_escalations',
                           'sla_period_results', 'webhook_endpoints'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = accord_tenant()) WITH CHECK (tenant_id = accord_tenant())', t);
  END LOOP;
END
$$;

-- The breach worker claims due timers of every tenant in one statement; it
-- sets accord.worker for that statement's transaction only, then acts on
-- each timer inside its tenant.
CREATE POLICY worker_claim ON sla_timers USING (current_setting('accord.worker', true) = 'on');

-- Versions and breaches are history.
REVOKE UPDATE, DELETE ON agreement_versions, sla_escalations FROM accord_app;
REVOKE DELETE ON sla_breaches FROM accord_app;

COMMIT;
