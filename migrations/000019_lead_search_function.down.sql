BEGIN;
DROP FUNCTION IF EXISTS accord_search_leads(text);
COMMIT;
