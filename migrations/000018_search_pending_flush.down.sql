BEGIN;
DROP FUNCTION IF EXISTS accord_flush_lead_search();
COMMIT;
