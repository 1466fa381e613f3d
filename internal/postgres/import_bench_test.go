package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
)

// benchRows is the size of the import benchmarks' file: 1,000,000 rows, or
// ACCORD_IMPORT_BENCH_ROWS.
func benchRows(b *testing.B) int {
	if v := os.Getenv("ACCORD_IMPORT_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		return n
	}
	return 1_000_000
}

const accordHeader = "external_id,email,first_name,last_name,company,title,phone,country,segment,source,campaign,score,icp_fit,created_at\n"

// accordCSV generates an accord-preset file of n distinct rows as it is
// read, so the benchmark itself never holds the file.
type accordCSV struct {
	n, i int
	buf  bytes.Buffer
}

func newAccordCSV(n int) *accordCSV {
	g := &accordCSV{n: n}
	g.buf.WriteString(accordHeader)
	return g
}

var (
	benchCountries = []string{"DE", "US", "GB", "FR", "Germany", "United States"}
	benchSegments  = []string{"smb", "mid", "enterprise"}
	benchSources   = []string{"paid_search", "organic", "webinar", "referral"}
)

func (g *accordCSV) Read(p []byte) (int, error) {
	for g.buf.Len() < len(p) && g.i < g.n {
		i := g.i
		g.i++
		fmt.Fprintf(&g.buf, "ext-%08d,user%08d@example.com,First%d,Last%d,Company %d GmbH,Head of Operations,+49 30 %07d,%s,%s,%s,q%d-campaign,%d,%t,2026-%02d-%02dT%02d:%02d:00Z\n",
			i, i, i%9973, i%7919, i%50021, i, benchCountries[i%len(benchCountries)], benchSegments[i%3], benchSources[i%4],
			i%4+1, i%101, i%3 == 0, i%10+1, i%28+1, i%24, i%60)
	}
	if g.buf.Len() == 0 {
		return 0, io.EOF
	}
	return g.buf.Read(p)
}

// peakMemory samples the Go runtime's memory while it runs and reports the
// highest heap in use and memory obtained from the OS, and the process's
// peak resident set (VmHWM, reset when it starts).
type peakMemory struct {
	stop         chan struct{}
	done         sync.WaitGroup
	heap, sys    uint64
	resetVmHWMok bool
}

func startPeakMemory() *peakMemory {
	runtime.GC()
	pm := &peakMemory{stop: make(chan struct{})}
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux).
	pm.resetVmHWMok = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	pm.done.Add(1)
	go func() {
		defer pm.done.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			pm.heap, pm.sys = max(pm.heap, ms.HeapInuse), max(pm.sys, ms.Sys-ms.HeapReleased)
			select {
			case <-pm.stop:
				return
			case <-t.C:
			}
		}
	}()
	return pm
}

func (pm *peakMemory) report(b *testing.B) {
	close(pm.stop)
	pm.done.Wait()
	b.ReportMetric(float64(pm.heap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(pm.sys)/(1<<20), "peak-go-MB")
	if raw, err := os.ReadFile("/proc/self/status"); err == nil && pm.resetVmHWMok {
		for _, line := range strings.Split(string(raw), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
				kb, _ := strconv.Atoi(f[1])
				b.ReportMetric(float64(kb)/1024, "peak-rss-MB")
			}
		}
	}
}

// BenchmarkImport_Accord measures the import job on a 1,000,000-row
// accord-preset file (ACCORD_IMPORT_BENCH_ROWS to change it): from the file
// stored in import_chunks to every lead and first transition committed,
// batch by batch. The upload (streaming into the chunks) is timed apart.
//
//	go test ./internal/postgres/ -run '^$' -bench BenchmarkImport_ -benchtime 1x
func BenchmarkImport_Accord(b *testing.B) {
	n := benchRows(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		db := postgrestest.NewDB(b)
		tn := postgrestest.CreateTenant(b, db.Store, "bench", t0)
		start := time.Now()
		u, err := db.Store.BeginImportUpload(ctx, tn.ID, tn.Admin(), "bench.csv", t0)
		require.NoError(b, err)
		_, rows, err := lead.ScanCSV(io.TeeReader(newAccordCSV(n), u), nil)
		require.NoError(b, err)
		require.NoError(b, u.Finish(lead.PresetAccord, rows, true, t0))
		b.ReportMetric(time.Since(start).Seconds(), "upload-s")

		pm := startPeakMemory()
		b.StartTimer()
		start = time.Now()
		im, err := db.Store.RunImport(ctx, tn.ID, u.ID(), postgres.RunImportOptions{Now: func() time.Time { return t0 }})
		elapsed := time.Since(start)
		b.StopTimer()
		pm.report(b)
		require.NoError(b, err)
		require.Equal(b, n, im.Created, "skipped %d", im.Skipped)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
		b.StartTimer()
	}
}

// BenchmarkImport_RawCopy is the comparison: the same file straight into
// PostgreSQL with COPY ... FORMAT csv, once into a bare table of the
// leads' columns, once into a copy of leads with all its indexes. Tables
// under row-level security refuse COPY, so both are plain tables made by
// the schema owner; no checks, no history, no transitions.
//
//	go test ./internal/postgres/ -run '^$' -bench BenchmarkImport_RawCopy -benchtime 1x
func BenchmarkImport_RawCopy(b *testing.B) {
	n := benchRows(b)
	ctx := context.Background()
	for _, tc := range []struct{ name, create string }{
		{"Bare", `CREATE TABLE raw_leads (external_id text, email text, first_name text, last_name text, company text,
			title text, phone text, country text, segment text, source text, campaign text, score int, icp_fit boolean,
			created_at timestamptz)`},
		{"LeadsIndexes", `CREATE TABLE raw_leads (LIKE leads INCLUDING ALL)`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := postgrestest.NewDB(b)
				conn := db.OwnerConn(b)
				_, err := conn.Exec(ctx, tc.create)
				require.NoError(b, err)
				if tc.name == "LeadsIndexes" {
					// Columns the file does not have get what an import would give them.
					_, err = conn.Exec(ctx, `ALTER TABLE raw_leads ALTER COLUMN tenant_id SET DEFAULT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
						ALTER COLUMN id SET DEFAULT gen_random_uuid(), ALTER COLUMN stage SET DEFAULT 'new',
						ALTER COLUMN stage_changed_at SET DEFAULT now(), ALTER COLUMN currency SET DEFAULT 'EUR',
						ALTER COLUMN updated_at SET DEFAULT now()`)
					require.NoError(b, err)
				}
				b.StartTimer()
				start := time.Now()
				tag, err := conn.PgConn().CopyFrom(ctx, newAccordCSV(n),
					`COPY raw_leads (external_id, email, first_name, last_name, company, title, phone, country, segment, source,
					  campaign, score, icp_fit, created_at) FROM STDIN WITH (FORMAT csv, HEADER true)`)
				elapsed := time.Since(start)
				b.StopTimer()
				require.NoError(b, err)
				require.EqualValues(b, n, tag.RowsAffected())
				b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
				b.StartTimer()
			}
		})
	}
}
