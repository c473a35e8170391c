package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestUserChangeReachesOtherInstancesTokens: two instances share one database; B verified (and
// cached) a token acting for a user; deactivating the user, changing the role or resetting the
// password on A reaches B through the change feed, well before B's cached entry would end
// (TokenCacheTTL), and a client revoked on A likewise. Without the change users.go records, B
// keeps answering from memory for the whole TTL, and this test fails at its deadline.
func TestUserChangeReachesOtherInstancesTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, b *models.Store) {
		f, a, issued := twoInstancesFollowing(t, b)
		ctx := context.Background()
		// until polls B (every request is the next one) until ok says its answer is right.
		token := issued.AccessToken
		until := func(what string, ok func(*models.TokenGrant, error) bool) {
			t.Helper()
			deadline := time.Now().Add(models.TokenCacheTTL / 2)
			for {
				g, err := b.LookupToken(ctx, token)
				if ok(g, err) {
					return
				}
				if time.Now().After(deadline) {
					role := "none"
					if g != nil && g.User != nil {
						role = g.User.Role
					}
					t.Fatalf("%s: B still answers (user role %s, error %v)", what, role, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		refused := func(_ *models.TokenGrant, err error) bool { return models.ErrorCode(err) == models.EUnauthorized }
		if g, err := b.LookupToken(ctx, issued.AccessToken); err != nil || g.User == nil || g.User.Role != models.RoleRep {
			t.Fatalf("the token on B: %+v %v", g, err)
		}

		if err := a.SetUserActive(ctx, f.user.ID, false, models.Actor{}, uuid.Nil); err != nil {
			t.Fatal(err)
		}
		until("user deactivated on A", refused)
		if _, err := b.RefreshGrant(ctx, f.client, issued.RefreshToken, ""); err == nil {
			t.Fatal("a deactivated user's refresh token still works")
		}

		// Reactivated: the grant was suspended, not revoked, so the token works again.
		if err := a.SetUserActive(ctx, f.user.ID, true, models.Actor{}, uuid.Nil); err != nil {
			t.Fatal(err)
		}
		until("user reactivated on A", func(g *models.TokenGrant, err error) bool { return err == nil })
		if err := a.SetUserRole(ctx, f.user.ID, models.RoleManager, models.Actor{}, uuid.Nil); err != nil {
			t.Fatal(err)
		}
		until("role changed on A", func(g *models.TokenGrant, err error) bool {
			return err == nil && g.User != nil && g.User.Role == models.RoleManager
		})

		// A password reset revokes the grant itself: the refresh token is dead too.
		if err := a.SetUserPassword(ctx, f.user.ID, "new-pass-123456", models.Actor{}); err != nil {
			t.Fatal(err)
		}
		until("password reset on A", refused)
		if _, err := a.LookupToken(ctx, issued.AccessToken); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("after a password reset the token verifies afresh: %v", err)
		}
		if _, err := b.RefreshGrant(ctx, f.client, issued.RefreshToken, ""); err == nil {
			t.Fatal("the refresh token outlived the password reset")
		}

		// A client revoked on A: its client credentials token stops on B too.
		var err error
		if token, _, err = b.IssueToken(ctx, f.client, "read"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.LookupToken(ctx, token); err != nil {
			t.Fatal(err)
		}
		if err := a.RevokeAPIClient(ctx, f.client.ID, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		until("client revoked on A", refused)
	})
}
