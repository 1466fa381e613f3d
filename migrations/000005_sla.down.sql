BEGIN;
DROP TABLE IF EXISTS webhook_endpoints, sla_period_results, sla_escalations, sla_breaches, sla_timers, agreement_versions CASCADE;
COMMIT;
