-- Bulk writers (imports, seeds) let the trigram search index gather new
-- entries in a large pending list (gin_pending_list_limit 64MB for their
-- transaction) and merge them rarely, which makes their inserts much
-- cheaper. Left there, the list would be merged by the next ordinary
-- insert that finds it over the default 4MB: one user's lead creation
-- would pay for the whole import's merge. A bulk writer calls
-- accord_flush_lead_search when it is done, so the merge happens then.
-- Only the index's owner may clean its pending list, hence SECURITY
-- DEFINER; it writes no rows a tenant could see.
BEGIN;

CREATE FUNCTION accord_flush_lead_search() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT gin_clean_pending_list('public.lead_search_doc_idx'::regclass)
$$;

REVOKE EXECUTE ON FUNCTION accord_flush_lead_search() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION accord_flush_lead_search() TO accord_app;

COMMIT;
