-- CSV imports: uploads still arriving, and a checkpoint so that a job that
-- resumes after a restart can check it rejoins the file where it left off.
BEGIN;

-- 'receiving': the upload is still streaming into import_chunks; such rows
-- are invisible to users and removed if the upload never finishes.
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check
  CHECK (status IN ('receiving', 'uploaded', 'running', 'done', 'failed'));

ALTER TABLE imports
  -- Every chunk but the last has exactly this many bytes.
  ADD COLUMN chunk_size    int NOT NULL DEFAULT 1048576 CHECK (chunk_size > 0),
  -- Byte offset in the file after the last record processed (rows_done).
  ADD COLUMN resume_offset bigint NOT NULL DEFAULT 0 CHECK (resume_offset >= 0);

-- The import page lists a tenant's recent imports.
CREATE INDEX imports_created_idx ON imports (tenant_id, created_at DESC);

COMMIT;
