package postgres

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/demo"
	"github.com/accordhq/accord/internal/tenant"
)

// Bulk loading. PostgreSQL refuses COPY FROM into tables with row-level
// security, and every tenant table forces it. So rows are copied into
// temporary staging tables (dropped at commit) and moved into the tenant
// tables with one INSERT … SELECT per table, inside a tenant transaction:
// the policies still check every row, and the foreign keys and unique
// indexes still hold.

// stagedTable is a tenant table filled through a staging table.
type stagedTable struct {
	name    string   // the tenant table
	columns []string // the columns filled, tenant_id excluded
	types   []string // their SQL types, for the staging table
}

func (t stagedTable) staging() string { return "stage_" + t.name }

// stageRows creates t's staging table in tx (dropped at commit) and copies
// rows into it.
func stageRows(ctx context.Context, tx pgx.Tx, t stagedTable, rows pgx.CopyFromSource) (int64, error) {
	cols := make([]string, len(t.columns))
	for i, c := range t.columns {
		cols[i] = c + " " + t.types[i]
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE `+t.staging()+` (`+strings.Join(cols, ", ")+`) ON COMMIT DROP`); err != nil {
		return 0, fmt.Errorf("create staging table for %s: %w", t.name, err)
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t.staging()}, t.columns, rows)
	if err != nil {
		return 0, fmt.Errorf("copy into staging table for %s: %w", t.name, err)
	}
	return n, nil
}

// insertStaged moves the staged rows of t into t for tenant tid; where, if
// not empty, keeps only the staged rows (alias s) it holds for.
func insertStaged(ctx context.Context, tx pgx.Tx, tid tenant.ID, t stagedTable, where string) (int64, error) {
	cols := strings.Join(t.columns, ", ")
	q := `INSERT INTO ` + t.name + ` (tenant_id, ` + cols + `) SELECT $1, ` + cols + ` FROM ` + t.staging() + ` s`
	if where != "" {
		q += ` WHERE ` + where
	}
	tag, err := tx.Exec(ctx, q, tid)
	if err != nil {
		return 0, fmt.Errorf("insert staged %s: %w", t.name, mapErr(err))
	}
	return tag.RowsAffected(), nil
}

// copyStaged is stageRows then insertStaged: COPY speed for a table with
// row-level security.
func copyStaged(ctx context.Context, tx pgx.Tx, tid tenant.ID, t stagedTable, rows pgx.CopyFromSource) (int64, error) {
	if _, err := stageRows(ctx, tx, t, rows); err != nil {
		return 0, err
	}
	return insertStaged(ctx, tx, tid, t, "")
}

// copyRows streams rows to CopyFrom: for each parent, each of its children
// (or the parent itself, with children == nil) becomes one row through
// fill. The row slice is reused: pgx encodes a row before asking for the next.
type copyRows[P, C any] struct {
	parents  []P
	children func(*P) []C
	fill     func(p *P, c *C, row []any)
	row      []any
	pi, ci   int
}

func newCopyRows[P, C any](parents []P, width int, children func(*P) []C, fill func(*P, *C, []any)) *copyRows[P, C] {
	return &copyRows[P, C]{parents: parents, children: children, fill: fill, row: make([]any, width)}
}

// Next advances to the next row.
func (r *copyRows[P, C]) Next() bool {
	for r.pi < len(r.parents) {
		p := &r.parents[r.pi]
		if r.children == nil {
			r.fill(p, nil, r.row)
			r.pi++
			return true
		}
		if cs := r.children(p); r.ci < len(cs) {
			r.fill(p, &cs[r.ci], r.row)
			r.ci++
			return true
		}
		r.pi, r.ci = r.pi+1, 0
	}
	return false
}

// Values returns the current row.
func (r *copyRows[P, C]) Values() ([]any, error) { return r.row, nil }

// Err reports no error: the rows are in memory already.
func (r *copyRows[P, C]) Err() error { return nil }

// The tables of a lead's history.
var (
	bulkLeads = stagedTable{name: "leads",
		columns: []string{"id", "external_id", "email", "first_name", "last_name", "company", "title", "phone", "country",
			"segment", "source", "campaign", "score", "icp_fit", "stage", "stage_changed_at", "owner_id", "team_id",
			"amount_cents", "currency", "snoozed_until", "created_at", "updated_at", "version"},
		types: []string{"uuid", "text", "text", "text", "text", "text", "text", "text", "text",
			"text", "text", "text", "int", "boolean", "text", "timestamptz", "uuid", "uuid",
			"bigint", "text", "timestamptz", "timestamptz", "timestamptz", "int"}}
	bulkTransitions = stagedTable{name: "lead_transitions",
		columns: []string{"lead_id", "seq", "from_stage", "to_stage", "at", "recorded_at", "actor_type", "actor_id", "actor_name",
			"reason", "note", "amount_cents", "owner_id", "team_id"},
		types: []string{"uuid", "int", "text", "text", "timestamptz", "timestamptz", "text", "uuid", "text",
			"text", "text", "bigint", "uuid", "uuid"}}
	bulkActivities = stagedTable{name: "lead_activities",
		columns: []string{"lead_id", "kind", "at", "recorded_at", "actor_type", "actor_id", "actor_name", "note", "url"},
		types:   []string{"uuid", "text", "timestamptz", "timestamptz", "text", "uuid", "text", "text", "text"}}
	bulkAssignments = stagedTable{name: "lead_assignments",
		columns: []string{"lead_id", "at", "owner_id", "team_id", "previous_owner_id", "why", "actor_type", "actor_id", "actor_name"},
		types:   []string{"uuid", "timestamptz", "uuid", "uuid", "uuid", "text", "text", "uuid", "text"}}
	bulkPauses = stagedTable{name: "lead_pauses",
		columns: []string{"lead_id", "at", "until", "reason", "actor_type", "actor_id", "actor_name"},
		types:   []string{"uuid", "timestamptz", "timestamptz", "text", "text", "uuid", "text"}}
)

// LeadHistories is what BulkInsertLeadHistory inserts: Len leads, the i-th
// built into a reused Lead by Lead(i, l). *demo.Generator is one.
type LeadHistories interface {
	Len() int
	Lead(i int, l *demo.Lead)
}

// BulkOptions tunes a bulk insert.
type BulkOptions struct {
	// ChunkSize is the number of leads per transaction (default 25,000):
	// it bounds memory, and each chunk is committed as it completes.
	ChunkSize int
	// Workers is the number of chunks inserted at once, each in its own
	// transaction and connection (default 1).
	Workers int
	// SkipExisting leaves out generated leads whose email or external id
	// the tenant has already (with their history), instead of failing.
	SkipExisting bool
	// Progress, if set, is called after each committed chunk, one call at
	// a time.
	Progress func(BulkStats)
}

// BulkStats counts the rows a bulk insert wrote and where its time went.
type BulkStats struct {
	Leads       int64
	Skipped     int64
	Transitions int64
	Activities  int64
	Assignments int64
	Pauses      int64
	// Copy and Insert are the time spent per table copying rows into the
	// staging table and inserting them from it, summed over chunks (and so
	// over workers running at once).
	Copy, Insert map[string]time.Duration
	Elapsed      time.Duration
}

// Rows is the number of rows written, all tables together.
func (s BulkStats) Rows() int64 {
	return s.Leads + s.Transitions + s.Activities + s.Assignments + s.Pauses
}

// TableRows is the number of rows written into each table.
func (s BulkStats) TableRows() map[string]int64 {
	return map[string]int64{bulkLeads.name: s.Leads, bulkTransitions.name: s.Transitions, bulkActivities.name: s.Activities,
		bulkAssignments.name: s.Assignments, bulkPauses.name: s.Pauses}
}

func (s *BulkStats) add(c BulkStats) {
	s.Leads += c.Leads
	s.Skipped += c.Skipped
	s.Transitions += c.Transitions
	s.Activities += c.Activities
	s.Assignments += c.Assignments
	s.Pauses += c.Pauses
	if s.Copy == nil {
		s.Copy, s.Insert = map[string]time.Duration{}, map[string]time.Duration{}
	}
	for k, d := range c.Copy {
		s.Copy[k] += d
	}
	for k, d := range c.Insert {
		s.Insert[k] += d
	}
}

// BulkInsertLeadHistory inserts leads with their whole history (the
// transitions, activities, assignments and pauses that src generates) into
// tenant tid through COPY, a chunk of leads per transaction. One goroutine
// builds chunks ahead of the workers that insert them. Chunks committed
// before an error stay.
func (s *Store) BulkInsertLeadHistory(ctx context.Context, tid tenant.ID, src LeadHistories, opts BulkOptions) (BulkStats, error) {
	started := time.Now()
	var stats BulkStats
	t, err := s.FindTenantByID(ctx, tid)
	if err != nil {
		return stats, err
	}
	size, workers := opts.ChunkSize, opts.Workers
	if size <= 0 {
		size = 25_000
	}
	if workers <= 0 {
		workers = 1
	}
	total := src.Len()
	ctx, cancel := context.WithCancel(ctx)

	// One buffer per worker plus one being built: memory stays bounded.
	type chunk struct {
		from  int
		leads []demo.Lead
	}
	free := make(chan []demo.Lead, workers+1)
	for range workers + 1 {
		free <- nil
	}
	ready := make(chan chunk)
	produced := make(chan struct{})
	// The builder stops when the workers do, before this returns.
	defer func() { cancel(); <-produced }()
	go func() {
		defer close(produced)
		defer close(ready)
		for from := 0; from < total; from += size {
			var buf []demo.Lead
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			n := min(size, total-from)
			if cap(buf) < n {
				buf = append(buf[:cap(buf)], make([]demo.Lead, n-cap(buf))...)
			}
			buf = buf[:n]
			for i := range buf {
				src.Lead(from+i, &buf[i])
			}
			select {
			case ready <- chunk{from, buf}:
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ready {
				var cs BulkStats
				err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
					var err error
					cs, err = insertLeadChunk(ctx, tx, tid, t.Currency, c.leads, opts.SkipExisting)
					return err
				})
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("bulk insert leads %d–%d: %w", c.from+1, c.from+len(c.leads), err)
					}
					mu.Unlock()
					cancel()
					return
				}
				stats.add(cs)
				stats.Elapsed = time.Since(started)
				if opts.Progress != nil {
					snapshot := stats
					snapshot.Copy, snapshot.Insert = maps.Clone(stats.Copy), maps.Clone(stats.Insert)
					opts.Progress(snapshot)
				}
				mu.Unlock()
				free <- c.leads
			}
		}()
	}
	wg.Wait()
	// The chunks committed, failed or not, leave their search entries
	// pending: merge them now, not in a user's next insert.
	s.flushLeadSearch(context.WithoutCancel(ctx))
	stats.Elapsed = time.Since(started)
	if firstErr != nil {
		return stats, firstErr
	}
	if err := ctx.Err(); err != nil {
		return stats, err
	}
	return stats, nil
}

// insertLeadChunk writes one chunk of leads and their histories in tx.
func insertLeadChunk(ctx context.Context, tx pgx.Tx, tid tenant.ID, currency string, leads []demo.Lead, skipExisting bool) (BulkStats, error) {
	st := BulkStats{Copy: map[string]time.Duration{}, Insert: map[string]time.Duration{}}
	if _, err := tx.Exec(ctx, bulkTxSettings); err != nil {
		return st, fmt.Errorf("bulk settings: %w", err)
	}
	began := time.Now()
	staged, err := stageRows(ctx, tx, bulkLeads, newCopyRows(leads, len(bulkLeads.columns), nil, func(l *demo.Lead, _ *struct{}, row []any) {
		row[0], row[1], row[2], row[3], row[4], row[5] = [16]byte(l.ID), l.ExternalID, l.Email, l.FirstName, l.LastName, l.Company
		row[6], row[7], row[8], row[9], row[10], row[11] = l.Title, l.Phone, l.Country, nullText(l.Segment), l.Source, l.Campaign
		row[12], row[13], row[14], row[15], row[16], row[17] = int32(l.Score), l.ICPFit, string(l.Stage), l.StageChangedAt, nullID(l.OwnerID), nullID(l.TeamID)
		row[18], row[19], row[20], row[21], row[22], row[23] = nullAmount(l.Amount), currency, nullTime(l.SnoozedUntil), l.CreatedAt, l.UpdatedAt, int32(l.Version)
	}))
	if err != nil {
		return st, err
	}
	st.Copy[bulkLeads.name] = time.Since(began)
	// Activities go in before transitions: the funnel facts' triggers
	// (migration 13) pass over leads that have no transition yet, and
	// judge each new lead once, when its transitions arrive with its
	// touches already there, in one window pass over the statement's rows
	// (no lookup of a history that does not exist yet).
	children := []struct {
		table stagedTable
		rows  pgx.CopyFromSource
		count *int64
	}{
		{bulkActivities, newCopyRows(leads, len(bulkActivities.columns), func(l *demo.Lead) []demo.Activity { return l.Activities },
			func(l *demo.Lead, a *demo.Activity, row []any) {
				row[0], row[1], row[2], row[3], row[4] = [16]byte(l.ID), string(a.Kind), a.At, a.At, string(a.Actor.Type)
				row[5], row[6], row[7], row[8] = nullID(a.Actor.ID), a.Actor.Name, a.Note, a.URL
			}), &st.Activities},
		{bulkTransitions, newCopyRows(leads, len(bulkTransitions.columns), func(l *demo.Lead) []demo.Transition { return l.Transitions },
			func(l *demo.Lead, t *demo.Transition, row []any) {
				row[0], row[1], row[2], row[3], row[4], row[5] = [16]byte(l.ID), int32(t.Seq), nullText(string(t.From)), string(t.To), t.At, t.At
				row[6], row[7], row[8], row[9], row[10] = string(t.Actor.Type), nullID(t.Actor.ID), t.Actor.Name, nullText(t.Reason), t.Note
				row[11], row[12], row[13] = nullAmount(t.Amount), nullID(t.OwnerID), nullID(t.TeamID)
			}), &st.Transitions},
		{bulkAssignments, newCopyRows(leads, len(bulkAssignments.columns), func(l *demo.Lead) []demo.Assignment { return l.Assignments },
			func(l *demo.Lead, a *demo.Assignment, row []any) {
				row[0], row[1], row[2], row[3], row[4] = [16]byte(l.ID), a.At, nullID(a.OwnerID), nullID(a.TeamID), nullID(a.PreviousOwnerID)
				row[5], row[6], row[7], row[8] = a.Why, string(a.Actor.Type), nullID(a.Actor.ID), a.Actor.Name
			}), &st.Assignments},
		{bulkPauses, newCopyRows(leads, len(bulkPauses.columns), func(l *demo.Lead) []demo.Pause { return l.Pauses },
			func(l *demo.Lead, p *demo.Pause, row []any) {
				row[0], row[1], row[2], row[3] = [16]byte(l.ID), p.At, p.Until, p.Reason
				row[4], row[5], row[6] = string(p.Actor.Type), nullID(p.Actor.ID), p.Actor.Name
			}), &st.Pauses},
	}
	for _, c := range children {
		began := time.Now()
		if _, err := stageRows(ctx, tx, c.table, c.rows); err != nil {
			return st, err
		}
		st.Copy[c.table.name] = time.Since(began)
	}
	where := ""
	if skipExisting {
		// Leads whose email or external id the tenant has already stay out,
		// and so does their history.
		if _, err := tx.Exec(ctx, `
			DELETE FROM `+bulkLeads.staging()+` s
			WHERE EXISTS (SELECT FROM leads l WHERE l.tenant_id = $1 AND l.email IS NOT NULL AND l.email = s.email)
			   OR EXISTS (SELECT FROM leads l WHERE l.tenant_id = $1 AND l.external_id IS NOT NULL AND l.external_id = s.external_id)`,
			tid); err != nil {
			return st, fmt.Errorf("drop existing leads from staging: %w", err)
		}
		where = `s.lead_id IN (SELECT id FROM ` + bulkLeads.staging() + `)`
	}
	began = time.Now()
	if st.Leads, err = insertStaged(ctx, tx, tid, bulkLeads, ""); err != nil {
		return st, err
	}
	st.Insert[bulkLeads.name] = time.Since(began)
	st.Skipped = staged - st.Leads
	for _, c := range children {
		began := time.Now()
		if *c.count, err = insertStaged(ctx, tx, tid, c.table, where); err != nil {
			return st, err
		}
		st.Insert[c.table.name] = time.Since(began)
	}
	return st, nil
}

// BulkNotification is an in-app notification written by a seed, with its
// own time and read state.
type BulkNotification struct {
	Notification
	Read bool
}

// CreateNotifications writes notifications with the times they carry (for
// seeds: Notification.CreatedAt; a read one is read at that time).
func (s *Store) CreateNotifications(ctx context.Context, tid tenant.ID, ns []BulkNotification) error {
	if len(ns) == 0 {
		return nil
	}
	return s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		_, err := copyStaged(ctx, tx, tid, stagedTable{name: "notifications",
			columns: []string{"user_id", "kind", "title", "body", "link", "dedupe_key", "created_at", "read_at"},
			types:   []string{"uuid", "text", "text", "text", "text", "text", "timestamptz", "timestamptz"}},
			newCopyRows(ns, 8, nil, func(n *BulkNotification, _ *struct{}, row []any) {
				var readAt any
				if n.Read {
					readAt = n.CreatedAt
				}
				row[0], row[1], row[2], row[3], row[4] = [16]byte(n.UserID), n.Kind, n.Title, n.Body, n.Link
				row[5], row[6], row[7] = nullText(n.DedupeKey), n.CreatedAt, readAt
			}))
		if err != nil {
			return fmt.Errorf("create notifications: %w", err)
		}
		return nil
	})
}

// CountLeads is the number of leads of tenant tid.
func (s *Store) CountLeads(ctx context.Context, tid tenant.ID) (int, error) {
	var n int
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM leads WHERE tenant_id = $1`, tid).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count leads: %w", err)
	}
	return n, nil
}

// nullID is id for COPY, as the bytes pgx encodes directly (uuid.UUID
// would go through its text form), or NULL for uuid.Nil.
func nullID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return [16]byte(id)
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullAmount(c int64) any {
	if c == 0 {
		return nil
	}
	return c
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
