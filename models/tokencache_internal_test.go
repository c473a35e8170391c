package models

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// A lookup that read the database before a forget (the user was deactivated meanwhile) must not
// cache the grant it read: the next request would be answered from that stale entry for the
// whole TokenCacheTTL.
func TestTokenCacheForgetDuringLookup(t *testing.T) {
	var v verifiedTokens
	now := time.Now()
	user := uuid.New()
	g := TokenGrant{Client: APIClient{ID: uuid.New()}, User: &User{ID: user, IsActive: true}}

	gen := v.generation() // the lookup begins and reads the user as active
	v.forgetUser(user)    // the deactivation's change arrives
	v.put("h", g, now.Add(time.Hour), now, gen)
	if _, ok := v.get("h", now); ok {
		t.Fatal("a grant read before a forget was cached after it")
	}

	gen = v.generation()
	v.put("h", g, now.Add(time.Hour), now, gen)
	if _, ok := v.get("h", now); !ok {
		t.Fatal("a grant read with no forget since was not cached")
	}
	v.forgetUser(uuid.New())
	if _, ok := v.get("h", now); !ok {
		t.Fatal("forgetting another user forgot this one's token")
	}
	v.forgetUser(user)
	if _, ok := v.get("h", now); ok {
		t.Fatal("forgetUser kept the user's token")
	}
}
