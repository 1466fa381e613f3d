-- Live updates: every statement that records breaches tells listeners of
-- channel accord_breaches which tenants got how many, on commit. The
-- dashboard's server-sent events forward it to the tenant's open pages,
-- whichever process (worker, import, API) recorded the breach.
BEGIN;

CREATE FUNCTION accord_notify_breaches() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT tenant_id, count(*) AS n FROM new_breaches GROUP BY tenant_id LOOP
    PERFORM pg_notify('accord_breaches', json_build_object('tenant_id', r.tenant_id, 'count', r.n)::text);
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER sla_breaches_notify AFTER INSERT ON sla_breaches
  REFERENCING NEW TABLE AS new_breaches
  FOR EACH STATEMENT EXECUTE FUNCTION accord_notify_breaches();

COMMIT;
