BEGIN;
CREATE INDEX leads_search_idx ON leads USING gin (
  (lower(first_name || ' ' || last_name || ' ' || coalesce(email, '') || ' ' || company)) gin_trgm_ops);
DROP TRIGGER leads_search_delete ON leads;
DROP TRIGGER leads_search_update ON leads;
DROP TRIGGER leads_search_insert ON leads;
DROP FUNCTION accord_lead_search_delete();
DROP FUNCTION accord_lead_search_update();
DROP FUNCTION accord_lead_search_insert();
DROP TABLE lead_search;
DROP FUNCTION accord_lead_search_doc(text, text, text, text);
COMMIT;
