package models

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
)

// TokenCacheTTL is how long an instance trusts an access token it verified without asking the
// database again. A revocation forgets the token on the instance that made it at once, and on
// the others when its change reaches them through the change feed (followRevocations); this lifetime
// bounds how long another instance could miss that change.
const TokenCacheTTL = 10 * time.Second

// verifiedTokens remembers, by the token's hash (never the token), the grants this instance
// verified recently, so that an API request pays no round trip to authenticate.
type verifiedTokens struct{ m sync.Map } // token hash → cachedGrant

type cachedGrant struct {
	grant TokenGrant
	until time.Time // the earlier of the token's expiry and now+TokenCacheTTL
}

func (v *verifiedTokens) get(hash string, now time.Time) (*TokenGrant, bool) {
	e, ok := v.m.Load(hash)
	if !ok {
		return nil, false
	}
	c := e.(cachedGrant)
	if !now.Before(c.until) {
		v.m.CompareAndDelete(hash, e)
		return nil, false
	}
	g := c.grant
	return &g, true
}

func (v *verifiedTokens) put(hash string, g TokenGrant, expires, now time.Time) {
	until := now.Add(TokenCacheTTL)
	if expires.Before(until) {
		until = expires
	}
	v.m.Store(hash, cachedGrant{grant: g, until: until})
}

func (v *verifiedTokens) forget(hash string) { v.m.Delete(hash) }

// forgetClient forgets every token of a client (a revoked client; rare, so a scan is fine).
func (v *verifiedTokens) forgetClient(id uuid.UUID) {
	v.m.Range(func(k, e any) bool {
		if e.(cachedGrant).grant.Client.ID == id {
			v.m.Delete(k)
		}
		return true
	})
}

// The entity types of revocations in the change feed. Their EntityID is the client's ID; a
// single token's revocation carries no token or hash, so it makes the other instances forget
// every cached token of that client (they verify the others again on their next use).
const (
	ChangeTypeAPIClient = "Security.APIClient"
)

// followRevocations makes this instance forget the tokens that a change of any instance revoked,
// as the change feed delivers them (Feed.Run starts it), so that a revoked token stops working
// everywhere within the feed's delay rather than the cache's lifetime. A resync (the feed lost
// its place) forgets every cached token.
func (s *Store) followRevocations(ctx context.Context, after int64) {
	sub := s.feed.Subscribe(after)
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-sub.C:
			if !ok {
				return
			}
			switch {
			case r.Op == ChangeResync:
				s.tokens.m.Clear()
			case r.EntityType == ChangeTypeAPIClient:
				s.tokens.forgetClient(r.EntityID)
			}
		}
	}
}
