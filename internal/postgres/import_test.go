package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/lead"
	"github.com/accordhq/accord/internal/postgres"
	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/sla"
	"github.com/accordhq/accord/internal/tenant"
)

// importBundle is a tenant with a sales team (a manager, two reps) that
// routing sends every lead to, ready to import into.
type importBundle struct {
	*bundle
	team             tenant.Team
	mgr, rep1, rep2  auth.Member
	firstRep, second uuid.UUID      // the reps in round-robin order
	api              auth.Principal // an ingest token of tenant a
}

func setupImport(t *testing.T) *importBundle {
	t.Helper()
	bd := setup(t)
	ctx := context.Background()
	ib := &importBundle{bundle: bd}
	ib.mgr = postgrestest.CreateMember(t, bd.store, bd.a, "mgr@alpha.test", "Manager", tenant.RoleManager, t0)
	ib.rep1 = postgrestest.CreateMember(t, bd.store, bd.a, "rep1@alpha.test", "Rep One", tenant.RoleRep, t0)
	ib.rep2 = postgrestest.CreateMember(t, bd.store, bd.a, "rep2@alpha.test", "Rep Two", tenant.RoleRep, t0)
	var err error
	ib.team, err = bd.store.CreateTeam(ctx, bd.a.ID, bd.a.Admin(), tenant.TeamInput{Name: "Sales", Side: tenant.SideSales, ManagerID: &ib.mgr.ID}, t0)
	require.NoError(t, err)
	for _, m := range []auth.Member{ib.rep1, ib.rep2, ib.mgr} {
		_, err := bd.store.UpdateMember(ctx, bd.a.ID, bd.a.Admin(), m.ID, auth.MemberUpdate{TeamID: &ib.team.ID}, t0)
		require.NoError(t, err)
	}
	require.NoError(t, bd.store.ReplaceRouting(ctx, bd.a.ID, bd.a.Admin(), lead.Routing{DefaultTeamID: &ib.team.ID}, t0))
	ib.firstRep, ib.second = ib.rep1.ID, ib.rep2.ID
	if ib.second.String() < ib.firstRep.String() {
		ib.firstRep, ib.second = ib.second, ib.firstRep
	}
	ib.api = auth.Principal{Type: auth.ActorToken, ID: uuid.New(), Name: "CRM sync", Scope: auth.ScopeIngest, Tenant: bd.a.Tenant}
	return ib
}

// uploadImport streams data into a new import of tn the way the server
// does, counting its rows, and starts it when start is set.
func uploadImport(t *testing.T, st *postgres.Store, tn postgrestest.Tenant, preset lead.Preset, name, data string, start bool) uuid.UUID {
	t.Helper()
	u, err := st.BeginImportUpload(context.Background(), tn.ID, tn.Admin(), name, t0)
	require.NoError(t, err)
	_, rows, err := lead.ScanCSV(io.TeeReader(strings.NewReader(data), u), func(h []string) error {
		_, err := lead.NewMapping(preset, h)
		return err
	})
	require.NoError(t, err)
	require.NoError(t, u.Finish(preset, rows, start, t0))
	return u.ID()
}

func runImport(t *testing.T, st *postgres.Store, tid tenant.ID, id uuid.UUID, batch int) postgres.Import {
	t.Helper()
	im, err := st.RunImport(context.Background(), tid, id, postgres.RunImportOptions{Now: func() time.Time { return t0 }, BatchSize: batch})
	require.NoError(t, err)
	return im
}

// importedLead is a lead of the test tenant found by external id.
func importedLead(t *testing.T, st *postgres.Store, tid tenant.ID, ext string) lead.Lead {
	t.Helper()
	var id uuid.UUID
	inTenant(t, st, tid, func(tx pgx.Tx) {
		require.NoError(t, tx.QueryRow(context.Background(), `SELECT id FROM leads WHERE external_id = $1`, ext).Scan(&id), ext)
	})
	l, err := st.FindLead(context.Background(), tid, id)
	require.NoError(t, err)
	return l
}

// inTenant runs fn in a transaction scoped to tid, for checks the store has
// no method for.
func inTenant(t *testing.T, st *postgres.Store, tid tenant.ID, fn func(pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SELECT set_config('accord.tenant_id', $1, true)`, tid.String())
	require.NoError(t, err)
	fn(tx)
}

func count(t *testing.T, st *postgres.Store, tid tenant.ID, q string, args ...any) int {
	t.Helper()
	var n int
	inTenant(t, st, tid, func(tx pgx.Tx) {
		require.NoError(t, tx.QueryRow(context.Background(), q, args...).Scan(&n), q)
	})
	return n
}

func importErrors(t *testing.T, st *postgres.Store, tid tenant.ID, id uuid.UUID) map[int]string {
	t.Helper()
	errs, err := st.FindImportErrors(context.Background(), tid, id, 1000)
	require.NoError(t, err)
	out := map[int]string{}
	for _, e := range errs {
		out[e.Line] = e.Message
	}
	return out
}

func TestStore_ImportAccord(t *testing.T) {
	t.Parallel()
	ib := setupImport(t)
	ctx := context.Background()
	st, tid := ib.store, ib.a.ID
	api := ib.api
	_, err := st.UpsertLead(ctx, tid, api, lead.Input{ExternalID: str("acc-9"), Email: str("olga@old.example"), FirstName: str("Olga"),
		Company: str("Old GmbH"), Score: num(10)}, t0)
	require.NoError(t, err)
	_, err = st.UpsertLead(ctx, tid, api, lead.Input{Email: str("noext@old.example"), FirstName: str("Nox")}, t0)
	require.NoError(t, err)

	csv := "\uFEFFexternal_id,email,first_name,last_name,company,title,phone,country,segment,source,campaign,score,icp_fit,created_at,stage,favourite_colour\r\n" +
		"acc-1,Ana@Example.com,Ana,Ruiz,Example GmbH,VP Ops,+49 30 1234,Germany,enterprise,paid_search,q4,72,yes,2026-10-01 09:12,new,blue\r\n" + // 2 created
		"acc-2,bob@example.com,Bob,Brown,Brown Ltd,,,US,smb,,,,,2026-10-02T08:00:00Z,mql,\r\n" + // 3 created, handed off
		"acc-3,cy@example.com,Cy,,,,,,,,,,,,MQL,\r\n" + // 4 created, handed off to the other rep
		"acc-9,,,,New Co,,,,,,,,,,sql,\r\n" + // 5 updated: company only, stage kept
		"acc-1,x@example.com,Dup,,,,,,,,,,,,,\r\n" + // 6 repeats line 2 (external id)
		"acc-4,ana@example.COM,Dup,,,,,,,,,,,,,\r\n" + // 7 repeats line 2 (email)
		"acc-5,not-an-email,,,,,,,,,,,,,,\r\n" + // 8 bad email
		"acc-6,d@example.com,,,,,,,galactic,,,,,,,\r\n" + // 9 unknown segment
		"acc-7,e@example.com,Ed\r\n" + // 10 ragged
		"acc-8,f@example.com,Fay,,\"=HYPERLINK(\"\"http://x\"\")\",,,,,,,,,,,\r\n" + // 11 formula
		"acc-10,g@example.com,Gus,,\"Acme\r\nInc\",,,,,,,,,,,\r\n" + // 12–13 multi-line cell
		"acc-11,olga@old.example,,,,,,,,,,,,,,\r\n" + // 14 email of acc-9
		"acc-12,h@example.com,Fo\"o,,,,,,,,,,,,,\r\n" + // 15 bad quote
		"acc-13,i@example.com,Ida,,,,,,,,,101,,,,\r\n" + // 16 score out of range
		"acc-14,noext@old.example,Nox,,Nox AG,,,,,,,,,,,\r\n" + // 17 updates the lead without external id
		"acc-15,j@example.com,Jo,,,,,,,,,,,2030-01-01,,\r\n" + // 18 future
		",,,,,,,,,,,,,,,\r\n" + // blank: skipped silently
		"acc-16,k@example.com,Kim,,,,,,,,,,maybe,,,\r\n" + // 20 bad boolean
		"acc-17,l@example.com,Lou,,,,,,,,,,,,won,\r\n" // 21 created as won
	id := uploadImport(t, st, ib.a, lead.PresetAccord, "leads.csv", csv, true)
	im, err := st.FindImport(ctx, tid, id)
	require.NoError(t, err)
	require.Equal(t, lead.ImportRunning, im.Status)
	require.Equal(t, 18, im.RowsTotal)

	im = runImport(t, st, tid, id, 4)
	require.Equal(t, lead.ImportDone, im.Status)
	requireNoSearchPending(t, ib.db.Pool)
	require.Equal(t, 18, im.RowsDone)
	require.Equal(t, 18, im.RowsTotal)
	require.Equal(t, 5, im.Created, "acc-1, 2, 3, 10 and 17")
	require.Equal(t, 2, im.Updated)
	require.Equal(t, 11, im.Skipped)
	require.NotNil(t, im.FinishedAt)

	errs := importErrors(t, st, tid, id)
	require.Len(t, errs, 11)
	require.Contains(t, errs[6], "line 6 repeats line 2")
	require.Contains(t, errs[6], "external_id")
	require.Contains(t, errs[7], "line 7 repeats line 2")
	require.Contains(t, errs[7], "email")
	require.Contains(t, errs[8], "line 8: email: must be a valid address")
	require.Contains(t, errs[9], "segment: must be one of smb, mid, enterprise")
	require.Contains(t, errs[10], "line 10 has 3 cells but the header has 16")
	require.Contains(t, errs[11], "company")
	require.Contains(t, errs[11], "spreadsheet formula")
	require.Contains(t, errs[14], `belongs to the lead with external id "acc-9", not "acc-11"`)
	require.Contains(t, errs[15], "line 15: a cell has a double quote")
	require.Contains(t, errs[16], "score \"101\" must be a whole number from 0 to 100")
	require.Contains(t, errs[18], "created_at: may not be more than 5 minutes in the future")
	require.Contains(t, errs[20], "icp_fit \"maybe\" must be true or false")

	berlin, _ := time.LoadLocation("Europe/Berlin")
	ana := importedLead(t, st, tid, "acc-1")
	require.Equal(t, "ana@example.com", *ana.Email)
	require.Equal(t, "DE", ana.Country)
	require.Equal(t, "enterprise", *ana.Segment)
	require.Equal(t, 72, *ana.Score)
	require.True(t, ana.ICPFit)
	require.Equal(t, "+49 30 1234", ana.Phone)
	require.Equal(t, lead.StageNew, ana.Stage)
	require.Equal(t, "EUR", ana.Currency)
	require.Equal(t, 1, ana.Version)
	require.True(t, ana.CreatedAt.Equal(time.Date(2026, 10, 1, 9, 12, 0, 0, berlin)), ana.CreatedAt)
	require.True(t, ana.StageChangedAt.Equal(ana.CreatedAt))
	tl, err := st.FindTimeline(ctx, tid, ana.ID)
	require.NoError(t, err)
	require.Len(t, tl, 1)
	require.Equal(t, lead.StageNew, tl[0].To)
	require.Equal(t, "Admin of alpha", tl[0].Actor.Name)

	// Handed off in the file: routed round-robin, with their history.
	bob, cy := importedLead(t, st, tid, "acc-2"), importedLead(t, st, tid, "acc-3")
	require.Equal(t, lead.StageMQL, bob.Stage)
	require.Equal(t, ib.firstRep, *bob.OwnerID)
	require.Equal(t, ib.second, *cy.OwnerID)
	require.Equal(t, ib.team.ID, *cy.TeamID)
	tl, err = st.FindTimeline(ctx, tid, bob.ID)
	require.NoError(t, err)
	var kinds []string
	for _, e := range tl {
		kinds = append(kinds, e.Type+":"+string(e.To))
	}
	require.ElementsMatch(t, []string{"transition:new", "transition:mql", "assignment:"}, kinds)
	for _, e := range tl {
		if e.Type == "transition" && e.To == lead.StageMQL {
			require.Equal(t, "imported from leads.csv", e.Note)
			require.True(t, e.At.Equal(bob.CreatedAt))
		}
		if e.Type == "assignment" {
			require.Contains(t, e.Why, "round-robin")
		}
	}
	require.Equal(t, 1, count(t, st, tid, `SELECT count(*) FROM teams WHERE id = $1 AND rr_last_user_id = $2`, ib.team.ID, ib.second))

	// Existing leads are merged, not moved.
	olga := importedLead(t, st, tid, "acc-9")
	require.Equal(t, "New Co", olga.Company)
	require.Equal(t, "Olga", olga.FirstName)
	require.Equal(t, "olga@old.example", *olga.Email)
	require.Equal(t, 10, *olga.Score)
	require.Equal(t, lead.StageNew, olga.Stage)
	require.Equal(t, 2, olga.Version)
	nox := importedLead(t, st, tid, "acc-14")
	require.Equal(t, "Nox AG", nox.Company)

	gus := importedLead(t, st, tid, "acc-10")
	require.Equal(t, "Acme Inc", gus.Company, "line breaks inside a cell become spaces")
	lou := importedLead(t, st, tid, "acc-17")
	require.Equal(t, lead.StageWon, lou.Stage)
	require.Nil(t, lou.OwnerID)

	// Every created lead has its first transition; nothing else was written.
	require.Equal(t, 7, count(t, st, tid, `SELECT count(*) FROM leads`))
	require.Equal(t, 7, count(t, st, tid, `SELECT count(*) FROM lead_transitions WHERE seq = 1 AND to_stage = 'new'`))
	require.Equal(t, 3, count(t, st, tid, `SELECT count(*) FROM lead_transitions WHERE seq = 2`))
	require.Equal(t, 2, count(t, st, tid, `SELECT count(*) FROM lead_assignments`))
	require.Equal(t, 0, count(t, st, tid, `SELECT count(*) FROM import_chunks`), "the file is dropped when done")
	require.Equal(t, 0, count(t, st, tid, `SELECT count(*) FROM notifications WHERE kind = 'lead.queued'`))
}

func TestStore_ImportHubSpot(t *testing.T) {
	t.Parallel()
	ib := setupImport(t)
	ctx := context.Background()
	st, tid := ib.store, ib.a.ID
	// Both reps are away: handoffs wait in the team's queue.
	away := true
	for _, m := range []auth.Member{ib.rep1, ib.rep2} {
		_, err := st.UpdateMember(ctx, tid, ib.a.Admin(), m.ID, auth.MemberUpdate{Away: &away}, t0)
		require.NoError(t, err)
	}
	csv := "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Job Title,Country/Region,Lifecycle Stage,Lead Status,Create Date,Original Source,Original Source Drill-Down 1,HubSpot Score,Favorite Color\n" +
		"101,Ana,Ruiz,ana@example.com,+49 30 1234,Example GmbH,VP Ops,Germany,marketingqualifiedlead,Open,2026-09-15 14:30,Paid Search,q4-guide,72,red\n" + // 2 mql, queued
		"102,Bo,Li,bo@example.com,,Li Co,,United States,Sales Qualified Lead,,9/15/2026 2:30 PM,ORGANIC_SEARCH,,,\n" + // 3 sql
		"103,Cy,,cy@example.com,,,,,customer,,,,,,\n" + // 4 won
		"104,Di,,di@example.com,,,,,subscriber,,,,,,\n" + // 5 new
		"105,Ed,,ed@example.com,,,,,Marketing Qualified Lead,,,,,,\n" + // 6 mql, queued
		"106,Flo,,flo@example.com,,,,,,,,,,150,\n" + // 7 score out of range
		"107,Gil,,gil@example.com,,,,Atlantis,,,,,,,\n" + // 8 unknown country
		"101,Ana,,ana2@example.com,,,,,,,,,,,\n" // 9 repeats line 2
	id := uploadImport(t, st, ib.a, lead.PresetHubSpot, "hubspot.csv", csv, true)
	im := runImport(t, st, tid, id, 100)
	require.Equal(t, lead.ImportDone, im.Status)
	require.Equal(t, 8, im.RowsDone)
	require.Equal(t, 5, im.Created)
	require.Equal(t, 3, im.Skipped)
	errs := importErrors(t, st, tid, id)
	require.Contains(t, errs[7], `HubSpot Score "150" must be a whole number from 0 to 100`)
	require.Contains(t, errs[8], `Country/Region "Atlantis" is not a country Accord knows`)
	require.Contains(t, errs[9], `line 9 repeats line 2 (same Record ID "101")`)

	ana := importedLead(t, st, tid, "101")
	require.Equal(t, lead.StageMQL, ana.Stage)
	require.Nil(t, ana.OwnerID, "no rep can take it")
	require.Equal(t, ib.team.ID, *ana.TeamID)
	require.Equal(t, "paid_search", ana.Source)
	require.Equal(t, "q4-guide", ana.Campaign)
	require.Equal(t, "DE", ana.Country)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	require.True(t, ana.CreatedAt.Equal(time.Date(2026, 9, 15, 14, 30, 0, 0, berlin)))
	bo := importedLead(t, st, tid, "102")
	require.Equal(t, lead.StageSQL, bo.Stage)
	require.Equal(t, "US", bo.Country)
	require.Equal(t, "organic_search", bo.Source)
	require.True(t, bo.CreatedAt.Equal(time.Date(2026, 9, 15, 14, 30, 0, 0, berlin)))
	require.Equal(t, lead.StageWon, importedLead(t, st, tid, "103").Stage)
	require.Equal(t, lead.StageNew, importedLead(t, st, tid, "104").Stage)

	// One notification for the batch's queue, to the team's manager.
	notes, _, err := st.FindNotifications(ctx, tid, ib.mgr.ID, 10)
	require.NoError(t, err)
	require.Len(t, notes, 1)
	require.Equal(t, "2 imported leads are waiting in the queue", notes[0].Title)
	require.Contains(t, notes[0].Body, "no active rep who is not away")
	require.Equal(t, 2, count(t, st, tid, `SELECT count(*) FROM lead_assignments WHERE owner_id IS NULL AND team_id = $1`, ib.team.ID))
}

func TestStore_ImportSalesforce(t *testing.T) {
	t.Parallel()
	ib := setupImport(t)
	st, tid := ib.store, ib.a.ID
	csv := "Lead ID;First Name;Last Name;Title;Company / Account;Email;Phone;Country;Lead Source;Lead Status;Rating;Create Date\n" +
		"00Q1;Ana;Ruiz;VP Ops;Example GmbH;Ana@Example.com;+1 (415) 555-0100;US;Partner Referral;Open - Not Contacted;Hot;9/15/2026 2:30 PM\n" +
		"00Q2;Bo;Li;;Li Co;bo@example.com;;de;Web;Closed - Converted;Warm;9/16/2026\n" +
		"00Q3;Cy;;;;ana@example.com;;;;;Cold;\n" + // repeats line 2 by email
		"00Q4;Di;;;;di@example.com;;;;;Lukewarm;\n" + // bad rating
		"00Q5;Ed;;;;ed@example.com;-1;;;;;\n" // "-1" is not a formula
	id := uploadImport(t, st, ib.a, lead.PresetSalesforce, "report.csv", csv, true)
	im := runImport(t, st, tid, id, 0)
	require.Equal(t, 3, im.Created)
	require.Equal(t, 2, im.Skipped)
	errs := importErrors(t, st, tid, id)
	require.Contains(t, errs[4], `line 4 repeats line 2 (same Email "ana@example.com")`)
	require.Contains(t, errs[5], `Rating "Lukewarm" must be Hot, Warm or Cold`)

	ana := importedLead(t, st, tid, "00Q1")
	require.Equal(t, 90, *ana.Score)
	require.Equal(t, "partner_referral", ana.Source)
	require.Equal(t, lead.StageNew, ana.Stage)
	require.Equal(t, "+1 (415) 555-0100", ana.Phone)
	bo := importedLead(t, st, tid, "00Q2")
	require.Equal(t, lead.StageSQL, bo.Stage)
	require.Equal(t, 60, *bo.Score)
	require.Equal(t, "DE", bo.Country)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	require.True(t, bo.CreatedAt.Equal(time.Date(2026, 9, 16, 0, 0, 0, 0, berlin)))
	require.Equal(t, "-1", importedLead(t, st, tid, "00Q5").Phone)
}

// TestStore_ImportResume stops a run after its first batch, as a crash
// would, and runs it again: every row is stored once, counted once, and a
// duplicate of a row of the first batch is still found.
func TestStore_ImportResume(t *testing.T) {
	t.Parallel()
	ib := setupImport(t)
	ctx := context.Background()
	st, tid := ib.store, ib.a.ID
	var b strings.Builder
	b.WriteString("external_id,email,first_name,stage\n")
	for i := 1; i <= 24; i++ {
		fmt.Fprintf(&b, "r-%d,r%d@example.com,Row %d,%s\n", i, i, i, map[bool]string{true: "mql", false: "new"}[i%5 == 0])
	}
	b.WriteString("r-25,r3@example.com,Again,\n") // line 26 repeats line 4
	id := uploadImport(t, st, ib.a, lead.PresetAccord, "big.csv", b.String(), true)

	crash := errors.New("worker killed")
	batches := 0
	_, err := st.RunImport(ctx, tid, id, postgres.RunImportOptions{Now: func() time.Time { return t0 }, BatchSize: 10,
		AfterBatch: func(im postgres.Import) error {
			batches++
			require.Equal(t, 10, im.RowsDone)
			return crash
		}})
	require.ErrorIs(t, err, crash)
	require.Equal(t, 1, batches)
	im, err := st.FindImport(ctx, tid, id)
	require.NoError(t, err)
	require.Equal(t, lead.ImportRunning, im.Status)
	require.Equal(t, 10, im.RowsDone)
	require.Equal(t, 10, im.Created)
	require.Equal(t, 10, count(t, st, tid, `SELECT count(*) FROM leads`))

	im = runImport(t, st, tid, id, 10)
	require.Equal(t, lead.ImportDone, im.Status)
	require.Equal(t, 25, im.RowsDone)
	require.Equal(t, 24, im.Created)
	require.Equal(t, 1, im.Skipped)
	require.Contains(t, importErrors(t, st, tid, id)[26], "line 26 repeats line 4")
	require.Equal(t, 24, count(t, st, tid, `SELECT count(*) FROM leads`))
	require.Equal(t, 24, count(t, st, tid, `SELECT count(*) FROM lead_transitions WHERE seq = 1`))
	require.Equal(t, 4, count(t, st, tid, `SELECT count(*) FROM lead_assignments`))
	// Round-robin went on where the first run left it: two each.
	require.Equal(t, 2, count(t, st, tid, `SELECT count(*) FROM leads WHERE owner_id = $1`, ib.rep1.ID))

	// A finished import runs no more.
	again := runImport(t, st, tid, id, 10)
	require.Equal(t, im.Created, again.Created)
}

// TestStore_ImportBusy: a second run of the same import while one runs is
// refused, so no row is ever stored twice.
func TestStore_ImportBusy(t *testing.T) {
	t.Parallel()
	ib := setupImport(t)
	ctx := context.Background()
	st, tid := ib.store, ib.a.ID
	id := uploadImport(t, st, ib.a, lead.PresetAccord, "a.csv", "email\na@example.com\nb@example.com\n", true)
	var inner error
	_, err := st.RunImport(ctx, tid, id, postgres.RunImportOptions{BatchSize: 1, AfterBatch: func(postgres.Import) error {
		_, inner = st.RunImport(ctx, tid, id, postgres.RunImportOptions{})
		return nil
	}})
	require.NoError(t, err)
	require.ErrorIs(t, inner, postgres.ErrImportBusy)
}

func TestStore_ImportQualification(t *testing.T) {
	t.Parallel()
	ib := setupImport(t)
	ctx := context.Background()
	st, tid := ib.store, ib.a.ID
	require.NoError(t, st.SetQualification(ctx, tid, ib.a.Admin(), lead.Qualification{MinScore: num(70)}, t0))
	id := uploadImport(t, st, ib.a, lead.PresetAccord, "q.csv", "external_id,score\nq-1,80\nq-2,20\n", true)
	im := runImport(t, st, tid, id, 0)
	require.Equal(t, 2, im.Created)
	hot := importedLead(t, st, tid, "q-1")
	require.Equal(t, lead.StageMQL, hot.Stage)
	require.NotNil(t, hot.OwnerID)
	tl, err := st.FindTimeline(ctx, tid, hot.ID)
	require.NoError(t, err)
	var handoff lead.Event
	for _, e := range tl {
		if e.Type == "transition" && e.To == lead.StageMQL {
			handoff = e
		}
	}
	require.Equal(t, "Qualification rule", handoff.Actor.Name)
	require.Equal(t, "qualification rule: score ≥ 70", handoff.Note)
	require.Equal(t, lead.StageNew, importedLead(t, st, tid, "q-2").Stage)
}

func TestStore_ImportFailures(t *testing.T) {
	t.Parallel()
	ib := setupImport(t)
	ctx := context.Background()
	st, tid := ib.store, ib.a.ID

	t.Run("EmptyFile", func(t *testing.T) {
		u, err := st.BeginImportUpload(ctx, tid, ib.a.Admin(), "empty.csv", t0)
		require.NoError(t, err)
		require.NoError(t, u.Finish(lead.PresetAccord, 0, true, t0))
		im := runImport(t, st, tid, u.ID(), 0)
		require.Equal(t, lead.ImportFailed, im.Status)
		require.Contains(t, im.Failure, "the file is empty")
	})

	t.Run("NotStarted", func(t *testing.T) {
		id := uploadImport(t, st, ib.a, lead.PresetAccord, "wait.csv", "email\na@example.com\n", false)
		_, err := st.RunImport(ctx, tid, id, postgres.RunImportOptions{})
		require.ErrorIs(t, err, postgres.ErrConflict)
		im, err := st.StartImport(ctx, tid, id, t0)
		require.NoError(t, err)
		require.Equal(t, lead.ImportRunning, im.Status)
		im, err = st.StartImport(ctx, tid, id, t0)
		require.NoError(t, err, "starting twice is harmless")
		require.Equal(t, lead.ImportRunning, im.Status)
	})

	t.Run("Expire", func(t *testing.T) {
		id := uploadImport(t, st, ib.a, lead.PresetAccord, "stale.csv", "email\na@example.com\n", false)
		deleted, err := st.ExpireImport(ctx, tid, id)
		require.NoError(t, err)
		require.True(t, deleted)
		_, err = st.FindImport(ctx, tid, id)
		require.ErrorIs(t, err, postgres.ErrNotFound)
		running := uploadImport(t, st, ib.a, lead.PresetAccord, "live.csv", "email\nb@example.com\n", true)
		deleted, err = st.ExpireImport(ctx, tid, running)
		require.NoError(t, err)
		require.False(t, deleted, "a started import stays")
	})

	t.Run("Aborted", func(t *testing.T) {
		u, err := st.BeginImportUpload(ctx, tid, ib.a.Admin(), "half.csv", t0)
		require.NoError(t, err)
		_, err = u.Write(make([]byte, postgres.ImportChunkSize+10))
		require.NoError(t, err)
		_, err = st.FindImport(ctx, tid, u.ID())
		require.ErrorIs(t, err, postgres.ErrNotFound, "an upload still arriving is invisible")
		require.NoError(t, u.Abort())
		require.Equal(t, 0, count(t, st, tid, `SELECT count(*) FROM import_chunks WHERE import_id = $1`, u.ID()))
		require.Equal(t, 0, count(t, st, tid, `SELECT count(*) FROM imports WHERE id = $1`, u.ID()))
	})
}

func TestStore_ImportOtherTenantNotFound(t *testing.T) {
	t.Parallel()
	ib := setupImport(t)
	ctx := context.Background()
	st := ib.store
	id := uploadImport(t, st, ib.a, lead.PresetAccord, "a.csv", "email\na@example.com\n", false)
	_, err := st.FindImport(ctx, ib.b.ID, id)
	require.ErrorIs(t, err, postgres.ErrNotFound)
	_, err = st.StartImport(ctx, ib.b.ID, id, t0)
	require.ErrorIs(t, err, postgres.ErrNotFound)
	_, err = st.OpenImportFile(ctx, ib.b.ID, id)
	require.ErrorIs(t, err, postgres.ErrNotFound)
	_, err = st.RunImport(ctx, ib.b.ID, id, postgres.RunImportOptions{})
	require.ErrorIs(t, err, postgres.ErrNotFound)
	errs, err := st.FindImportErrors(ctx, ib.b.ID, id, 10)
	require.NoError(t, err)
	require.Empty(t, errs)
	deleted, err := st.ExpireImport(ctx, ib.b.ID, id)
	require.NoError(t, err)
	require.False(t, deleted)
	list, err := st.FindImports(ctx, ib.b.ID, 10)
	require.NoError(t, err)
	require.Empty(t, list)
	_, err = st.FindImport(ctx, ib.a.ID, id)
	require.NoError(t, err, "still there for its own tenant")
}

// TestStore_ImportTimers: a lead imported as a handoff starts its SLA
// clocks like any handoff, at its event time; a new lead starts none.
func TestStore_ImportTimers(t *testing.T) {
	t.Parallel()
	ib := setupImport(t)
	ctx := context.Background()
	st, tid := ib.store, ib.a.ID
	_, err := st.SaveAgreement(ctx, tid, ib.a.Admin(), postgres.SaveAgreementInput{Clauses: []sla.Clause{
		{Side: tenant.SideSales, Kind: sla.KindRespond, TargetMinutes: 240},
	}}, t0.Add(-30*24*time.Hour))
	require.NoError(t, err)
	id := uploadImport(t, st, ib.a, lead.PresetAccord, "t.csv",
		"external_id,stage,created_at\nt-1,mql,2026-10-06 10:00\nt-2,new,2026-10-06 10:00\n", true)
	im := runImport(t, st, tid, id, 0)
	require.Equal(t, 2, im.Created)
	handed, fresh := importedLead(t, st, tid, "t-1"), importedLead(t, st, tid, "t-2")
	require.Equal(t, 1, count(t, st, tid, `SELECT count(*) FROM sla_timers WHERE lead_id = $1 AND kind = 'respond'`, handed.ID))
	require.Equal(t, 0, count(t, st, tid, `SELECT count(*) FROM sla_timers WHERE lead_id = $1`, fresh.ID))
	// Handed off on 6 October 10:00 in Berlin: four business hours, and
	// breached long ago, as that history says.
	require.Equal(t, 1, count(t, st, tid, `SELECT count(*) FROM sla_timers WHERE lead_id = $1 AND due_at = $2`,
		handed.ID, time.Date(2026, 10, 6, 12, 0, 0, 0, time.UTC)))
}

// TestStore_ImportSideBySide stores an import two batches at a time where
// every batch hands leads off (so every batch routes through the same team)
// and updates stored leads that the batch before also updates (found there
// by external id, here by email). Before batches waited for their turn
// before locking a team, the two batches deadlocked on the team's row, the
// batch before was chosen, and the next one, finding the progress behind,
// failed the import. Round-robin must follow the file's order exactly, and
// the later row of a lead must win, as with one batch at a time.
func TestStore_ImportSideBySide(t *testing.T) {
	t.Parallel()
	ib := setupImport(t)
	ctx := context.Background()
	st, tid := ib.store, ib.a.ID
	api := ib.api
	for i := range 8 {
		_, err := st.UpsertLead(ctx, tid, api, lead.Input{ExternalID: str(fmt.Sprintf("old-%d", i)),
			Email: str(fmt.Sprintf("old%d@example.com", i)), FirstName: str("Stored")}, t0)
		require.NoError(t, err)
	}
	reps := []uuid.UUID{ib.firstRep, ib.second}
	handed := 0
	for run := range 4 {
		var csv strings.Builder
		csv.WriteString("external_id,email,first_name,stage\r\n")
		for i := range 40 {
			fmt.Fprintf(&csv, "run%d-%d,run%d-%d@example.com,New,mql\r\n", run, i, run, i)
			if i%5 == 4 {
				// Each batch of 5 updates a stored lead by external id, and the
				// next batch updates the same lead again by its email.
				k := (i / 5) % 8
				if (i/5)%2 == 0 {
					fmt.Fprintf(&csv, "old-%d,,First %d,\r\n", k, run)
				} else {
					fmt.Fprintf(&csv, ",old%d@example.com,Second %d,\r\n", (i/5-1)%8, run)
				}
			}
		}
		id := uploadImport(t, st, ib.a, lead.PresetAccord, fmt.Sprintf("run%d.csv", run), csv.String(), true)
		im, err := st.RunImport(ctx, tid, id, postgres.RunImportOptions{Now: func() time.Time { return t0 }, BatchSize: 5, Parallel: 2})
		require.NoError(t, err, "run %d", run)
		require.Equal(t, lead.ImportDone, im.Status, im.Failure)
		require.Equal(t, 40, im.Created, "run %d", run)
		require.Equal(t, 8, im.Updated, "run %d", run)
		require.Zero(t, im.Skipped, "run %d", run)
		for i := range 40 {
			l := importedLead(t, st, tid, fmt.Sprintf("run%d-%d", run, i))
			require.NotNil(t, l.OwnerID, "run %d row %d", run, i)
			require.Equal(t, reps[handed%2], *l.OwnerID, "round-robin in file order: run %d row %d", run, i)
			handed++
		}
		for k := range 4 {
			// Lead old-(2k) is updated by external id, then by email: the
			// email's row is later in the file and wins.
			l := importedLead(t, st, tid, fmt.Sprintf("old-%d", 2*k))
			require.Equal(t, fmt.Sprintf("Second %d", run), l.FirstName, "old-%d after run %d", 2*k, run)
		}
	}
}
