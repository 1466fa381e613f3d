-- Leads and the handoff: leads, their append-only transitions, activities,
-- assignments and pauses; the tenant's reference data (segments, reasons,
-- routing, qualification, targets); in-app notifications; idempotency keys;
-- CSV imports.
BEGIN;

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE segments (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  code      text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,49}$'),
  position  int NOT NULL,
  PRIMARY KEY (tenant_id, code)
);

CREATE TABLE rejection_reasons (
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  code       text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,49}$'),
  label      text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, code)
);

-- One row per tenant: routing default, qualification rule.
CREATE TABLE tenant_settings (
  tenant_id       uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  default_team_id uuid,
  qualification   jsonb,
  FOREIGN KEY (tenant_id, default_team_id) REFERENCES teams (tenant_id, id)
);

CREATE TABLE routing_rules (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  position  int NOT NULL,
  segment   text,
  source    text,
  country   text,
  team_id   uuid NOT NULL,
  PRIMARY KEY (tenant_id, position),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id)
);

-- Round-robin position of each team: the member who got the last lead.
ALTER TABLE teams ADD COLUMN rr_last_user_id uuid;

-- Revenue targets per month, optionally per segment ('' = all segments).
CREATE TABLE targets (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  period    text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
  segment   text NOT NULL DEFAULT '',
  revenue_cents bigint NOT NULL CHECK (revenue_cents >= 0),
  PRIMARY KEY (tenant_id, period, segment)
);

CREATE TABLE leads (
  tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id               uuid NOT NULL,
  external_id      text,
  email            text CHECK (email = lower(email)),
  first_name       text NOT NULL DEFAULT '',
  last_name        text NOT NULL DEFAULT '',
  company          text NOT NULL DEFAULT '',
  title            text NOT NULL DEFAULT '',
  phone            text NOT NULL DEFAULT '',
  country          text NOT NULL DEFAULT '',
  segment          text,
  source           text NOT NULL DEFAULT '',
  campaign         text NOT NULL DEFAULT '',
  score            int CHECK (score BETWEEN 0 AND 100),
  icp_fit          boolean NOT NULL DEFAULT false,
  stage            text NOT NULL CHECK (stage IN ('new', 'mql', 'accepted', 'rejected', 'sql', 'opportunity', 'won', 'lost', 'recycled')),
  stage_changed_at timestamptz NOT NULL,
  owner_id         uuid,
  team_id          uuid,
  amount_cents     bigint,
  currency         text NOT NULL,
  snoozed_until    timestamptz,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  version          int NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, owner_id) REFERENCES memberships (tenant_id, user_id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id),
  FOREIGN KEY (tenant_id, segment) REFERENCES segments (tenant_id, code) ON UPDATE CASCADE
);
CREATE UNIQUE INDEX leads_email_key ON leads (tenant_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX leads_external_id_key ON leads (tenant_id, external_id) WHERE external_id IS NOT NULL;
-- The inbox: an owner's leads by stage and time waiting.
CREATE INDEX leads_owner_idx ON leads (tenant_id, owner_id, stage, stage_changed_at);
-- A team's queue and a manager's view.
CREATE INDEX leads_team_idx ON leads (tenant_id, team_id, stage, stage_changed_at);
-- Lists, newest first, and sync by updated_since.
CREATE INDEX leads_created_idx ON leads (tenant_id, created_at DESC, id DESC);
CREATE INDEX leads_owner_created_idx ON leads (tenant_id, owner_id, created_at DESC, id DESC);
CREATE INDEX leads_updated_idx ON leads (tenant_id, updated_at, id);
CREATE INDEX leads_stage_idx ON leads (tenant_id, stage);
-- Search by name, email and company.
CREATE INDEX leads_search_idx ON leads USING gin (
  (lower(first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' || company)) gin_trgm_ops);

-- Append-only: a lead's stage is the to_stage of its latest transition (seq).
CREATE TABLE lead_transitions (
  tenant_id    uuid NOT NULL,
  id           bigint GENERATED ALWAYS AS IDENTITY,
  lead_id      uuid NOT NULL,
  seq          int NOT NULL,
  from_stage   text,
  to_stage     text NOT NULL,
  at           timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL,
  actor_type   text NOT NULL CHECK (actor_type IN ('user', 'token', 'system')),
  actor_id     uuid,
  actor_name   text NOT NULL,
  reason       text,
  note         text NOT NULL DEFAULT '',
  amount_cents bigint,
  owner_id     uuid,
  team_id      uuid,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, lead_id, seq),
  FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX lead_transitions_stage_idx ON lead_transitions (tenant_id, to_stage, at);

CREATE TABLE lead_activities (
  tenant_id   uuid NOT NULL,
  id          bigint GENERATED ALWAYS AS IDENTITY,
  lead_id     uuid NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'linkedin', 'note', 'nurture', 'page_view', 'content_shared')),
  at          timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  actor_type  text NOT NULL CHECK (actor_type IN ('user', 'token', 'system')),
  actor_id    uuid,
  actor_name  text NOT NULL,
  note        text NOT NULL DEFAULT '',
  url         text NOT NULL DEFAULT '',
  asset_id    uuid,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX lead_activities_lead_idx ON lead_activities (tenant_id, lead_id, at);
CREATE INDEX lead_activities_kind_idx ON lead_activities (tenant_id, kind, at);

CREATE TABLE lead_assignments (
  tenant_id   uuid NOT NULL,
  id          bigint GENERATED ALWAYS AS IDENTITY,
  lead_id     uuid NOT NULL,
  at          timestamptz NOT NULL,
  owner_id    uuid,
  team_id     uuid,
  previous_owner_id uuid,
  why         text NOT NULL,
  actor_type  text NOT NULL CHECK (actor_type IN ('user', 'token', 'system')),
  actor_id    uuid,
  actor_name  text NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX lead_assignments_lead_idx ON lead_assignments (tenant_id, lead_id, at);

-- Snoozes ("the prospect asked for a call back"): extend SLA timers.
CREATE TABLE lead_pauses (
  tenant_id  uuid NOT NULL,
  id         bigint GENERATED ALWAYS AS IDENTITY,
  lead_id    uuid NOT NULL,
  at         timestamptz NOT NULL,
  until      timestamptz NOT NULL,
  reason     text NOT NULL,
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'token', 'system')),
  actor_id   uuid,
  actor_name text NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX lead_pauses_lead_idx ON lead_pauses (tenant_id, lead_id, at);

-- In-app notifications (the bell).
CREATE TABLE notifications (
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id         bigint GENERATED ALWAYS AS IDENTITY,
  user_id    uuid NOT NULL,
  kind       text NOT NULL,
  title      text NOT NULL,
  body       text NOT NULL DEFAULT '',
  link       text NOT NULL DEFAULT '',
  dedupe_key text,
  created_at timestamptz NOT NULL,
  read_at    timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX notifications_user_idx ON notifications (tenant_id, user_id, created_at DESC);
CREATE UNIQUE INDEX notifications_dedupe_key ON notifications (tenant_id, user_id, dedupe_key) WHERE dedupe_key IS NOT NULL;

-- Idempotency-Key: the first response to a key, stored in the transaction
-- of its effect, replayed for 24 hours.
CREATE TABLE idempotency_keys (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  key          text NOT NULL,
  request_hash bytea NOT NULL,
  status       int NOT NULL,
  content_type text NOT NULL,
  body         bytea NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- CSV imports: the uploaded file in chunks (so a restarted worker can read
-- it again), progress, and each bad row by line.
CREATE TABLE imports (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id          uuid NOT NULL,
  preset      text NOT NULL CHECK (preset IN ('accord', 'hubspot', 'salesforce')),
  filename    text NOT NULL,
  size_bytes  bigint NOT NULL,
  status      text NOT NULL CHECK (status IN ('uploaded', 'running', 'done', 'failed')),
  rows_total  int NOT NULL DEFAULT 0,
  rows_done   int NOT NULL DEFAULT 0,
  created     int NOT NULL DEFAULT 0,
  updated     int NOT NULL DEFAULT 0,
  skipped     int NOT NULL DEFAULT 0,
  failure     text NOT NULL DEFAULT '',
  actor_type  text NOT NULL CHECK (actor_type IN ('user', 'token', 'system')),
  actor_id    uuid,
  actor_name  text NOT NULL,
  created_at  timestamptz NOT NULL,
  started_at  timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE import_chunks (
  tenant_id uuid NOT NULL,
  import_id uuid NOT NULL,
  seq       int NOT NULL,
  data      bytea NOT NULL,
  PRIMARY KEY (tenant_id, import_id, seq),
  FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE import_errors (
  tenant_id uuid NOT NULL,
  import_id uuid NOT NULL,
  line      int NOT NULL,
  message   text NOT NULL,
  PRIMARY KEY (tenant_id, import_id, line),
  FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);

-- Defaults for tenants that exist already; new tenants get them when created.
-- (Before row-level security is switched on, which binds the owner too.)
INSERT INTO segments (tenant_id, code, position)
  SELECT t.id, s.code, s.position FROM tenants t
  CROSS JOIN (VALUES ('smb', 1), ('mid', 2), ('enterprise', 3)) AS s (code, position)
  ON CONFLICT DO NOTHING;
INSERT INTO tenant_settings (tenant_id) SELECT id FROM tenants ON CONFLICT DO NOTHING;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['segments', 'rejection_reasons', 'tenant_settings', 'routing_rules', 'targets', 'leads',
                           'lead_transitions', 'lead_activities', 'lead_assignments', 'lead_pauses', 'notifications',
                           'idempotency_keys', 'imports', 'import_chunks', 'import_errors'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = accord_tenant()) WITH CHECK (tenant_id = accord_tenant())', t);
  END LOOP;
END
$$;

-- History is never rewritten.
REVOKE UPDATE, DELETE ON lead_transitions, lead_activities, lead_assignments, lead_pauses FROM accord_app;

COMMIT;
