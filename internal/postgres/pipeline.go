package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/accordhq/accord/internal/tenant"
)

// inTenantRead is inTenant for a method whose first statement is a read:
// BEGIN, the tenant's setting and the read (query with args, whose row
// scan reads) go to the server in one round trip, where pgx's own
// transaction would take one for BEGIN and one for the read. A method
// whose last write allows it (see commitWith) commits with that write,
// saving the COMMIT's round trip too. At the rate leads are accepted these
// round trips were a tenth of the CPU per accept, client and server.
// Inside an idempotent request's transaction it is inTenant and the read.
func (s *Store) inTenantRead(ctx context.Context, tid tenant.ID, query string, args []any, scan func(pgx.Row) error,
	fn func(pgx.Tx) error) error {
	if tid.IsZero() {
		return fmt.Errorf("tenant transaction without a tenant: %w", ErrNotFound)
	}
	if _, ok := ctx.Value(outerTxKey{}).(*outerTx); ok {
		return s.inTenant(ctx, tid, func(tx pgx.Tx) error {
			if err := scan(tx.QueryRow(ctx, query, args...)); err != nil {
				return err
			}
			return fn(tx)
		})
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// A connection released inside a transaction (a panic) is closed by
	// the pool, never reused.
	defer c.Release()
	tx := &pipeTx{conn: c.Conn(), tenant: tid.String()}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(scopeQuery, tx.tenant, "")
	b.Queue(query, args...)
	br := tx.conn.SendBatch(ctx, b)
	_, err = br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if err != nil {
		_ = br.Close()
		return fmt.Errorf("begin: %w", err)
	}
	err = scan(br.QueryRow())
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("begin: %w", cerr)
	}
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// scopeQuery sets a transaction's tenant and user (as scopedBegin does).
const scopeQuery = `SELECT set_config('accord.tenant_id', $1, true), set_config('accord.user_id', $2, true)`

// pipeTx is a tenant transaction that began in a pipeline (inTenantRead)
// and may end in one (commitWith). It is a pgx.Tx for the store's code.
type pipeTx struct {
	conn   *pgx.Conn
	tenant string
	// lastWrite: the method's next batch is its last statement, so the
	// batch may carry the COMMIT.
	lastWrite bool
	// ended: committed or rolled back; committed: by a COMMIT, maybe
	// one a batch carried.
	ended, committed bool
	savepoints       int
}

// commitWith queues COMMIT behind batch b if tx allows it (its method said
// b is its last statement) and reports whether it did; batchEnded must be
// called once b's results are read.
func commitWith(tx pgx.Tx, b *pgx.Batch) bool {
	pt, ok := tx.(*pipeTx)
	if !ok || !pt.lastWrite || pt.ended {
		return false
	}
	b.Queue("commit")
	return true
}

// batchEnded records, after a batch that carried the COMMIT was read,
// whether the transaction is over: a statement that failed before it left
// the transaction open (aborted) for Rollback.
func batchEnded(tx pgx.Tx) {
	if pt, ok := tx.(*pipeTx); ok {
		pt.ended = pt.conn.PgConn().TxStatus() == 'I'
		pt.committed = pt.ended
	}
}

// reopen begins tx again, in its tenant, if a batch committed it: a lost
// race reads the lead's state after the empty commit.
func reopen(ctx context.Context, tx pgx.Tx) error {
	pt, ok := tx.(*pipeTx)
	if !ok || !pt.ended {
		return nil
	}
	if _, err := pt.conn.Exec(ctx, scopedBegin("BEGIN", pt.tenant, "")); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	pt.ended, pt.committed, pt.lastWrite = false, false, false
	return nil
}

// Begin starts a savepoint.
func (t *pipeTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if t.ended {
		return nil, pgx.ErrTxClosed
	}
	t.savepoints++
	sp := &savepoint{Tx: t, name: "sp_" + strconv.Itoa(t.savepoints)}
	if _, err := t.conn.Exec(ctx, "savepoint "+sp.name); err != nil {
		return nil, err
	}
	return sp, nil
}

// Commit commits the transaction, unless a batch already did.
func (t *pipeTx) Commit(ctx context.Context) error {
	if t.committed {
		return nil
	}
	if t.ended {
		return pgx.ErrTxClosed
	}
	t.ended = true
	tag, err := t.conn.Exec(ctx, "commit")
	if err != nil {
		if t.conn.PgConn().TxStatus() != 'I' {
			_ = t.conn.Close(ctx)
		}
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	t.committed = true
	return nil
}

// Rollback rolls the transaction back; after Commit it does nothing.
func (t *pipeTx) Rollback(ctx context.Context) error {
	if t.ended {
		return pgx.ErrTxClosed
	}
	t.ended = true
	if _, err := t.conn.Exec(ctx, "rollback"); err != nil {
		_ = t.conn.Close(ctx)
		return err
	}
	return nil
}

// CopyFrom runs COPY FROM in the transaction. Like every statement
// method below, it fails once the transaction ended (a batch carried its
// COMMIT) rather than run outside it.
func (t *pipeTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if t.ended {
		return 0, pgx.ErrTxClosed
	}
	return t.conn.CopyFrom(ctx, table, columns, src)
}

// SendBatch sends b in the transaction.
func (t *pipeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.ended {
		return closedBatch{}
	}
	return t.conn.SendBatch(ctx, b)
}

// LargeObjects is not supported: the store keeps no large objects.
func (t *pipeTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

// Prepare prepares a statement on the transaction's connection.
func (t *pipeTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if t.ended {
		return nil, pgx.ErrTxClosed
	}
	return t.conn.Prepare(ctx, name, sql)
}

// Exec runs sql in the transaction.
func (t *pipeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.ended {
		return pgconn.CommandTag{}, pgx.ErrTxClosed
	}
	return t.conn.Exec(ctx, sql, args...)
}

// Query runs sql in the transaction.
func (t *pipeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.ended {
		return nil, pgx.ErrTxClosed
	}
	return t.conn.Query(ctx, sql, args...)
}

// QueryRow runs sql in the transaction.
func (t *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.ended {
		return closedRow{}
	}
	return t.conn.QueryRow(ctx, sql, args...)
}

// closedRow and closedBatch answer statements sent after the end.
type closedRow struct{}

func (closedRow) Scan(...any) error { return pgx.ErrTxClosed }

type closedBatch struct{}

func (closedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, pgx.ErrTxClosed }
func (closedBatch) Query() (pgx.Rows, error)         { return nil, pgx.ErrTxClosed }
func (closedBatch) QueryRow() pgx.Row                { return closedRow{} }
func (closedBatch) Close() error                     { return pgx.ErrTxClosed }
func (closedBatch) Tx() pgx.Tx                       { return nil }

// Conn is the transaction's connection.
func (t *pipeTx) Conn() *pgx.Conn { return t.conn }

// savepoint is a pseudo-nested transaction of a pipeTx, as pgx's own.
type savepoint struct {
	pgx.Tx // the enclosing transaction, which runs the statements
	name   string
	closed bool
}

// Begin starts a savepoint inside this one.
func (s *savepoint) Begin(ctx context.Context) (pgx.Tx, error) {
	if s.closed {
		return nil, pgx.ErrTxClosed
	}
	return s.Tx.Begin(ctx)
}

// Commit releases the savepoint.
func (s *savepoint) Commit(ctx context.Context) error {
	if s.closed {
		return pgx.ErrTxClosed
	}
	s.closed = true
	_, err := s.Tx.Exec(ctx, "release savepoint "+s.name)
	return err
}

// Rollback rolls back to the savepoint.
func (s *savepoint) Rollback(ctx context.Context) error {
	if s.closed {
		return pgx.ErrTxClosed
	}
	s.closed = true
	_, err := s.Tx.Exec(ctx, "rollback to savepoint "+s.name)
	return err
}
