package tenant_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/tenant"
)

func TestInput(t *testing.T) {
	t.Parallel()
	in := tenant.Input{Slug: " ACME ", Name: " Acme ", TimeZone: "Europe/Berlin", Currency: "eur"}
	in.Normalize()
	require.Equal(t, tenant.Input{Slug: "acme", Name: "Acme", TimeZone: "Europe/Berlin", Currency: "EUR"}, in)
	require.Nil(t, in.Validate())

	bad := tenant.Input{Slug: "-x", Name: "", TimeZone: "Local", Currency: "EURO"}
	errs := bad.Validate()
	for _, f := range []string{"slug", "name", "time_zone", "currency"} {
		require.Contains(t, errs, f)
	}
}

func TestID(t *testing.T) {
	t.Parallel()
	id := tenant.NewID()
	back, err := tenant.ParseID(id.String())
	require.NoError(t, err)
	require.Equal(t, id, back)
	_, err = tenant.ParseID("nope")
	require.Error(t, err)
	require.True(t, tenant.ID{}.IsZero())
	v, err := id.Value()
	require.NoError(t, err)
	var scanned tenant.ID
	require.NoError(t, scanned.Scan(v))
	require.Equal(t, id, scanned)
}

func TestTeamInput(t *testing.T) {
	t.Parallel()
	require.Nil(t, tenant.TeamInput{Name: "Sales", Side: tenant.SideSales}.Validate())
	errs := tenant.TeamInput{Name: "", Side: "finance"}.Validate()
	require.Contains(t, errs, "name")
	require.Contains(t, errs, "side")
}
