BEGIN;
DROP INDEX IF EXISTS imports_created_idx;
ALTER TABLE imports DROP COLUMN IF EXISTS resume_offset, DROP COLUMN IF EXISTS chunk_size;
-- Uploads that never finished cannot stay under the old constraint. Row-level
-- security binds the owner too, so lift it for this one statement.
ALTER TABLE imports NO FORCE ROW LEVEL SECURITY;
DELETE FROM imports WHERE status = 'receiving';
ALTER TABLE imports FORCE ROW LEVEL SECURITY;
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check CHECK (status IN ('uploaded', 'running', 'done', 'failed'));
COMMIT;
