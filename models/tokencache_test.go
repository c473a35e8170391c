package models_test

import (
	"context"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestTokenCache: a token verified once is answered from memory (no statement); a revocation
// on the same instance refuses it at once; one on another instance refuses it once its change
// reaches this one through the change feed, well before the cached entry's TokenCacheTTL ends,
// and without the feed at the latest when it ends.
func TestTokenCache(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			s, counter := storetest.NewCounting(t, d)
			ctx := context.Background()
			other := storetest.Reopen(t, s)
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

			// Revoked on another instance: the change it records reaches this one's feed.
			tok = issue()
			if err := other.RevokeToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if _, err := s.LookupToken(ctx, tok); err != nil {
				t.Fatalf("with no feed running the cached grant still answers: %v", err)
			}
			feedCtx, stopFeed := context.WithCancel(ctx)
			go s.Feed().Run(feedCtx, models.FeedConfig{Poll: 50 * time.Millisecond})
			waitRunning(t, s)
			tok2 := issue() // cached before the next revocation
			if err := other.RevokeToken(ctx, tok2); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(models.TokenCacheTTL / 2)
			for {
				if _, err := s.LookupToken(ctx, tok2); models.ErrorCode(err) == models.EUnauthorized {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("a revocation on another instance did not reach this one through the feed")
				}
				time.Sleep(20 * time.Millisecond)
			}
			stopFeed()

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
