-- Content that sales uses: the asset library, tracked links per asset and
-- lead with their counted opens, and the requests sales sends marketing.
-- A use of an asset on a lead is a lead activity (kind content_shared,
-- asset_id), as API.md says.
BEGIN;

CREATE TABLE content_assets (
  tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id          uuid NOT NULL,
  title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  kind        text NOT NULL CHECK (kind IN ('case_study', 'one_pager', 'deck', 'comparison', 'roi_tool', 'video',
                                            'whitepaper', 'demo', 'email_template', 'other')),
  stage       text NOT NULL CHECK (stage IN ('new', 'mql', 'accepted', 'sql', 'opportunity', 'won')),
  segment     text,
  -- Only absolute http(s) addresses: the tracked-link redirect sends
  -- prospects here, so nothing else may ever be stored.
  url         text NOT NULL CHECK (url ~ '^https?://[^\s/]+' AND length(url) <= 2000),
  owner_id    uuid,
  tags        text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
  archived    boolean NOT NULL DEFAULT false,
  archived_at timestamptz,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, owner_id) REFERENCES memberships (tenant_id, user_id),
  FOREIGN KEY (tenant_id, segment) REFERENCES segments (tenant_id, code) ON UPDATE CASCADE,
  CHECK (archived = (archived_at IS NOT NULL))
);
CREATE INDEX content_assets_list_idx ON content_assets (tenant_id, archived, created_at DESC);

-- Uses of an asset: lead activities naming it. Assets are never deleted
-- (archived instead; the application may not DELETE them), so an
-- activity's asset_id always names an asset of its tenant — checked by
-- AddActivity in the transaction that writes it. A foreign key would put a
-- check on every activity row of bulk history loads for the few that name
-- an asset.
CREATE INDEX lead_activities_asset_idx ON lead_activities (tenant_id, asset_id, at) WHERE asset_id IS NOT NULL;
REVOKE DELETE ON content_assets FROM accord_app;

-- One tracked link per asset and lead: /c/{token} counts the prospect's
-- open and redirects to the asset's stored URL, never to a URL it is given.
CREATE TABLE content_links (
  tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id              uuid NOT NULL,
  token           text NOT NULL,
  asset_id        uuid NOT NULL,
  lead_id         uuid NOT NULL,
  created_at      timestamptz NOT NULL,
  opens           int NOT NULL DEFAULT 0 CHECK (opens >= 0),
  last_counted_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, token),
  UNIQUE (tenant_id, asset_id, lead_id),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES content_assets (tenant_id, id),
  FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX content_links_lead_idx ON content_links (tenant_id, lead_id);

-- Every counted open (at most one per link per hour), for the timeline.
CREATE TABLE content_opens (
  tenant_id uuid NOT NULL,
  link_id   uuid NOT NULL,
  at        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, link_id, at),
  FOREIGN KEY (tenant_id, link_id) REFERENCES content_links (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE content_requests (
  tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id           uuid NOT NULL,
  title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  objection    text NOT NULL CHECK (length(objection) BETWEEN 1 AND 2000),
  segment      text,
  lead_id      uuid,
  requester_id uuid,
  requester_name text NOT NULL,
  status       text NOT NULL CHECK (status IN ('open', 'in_progress', 'fulfilled', 'declined')),
  asset_id     uuid,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  closed_at    timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, segment) REFERENCES segments (tenant_id, code) ON UPDATE CASCADE,
  FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE SET NULL (lead_id),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES content_assets (tenant_id, id),
  CHECK (status <> 'fulfilled' OR asset_id IS NOT NULL),
  CHECK ((status IN ('fulfilled', 'declined')) = (closed_at IS NOT NULL))
);
CREATE INDEX content_requests_queue_idx ON content_requests (tenant_id, status, created_at);

CREATE TABLE content_request_comments (
  tenant_id   uuid NOT NULL,
  id          bigint GENERATED ALWAYS AS IDENTITY,
  request_id  uuid NOT NULL,
  author_id   uuid,
  author_name text NOT NULL,
  body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, request_id) REFERENCES content_requests (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX content_request_comments_idx ON content_request_comments (tenant_id, request_id, created_at);

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['content_assets', 'content_links', 'content_opens', 'content_requests',
                           'content_request_comments'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = accord_tenant()) WITH CHECK (tenant_id = accord_tenant())', t);
  END LOOP;
END
$$;

-- Opens and comments are history.
REVOKE UPDATE, DELETE ON content_opens, content_request_comments FROM accord_app;

COMMIT;
