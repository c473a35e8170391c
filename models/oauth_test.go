package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

const testRedirect = "https://app.example/callback"

// pkcePair is a verifier and its S256 challenge (RFC 7636 appendix B, computed).
func pkcePair(seed string) (verifier, challenge string) {
	verifier = strings.Repeat(seed, 43/len(seed)+1)[:43]
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func oauthCode(t *testing.T, err error) string {
	t.Helper()
	var oe *models.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("not an OAuth refusal: %v", err)
	}
	return oe.Code
}

// oauthRows counts what the OAuth tables hold: a refusal must leave them as they were.
func oauthRows(t *testing.T, s *models.Store) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT COUNT(*) FROM oauth_grants", "SELECT COUNT(*) FROM oauth_grants WHERE revoked_at IS NOT NULL",
		"SELECT COUNT(*) FROM access_tokens", "SELECT COUNT(*) FROM oauth_refresh_tokens",
		"SELECT COUNT(*) FROM oauth_refresh_tokens WHERE used_at IS NOT NULL", "SELECT COUNT(*) FROM oauth_codes",
		"SELECT COUNT(*) FROM oauth_codes WHERE used_at IS NOT NULL",
	} {
		var n int64
		if err := s.DB.Raw(q).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimPrefix(q, "SELECT COUNT(*) FROM ")+"="+strconv.FormatInt(n, 10))
	}
	return strings.Join(out, " ")
}

type oauthFixture struct {
	s      *models.Store
	client *models.APIClient
	user   *models.User
	now    time.Time
}

func newOAuthFixture(t *testing.T, s *models.Store, role string) *oauthFixture {
	t.Helper()
	ctx := context.Background()
	f := &oauthFixture{s: s, now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s.Now = func() time.Time { return f.now }
	var err error
	f.client, _, err = s.CreateAPIClient(ctx, models.NewAPIClient{Name: "mcp", Scopes: []string{"read", "write"},
		RedirectURIs: []string{testRedirect, "http://127.0.0.1:8765/cb"}}, models.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	f.user, err = s.CreateUser(ctx, models.NewUser{Email: role + "-" + uuid.NewString()[:8] + "@test.example", Password: "pw-123456789", Role: role}, models.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *oauthFixture) request(scope, challenge, method string) models.AuthorizationRequest {
	return models.AuthorizationRequest{ResponseType: "code", ClientID: f.client.ID.String(), RedirectURI: testRedirect,
		Scope: scope, State: "state-1234", CodeChallenge: challenge, CodeChallengeMethod: method}
}

func (f *oauthFixture) code(t *testing.T, r models.AuthorizationRequest) string {
	t.Helper()
	code, err := f.s.IssueAuthorizationCode(context.Background(), f.user, r)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestAuthorizationRequestChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newOAuthFixture(t, s, models.RoleRep)
		ctx := context.Background()
		plain, _, _ := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "etl", Scopes: []string{"read"}}, models.Actor{})
		_, challenge := pkcePair("abc")
		ok := f.request("read offline", challenge, "S256")
		// Client and redirect URI: refusals shown on a page, never redirected.
		for _, tc := range []struct {
			name string
			edit func(r *models.AuthorizationRequest)
			code string
		}{
			{"unknown client", func(r *models.AuthorizationRequest) { r.ClientID = uuid.NewString() }, models.OAuthInvalidRequest},
			{"malformed client", func(r *models.AuthorizationRequest) { r.ClientID = "x" }, models.OAuthInvalidRequest},
			{"client without redirect URIs", func(r *models.AuthorizationRequest) { r.ClientID = plain.ID.String() }, models.OAuthUnauthorizedClient},
			{"no redirect_uri", func(r *models.AuthorizationRequest) { r.RedirectURI = "" }, models.OAuthInvalidRequest},
			{"unregistered redirect_uri", func(r *models.AuthorizationRequest) { r.RedirectURI = "https://evil.example/callback" }, models.OAuthInvalidRequest},
			{"registered prefix only", func(r *models.AuthorizationRequest) { r.RedirectURI = testRedirect + "/more" }, models.OAuthInvalidRequest},
		} {
			r := ok
			tc.edit(&r)
			if _, err := s.AuthorizationClient(ctx, r); oauthCode(t, err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		c, err := s.AuthorizationClient(ctx, ok)
		if err != nil {
			t.Fatal(err)
		}
		// The rest: refusals sent back on the redirect.
		for _, tc := range []struct {
			name string
			edit func(r *models.AuthorizationRequest)
			code string
		}{
			{"no response_type", func(r *models.AuthorizationRequest) { r.ResponseType = "" }, models.OAuthInvalidRequest},
			{"implicit grant", func(r *models.AuthorizationRequest) { r.ResponseType = "token" }, models.OAuthUnsupportedResponseType},
			{"short state", func(r *models.AuthorizationRequest) { r.State = "1234567" }, models.OAuthInvalidRequest},
			{"no scope", func(r *models.AuthorizationRequest) { r.Scope = "" }, models.OAuthInvalidScope},
			{"unknown scope", func(r *models.AuthorizationRequest) { r.Scope = "read admin" }, models.OAuthInvalidScope},
			{"scope the client lacks", func(r *models.AuthorizationRequest) { r.ClientID = plain.ID.String(); r.Scope = "write" }, models.OAuthInvalidScope},
			{"unknown PKCE method", func(r *models.AuthorizationRequest) { r.CodeChallengeMethod = "S512" }, models.OAuthInvalidRequest},
			{"short challenge", func(r *models.AuthorizationRequest) { r.CodeChallenge = "abc" }, models.OAuthInvalidRequest},
			{"method without challenge", func(r *models.AuthorizationRequest) { r.CodeChallenge = "" }, models.OAuthInvalidRequest},
		} {
			r := ok
			tc.edit(&r)
			client := c
			if r.ClientID == plain.ID.String() {
				client = plain
			}
			if _, err := models.CheckAuthorization(client, r); oauthCode(t, err) != tc.code {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		if scopes, err := models.CheckAuthorization(c, ok); err != nil || strings.Join(scopes, " ") != "read offline" {
			t.Fatalf("a valid request: %v %v", scopes, err)
		}
		// A refused consent writes no code.
		before := oauthRows(t, s)
		bad := ok
		bad.State = "short"
		if _, err := s.IssueAuthorizationCode(ctx, f.user, bad); err == nil {
			t.Fatal("a code for a refused request")
		}
		if after := oauthRows(t, s); after != before {
			t.Fatalf("a refused consent wrote: %s -> %s", before, after)
		}
	})
}

func TestRedirectURIRules(t *testing.T) {
	for _, tc := range []struct {
		uri string
		ok  bool
	}{
		{"https://app.example/cb", true},
		{"https://app.example/cb?tenant=4", true},
		{"http://localhost:8080/cb", true},
		{"http://127.0.0.1/cb", true},
		{"http://[::1]:9/cb", true},
		{"http://app.example/cb", false},
		{"https://app.example/cb#x", false},
		{"/cb", false},
		{"https://user:pw@app.example/cb", false},
		{"javascript:alert(1)", false},
	} {
		_, err := models.ParseRedirectURIs(tc.uri)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.uri, err, tc.ok)
		}
	}
	got, err := models.ParseRedirectURIs("https://a.example/1\nhttps://b.example/2", "https://a.example/1")
	if err != nil || len(got) != 2 {
		t.Fatalf("lines and duplicates: %v %v", got, err)
	}
}

func TestCodeExchangeAndRefresh(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newOAuthFixture(t, s, models.RoleRep)
		ctx := context.Background()
		other, _, _ := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "other", Scopes: []string{"read"}, RedirectURIs: []string{testRedirect}}, models.Actor{})
		verifier, challenge := pkcePair("abc")
		code := f.code(t, f.request("read write offline", challenge, "S256"))

		// Refusals before a good exchange write nothing and leave the code usable.
		before := oauthRows(t, s)
		for _, tc := range []struct {
			name                     string
			client                   *models.APIClient
			code, redirect, verifier string
			want                     string
		}{
			{"wrong verifier", f.client, code, testRedirect, strings.Repeat("x", 43), models.OAuthInvalidGrant},
			{"no verifier", f.client, code, testRedirect, "", models.OAuthInvalidGrant},
			{"malformed verifier", f.client, code, testRedirect, "short", models.OAuthInvalidRequest},
			{"other registered redirect URI", f.client, code, "http://127.0.0.1:8765/cb", verifier, models.OAuthInvalidGrant},
			{"no redirect URI", f.client, code, "", verifier, models.OAuthInvalidRequest},
			{"another client's code", other, code, testRedirect, verifier, models.OAuthInvalidGrant},
			{"unknown code", f.client, "nope", testRedirect, verifier, models.OAuthInvalidGrant},
			{"no code", f.client, "", testRedirect, verifier, models.OAuthInvalidRequest},
		} {
			if _, err := s.ExchangeCode(ctx, tc.client, tc.code, tc.redirect, tc.verifier); oauthCode(t, err) != tc.want {
				t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
			}
		}
		if after := oauthRows(t, s); after != before {
			t.Fatalf("refused exchanges wrote: %s -> %s", before, after)
		}

		issued, err := s.ExchangeCode(ctx, f.client, code, testRedirect, verifier)
		if err != nil {
			t.Fatal(err)
		}
		if issued.RefreshToken == "" || issued.Access.Scopes != "read write offline" {
			t.Fatalf("offline grant: %+v", issued)
		}
		g, err := s.LookupToken(ctx, issued.AccessToken)
		if err != nil || g.User == nil || g.User.ID != f.user.ID || g.Actor().Role != models.RoleRep {
			t.Fatalf("the token acts as the consenting rep: %+v %v", g, err)
		}

		// Refresh: rotated; the old one spent. A narrowed scope; a wider one refused.
		if _, err := s.RefreshGrant(ctx, f.client, issued.RefreshToken, "read admin"); oauthCode(t, err) != models.OAuthInvalidScope {
			t.Fatalf("unknown scope on refresh: %v", err)
		}
		if _, err := s.RefreshGrant(ctx, other, issued.RefreshToken, ""); oauthCode(t, err) != models.OAuthInvalidGrant {
			t.Fatalf("another client's refresh token: %v", err)
		}
		f.now = f.now.Add(2 * time.Minute)
		second, err := s.RefreshGrant(ctx, f.client, issued.RefreshToken, "read")
		if err != nil || second.Access.Scopes != "read" || second.RefreshToken == "" || second.RefreshToken == issued.RefreshToken {
			t.Fatalf("refresh: %+v %v", second, err)
		}
		grants, _ := s.ClientGrants(ctx, f.client.ID)
		if len(grants) != 1 || !grants[0].LastUsedAt.Equal(f.now) || grants[0].UserEmail != f.user.Email {
			t.Fatalf("grant list: %+v", grants)
		}
		third, err := s.RefreshGrant(ctx, f.client, second.RefreshToken, "")
		if err != nil || third.Access.Scopes != "read write offline" {
			t.Fatalf("the rotated token refreshes with the grant's scopes: %+v %v", third, err)
		}
		if _, err := s.LookupToken(ctx, third.AccessToken); err != nil {
			t.Fatal(err)
		}
		// Reuse of a spent refresh token revokes the grant: the newest tokens stop too.
		if _, err := s.RefreshGrant(ctx, f.client, issued.RefreshToken, ""); oauthCode(t, err) != models.OAuthInvalidGrant {
			t.Fatalf("spent refresh token: %v", err)
		}
		if _, err := s.LookupToken(ctx, third.AccessToken); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("access token of a revoked grant still works: %v", err)
		}
		if _, err := s.RefreshGrant(ctx, f.client, third.RefreshToken, ""); oauthCode(t, err) != models.OAuthInvalidGrant {
			t.Fatalf("refresh token of a revoked grant still works: %v", err)
		}

		// The code again: refused, and what it issued is revoked (here already).
		if _, err := s.ExchangeCode(ctx, f.client, code, testRedirect, verifier); oauthCode(t, err) != models.OAuthInvalidGrant {
			t.Fatalf("code reuse: %v", err)
		}
	})
}

func TestCodeReuseRevokesItsTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newOAuthFixture(t, s, models.RoleManager)
		ctx := context.Background()
		code := f.code(t, f.request("read", "", ""))
		issued, err := s.ExchangeCode(ctx, f.client, code, testRedirect, "")
		if err != nil || issued.RefreshToken != "" {
			t.Fatalf("without offline, no refresh token: %+v %v", issued, err)
		}
		if _, err := s.LookupToken(ctx, issued.AccessToken); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ExchangeCode(ctx, f.client, code, testRedirect, ""); oauthCode(t, err) != models.OAuthInvalidGrant {
			t.Fatalf("second use: %v", err)
		}
		if _, err := s.LookupToken(ctx, issued.AccessToken); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("the first exchange's token survives the code's reuse: %v", err)
		}
		// offline_access is the other spelling of offline: a refresh token too.
		spelled, err := s.ExchangeCode(ctx, f.client, f.code(t, f.request("read offline_access", "", "")), testRedirect, "")
		if err != nil || spelled.RefreshToken == "" || spelled.Access.Scopes != "read offline_access" {
			t.Fatalf("offline_access grant: %+v %v", spelled, err)
		}
	})
}

func TestCodeExpiryAndPKCEVariants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newOAuthFixture(t, s, models.RoleRep)
		ctx := context.Background()
		verifier, challenge := pkcePair("xyz")
		late := f.code(t, f.request("read", challenge, "S256"))
		f.now = f.now.Add(models.CodeTTL)
		before := oauthRows(t, s)
		if _, err := s.ExchangeCode(ctx, f.client, late, testRedirect, verifier); oauthCode(t, err) != models.OAuthInvalidGrant {
			t.Fatalf("expired code: %v", err)
		}
		if after := oauthRows(t, s); after != before {
			t.Fatalf("an expired code wrote: %s -> %s", before, after)
		}
		// plain: the verifier is the challenge (also when the method is left out, RFC 7636 §4.3).
		plainVerifier := strings.Repeat("p", 50)
		for _, method := range []string{"plain", ""} {
			code := f.code(t, f.request("read", plainVerifier, method))
			if _, err := s.ExchangeCode(ctx, f.client, code, testRedirect, plainVerifier+"q"); oauthCode(t, err) != models.OAuthInvalidGrant {
				t.Fatalf("plain %q, wrong verifier: %v", method, err)
			}
			if _, err := s.ExchangeCode(ctx, f.client, code, testRedirect, plainVerifier); err != nil {
				t.Fatalf("plain %q: %v", method, err)
			}
		}
		// A verifier for a code made without a challenge is a downgrade: refused.
		code := f.code(t, f.request("read", "", ""))
		if _, err := s.ExchangeCode(ctx, f.client, code, testRedirect, verifier); oauthCode(t, err) != models.OAuthInvalidGrant {
			t.Fatalf("verifier without challenge: %v", err)
		}
		// A deactivated user's code exchanges to nothing.
		code = f.code(t, f.request("read", "", ""))
		if err := s.DB.Exec("UPDATE users SET is_active = false WHERE id = ?", f.user.ID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.ExchangeCode(ctx, f.client, code, testRedirect, ""); oauthCode(t, err) != models.OAuthInvalidGrant {
			t.Fatalf("deactivated user: %v", err)
		}
	})
}

func TestGrantRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newOAuthFixture(t, s, models.RoleRep)
		ctx := context.Background()
		exchange := func() *models.IssuedTokens {
			issued, err := s.ExchangeCode(ctx, f.client, f.code(t, f.request("read offline", "", "")), testRedirect, "")
			if err != nil {
				t.Fatal(err)
			}
			f.now = f.now.Add(time.Second) // the admin list is newest first
			return issued
		}
		byAdmin, byRefresh, byClient := exchange(), exchange(), exchange()
		for _, tok := range []*models.IssuedTokens{byAdmin, byRefresh, byClient} { // cached now: revocation must forget them
			if _, err := s.LookupToken(ctx, tok.AccessToken); err != nil {
				t.Fatal(err)
			}
		}
		grants, _ := s.ClientGrants(ctx, f.client.ID)
		if len(grants) != 3 {
			t.Fatalf("grants: %d", len(grants))
		}
		for _, gr := range grants {
			if err := s.RevokeGrant(ctx, f.client.ID, gr.ID, models.Actor{Role: models.RoleRep}); models.ErrorCode(err) != models.EForbidden {
				t.Fatalf("a rep revokes a grant: %v", err)
			}
		}
		if err := s.RevokeGrant(ctx, uuid.New(), grants[2].ID, models.Actor{}); models.ErrorCode(err) != models.ENotFound {
			t.Fatalf("another client's grant: %v", err)
		}
		if err := s.RevokeGrant(ctx, f.client.ID, grants[2].ID, models.Actor{}); err != nil { // oldest: byAdmin
			t.Fatal(err)
		}
		if _, err := s.LookupToken(ctx, byAdmin.AccessToken); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("revoked grant's access token: %v", err)
		}
		if _, err := s.RefreshGrant(ctx, f.client, byAdmin.RefreshToken, ""); oauthCode(t, err) != models.OAuthInvalidGrant {
			t.Fatalf("revoked grant's refresh token: %v", err)
		}
		if _, err := s.LookupToken(ctx, byRefresh.AccessToken); err != nil {
			t.Fatalf("another grant was revoked too: %v", err)
		}
		// RFC 7009: revoking a refresh token ends its grant; another client's is ignored.
		if err := s.RevokeClientToken(ctx, uuid.New(), byRefresh.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LookupToken(ctx, byRefresh.AccessToken); err != nil {
			t.Fatalf("another client revoked this client's grant: %v", err)
		}
		if err := s.RevokeClientToken(ctx, f.client.ID, byRefresh.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LookupToken(ctx, byRefresh.AccessToken); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("revoked refresh token's grant: %v", err)
		}
		// Revoking the client ends the grants left.
		if err := s.RevokeAPIClient(ctx, f.client.ID, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LookupToken(ctx, byClient.AccessToken); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("revoked client's user token: %v", err)
		}
		var open int64
		s.DB.Raw("SELECT COUNT(*) FROM oauth_grants WHERE revoked_at IS NULL").Scan(&open)
		if open != 0 {
			t.Fatalf("%d grants survive their client's revocation", open)
		}
	})
}

// Two exchanges of one code at once: one gets the tokens, the other is a reuse, refused, and
// revokes what the first got (RFC 6749 §4.1.2). Never two grants.
func TestConcurrentCodeExchange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newOAuthFixture(t, s, models.RoleRep)
		ctx := context.Background()
		for round := 0; round < 5; round++ {
			code := f.code(t, f.request("read offline", "", ""))
			type answer struct {
				issued *models.IssuedTokens
				err    error
			}
			answers := make(chan answer, 2)
			start := make(chan struct{})
			for i := 0; i < 2; i++ {
				go func() {
					<-start
					issued, err := s.ExchangeCode(ctx, f.client, code, testRedirect, "")
					answers <- answer{issued, err}
				}()
			}
			close(start)
			a, b := <-answers, <-answers
			if (a.err == nil) == (b.err == nil) {
				t.Fatalf("round %d: both or neither exchanged: %v / %v", round, a.err, b.err)
			}
			won, lost := a, b
			if a.err != nil {
				won, lost = b, a
			}
			if oauthCode(t, lost.err) != models.OAuthInvalidGrant {
				t.Fatalf("round %d: the loser: %v", round, lost.err)
			}
			if _, err := s.LookupToken(ctx, won.issued.AccessToken); models.ErrorCode(err) != models.EUnauthorized {
				t.Fatalf("round %d: the winner's token survives a concurrent reuse: %v", round, err)
			}
		}
		var grants int64
		s.DB.Raw("SELECT COUNT(*) FROM oauth_grants WHERE client_id = ?", f.client.ID).Scan(&grants)
		if grants != 5 {
			t.Fatalf("%d grants for 5 codes", grants)
		}
	})
}

// A grant revoked on one instance stops its tokens on another that had them cached, once the
// change reaches it through the feed.
func TestGrantRevocationReachesOtherInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f, other, issued := twoInstancesFollowing(t, s)
		ctx := context.Background()
		if _, err := s.LookupToken(ctx, issued.AccessToken); err != nil { // cached here
			t.Fatal(err)
		}
		grants, _ := other.ClientGrants(ctx, f.client.ID)
		if err := other.RevokeGrant(ctx, f.client.ID, grants[0].ID, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(models.TokenCacheTTL / 2)
		for {
			if _, err := s.LookupToken(ctx, issued.AccessToken); models.ErrorCode(err) == models.EUnauthorized {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a grant revoked on another instance still opens the API here")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// twoInstancesFollowing makes an OAuth fixture on s, a second instance of its database, and a
// user's tokens (read offline) issued on s, whose feed runs (on real time, as its token cache)
// until the test ends.
func twoInstancesFollowing(t *testing.T, s *models.Store) (*oauthFixture, *models.Store, *models.IssuedTokens) {
	t.Helper()
	f := newOAuthFixture(t, s, models.RoleRep)
	s.Now = func() time.Time { return time.Now().UTC() }
	ctx := context.Background()
	other := storetest.Reopen(t, s)
	feedCtx, stopFeed := context.WithCancel(ctx)
	t.Cleanup(stopFeed)
	go s.Feed().Run(feedCtx, models.FeedConfig{Poll: 50 * time.Millisecond})
	waitRunning(t, s)
	issued, err := s.ExchangeCode(ctx, f.client, f.code(t, f.request("read offline", "", "")), testRedirect, "")
	if err != nil {
		t.Fatal(err)
	}
	return f, other, issued
}
