package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestTokenCache: a token verified once is answered from memory (no statement); a revocation
// on the same instance refuses it at once; one on another instance refuses it once its change
// reaches this one (ForgetRevoked, which the change feed calls), and at the latest when the
// cached entry's TokenCacheTTL ends; an entry never outlives its token.
func TestTokenCache(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			s, counter := storetest.NewCounting(t, d)
			ctx := context.Background()
			other := storetest.Reopen(t, s)
			var mu sync.Mutex
			var changes []models.Change
			other.OnChange(func(_ *gorm.DB, c *models.Change) error {
				mu.Lock()
				defer mu.Unlock()
				changes = append(changes, *c)
				return nil
			})
			client, _, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "Sync", Scopes: []string{"read"}}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			issue := func() string {
				tok, _, err := s.IssueToken(ctx, client, "")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.LookupToken(ctx, tok); err != nil {
					t.Fatal(err)
				}
				return tok
			}
			refused := func(st *models.Store, tok, when string) {
				t.Helper()
				if _, err := st.LookupToken(ctx, tok); models.ErrorCode(err) != models.EUnauthorized {
					t.Fatalf("%s: %v, want unauthorized", when, err)
				}
			}

			tok := issue()
			counter.Reset()
			if g, err := s.LookupToken(ctx, tok); err != nil || g.Client.ID != client.ID || counter.Counts().Statements != 0 {
				t.Fatalf("a verified token again: %+v %v after %d statements, want 0", g, err, counter.Counts().Statements)
			}
			if err := s.RevokeToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			refused(s, tok, "revoked on this instance")

			// Revoked on another instance: the change it records makes this one forget.
			tok = issue()
			if err := other.RevokeToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if _, err := s.LookupToken(ctx, tok); err != nil {
				t.Fatalf("before the change arrives the cached grant still answers: %v", err)
			}
			mu.Lock()
			if len(changes) != 1 || changes[0].EntityType != models.ChangeTypeAPIClient || changes[0].EntityID != client.ID {
				t.Fatalf("the revocation recorded %+v, want one change of the client", changes)
			}
			s.ForgetRevoked(changes[0])
			mu.Unlock()
			refused(s, tok, "revoked on another instance, change received")

			// Without the change, the entry's lifetime bounds it.
			tok = issue()
			if err := other.RevokeAPIClient(ctx, client.ID, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			real := s.Now
			s.Now = func() time.Time { return real().Add(models.TokenCacheTTL) }
			refused(s, tok, "revoked on another instance, after the cache's lifetime")
			s.Now = real
		})
	}
}
