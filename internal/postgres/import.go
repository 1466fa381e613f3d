package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/tenant"
)

// CSV imports. An upload streams into import_chunks (ImportUpload), so the
// file never sits whole in memory and any worker can read it after a
// restart; RunImport (import_run.go) works through it in batches.

// ImportChunkSize is the size of the chunks an upload is stored in.
const ImportChunkSize = 1 << 20

// ImportUploadTTL is how long an upload may wait to be started (a web
// preview nobody confirmed) before it is deleted with its file.
const ImportUploadTTL = 24 * time.Hour

// MaxImportErrors is how many row errors an import keeps (the first by
// line); further bad rows are only counted as skipped.
const MaxImportErrors = 100_000

// ImportArgs is the durable job that runs one import. It is inserted in the
// transaction that marks the import running.
type ImportArgs struct {
	TenantID string `json:"tenant_id"`
	ImportID string `json:"import_id"`
}

// Kind names the job for the queue.
func (ImportArgs) Kind() string { return "lead.import" }

// ImportExpireArgs is the durable job that deletes an upload nobody started
// (or that never finished arriving) after ImportUploadTTL.
type ImportExpireArgs struct {
	TenantID string `json:"tenant_id"`
	ImportID string `json:"import_id"`
}

// Kind names the job for the queue.
func (ImportExpireArgs) Kind() string { return "lead.import.expire" }

// Import is a CSV import as stored.
type Import struct {
	ID           uuid.UUID
	Preset       lead.Preset
	Filename     string
	SizeBytes    int64
	Status       lead.ImportStatus
	RowsTotal    int
	RowsDone     int
	Created      int
	Updated      int
	Skipped      int
	Failure      string
	Actor        auth.Actor
	CreatedAt    time.Time
	StartedAt    *time.Time
	FinishedAt   *time.Time
	ChunkSize    int
	ResumeOffset int64
}

// ErrorsStored is how many of the skipped rows have their error stored.
func (im Import) ErrorsStored() int { return min(im.Skipped, MaxImportErrors) }

// ExpiresAt is when an upload that is not started is deleted.
func (im Import) ExpiresAt() time.Time { return im.CreatedAt.Add(ImportUploadTTL) }

// ImportError is one bad row of an import.
type ImportError struct {
	Line    int
	Message string
}

const importColumns = `id, preset, filename, size_bytes, status, rows_total, rows_done, created, updated, skipped, failure,
	actor_type, actor_id, actor_name, created_at, started_at, finished_at, chunk_size, resume_offset`

func scanImport(r pgx.Row) (Import, error) {
	var im Import
	var preset, status, actorType string
	var actorID *uuid.UUID
	err := r.Scan(&im.ID, &preset, &im.Filename, &im.SizeBytes, &status, &im.RowsTotal, &im.RowsDone, &im.Created, &im.Updated,
		&im.Skipped, &im.Failure, &actorType, &actorID, &im.Actor.Name, &im.CreatedAt, &im.StartedAt, &im.FinishedAt,
		&im.ChunkSize, &im.ResumeOffset)
	im.Preset, im.Status, im.Actor.Type = lead.Preset(preset), lead.ImportStatus(status), auth.ActorType(actorType)
	if actorID != nil {
		im.Actor.ID = *actorID
	}
	return im, err
}

// findImport reads import id; uploads still arriving do not exist yet.
func findImport(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID, lock bool) (Import, error) {
	q := `SELECT ` + importColumns + ` FROM imports WHERE tenant_id = $1 AND id = $2 AND status <> 'receiving'`
	if lock {
		q += ` FOR UPDATE`
	}
	im, err := scanImport(tx.QueryRow(ctx, q, tid, id))
	if err != nil {
		return Import{}, fmt.Errorf("find import: %w", mapErr(err))
	}
	return im, nil
}

// FindImport returns import id of tenant tid.
func (s *Store) FindImport(ctx context.Context, tid tenant.ID, id uuid.UUID) (Import, error) {
	var im Import
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		im, err = findImport(ctx, tx, tid, id, false)
		return err
	})
	return im, err
}

// FindImports returns the tenant's latest imports, newest first.
func (s *Store) FindImports(ctx context.Context, tid tenant.ID, limit int) ([]Import, error) {
	var out []Import
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+importColumns+` FROM imports
			WHERE tenant_id = $1 AND status <> 'receiving' ORDER BY created_at DESC, id LIMIT $2`, tid, limit)
		if err != nil {
			return fmt.Errorf("query imports: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Import, error) { return scanImport(r) })
		if err != nil {
			return fmt.Errorf("scan imports: %w", err)
		}
		return nil
	})
	return out, err
}

// FindImportErrors returns the first limit row errors of import id by line.
func (s *Store) FindImportErrors(ctx context.Context, tid tenant.ID, id uuid.UUID, limit int) ([]ImportError, error) {
	var out []ImportError
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT line, message FROM import_errors WHERE tenant_id = $1 AND import_id = $2
			ORDER BY line LIMIT $3`, tid, id, limit)
		if err != nil {
			return fmt.Errorf("query import errors: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ImportError, error) {
			var e ImportError
			return e, r.Scan(&e.Line, &e.Message)
		})
		if err != nil {
			return fmt.Errorf("scan import errors: %w", err)
		}
		return nil
	})
	return out, err
}

// ImportUpload receives one uploaded file into the database: Write stores
// it in ImportChunkSize chunks as it arrives, each in its own short
// transaction (a slow upload holds no connection between chunks), and
// Finish makes the import visible. Until then it is 'receiving'; Abort (or,
// after a crash, the expiry job) deletes it with everything written.
//
// Inside an idempotent API request every step joins the request's
// transaction instead, so the import exists exactly when its response does.
type ImportUpload struct {
	store *Store
	// ctx is the request's: io.Writer has no context parameter.
	ctx  context.Context
	tid  tenant.ID
	id   uuid.UUID
	buf  []byte
	seq  int
	size int64
	done bool
}

// BeginImportUpload creates an import of tenant tid, uploaded by actor, that
// receives a file named filename.
func (s *Store) BeginImportUpload(ctx context.Context, tid tenant.ID, actor auth.Actor, filename string, now time.Time) (*ImportUpload, error) {
	u := &ImportUpload{store: s, ctx: ctx, tid: tid, id: uuid.New(), buf: make([]byte, 0, ImportChunkSize)}
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO imports (tenant_id, id, preset, filename, size_bytes, status, actor_type, actor_id, actor_name, created_at, chunk_size)
			VALUES ($1, $2, 'accord', $3, 0, 'receiving', $4, $5, $6, $7, $8)`,
			tid, u.id, filename, string(actor.Type), nullUUID(actor.ID), actor.Name, now, ImportChunkSize); err != nil {
			return fmt.Errorf("insert import: %w", mapErr(err))
		}
		// Whatever happens to the upload, it does not outlive its TTL unstarted.
		if _, err := s.jobs.InsertTx(ctx, tx, ImportExpireArgs{TenantID: tid.String(), ImportID: u.id.String()},
			&river.InsertOpts{ScheduledAt: now.Add(ImportUploadTTL)}); err != nil {
			return fmt.Errorf("enqueue import expiry: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// ID is the import's id.
func (u *ImportUpload) ID() uuid.UUID { return u.id }

// Size is the number of bytes received so far.
func (u *ImportUpload) Size() int64 { return u.size + int64(len(u.buf)) }

// Write stores p, a chunk to the database whenever ImportChunkSize bytes
// have gathered.
func (u *ImportUpload) Write(p []byte) (int, error) {
	if u.done {
		return 0, errors.New("write to a finished import upload")
	}
	n := 0
	for len(p) > 0 {
		take := min(len(p), ImportChunkSize-len(u.buf))
		u.buf = append(u.buf, p[:take]...)
		p, n = p[take:], n+take
		if len(u.buf) == ImportChunkSize {
			if err := u.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (u *ImportUpload) flush() error {
	if len(u.buf) == 0 {
		return nil
	}
	err := u.store.inTenant(u.ctx, u.tid, func(tx pgx.Tx) error {
		_, err := tx.Exec(u.ctx, `INSERT INTO import_chunks (tenant_id, import_id, seq, data) VALUES ($1, $2, $3, $4)`,
			u.tid, u.id, u.seq, u.buf)
		return err
	})
	if err != nil {
		return fmt.Errorf("store import chunk: %w", err)
	}
	u.seq++
	u.size += int64(len(u.buf))
	u.buf = u.buf[:0]
	return nil
}

// Finish stores the rest of the file and records its preset and number of
// rows. With start the import runs at once (the API); otherwise it waits
// as uploaded for someone to look at the preview and start it.
func (u *ImportUpload) Finish(preset lead.Preset, rowsTotal int, start bool, now time.Time) error {
	if err := u.flush(); err != nil {
		return err
	}
	u.done = true
	status := lead.ImportUploaded
	var started *time.Time
	if start {
		status, started = lead.ImportRunning, &now
	}
	return u.store.inTenant(u.ctx, u.tid, func(tx pgx.Tx) error {
		tag, err := tx.Exec(u.ctx, `
			UPDATE imports SET status = $3, preset = $4, size_bytes = $5, rows_total = $6, started_at = $7
			WHERE tenant_id = $1 AND id = $2 AND status = 'receiving'`,
			u.tid, u.id, string(status), string(preset), u.size, rowsTotal, started)
		if err != nil {
			return fmt.Errorf("finish import upload: %w", mapErr(err))
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("finish import upload: %w", ErrNotFound)
		}
		if start {
			return u.store.enqueueImport(u.ctx, tx, u.tid, u.id)
		}
		return nil
	})
}

// Abort deletes the import and every chunk written. It runs even when the
// request's context has ended (the client went away).
func (u *ImportUpload) Abort() error {
	u.done = true
	ctx := context.WithoutCancel(u.ctx)
	return u.store.inTenant(ctx, u.tid, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM imports WHERE tenant_id = $1 AND id = $2`, u.tid, u.id); err != nil {
			return fmt.Errorf("delete aborted import: %w", err)
		}
		return nil
	})
}

func (s *Store) enqueueImport(ctx context.Context, tx pgx.Tx, tid tenant.ID, id uuid.UUID) error {
	if _, err := s.jobs.InsertTx(ctx, tx, ImportArgs{TenantID: tid.String(), ImportID: id.String()}, nil); err != nil {
		return fmt.Errorf("enqueue import: %w", err)
	}
	return nil
}

// StartImport starts an uploaded import (the web preview's button): it is
// marked running and its job queued in one transaction. Starting an import
// that runs or ran already changes nothing.
func (s *Store) StartImport(ctx context.Context, tid tenant.ID, id uuid.UUID, now time.Time) (Import, error) {
	var im Import
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		if im, err = findImport(ctx, tx, tid, id, true); err != nil {
			return err
		}
		if im.Status != lead.ImportUploaded {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE imports SET status = 'running', started_at = $3 WHERE tenant_id = $1 AND id = $2`,
			tid, id, now); err != nil {
			return fmt.Errorf("start import: %w", err)
		}
		if err := s.enqueueImport(ctx, tx, tid, id); err != nil {
			return err
		}
		im.Status, im.StartedAt = lead.ImportRunning, &now
		return nil
	})
	return im, err
}

// ExpireImport deletes import id if it is still arriving or waiting to be
// started; it reports whether it did. The expiry job calls it.
func (s *Store) ExpireImport(ctx context.Context, tid tenant.ID, id uuid.UUID) (bool, error) {
	var deleted bool
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM imports WHERE tenant_id = $1 AND id = $2 AND status IN ('receiving', 'uploaded')`, tid, id)
		if err != nil {
			return fmt.Errorf("expire import: %w", err)
		}
		deleted = tag.RowsAffected() > 0
		return nil
	})
	return deleted, err
}

// FailImport ends import id as failed with a message for its page, keeping
// the rows it already stored, and drops its file.
func (s *Store) FailImport(ctx context.Context, tid tenant.ID, id uuid.UUID, message string, now time.Time) error {
	return s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE imports SET status = 'failed', failure = $3, finished_at = $4
			WHERE tenant_id = $1 AND id = $2 AND status IN ('uploaded', 'running')`, tid, id, message, now); err != nil {
			return fmt.Errorf("fail import: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM import_chunks WHERE tenant_id = $1 AND import_id = $2`, tid, id); err != nil {
			return fmt.Errorf("drop import file: %w", err)
		}
		return nil
	})
}

// OpenImportFile returns a reader of import id's file, chunk by chunk (for
// the preview and the job): it holds one chunk in memory at a time.
func (s *Store) OpenImportFile(ctx context.Context, tid tenant.ID, id uuid.UUID) (io.Reader, error) {
	im, err := s.FindImport(ctx, tid, id)
	if err != nil {
		return nil, err
	}
	return &importFile{ctx: ctx, store: s, tid: tid, id: id, size: im.SizeBytes}, nil
}

// importFile reads an import's chunks in order.
type importFile struct {
	ctx   context.Context
	store *Store
	tid   tenant.ID
	id    uuid.UUID
	size  int64
	seq   int
	read  int64
	data  []byte
	eof   bool
}

func (f *importFile) Read(p []byte) (int, error) {
	for len(f.data) == 0 {
		if f.eof {
			return 0, io.EOF
		}
		var data []byte
		err := f.store.inTenant(f.ctx, f.tid, func(tx pgx.Tx) error {
			return tx.QueryRow(f.ctx, `SELECT data FROM import_chunks WHERE tenant_id = $1 AND import_id = $2 AND seq = $3`,
				f.tid, f.id, f.seq).Scan(&data)
		})
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if f.read != f.size {
				return 0, fmt.Errorf("read import file: %d of %d bytes stored: %w", f.read, f.size, io.ErrUnexpectedEOF)
			}
			f.eof = true
			return 0, io.EOF
		case err != nil:
			return 0, fmt.Errorf("read import chunk %d: %w", f.seq, err)
		}
		f.seq++
		f.data = data
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	f.read += int64(n)
	return n, nil
}
