package postgres

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/tenant"
)

// TestTokenCache checks expiry, that revoking forgets a tenant's tokens
// only, and that a lookup under way when a token is revoked is not cached.
func TestTokenCache(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	c := newTokenCache()
	c.now = func() time.Time { return clock }
	a, b := tenant.NewID(), tenant.NewID()
	p := auth.Principal{Type: auth.ActorToken, Name: "CRM"}

	_, gen, ok := c.get(a, []byte("h1"))
	require.False(t, ok)
	c.put(a, []byte("h1"), p, gen)
	c.put(b, []byte("h2"), p, gen)
	got, _, ok := c.get(a, []byte("h1"))
	require.True(t, ok)
	require.Equal(t, p, got)

	clock = clock.Add(tokenCacheTTL)
	_, _, ok = c.get(a, []byte("h1"))
	require.False(t, ok, "expired")

	_, gen, _ = c.get(a, []byte("h1"))
	c.put(a, []byte("h1"), p, gen)
	c.put(b, []byte("h2"), p, gen)
	c.forgetTenant(a)
	_, _, ok = c.get(a, []byte("h1"))
	require.False(t, ok, "revoked in tenant a")
	_, _, ok = c.get(b, []byte("h2"))
	require.True(t, ok, "tenant b keeps its tokens")

	_, gen, _ = c.get(a, []byte("h1")) // a lookup starts
	c.forgetTenant(a)                  // the token is revoked meanwhile
	c.put(a, []byte("h1"), p, gen)     // the lookup read it as live
	_, _, ok = c.get(a, []byte("h1"))
	require.False(t, ok, "a lookup older than the revocation is not cached")
}
