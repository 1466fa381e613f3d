package postgres

import (
	"sync"
	"time"

	"github.com/accordhq/accord/internal/auth"
	"github.com/accordhq/accord/internal/tenant"
)

// tokenCacheTTL is how long a process trusts a token it has looked up. It
// bounds how late a revocation made by another process (another replica of
// `accord serve`) takes effect there; in the process that revokes, it takes
// effect at once (RevokeAPIToken forgets the tenant's tokens). Two seconds
// make a busy integration's token one database lookup every two seconds
// instead of one a request.
const tokenCacheTTL = 2 * time.Second

// tokenCacheMax bounds the cache; only live tokens are ever cached (unknown
// and revoked ones are not), so it is reached only by a very large number
// of tokens in use within two seconds, and then simply starts over.
const tokenCacheMax = 10_000

type tokenKey struct {
	tenant tenant.ID
	hash   string
}

type tokenEntry struct {
	p       auth.Principal
	expires time.Time // wall clock (monotonic), not the business clock
}

// tokenCache remembers recently authenticated API tokens of this process.
// A generation counter makes revocation exact within the process: a
// lookup that started before a revocation (and may have read the token as
// live) is not cached after it.
type tokenCache struct {
	mu      sync.Mutex
	entries map[tokenKey]tokenEntry
	gen     uint64
	now     func() time.Time
}

func newTokenCache() *tokenCache {
	return &tokenCache{entries: map[tokenKey]tokenEntry{}, now: time.Now}
}

// get returns the cached principal of a token, or the generation to hand
// to put with what the database says.
func (c *tokenCache) get(tid tenant.ID, hash []byte) (auth.Principal, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[tokenKey{tid, string(hash)}]
	if !ok || !c.now().Before(e.expires) {
		return auth.Principal{}, c.gen, false
	}
	return e.p, c.gen, true
}

// put caches p unless a revocation happened since get returned gen.
func (c *tokenCache) put(tid tenant.ID, hash []byte, p auth.Principal, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= tokenCacheMax {
		clear(c.entries)
	}
	c.entries[tokenKey{tid, string(hash)}] = tokenEntry{p: p, expires: c.now().Add(tokenCacheTTL)}
}

// forgetTenant drops every cached token of tenant tid and fences off the
// lookups under way.
func (c *tokenCache) forgetTenant(tid tenant.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k := range c.entries {
		if k.tenant == tid {
			delete(c.entries, k)
		}
	}
}
