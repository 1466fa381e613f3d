package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/tenant"
)

// DefaultImportBatch is how many rows RunImport stores per transaction.
const DefaultImportBatch = 10_000

// ErrImportBusy reports that another worker is running the import right now.
var ErrImportBusy = errors.New("the import is being run by another worker")

// errImportMoved reports that the import's progress is not where this run
// left it: another run got in between. The job retries and resumes.
var errImportMoved = errors.New("the import's progress moved under this run")

// errImportBehind reports that the batch before this one had not committed
// when this one took its turn: it rolled back (to try again after a
// deadlock or a key taken meanwhile) and released its turn for a moment.
var errImportBehind = errors.New("the batch before has not committed yet")

// qualificationActor hands off leads that meet the qualification rule.
var qualificationActor = auth.Actor{Type: auth.ActorSystem, Name: "Qualification rule"}

// RunImportOptions tunes RunImport.
type RunImportOptions struct {
	// Now is the clock for business times (created_at defaults,
	// recorded_at, updated_at); time.Now when nil.
	Now func() time.Time
	// BatchSize is how many rows one transaction stores; DefaultImportBatch
	// when zero.
	BatchSize int
	// AfterBatch, when set, is called after each committed batch with the
	// import's progress; an error it returns stops the run (like a crash:
	// the next run resumes).
	AfterBatch func(Import) error
	// Parallel is how many batches are stored at once, each on a connection
	// of its own; DefaultImportParallel when zero.
	Parallel int
}

// DefaultImportParallel stores two batches at once, which uses both cores
// of a small server: PostgreSQL's work for a batch (indexes, triggers) is
// single-threaded. Batches that hand leads off take their turn before they
// lock a team (see applyImportBatch), so they do not deadlock.
const DefaultImportParallel = 2

// RunImport works through a running import until it is done. The file is
// read from the database chunk by chunk and checked row by row
// (lead.ImportParser); each batch of rows is stored in one transaction
// together with the import's progress, so a run that stops anywhere (a
// crash, a deploy) loses nothing and a later run resumes after the last
// committed batch without counting or storing any row twice. One run per
// import at a time: a second gets ErrImportBusy. A file that cannot be read
// at all ends the import as failed, with the reason; bad rows only skip
// themselves.
func (s *Store) RunImport(ctx context.Context, tid tenant.ID, id uuid.UUID, opts RunImportOptions) (Import, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultImportBatch
	}
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultImportParallel
	}
	unlock, err := s.lockImport(ctx, id)
	if err != nil {
		return Import{}, err
	}
	defer unlock()

	im, err := s.FindImport(ctx, tid, id)
	if err != nil {
		return im, err
	}
	switch im.Status {
	case lead.ImportDone, lead.ImportFailed:
		return im, nil
	case lead.ImportUploaded:
		return im, fmt.Errorf("run import %s: it was not started: %w", id, ErrConflict)
	}
	var ref leadRefs
	if err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		var err error
		ref, err = loadLeadRefs(ctx, tx, tid)
		return err
	}); err != nil {
		return im, err
	}

	rd := lead.NewCSVReader(&importFile{ctx: ctx, store: s, tid: tid, id: id, size: im.SizeBytes})
	header, err := lead.ReadHeader(rd)
	if msg, ok := fileFailure(err); ok {
		return s.failRun(ctx, tid, im, msg, opts.Now())
	}
	if err != nil {
		return im, fmt.Errorf("read import header: %w", err)
	}
	mapping, err := lead.NewMapping(im.Preset, header)
	if err != nil {
		return s.failRun(ctx, tid, im, err.Error(), opts.Now())
	}
	parser := lead.NewImportParser(mapping, ref.segments, ref.tenant.Location())

	// Resume: read past what earlier runs stored, so the parser remembers
	// their keys (duplicates of earlier lines are found across restarts).
	now := opts.Now()
	for i := 0; i < im.RowsDone; i++ {
		rec, err := rd.Read()
		var le *lead.LineError
		if err != nil && !errors.As(err, &le) {
			if msg, ok := fileFailure(err); ok {
				return s.failRun(ctx, tid, im, msg, opts.Now())
			}
			return im, fmt.Errorf("resume import at row %d: %w", i+1, err)
		}
		parser.Parse(rec, le, now)
	}
	if im.RowsDone > 0 && rd.Offset() != im.ResumeOffset {
		return im, fmt.Errorf("resume import: row %d ends at byte %d, not %d as recorded", im.RowsDone, rd.Offset(), im.ResumeOffset)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan importBatch, 1)
	produced := make(chan error, 1)
	go func() {
		defer close(batches)
		produced <- produceImportBatches(runCtx, rd, parser, opts, batches)
	}()
	// Up to opts.Parallel batches are stored at once, each in its own
	// transaction; they commit in file order (see applyImportBatch), and
	// their results are taken here in that order.
	results := make(chan *batchTurn, opts.Parallel-1)
	go func() {
		defer close(results)
		var prev *batchTurn
		start := im.RowsDone
		for b := range batches {
			turn := &batchTurn{key: importBatchKey(id, start), started: make(chan struct{}),
				accepted: make(chan struct{}), result: make(chan importResult, 1), done: make(chan struct{})}
			select {
			case results <- turn:
			case <-runCtx.Done():
				return
			}
			go func(b importBatch, start int, turn, prev *batchTurn) {
				next, err := s.applyImportBatchRetrying(runCtx, tid, im.ID, start, b, ref, turn, prev)
				turn.err = err
				close(turn.done)
				turn.result <- importResult{im: next, err: err}
			}(b, start, turn, prev)
			start += len(b.rows)
			prev = turn
		}
	}()
	stop := func(err error) (Import, error) {
		cancel()
		for turn := range results {
			<-turn.result
		}
		for range batches {
		}
		<-produced
		return im, err
	}
	for turn := range results {
		r := <-turn.result
		if r.err != nil {
			return stop(r.err)
		}
		im = r.im
		if parser.MemoryBytes() > importCollectAbove {
			// A big file's duplicate index is large but holds no pointers, so a
			// collection costs little; without one per batch the heap grows to
			// twice what is live before the runtime collects.
			runtime.GC()
		}
		if opts.AfterBatch != nil {
			if err := opts.AfterBatch(im); err != nil {
				return stop(err)
			}
		}
		close(turn.accepted)
	}
	if err := <-produced; err != nil {
		if msg, ok := fileFailure(err); ok {
			return s.failRun(ctx, tid, im, msg, opts.Now())
		}
		return im, err
	}
	return s.finishImport(ctx, tid, im, opts.Now())
}

// fileFailure reports a reading error that no retry can cure, and the
// message the import fails with.
func fileFailure(err error) (string, bool) {
	var fe *lead.FileError
	switch {
	case err == nil:
		return "", false
	case errors.As(err, &fe):
		return fe.Msg, true
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the stored file is incomplete: upload it again", true
	}
	return "", false
}

func (s *Store) failRun(ctx context.Context, tid tenant.ID, im Import, msg string, now time.Time) (Import, error) {
	if err := s.FailImport(ctx, tid, im.ID, msg, now); err != nil {
		return im, err
	}
	return s.FindImport(ctx, tid, im.ID)
}

// importCollectAbove is the size of a run's duplicate index from which it
// collects garbage after each batch (see RunImport).
const importCollectAbove = 32 << 20

// importLockClass is the first key of the advisory locks that keep two
// runs of one import apart.
const importLockClass = 0x696d7074 // "impt"

// lockImport takes a session advisory lock for import id on a connection of
// its own, held until the returned func runs; a dying worker's connection
// drops the lock with it.
func (s *Store) lockImport(ctx context.Context, id uuid.UUID) (func(), error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire connection for import lock: %w", err)
	}
	key := int32(binary.BigEndian.Uint32(id[:4]))
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, int32(importLockClass), key).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock import: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, ErrImportBusy
	}
	return func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, int32(importLockClass), key)
		conn.Release()
	}, nil
}

// importBatch is a run of consecutive records of the file, parsed.
type importBatch struct {
	rows      []lead.ParsedRow
	endOffset int64 // where the next batch starts in the file
	now       time.Time
}

// produceImportBatches reads and parses the file ahead of the database work,
// one batch at a time, so parsing and storing overlap.
func produceImportBatches(ctx context.Context, rd *lead.CSVReader, parser *lead.ImportParser, opts RunImportOptions, out chan<- importBatch) error {
	for {
		b := importBatch{rows: make([]lead.ParsedRow, 0, opts.BatchSize), now: opts.Now()}
		for len(b.rows) < opts.BatchSize {
			rec, err := rd.Read()
			if err == io.EOF {
				break
			}
			var le *lead.LineError
			if err != nil && !errors.As(err, &le) {
				return fmt.Errorf("read import file: %w", err)
			}
			b.rows = append(b.rows, parser.Parse(rec, le, b.now))
		}
		if len(b.rows) == 0 {
			return nil
		}
		b.endOffset = rd.Offset()
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// importResult is a stored batch's outcome: the import's progress after it.
type importResult struct {
	im  Import
	err error
}

// batchTurn is a batch's place in the commit order: a transaction-scoped
// advisory lock that the batch holds from its first statement to its end,
// so that the next batch can wait in the database (where a deadlock between
// the two is detected) until it has committed or rolled back.
type batchTurn struct {
	key     int64
	started chan struct{} // closed once the batch holds its lock
	once    sync.Once
	// accepted is closed once the run has taken the batch's result and
	// AfterBatch let it go on: the next batch commits only after that, so
	// a run that AfterBatch stops has stored exactly the batches it saw.
	accepted chan struct{}
	result   chan importResult
	// done is closed when the batch has stopped trying, err then being
	// its last error (nil once committed): a batch that found it behind
	// waits for this, holding no locks, before it tries again.
	done chan struct{}
	err  error
}

// importBatchKey is the advisory lock key of the batch of import id that
// starts after row start: the import's first 4 bytes and the row.
func importBatchKey(id uuid.UUID, start int) int64 {
	return int64(binary.BigEndian.Uint32(id[:4]))<<32 | int64(uint32(start))
}

// applyImportBatchRetrying stores a batch, again (up to three times) when
// a concurrent write took one of its keys first or a deadlock chose it.
func (s *Store) applyImportBatchRetrying(ctx context.Context, tid tenant.ID, id uuid.UUID, start int, b importBatch, ref leadRefs, turn, prev *batchTurn) (Import, error) {
	defer turn.once.Do(func() { close(turn.started) }) // never leave the next batch waiting
	waited := false
	for attempt := 1; ; attempt++ {
		next, err := s.applyImportBatch(ctx, tid, id, start, b, ref, turn, prev)
		if errors.Is(err, errImportBehind) && prev != nil && !waited {
			// The batch before is trying again. This one has rolled back and
			// holds nothing the other needs, so it may wait outside the
			// database for the other's outcome, and then take its turn again
			// (without using up an attempt).
			select {
			case <-prev.done:
			case <-ctx.Done():
				return next, ctx.Err()
			}
			if prev.err != nil {
				return next, err
			}
			waited, attempt = true, attempt-1
			continue
		}
		if err == nil || attempt == 3 || !errors.Is(err, ErrConflict) {
			return next, err
		}
	}
}

// importWrite is what a batch does to one lead.
type importWrite struct {
	line      int
	id        uuid.UUID
	created   bool
	in        lead.Input
	stage     lead.Stage
	createdAt time.Time
	assign    *assignment
	qualified *string // the qualification rule's reason, when it handed the lead off
	stored    *storedLead
}

// timerLead is the lead whose SLA timers the write may change (a lead
// imported past new, or an update that moved it to another segment or
// source, which may fall under another clause), and whether there is one.
func (w *importWrite) timerLead() (lead.Lead, bool) {
	if w.created {
		l := w.in.Apply(lead.Lead{ID: w.id})
		return l, w.stage != lead.StageNew
	}
	l := lead.Lead{ID: w.id, Segment: w.stored.segment, Source: w.stored.source}
	l = w.in.Apply(l)
	changed := l.Source != w.stored.source || (l.Segment == nil) != (w.stored.segment == nil) ||
		(l.Segment != nil && *l.Segment != *w.stored.segment)
	return l, changed
}

// storedLead is a lead the batch's keys matched.
type storedLead struct {
	id         uuid.UUID
	externalID *string
	email      *string
	segment    *string // as stored before the batch
	source     string
	write      *importWrite // this batch's update of it
}

// importPlan is a batch decided: what to write, and the rows skipped.
type importPlan struct {
	writes   []*importWrite
	errLines []int32
	errMsgs  []string
	created  int
	updated  int
	router   *importRouter
}

// importBatchSettings tune a batch's transaction, and only it:
//   - The trigram search index takes new entries into its pending list and
//     merges them in bulk; a larger list makes that merge rarer and the
//     batch about twice as fast to insert. The merge gathers the list's
//     entries in work_mem before it writes them into the index; with room
//     for a whole list it writes each key once per merge, not once per 4MB
//     (the default).
//   - The commit does not wait for its WAL to reach the disk. That is safe
//     here: a batch and the import's progress commit together, so a crash
//     that loses the last batches loses their progress with them and the
//     next run stores them again; and a later commit that waits (of anyone
//     who read the rows, or of the import's end) flushes the batches' WAL
//     first, so nothing that depends on a batch can outlive it.
const importBatchSettings = bulkTxSettings + `, set_config('synchronous_commit', 'off', true)`

// bulkTxSettings are the search index's settings of importBatchSettings,
// which the seeds' chunks use too. A bulk writer calls flushLeadSearch
// when it is done.
const bulkTxSettings = `SELECT set_config('gin_pending_list_limit', '64MB', true), set_config('work_mem', '256MB', true)`

// flushLeadSearch merges the search index's pending list after a bulk
// write (migration 18): otherwise the next single insert over the default
// limit would merge it, and one user's new lead would wait for a whole
// import's entries. The write is complete without it, so a failure is
// logged, not returned: autovacuum or that next insert merges the list.
func (s *Store) flushLeadSearch(ctx context.Context) {
	if _, err := s.pool.Exec(ctx, `SELECT accord_flush_lead_search()`); err != nil {
		s.logger.Warn("merge the search index's pending entries", "error", err.Error())
	}
}

// applyImportBatch stores one batch, the rows after row start, and the
// import's progress in one transaction. Batches run side by side but commit
// in file order: the batch before this one (prev) is waited for, through
// its advisory lock, before this one reads and moves the progress, so the
// progress always covers a prefix of the file and a restart resumes after
// the last batch committed. Rows of different batches never share a key
// (the parser skips a key seen before), and the leads the batch matches
// are locked in id order, so a batch sees the stored leads as the batches
// before it left them.
func (s *Store) applyImportBatch(ctx context.Context, tid tenant.ID, id uuid.UUID, start int, b importBatch, ref leadRefs, turn, prev *batchTurn) (Import, error) {
	var next Import
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, turn.key); err != nil {
			return fmt.Errorf("take the batch's turn: %w", mapErr(err))
		}
		turn.once.Do(func() { close(turn.started) })
		im, err := findImport(ctx, tx, tid, id, false)
		if err != nil {
			return err
		}
		if im.Status != lead.ImportRunning || im.RowsDone > start {
			return errImportMoved
		}
		if _, err := tx.Exec(ctx, importBatchSettings); err != nil {
			return fmt.Errorf("set up import batch: %w", err)
		}
		// Routing and timers use rows every batch shares (a team's
		// round-robin position, its queue): a batch locks them only after
		// the batch before has ended, or each would hold what the other
		// needs next (a deadlock), and round-robin would not follow the
		// file's order. A batch that routes nothing runs beside the one
		// before until its commit.
		waited := prev == nil
		waitTurn := func() error {
			if waited {
				return nil
			}
			select {
			case <-prev.started:
			case <-ctx.Done():
				return ctx.Err()
			}
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, prev.key); err != nil {
				return fmt.Errorf("wait for the batch before: %w", mapErr(err))
			}
			waited = true
			return nil
		}
		plan, err := s.planImportBatch(ctx, tx, tid, im, b, ref, waitTurn)
		if err != nil {
			return err
		}
		if err := writeImportPlan(ctx, tx, tid, im, b, plan, ref.tenant.Currency); err != nil {
			return err
		}
		if err := waitTurn(); err != nil {
			return err
		}
		if err := plan.router.finish(ctx, tx, tid, im, b); err != nil {
			return err
		}
		// Timers start, stop and move with their cause, in its transaction,
		// exactly as for a lead that arrives through the API.
		for _, w := range plan.writes {
			if l, ok := w.timerLead(); ok {
				if err := s.syncTimers(ctx, tx, tid, l, b.now, false); err != nil {
					return err
				}
			}
		}
		// The batch before has ended: the progress is where it left it, or
		// it failed and this batch must not commit.
		if im, err = findImport(ctx, tx, tid, id, true); err != nil {
			return err
		}
		if im.Status == lead.ImportRunning && im.RowsDone < start {
			return errImportBehind
		}
		if im.Status != lead.ImportRunning || im.RowsDone != start {
			return errImportMoved
		}
		if prev != nil {
			// It committed, so it holds no lock this batch could hold up:
			// waiting outside the database cannot deadlock.
			select {
			case <-prev.accepted:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		next = im
		next.RowsDone += len(b.rows)
		next.Created += plan.created
		next.Updated += plan.updated
		next.Skipped += len(plan.errLines)
		next.ResumeOffset = b.endOffset
		keep := max(0, MaxImportErrors-im.ErrorsStored())
		lines, msgs := plan.errLines[:min(keep, len(plan.errLines))], plan.errMsgs[:min(keep, len(plan.errMsgs))]
		if len(lines) > 0 {
			if _, err := tx.Exec(ctx, `
				INSERT INTO import_errors (tenant_id, import_id, line, message)
				SELECT $1, $2, e.line, e.message FROM unnest($3::int[], $4::text[]) AS e (line, message)
				ON CONFLICT DO NOTHING`, tid, im.ID, lines, msgs); err != nil {
				return fmt.Errorf("insert import errors: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `
			UPDATE imports SET rows_done = $3, created = $4, updated = $5, skipped = $6, resume_offset = $7,
			       rows_total = greatest(rows_total, $3)
			WHERE tenant_id = $1 AND id = $2`,
			tid, im.ID, next.RowsDone, next.Created, next.Updated, next.Skipped, next.ResumeOffset); err != nil {
			return fmt.Errorf("record import progress: %w", err)
		}
		return nil
	})
	if err != nil {
		return Import{}, fmt.Errorf("import rows from line %d: %w", b.rows[0].Line, err)
	}
	if next.RowsTotal < next.RowsDone {
		next.RowsTotal = next.RowsDone
	}
	return next, nil
}

// planImportBatch decides each row: skip it (and why), update the stored
// lead it matches (external id first, else email, like POST /leads) or
// create a lead, routed when it arrives handed off.
func (s *Store) planImportBatch(ctx context.Context, tx pgx.Tx, tid tenant.ID, im Import, b importBatch, ref leadRefs, waitTurn func() error) (*importPlan, error) {
	plan := &importPlan{router: &importRouter{waitTurn: waitTurn}}
	skip := func(line int, msg string) {
		plan.errLines = append(plan.errLines, int32(line))
		plan.errMsgs = append(plan.errMsgs, msg)
	}
	var exts, emails []string
	for _, r := range b.rows {
		if r.Err != "" {
			continue
		}
		if in := r.Row.Input; in.ExternalID != nil {
			exts = append(exts, *in.ExternalID)
		}
		if in := r.Row.Input; in.Email != nil {
			emails = append(emails, *in.Email)
		}
	}
	byExt, byEmail, dbEmail := map[string]*storedLead{}, map[string]*storedLead{}, map[string]uuid.UUID{}
	if len(exts)+len(emails) > 0 {
		// Locked, in id order: a batch running beside this one that updates
		// the same leads goes first (or waits), never both ways round.
		rows, err := tx.Query(ctx, `SELECT id, external_id, email, segment, source FROM leads
			WHERE tenant_id = $1 AND (external_id = ANY($2::text[]) OR email = ANY($3::text[]))
			ORDER BY id FOR UPDATE`, tid, exts, emails)
		if err != nil {
			return nil, fmt.Errorf("match imported rows: %w", err)
		}
		found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*storedLead, error) {
			var l storedLead
			return &l, r.Scan(&l.id, &l.externalID, &l.email, &l.segment, &l.source)
		})
		if err != nil {
			return nil, fmt.Errorf("scan matched leads: %w", err)
		}
		for _, l := range found {
			if l.externalID != nil {
				byExt[*l.externalID] = l
			}
			if l.email != nil {
				byEmail[*l.email] = l
				dbEmail[*l.email] = l.id
			}
		}
	}
	for _, r := range b.rows {
		if r.Err != "" {
			skip(r.Line, r.Err)
			continue
		}
		in := r.Row.Input
		var target *storedLead
		if in.ExternalID != nil {
			target = byExt[*in.ExternalID]
		}
		if target != nil && in.Email != nil {
			other, taken := byEmail[*in.Email]
			owner, held := dbEmail[*in.Email]
			if (taken && other != target) || (held && owner != target.id) {
				skip(r.Line, fmt.Sprintf("line %d: the email %s belongs to another lead than the one with external id %q: correct the email or the external id",
					r.Line, *in.Email, *in.ExternalID))
				continue
			}
		}
		if target == nil && in.Email != nil {
			if other := byEmail[*in.Email]; other != nil {
				if in.ExternalID != nil && other.externalID != nil && *other.externalID != *in.ExternalID {
					skip(r.Line, fmt.Sprintf("line %d: the email %s belongs to the lead with external id %q, not %q: correct the email or the external id",
						r.Line, *in.Email, *other.externalID, *in.ExternalID))
					continue
				}
				target = other
			}
		}
		if target != nil {
			plan.updated++
			if target.write != nil {
				// A second row of the batch for the same lead: apply it on top,
				// as if the rows were stored one after the other.
				target.write.in = mergeInput(target.write.in, in)
			} else {
				target.write = &importWrite{line: r.Line, id: target.id, in: in, stored: target}
				plan.writes = append(plan.writes, target.write)
			}
			// Later rows of the batch see the lead as this row leaves it.
			if in.Email != nil && (target.email == nil || *target.email != *in.Email) {
				if target.email != nil {
					delete(byEmail, *target.email)
				}
				target.email = in.Email
				byEmail[*in.Email] = target
			}
			if in.ExternalID != nil && target.externalID == nil {
				target.externalID = in.ExternalID
				byExt[*in.ExternalID] = target
			}
			continue
		}
		w := &importWrite{line: r.Line, id: newLeadID(), created: true, in: in, stage: r.Row.Stage, createdAt: b.now.UTC()}
		if in.CreatedAt != nil {
			w.createdAt = *in.CreatedAt
		}
		l := in.Apply(lead.Lead{ID: w.id, Stage: lead.StageNew})
		if w.stage == lead.StageNew {
			if ok, why := ref.qualification.Qualifies(l, nil); ok {
				w.stage, w.qualified = lead.StageMQL, &why
			}
		}
		if w.stage == lead.StageMQL {
			a, err := plan.router.route(ctx, tx, tid, l)
			if err != nil {
				return nil, err
			}
			w.assign = &a
			if a.queued {
				plan.router.queue(w)
			}
		}
		plan.created++
		plan.writes = append(plan.writes, w)
		nl := &storedLead{id: w.id, externalID: in.ExternalID, email: in.Email}
		if in.ExternalID != nil {
			byExt[*in.ExternalID] = nl
		}
		if in.Email != nil {
			byEmail[*in.Email] = nl
		}
	}
	return plan, nil
}

// newLeadID returns a time-ordered (version 7) UUID: consecutive new leads
// land side by side in the indexes that end in the id, instead of at random
// places, which makes bulk inserts several times cheaper.
func newLeadID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

// mergeInput lays the fields b gives over a.
func mergeInput(a, b lead.Input) lead.Input {
	pick := func(x, y *string) *string {
		if y != nil {
			return y
		}
		return x
	}
	a.ExternalID, a.Email = pick(a.ExternalID, b.ExternalID), pick(a.Email, b.Email)
	a.FirstName, a.LastName = pick(a.FirstName, b.FirstName), pick(a.LastName, b.LastName)
	a.Company, a.Title, a.Phone = pick(a.Company, b.Company), pick(a.Title, b.Title), pick(a.Phone, b.Phone)
	a.Country, a.Segment = pick(a.Country, b.Country), pick(a.Segment, b.Segment)
	a.Source, a.Campaign = pick(a.Source, b.Source), pick(a.Campaign, b.Campaign)
	if b.Score != nil {
		a.Score = b.Score
	}
	if b.ICPFit != nil {
		a.ICPFit = b.ICPFit
	}
	return a
}

// importRowColumns are the staging table's columns, in COPY order.
var importRowColumns = []string{"id", "created", "external_id", "email", "first_name", "last_name", "company", "title",
	"phone", "country", "segment", "source", "campaign", "score", "icp_fit", "created_at", "stage", "owner_id", "team_id",
	"why", "qualified"}

// writeImportPlan stores a decided batch set-based: the rows go by COPY
// (as CSV, see importRowsCSV) into a temporary table (COPY cannot write
// tables with row-level security), and from there into leads and their
// history. Updates run before inserts, so an email a row moves away from an
// existing lead is free for a new lead of the same batch.
func writeImportPlan(ctx context.Context, tx pgx.Tx, tid tenant.ID, im Import, b importBatch, plan *importPlan, currency string) error {
	if len(plan.writes) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `
		CREATE TEMP TABLE import_rows (
		  id uuid NOT NULL, created boolean NOT NULL,
		  external_id text, email text, first_name text, last_name text, company text, title text, phone text,
		  country text, segment text, source text, campaign text, score int, icp_fit boolean,
		  created_at timestamptz, stage text, owner_id uuid, team_id uuid, why text, qualified text
		) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("create import staging table: %w", err)
	}
	_, err := tx.Conn().PgConn().CopyFrom(ctx, newImportRowsCSV(plan.writes),
		`COPY import_rows (`+strings.Join(importRowColumns, ", ")+`) FROM STDIN WITH (FORMAT csv)`)
	if err != nil {
		return fmt.Errorf("copy import rows: %w", mapErr(err))
	}
	actor := im.Actor
	if plan.updated > 0 {
		if _, err := tx.Exec(ctx, `
			UPDATE leads l SET
			  external_id = coalesce(r.external_id, l.external_id), email = coalesce(r.email, l.email),
			  first_name = coalesce(r.first_name, l.first_name), last_name = coalesce(r.last_name, l.last_name),
			  company = coalesce(r.company, l.company), title = coalesce(r.title, l.title), phone = coalesce(r.phone, l.phone),
			  country = coalesce(r.country, l.country), segment = coalesce(r.segment, l.segment),
			  source = coalesce(r.source, l.source), campaign = coalesce(r.campaign, l.campaign),
			  score = coalesce(r.score, l.score), icp_fit = coalesce(r.icp_fit, l.icp_fit),
			  updated_at = $2, version = l.version + 1
			FROM import_rows r
			WHERE l.tenant_id = $1 AND l.id = r.id AND NOT r.created`, tid, b.now); err != nil {
			return fmt.Errorf("update imported leads: %w", mapErr(err))
		}
	}
	if plan.created == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO leads (tenant_id, id, external_id, email, first_name, last_name, company, title, phone, country,
		                   segment, source, campaign, score, icp_fit, stage, stage_changed_at, owner_id, team_id,
		                   currency, created_at, updated_at)
		SELECT $1, id, external_id, email, coalesce(first_name, ''), coalesce(last_name, ''), coalesce(company, ''),
		       coalesce(title, ''), coalesce(phone, ''), coalesce(country, ''), segment, coalesce(source, ''),
		       coalesce(campaign, ''), score, coalesce(icp_fit, false), stage, created_at, owner_id, team_id,
		       $2, created_at, $3
		FROM import_rows WHERE created
		-- In the order of the (created_at DESC, id DESC) indexes: neighbours
		-- land on the same index pages.
		ORDER BY created_at DESC, id DESC`, tid, currency, b.now); err != nil {
		return fmt.Errorf("insert imported leads: %w", mapErr(err))
	}
	// Every lead's history starts with its arrival; a lead imported past
	// new (or handed off by the qualification rule) moves on at once.
	if _, err := tx.Exec(ctx, `
		INSERT INTO lead_transitions (tenant_id, lead_id, seq, from_stage, to_stage, at, recorded_at, actor_type, actor_id,
		                              actor_name, note, owner_id, team_id)
		SELECT $1::uuid, id, 1, NULL, 'new', created_at, $2::timestamptz, $3::text, $4::uuid, $5::text, '', NULL::uuid, NULL::uuid
		FROM import_rows WHERE created
		UNION ALL
		SELECT $1, id, 2, 'new', stage, created_at, $2,
		       CASE WHEN qualified IS NULL THEN $3 ELSE 'system' END,
		       CASE WHEN qualified IS NULL THEN $4::uuid END,
		       CASE WHEN qualified IS NULL THEN $5 ELSE $7 END,
		       coalesce(qualified, $6::text), owner_id, team_id
		FROM import_rows WHERE created AND stage <> 'new'`,
		tid, b.now, string(actor.Type), nullUUID(actor.ID), actor.Name, "imported from "+im.Filename, qualificationActor.Name); err != nil {
		return fmt.Errorf("insert imported transitions: %w", mapErr(err))
	}
	if plan.router.used {
		if _, err := tx.Exec(ctx, `
			INSERT INTO lead_assignments (tenant_id, lead_id, at, owner_id, team_id, previous_owner_id, why, actor_type, actor_id, actor_name)
			SELECT $1, id, created_at, owner_id, team_id, NULL, why,
			       CASE WHEN qualified IS NULL THEN $2 ELSE 'system' END,
			       CASE WHEN qualified IS NULL THEN $3::uuid END,
			       CASE WHEN qualified IS NULL THEN $4 ELSE $5 END
			FROM import_rows WHERE created AND why IS NOT NULL`,
			tid, string(actor.Type), nullUUID(actor.ID), actor.Name, qualificationActor.Name); err != nil {
			return fmt.Errorf("insert imported assignments: %w", err)
		}
	}
	return nil
}

// importRouter routes a batch's handoffs like handoffOwner does one lead's:
// routing rules pick the team, round-robin the rep among its active reps
// who are not away. The teams it touches are locked for the transaction,
// and a lead no rep can take waits in the team's queue; the manager (or,
// without one, the admins) hears of those once per batch.
type importRouter struct {
	// waitTurn waits for the batch before to end; called before the first
	// team is locked.
	waitTurn func() error
	used     bool
	loaded   bool
	routing  lead.Routing
	teams    map[uuid.UUID]*routedTeam
	queued   map[string]*queuedGroup
	order    []string
}

type routedTeam struct {
	name     string
	manager  *uuid.UUID
	last     *uuid.UUID
	eligible []uuid.UUID
	moved    bool
}

type queuedGroup struct {
	team    *uuid.UUID
	manager *uuid.UUID
	why     string
	leads   []*importWrite
}

func (rt *importRouter) route(ctx context.Context, tx pgx.Tx, tid tenant.ID, l lead.Lead) (assignment, error) {
	rt.used = true
	if !rt.loaded {
		var err error
		if rt.routing, err = findRouting(ctx, tx, tid); err != nil {
			return assignment{}, err
		}
		rt.teams, rt.queued, rt.loaded = map[uuid.UUID]*routedTeam{}, map[string]*queuedGroup{}, true
	}
	team, why := rt.routing.Route(l)
	if team == nil {
		return assignment{why: why, queued: true}, nil
	}
	t := rt.teams[*team]
	if t == nil {
		if err := rt.waitTurn(); err != nil {
			return assignment{}, err
		}
		t = &routedTeam{}
		if err := tx.QueryRow(ctx, `SELECT rr_last_user_id, manager_id, name FROM teams WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			tid, *team).Scan(&t.last, &t.manager, &t.name); err != nil {
			return assignment{}, fmt.Errorf("lock team: %w", mapErr(err))
		}
		rows, err := tx.Query(ctx, `
			SELECT user_id FROM memberships
			WHERE tenant_id = $1 AND team_id = $2 AND role = 'rep' AND active AND NOT away
			ORDER BY user_id`, tid, *team)
		if err != nil {
			return assignment{}, fmt.Errorf("eligible reps: %w", err)
		}
		if t.eligible, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return assignment{}, fmt.Errorf("scan eligible reps: %w", err)
		}
		rt.teams[*team] = t
	}
	rep, ok := lead.NextRep(t.eligible, t.last)
	if !ok {
		return assignment{team: team, why: why + " → " + t.name + "; no active rep who is not away: the team's queue",
			queued: true, managerID: t.manager}, nil
	}
	t.last, t.moved = &rep, true
	return assignment{owner: &rep, team: team, why: why + " → " + t.name + "; round-robin"}, nil
}

// queue notes a lead that waits in a queue, for the batch's notifications.
func (rt *importRouter) queue(w *importWrite) {
	key := "none"
	if w.assign.team != nil {
		key = w.assign.team.String()
	}
	g := rt.queued[key]
	if g == nil {
		g = &queuedGroup{team: w.assign.team, manager: w.assign.managerID, why: w.assign.why}
		rt.queued[key] = g
		rt.order = append(rt.order, key)
	}
	g.leads = append(g.leads, w)
}

// finish saves the teams' round-robin positions and sends one notification
// per queue and recipient for the batch.
func (rt *importRouter) finish(ctx context.Context, tx pgx.Tx, tid tenant.ID, im Import, b importBatch) error {
	ids := make([]uuid.UUID, 0, len(rt.teams))
	for id := range rt.teams {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	for _, id := range ids {
		if t := rt.teams[id]; t.moved {
			if _, err := tx.Exec(ctx, `UPDATE teams SET rr_last_user_id = $3 WHERE tenant_id = $1 AND id = $2`, tid, id, *t.last); err != nil {
				return fmt.Errorf("advance round-robin: %w", err)
			}
		}
	}
	var admins []uuid.UUID
	for _, key := range rt.order {
		g := rt.queued[key]
		recipients := []uuid.UUID{}
		if g.manager != nil {
			recipients = append(recipients, *g.manager)
		} else {
			if admins == nil {
				rows, err := tx.Query(ctx, `SELECT user_id FROM memberships WHERE tenant_id = $1 AND role = 'admin' AND active ORDER BY user_id`, tid)
				if err != nil {
					return fmt.Errorf("find admins: %w", err)
				}
				if admins, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
					return fmt.Errorf("scan admins: %w", err)
				}
			}
			recipients = admins
		}
		n := Notification{Kind: "lead.queued", Body: g.why + " (import of " + im.Filename + ")",
			DedupeKey: fmt.Sprintf("import:%s:%d:%s", im.ID, b.rows[0].Line, key)}
		if len(g.leads) == 1 {
			w := g.leads[0]
			n.Title = "A lead is waiting in the queue: " + w.in.Apply(lead.Lead{}).Name()
			n.Link = "/leads/" + w.id.String()
		} else {
			n.Title = fmt.Sprintf("%d imported leads are waiting in the queue", len(g.leads))
			n.Link = "/import/" + im.ID.String()
		}
		for _, uid := range recipients {
			n.UserID = uid
			if err := insertNotification(ctx, tx, tid, n, b.now); err != nil {
				return err
			}
		}
	}
	return nil
}

// finishImport marks a run through the file as done and drops the file.
func (s *Store) finishImport(ctx context.Context, tid tenant.ID, im Import, now time.Time) (Import, error) {
	err := s.inTenant(ctx, tid, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE imports SET status = 'done', finished_at = $3, rows_total = rows_done
			WHERE tenant_id = $1 AND id = $2 AND status = 'running'`, tid, im.ID, now); err != nil {
			return fmt.Errorf("finish import: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM import_chunks WHERE tenant_id = $1 AND import_id = $2`, tid, im.ID); err != nil {
			return fmt.Errorf("drop import file: %w", err)
		}
		return nil
	})
	if err != nil {
		return im, err
	}
	s.flushLeadSearch(ctx)
	return s.FindImport(ctx, tid, im.ID)
}
