package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/postgres/postgrestest"
	"github.com/accordhq/accord/internal/tenant"
)

// TestUUIDCodec checks that ids cross the wire as their 16 bytes both ways,
// NULL included, and that they mean the same uuid as their text form.
func TestUUIDCodec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := postgrestest.NewDB(t).Pool
	u, tid := uuid.New(), tenant.NewID()

	var text, tidText string
	var back uuid.UUID
	var backTID tenant.ID
	var null *uuid.UUID
	var some *uuid.UUID
	var nullTID *tenant.ID
	require.NoError(t, pool.QueryRow(ctx, `SELECT $1::uuid::text, $2::uuid::text, $1::uuid, $2::uuid, $3::uuid, $1::uuid, $4::uuid`,
		u, tid, (*uuid.UUID)(nil), (*tenant.ID)(nil)).Scan(&text, &tidText, &back, &backTID, &null, &some, &nullTID))
	require.Equal(t, u.String(), text)
	require.Equal(t, tid.String(), tidText)
	require.Equal(t, u, back)
	require.Equal(t, tid, backTID)
	require.Nil(t, null)
	require.NotNil(t, some)
	require.Equal(t, u, *some)
	require.Nil(t, nullTID)

	var ids []uuid.UUID
	require.NoError(t, pool.QueryRow(ctx, `SELECT $1::uuid[]`, []uuid.UUID{u, uuid.Nil}).Scan(&ids))
	require.Equal(t, []uuid.UUID{u, uuid.Nil}, ids)

	var notNull uuid.UUID
	require.Error(t, pool.QueryRow(ctx, `SELECT NULL::uuid`).Scan(&notNull))
}
