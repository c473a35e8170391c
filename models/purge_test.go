package models_test

import (
	"context"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestPurgeExpiredOAuthRows: the purge of expired credentials removes authorization codes and
// refresh tokens once they are past their expiry and the replay window (until then a replayed one
// still revokes its grant), and at once the refresh tokens of revoked grants; grants stay (the
// admin page lists them). While another instance holds the purge's lock, an instance skips.
func TestPurgeExpiredOAuthRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newOAuthFixture(t, s, models.RoleRep)
		start := f.now
		count := func(table string) int64 {
			t.Helper()
			var n int64
			if err := s.DB.Raw("SELECT COUNT(*) FROM " + table).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		purge := func(st *models.Store) {
			t.Helper()
			if err := st.PurgeExpiredSessions(ctx); err != nil {
				t.Fatal(err)
			}
		}
		want := func(when string, codes, refresh, grants int64) {
			t.Helper()
			if c, r, g := count("oauth_codes"), count("oauth_refresh_tokens"), count("oauth_grants"); c != codes || r != refresh || g != grants {
				t.Fatalf("%s: %d codes, %d refresh tokens, %d grants; want %d, %d, %d", when, c, r, g, codes, refresh, grants)
			}
		}

		// A grant whose refresh token was rotated once (one spent, one live), a code never
		// exchanged, and a revoked grant with its refresh token.
		replayed := f.code(t, f.request("read offline", "", ""))
		kept, err := s.ExchangeCode(ctx, f.client, replayed, testRedirect, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RefreshGrant(ctx, f.client, kept.RefreshToken, ""); err != nil {
			t.Fatal(err)
		}
		f.code(t, f.request("read", "", ""))
		f.now = start.Add(time.Second) // the revoked grant is the newer one
		if _, err := s.ExchangeCode(ctx, f.client, f.code(t, f.request("read offline", "", "")), testRedirect, ""); err != nil {
			t.Fatal(err)
		}
		grants, _ := s.ClientGrants(ctx, f.client.ID) // newest first
		if err := s.RevokeGrant(ctx, f.client.ID, grants[0].ID, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		want("before", 3, 3, 2)

		f.now = start.Add(models.CodeTTL + time.Minute) // every code expired, within the replay window
		purge(s)
		want("codes expired a minute ago", 3, 2, 2)
		// The replay window works: the code presented again revokes the grant it made.
		if _, err := s.ExchangeCode(ctx, f.client, replayed, testRedirect, ""); err == nil {
			t.Fatal("a replayed code was accepted")
		}
		if _, err := s.LookupToken(ctx, kept.AccessToken); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("a replayed code did not revoke its grant's tokens: %v", err)
		}
		purge(s)
		want("its grant revoked", 3, 0, 2)

		// Another instance holds the purge's lock: this one skips (the embedded database has
		// one process, so no lock to take).
		other := storetest.Reopen(t, s)
		other.Now = s.Now
		f.now = start.Add(models.CodeTTL + models.OAuthReplayWindow + time.Minute)
		if s.IsPostgres() {
			holder := s.DB.Begin()
			if err := holder.Exec("SELECT pg_advisory_xact_lock(hashtext('phaseboard.purge.expired' || '.' || current_schema()))").Error; err != nil {
				t.Fatal(err)
			}
			purge(other)
			holder.Rollback()
			want("while another instance purges", 3, 0, 2)
		}
		purge(other)
		want("past the replay window", 0, 0, 2)
		if n := count("access_tokens"); n != 0 {
			t.Fatalf("%d expired access tokens kept", n)
		}
	})
}

// TestPurgeExpiredRefreshTokens: a refresh token of a live grant is kept until it expires and
// the replay window passes, spent or not.
func TestPurgeExpiredRefreshTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newOAuthFixture(t, s, models.RoleRep)
		start := f.now
		issued, err := s.ExchangeCode(ctx, f.client, f.code(t, f.request("read offline", "", "")), testRedirect, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RefreshGrant(ctx, f.client, issued.RefreshToken, ""); err != nil {
			t.Fatal(err)
		}
		count := func() (n int64) {
			if err := s.DB.Raw("SELECT COUNT(*) FROM oauth_refresh_tokens").Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, tc := range []struct {
			after time.Duration
			want  int64
		}{
			{models.RefreshTTL, 2},
			{models.RefreshTTL + models.OAuthReplayWindow - time.Minute, 2},
			{models.RefreshTTL + models.OAuthReplayWindow, 0},
		} {
			f.now = start.Add(tc.after)
			if err := s.PurgeExpiredSessions(ctx); err != nil {
				t.Fatal(err)
			}
			if n := count(); n != tc.want {
				t.Fatalf("%s after: %d refresh tokens, want %d", tc.after, n, tc.want)
			}
		}
	})
}
