-- The lead search (name, email, company) moves from a trigram index on
-- leads to a side table that changes only when those fields do. Every
-- update of a lead that does not index a new row version in place (a stage
-- change touches indexed columns, so it never can) used to add ~50 trigram
-- entries to leads_search_idx and, every few MB of them, run the pending
-- list merge inside some unlucky request. Accepting a lead now writes no
-- trigram at all.
--
-- lead_search is derived data, written only by the triggers below, which
-- run as the schema owner: the application role may read it (row-level
-- security binds it to its tenant like every table) but not write it, so
-- it cannot drift from leads. Row-level security is enabled but not forced
-- for that reason: the owner's triggers must also keep it in step when a
-- tenant is deleted (a cascade that runs without any tenant set).
BEGIN;

CREATE TABLE lead_search (
  tenant_id uuid NOT NULL,
  lead_id   uuid NOT NULL,
  doc       text NOT NULL,
  PRIMARY KEY (tenant_id, lead_id)
);
CREATE INDEX lead_search_doc_idx ON lead_search USING gin (doc gin_trgm_ops);

-- What a search matches: the same expression leads_search_idx indexed.
CREATE FUNCTION accord_lead_search_doc(first_name text, last_name text, email text, company text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT lower(first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' || company) $$;

-- New leads, set-based per statement (an import batch inserts thousands).
CREATE FUNCTION accord_lead_search_insert() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  INSERT INTO lead_search (tenant_id, lead_id, doc)
  SELECT tenant_id, id, accord_lead_search_doc(first_name, last_name, email, company) FROM new_leads;
  RETURN NULL;
END $$;
CREATE TRIGGER leads_search_insert AFTER INSERT ON leads
  REFERENCING NEW TABLE AS new_leads FOR EACH STATEMENT EXECUTE FUNCTION accord_lead_search_insert();

-- A change of a searched field. Column lists and transition tables do not
-- mix, so this one is per row; updates that set none of these columns
-- (stage changes, assignments, snoozes) do not fire it at all.
CREATE FUNCTION accord_lead_search_update() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  UPDATE lead_search SET doc = accord_lead_search_doc(NEW.first_name, NEW.last_name, NEW.email, NEW.company)
  WHERE tenant_id = NEW.tenant_id AND lead_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER leads_search_update AFTER UPDATE OF first_name, last_name, email, company ON leads
  FOR EACH ROW
  WHEN (OLD.first_name IS DISTINCT FROM NEW.first_name OR OLD.last_name IS DISTINCT FROM NEW.last_name
        OR OLD.email IS DISTINCT FROM NEW.email OR OLD.company IS DISTINCT FROM NEW.company)
  EXECUTE FUNCTION accord_lead_search_update();

CREATE FUNCTION accord_lead_search_delete() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  DELETE FROM lead_search s USING old_leads o WHERE s.tenant_id = o.tenant_id AND s.lead_id = o.id;
  RETURN NULL;
END $$;
CREATE TRIGGER leads_search_delete AFTER DELETE ON leads
  REFERENCING OLD TABLE AS old_leads FOR EACH STATEMENT EXECUTE FUNCTION accord_lead_search_delete();

REVOKE EXECUTE ON FUNCTION accord_lead_search_insert(), accord_lead_search_update(), accord_lead_search_delete() FROM PUBLIC;

-- The leads there are already (the owner is bound by leads' forced
-- row-level security, so it lifts it for the copy, in this transaction).
ALTER TABLE leads NO FORCE ROW LEVEL SECURITY;
INSERT INTO lead_search (tenant_id, lead_id, doc)
  SELECT tenant_id, id, accord_lead_search_doc(first_name, last_name, email, company) FROM leads;
ALTER TABLE leads FORCE ROW LEVEL SECURITY;

ALTER TABLE lead_search ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_search USING (tenant_id = accord_tenant()) WITH CHECK (tenant_id = accord_tenant());
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON lead_search FROM accord_app;

DROP INDEX leads_search_idx;

COMMIT;
