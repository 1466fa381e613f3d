BEGIN;
DROP TABLE IF EXISTS import_errors, import_chunks, imports, idempotency_keys, notifications,
  lead_pauses, lead_assignments, lead_activities, lead_transitions, leads, targets, routing_rules,
  tenant_settings, rejection_reasons, segments CASCADE;
ALTER TABLE teams DROP COLUMN IF EXISTS rr_last_user_id;
COMMIT;
