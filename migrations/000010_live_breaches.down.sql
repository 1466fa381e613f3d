BEGIN;
DROP TRIGGER IF EXISTS sla_breaches_notify ON sla_breaches;
DROP FUNCTION IF EXISTS accord_notify_breaches();
COMMIT;
