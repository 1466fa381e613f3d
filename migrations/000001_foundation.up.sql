-- Foundation: tenants, users, memberships, teams, calendars, sessions, API
-- tokens, invitations, audit log, and the row-level security that keeps every
-- tenant's rows to itself.
BEGIN;

-- The application connects as accord_app: it owns nothing and cannot bypass
-- row-level security. The embedded cluster creates it as a login role before
-- migrating; against an external server the migrating role creates it here
-- (NOLOGIN) and the app reaches it with SET ROLE.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'accord_app') THEN
    CREATE ROLE accord_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    EXECUTE format('GRANT accord_app TO %I', current_user);
  END IF;
END
$$;

-- Tenant and user of the current transaction, set by the store with
-- set_config(..., true) so they end with the transaction.
CREATE FUNCTION accord_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('accord.tenant_id', true), '')::uuid $$;

CREATE FUNCTION accord_user() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('accord.user_id', true), '')::uuid $$;

-- Global tables: a tenant row is the tenant itself; users sign in once and
-- belong to several tenants; sessions and login failures precede any tenant.
CREATE TABLE tenants (
  id          uuid PRIMARY KEY,
  slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,39}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  time_zone   text NOT NULL,
  currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  created_at  timestamptz NOT NULL
);

CREATE TABLE users (
  id             uuid PRIMARY KEY,
  email          text NOT NULL CHECK (email = lower(email)),
  name           text NOT NULL,
  password_hash  text,
  time_zone      text,
  last_tenant_id uuid REFERENCES tenants (id) ON DELETE SET NULL,
  created_at     timestamptz NOT NULL,
  last_login_at  timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- Session ids are stored as SHA-256 hashes: a copy of this table does not let
-- anyone sign in.
CREATE TABLE sessions (
  token_hash text PRIMARY KEY,
  data       bytea NOT NULL,
  expiry     timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

CREATE TABLE login_failures (
  id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL,
  ip    text NOT NULL,
  at    timestamptz NOT NULL
);
CREATE INDEX login_failures_email_idx ON login_failures (email, at);
CREATE INDEX login_failures_ip_idx ON login_failures (ip, at);

-- Tenant-owned tables: tenant_id leads every key so that the schema can be
-- distributed by tenant.
CREATE TABLE calendars (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id          uuid NOT NULL,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  time_zone   text NOT NULL,
  always_open boolean NOT NULL DEFAULT false,
  -- {"mon": [["09:00","17:00"]], ...}; days left out are closed.
  hours       jsonb NOT NULL DEFAULT '{}',
  is_default  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX calendars_default_key ON calendars (tenant_id) WHERE is_default;

CREATE TABLE calendar_holidays (
  tenant_id   uuid NOT NULL,
  calendar_id uuid NOT NULL,
  day         date NOT NULL,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  PRIMARY KEY (tenant_id, calendar_id, day),
  FOREIGN KEY (tenant_id, calendar_id) REFERENCES calendars (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE memberships (
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role       text NOT NULL CHECK (role IN ('admin', 'marketing', 'manager', 'rep', 'viewer')),
  team_id    uuid,
  manager_id uuid,
  away       boolean NOT NULL DEFAULT false,
  active     boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, user_id),
  FOREIGN KEY (tenant_id, manager_id) REFERENCES memberships (tenant_id, user_id)
);

CREATE TABLE teams (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id          uuid NOT NULL,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  side        text NOT NULL CHECK (side IN ('marketing', 'sales')),
  manager_id  uuid,
  calendar_id uuid,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, manager_id) REFERENCES memberships (tenant_id, user_id),
  FOREIGN KEY (tenant_id, calendar_id) REFERENCES calendars (tenant_id, id)
);
CREATE UNIQUE INDEX teams_name_key ON teams (tenant_id, lower(name));

ALTER TABLE memberships
  ADD FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id);
CREATE INDEX memberships_user_idx ON memberships (user_id);
CREATE INDEX memberships_team_idx ON memberships (tenant_id, team_id);

CREATE TABLE invitations (
  tenant_id  uuid NOT NULL,
  id         uuid NOT NULL,
  user_id    uuid NOT NULL,
  token_hash bytea NOT NULL,
  invited_by uuid,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX invitations_token_key ON invitations (tenant_id, token_hash);

CREATE TABLE api_tokens (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id           uuid NOT NULL,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  scope        text NOT NULL CHECK (scope IN ('ingest', 'read', 'admin')),
  token_hash   bytea NOT NULL,
  hint         text NOT NULL,
  created_by   uuid,
  created_at   timestamptz NOT NULL,
  last_used_at timestamptz,
  revoked_at   timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_tokens_hash_key ON api_tokens (tenant_id, token_hash);

CREATE TABLE audit_log (
  tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id         bigint GENERATED ALWAYS AS IDENTITY,
  at         timestamptz NOT NULL,
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'token', 'system')),
  actor_id   uuid,
  actor_name text NOT NULL,
  action     text NOT NULL,
  entity     text NOT NULL,
  entity_id  text NOT NULL,
  before     jsonb,
  after      jsonb,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_entity_idx ON audit_log (tenant_id, entity, entity_id, at);

-- Row-level security: every tenant-owned table is visible only inside its
-- tenant's transactions, for the owner too (FORCE).
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['calendars', 'calendar_holidays', 'memberships', 'teams',
                           'invitations', 'api_tokens', 'audit_log'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = accord_tenant()) WITH CHECK (tenant_id = accord_tenant())', t);
  END LOOP;
END
$$;

-- A signed-in user may list their own memberships across tenants (to pick or
-- switch a tenant); nothing else of another tenant.
CREATE POLICY own_memberships ON memberships FOR SELECT USING (user_id = accord_user());

-- Privileges of the application role, for these tables and every later one.
GRANT USAGE ON SCHEMA public TO accord_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO accord_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO accord_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO accord_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO accord_app;
-- The audit log is append-only for the application.
REVOKE UPDATE, DELETE ON audit_log FROM accord_app;
-- It may read the migration version (for /readyz), never change it.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM accord_app;

-- River (durable jobs) lives in its own schema; its migrations run after ours
-- as the same owner, so default privileges cover its tables.
CREATE SCHEMA IF NOT EXISTS river;
GRANT USAGE ON SCHEMA river TO accord_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA river GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO accord_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA river GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO accord_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA river GRANT EXECUTE ON FUNCTIONS TO accord_app;

COMMIT;
