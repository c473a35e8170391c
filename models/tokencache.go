package models

import (
	"context"
	"sync"
	"sync/atomic"
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
//
// forgets counts what was forgotten: a lookup that read the database before a forget must not
// cache what it read after it (the user was deactivated meanwhile, on this instance or another),
// so put keeps a grant only if no forget happened since the lookup began (generation).
type verifiedTokens struct {
	m       sync.Map // token hash → cachedGrant
	forgets atomic.Uint64
}

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

// generation is read before a lookup queries the database, for put.
func (v *verifiedTokens) generation() uint64 { return v.forgets.Load() }

// put caches a grant read since generation gen, unless something was forgotten since: the
// entry is stored first and taken back if so, because a forget counts before it scans (a
// forget that counts after this check scans after the store and finds the entry).
func (v *verifiedTokens) put(hash string, g TokenGrant, expires, now time.Time, gen uint64) {
	until := now.Add(TokenCacheTTL)
	if expires.Before(until) {
		until = expires
	}
	e := cachedGrant{grant: g, until: until}
	v.m.Store(hash, e)
	if v.forgets.Load() != gen {
		v.m.CompareAndDelete(hash, e)
	}
}

func (v *verifiedTokens) forget(hash string) {
	v.forgets.Add(1)
	v.m.Delete(hash)
}

// forgetWhere forgets every token whose grant matches (a revoked client, a deactivated user:
// rare, so a scan is fine).
func (v *verifiedTokens) forgetWhere(match func(*TokenGrant) bool) {
	v.forgets.Add(1)
	v.m.Range(func(k, e any) bool {
		if g := e.(cachedGrant).grant; match(&g) {
			v.m.Delete(k)
		}
		return true
	})
}

// forgetClient forgets every token of a client.
func (v *verifiedTokens) forgetClient(id uuid.UUID) {
	v.forgetWhere(func(g *TokenGrant) bool { return g.Client.ID == id })
}

// forgetUser forgets every token that acts for a user (authorization code flow).
func (v *verifiedTokens) forgetUser(id uuid.UUID) {
	v.forgetWhere(func(g *TokenGrant) bool { return g.User != nil && g.User.ID == id })
}

func (v *verifiedTokens) forgetAll() {
	v.forgets.Add(1)
	v.m.Clear()
}

// The entity types of revocations in the change feed. A client's EntityID is the client's ID; a
// single token's revocation carries no token or hash, so it makes the other instances forget
// every cached token of that client (they verify the others again on their next use). A user's
// (deactivated, role or password changed: users.go) is the user's ID: the instances forget the
// tokens that act for that user.
const (
	ChangeTypeAPIClient = "Security.APIClient"
	ChangeTypeUser      = "Security.User"
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
				s.tokens.forgetAll()
			case r.EntityType == ChangeTypeAPIClient:
				s.tokens.forgetClient(r.EntityID)
			case r.EntityType == ChangeTypeUser:
				s.tokens.forgetUser(r.EntityID)
			}
		}
	}
}
