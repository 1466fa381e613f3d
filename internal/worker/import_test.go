package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

// startImport uploads csv into a running import of tn, like the API does.
func startImport(t *testing.T, st *postgres.Store, tn postgrestest.Tenant, csv string, now time.Time) uuid.UUID {
	t.Helper()
	u, err := st.BeginImportUpload(context.Background(), tn.ID, tn.Admin(), "leads.csv", now)
	require.NoError(t, err)
	_, rows, err := lead.ScanCSV(io.TeeReader(strings.NewReader(csv), u), nil)
	require.NoError(t, err)
	require.NoError(t, u.Finish(lead.PresetAccord, rows, true, now))
	return u.ID()
}

// waitImport polls the import until it finishes (the job runs in the
// background), failing after a deadline.
func waitImport(t *testing.T, st *postgres.Store, tn postgrestest.Tenant, id uuid.UUID) postgres.Import {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		im, err := st.FindImport(context.Background(), tn.ID, id)
		require.NoError(t, err)
		if im.Status.Finished() {
			return im
		}
		if time.Now().After(deadline) {
			t.Fatalf("import still %s after 30 s: %d of %d rows", im.Status, im.RowsDone, im.RowsTotal)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runWorker(t *testing.T, st *postgres.Store, now func() time.Time) {
	t.Helper()
	w, err := New(Options{Logger: discard, Store: st, Now: now})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// TestWorker_Import: an import started through the store is run by the
// worker's job to the end.
func TestWorker_Import(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	now := time.Now().UTC()
	tn := postgrestest.CreateTenant(t, db.Store, "acme", now)
	id := startImport(t, db.Store, tn, "external_id,email,first_name\nw-1,w1@example.com,Ana\nw-2,bad,Bo\n", now)
	runWorker(t, db.Store, func() time.Time { return now })
	im := waitImport(t, db.Store, tn, id)
	require.Equal(t, lead.ImportDone, im.Status)
	require.Equal(t, 2, im.RowsDone)
	require.Equal(t, 1, im.Created)
	require.Equal(t, 1, im.Skipped)
}

// TestWorker_ImportResumesAfterCrash: a run dies after its first batch
// (as a killed process would); the job, still queued, resumes the import
// where it stopped when a worker starts, and every row is stored once.
func TestWorker_ImportResumesAfterCrash(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	ctx := context.Background()
	now := time.Now().UTC()
	tn := postgrestest.CreateTenant(t, db.Store, "acme", now)
	var b strings.Builder
	b.WriteString("external_id,email\n")
	for i := 0; i < 2*postgres.DefaultImportBatch+50; i++ {
		fmt.Fprintf(&b, "c-%d,c%d@example.com\n", i, i)
	}
	id := startImport(t, db.Store, tn, b.String(), now)

	crash := errors.New("killed")
	_, err := db.Store.RunImport(ctx, tn.ID, id, postgres.RunImportOptions{Now: func() time.Time { return now },
		AfterBatch: func(postgres.Import) error { return crash }})
	require.ErrorIs(t, err, crash)
	im, err := db.Store.FindImport(ctx, tn.ID, id)
	require.NoError(t, err)
	require.Equal(t, postgres.DefaultImportBatch, im.RowsDone)

	runWorker(t, db.Store, func() time.Time { return now })
	im = waitImport(t, db.Store, tn, id)
	require.Equal(t, lead.ImportDone, im.Status)
	require.Equal(t, 2*postgres.DefaultImportBatch+50, im.RowsDone)
	require.Equal(t, 2*postgres.DefaultImportBatch+50, im.Created)
	require.Zero(t, im.Skipped)
}

// TestWorker_ImportExpire: the expiry job deletes an upload nobody
// started, and leaves a started one alone.
func TestWorker_ImportExpire(t *testing.T) {
	t.Parallel()
	db := postgrestest.NewDB(t)
	ctx := context.Background()
	now := time.Now().UTC()
	tn := postgrestest.CreateTenant(t, db.Store, "acme", now)
	// Uploaded a day and a bit ago, so its expiry job is due now.
	u, err := db.Store.BeginImportUpload(ctx, tn.ID, tn.Admin(), "old.csv", now.Add(-postgres.ImportUploadTTL-time.Minute))
	require.NoError(t, err)
	_, err = u.Write([]byte("email\na@example.com\n"))
	require.NoError(t, err)
	require.NoError(t, u.Finish(lead.PresetAccord, 1, false, now))

	w := &importExpireWorker{store: db.Store, logger: discard}
	args := postgres.ImportExpireArgs{TenantID: tn.ID.String(), ImportID: u.ID().String()}
	require.NoError(t, w.Work(ctx, jobOf(args)))
	_, err = db.Store.FindImport(ctx, tn.ID, u.ID())
	require.ErrorIs(t, err, postgres.ErrNotFound)

	started := startImport(t, db.Store, tn, "email\nb@example.com\n", now)
	args.ImportID = started.String()
	require.NoError(t, w.Work(ctx, jobOf(args)))
	_, err = db.Store.FindImport(ctx, tn.ID, started)
	require.NoError(t, err)
}

func jobOf(args postgres.ImportExpireArgs) *river.Job[postgres.ImportExpireArgs] {
	return &river.Job[postgres.ImportExpireArgs]{Args: args}
}
