package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

const oauthRedirect = "https://integration.example/callback?tenant=7"

// oauthSetup is a client registered for the authorization code flow and a rep who may consent.
type oauthSetup struct {
	a      *authApp
	s      *models.Store
	client *models.APIClient
	secret string
	user   *models.User
	cookie *http.Cookie
}

func newOAuthSetup(t *testing.T, s *models.Store, role string) *oauthSetup {
	t.Helper()
	a := newAuthApp(t, s, handlers.Handler{TokenLimit: 1000})
	ctx := context.Background()
	reps, _ := s.Employees(ctx)
	client, secret, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "Tribe MCP server", Scopes: []string{"read", "write"},
		RedirectURIs: []string{oauthRedirect}}, models.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	u, cookie := authtest.Login(t, s, role, &reps[0].ID)
	return &oauthSetup{a: a, s: s, client: client, secret: secret, user: u, cookie: cookie}
}

func (o *oauthSetup) authQuery(edit func(v url.Values)) url.Values {
	v := url.Values{"response_type": {"code"}, "client_id": {o.client.ID.String()}, "redirect_uri": {oauthRedirect},
		"scope": {"read offline"}, "state": {"state-xyz-123"}}
	if edit != nil {
		edit(v)
	}
	return v
}

// decide opens the consent page for q as the setup's user and posts decision; it returns the
// answer to the POST.
func (o *oauthSetup) decide(t *testing.T, q url.Values, decision string) resp {
	t.Helper()
	page := o.a.get("/oauth2/auth?"+q.Encode(), o.cookie)
	if page.status != 200 || !strings.Contains(page.body, `data-testid="consent"`) || !strings.Contains(page.body, "Tribe MCP server") {
		t.Fatalf("consent page: %d %s", page.status, page.body)
	}
	csrf := csrfMeta.FindStringSubmatch(page.body)[1]
	form := url.Values{}
	for k, v := range q {
		form[k] = v
	}
	form.Set("decision", decision)
	return o.a.form("/oauth2/auth", form, csrf, o.cookie)
}

// code runs the consent with Allow and returns the code from the redirect.
func (o *oauthSetup) code(t *testing.T, q url.Values) string {
	t.Helper()
	r := o.decide(t, q, "allow")
	back := redirectQuery(t, r, http.StatusSeeOther)
	if back.Get("state") != q.Get("state") || back.Get("code") == "" || back.Get("tenant") != "7" {
		t.Fatalf("allow: %v", back)
	}
	return back.Get("code")
}

// redirectQuery checks a redirect to the registered URI and returns its query.
func redirectQuery(t *testing.T, r resp, status int) url.Values {
	t.Helper()
	loc, err := url.Parse(r.header.Get("Location"))
	if r.status != status || err != nil || loc.Scheme+"://"+loc.Host+loc.Path != "https://integration.example/callback" {
		t.Fatalf("want a %d redirect to the client, got %d %q %s", status, r.status, r.header.Get("Location"), r.body)
	}
	return loc.Query()
}

// token posts to the token endpoint as the client (HTTP Basic) and decodes the answer.
func (o *oauthSetup) token(t *testing.T, v url.Values) (int, map[string]any) {
	t.Helper()
	r := o.a.do(tokenRequest(v, o.client.ID.String(), o.secret))
	var body map[string]any
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("token answer is not JSON: %d %s", r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token answer may be cached: %v", r.header)
	}
	return r.status, body
}

func (o *oauthSetup) exchange(t *testing.T, code, verifier string) (int, map[string]any) {
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oauthRedirect}}
	if verifier != "" {
		v.Set("code_verifier", verifier)
	}
	return o.token(t, v)
}

// apiStatus calls the stand-in API with a bearer token.
func (o *oauthSetup) apiStatus(token string) (int, string) {
	req := httptest.NewRequest("GET", testAPI+"/who", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	r := o.a.do(req)
	return r.status, r.body
}

func countRows(t *testing.T, s *models.Store, table string) int64 {
	t.Helper()
	var n int64
	if err := s.DB.Raw("SELECT COUNT(*) FROM " + table).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func oauthTables(t *testing.T, s *models.Store) string {
	var out []string
	for _, tb := range []string{"oauth_codes", "oauth_grants", "access_tokens", "oauth_refresh_tokens"} {
		out = append(out, tb+"="+strconv.FormatInt(countRows(t, s, tb), 10))
	}
	return strings.Join(out, " ")
}

func TestAuthorizeEndpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		o := newOAuthSetup(t, s, models.RoleRep)
		before := oauthTables(t, s)

		// Before the redirect URI is known good: a page, never a redirect.
		for _, tc := range []struct {
			name string
			edit func(v url.Values)
			code string
		}{
			{"unknown client", func(v url.Values) { v.Set("client_id", "00000000-0000-0000-0000-000000000000") }, "invalid_request"},
			{"unregistered redirect URI", func(v url.Values) { v.Set("redirect_uri", "https://attacker.example/cb") }, "invalid_request"},
			{"no redirect URI", func(v url.Values) { v.Del("redirect_uri") }, "invalid_request"},
			{"repeated redirect URI", func(v url.Values) { v.Add("redirect_uri", "https://attacker.example/cb") }, "invalid_request"},
			{"repeated client", func(v url.Values) { v.Add("client_id", v.Get("client_id")) }, "invalid_request"},
		} {
			r := o.a.get("/oauth2/auth?"+o.authQuery(tc.edit).Encode(), o.cookie)
			if r.status != 400 || r.header.Get("Location") != "" || !strings.Contains(r.body, `data-testid="oauth-problem-code">`+tc.code+"<") {
				t.Errorf("%s: %d %q %s", tc.name, r.status, r.header.Get("Location"), r.body)
			}
		}
		// After it: the error goes back to the client, with the state.
		for _, tc := range []struct {
			name string
			edit func(v url.Values)
			code string
		}{
			{"short state", func(v url.Values) { v.Set("state", "1234567") }, "invalid_request"},
			{"repeated state", func(v url.Values) { v.Add("state", "another-state") }, "invalid_request"}, // RFC 6749 §3.1
			{"repeated scope", func(v url.Values) { v.Add("scope", "write") }, "invalid_request"},
			{"token response", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type"},
			{"unknown scope", func(v url.Values) { v.Set("scope", "read everything") }, "invalid_scope"},
			{"bad PKCE method", func(v url.Values) {
				v.Set("code_challenge", strings.Repeat("a", 43))
				v.Set("code_challenge_method", "MD5")
			}, "invalid_request"},
		} {
			q := o.authQuery(tc.edit)
			back := redirectQuery(t, o.a.get("/oauth2/auth?"+q.Encode(), o.cookie), http.StatusFound)
			if back.Get("error") != tc.code || back.Get("state") != q.Get("state") || back.Get("code") != "" {
				t.Errorf("%s: %v", tc.name, back)
			}
		}
		// Not logged in: the login page, which comes back here.
		q := o.authQuery(nil)
		r := o.a.get("/oauth2/auth?" + q.Encode())
		next, _ := url.Parse(r.header.Get("Location"))
		if r.status != http.StatusSeeOther || next.Path != "/login" || next.Query().Get("next") != "/oauth2/auth?"+q.Encode() {
			t.Fatalf("anonymous consent: %d %q", r.status, r.header.Get("Location"))
		}
		// The consent form without its CSRF token, or from another site: refused, nothing written.
		form := o.authQuery(func(v url.Values) { v.Set("decision", "allow") })
		if r := o.a.form("/oauth2/auth", form, "", o.cookie); r.status != 403 {
			t.Fatalf("consent without CSRF token: %d", r.status)
		}
		page := o.a.get("/oauth2/auth?"+q.Encode(), o.cookie)
		csrf := csrfMeta.FindStringSubmatch(page.body)[1]
		req := httptest.NewRequest("POST", "/oauth2/auth", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", csrf)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if r := o.a.do(req, o.cookie); r.status != 403 {
			t.Fatalf("cross-site consent: %d", r.status)
		}
		// Deny: access_denied and the state, nothing written.
		back := redirectQuery(t, o.decide(t, q, "deny"), http.StatusSeeOther)
		if back.Get("error") != "access_denied" || back.Get("state") != q.Get("state") || back.Get("code") != "" {
			t.Fatalf("deny: %v", back)
		}
		if after := oauthTables(t, s); after != before {
			t.Fatalf("refused and denied requests wrote: %s -> %s", before, after)
		}
		// Allow: a code.
		if code := o.code(t, q); len(code) < 40 {
			t.Fatalf("code %q", code)
		}
	})
}

func TestAuthorizationCodeTokenFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		o := newOAuthSetup(t, s, models.RoleRep)
		verifier := strings.Repeat("verifier-", 6)
		sum := sha256.Sum256([]byte(verifier))
		challenge := base64.RawURLEncoding.EncodeToString(sum[:])
		withPKCE := o.authQuery(func(v url.Values) {
			v.Set("code_challenge", challenge)
			v.Set("code_challenge_method", "S256")
			v.Set("scope", "read write offline")
		})
		code := o.code(t, withPKCE)

		before := oauthTables(t, s)
		for _, tc := range []struct {
			name   string
			form   url.Values
			status int
			err    string
		}{
			{"wrong verifier", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oauthRedirect}, "code_verifier": {strings.Repeat("x", 43)}}, 400, "invalid_grant"},
			{"no verifier", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oauthRedirect}}, 400, "invalid_grant"},
			{"wrong redirect URI", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://integration.example/callback"}, "code_verifier": {verifier}}, 400, "invalid_grant"},
			{"no code", url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {oauthRedirect}}, 400, "invalid_request"},
			// RFC 6749 §3.2: a repeated parameter is refused, never read as its first value (the code stays unspent).
			{"repeated code", url.Values{"grant_type": {"authorization_code"}, "code": {code, "another"}, "redirect_uri": {oauthRedirect}, "code_verifier": {verifier}}, 400, "invalid_request"},
			{"repeated grant type", url.Values{"grant_type": {"authorization_code", "password"}, "code": {code}, "redirect_uri": {oauthRedirect}, "code_verifier": {verifier}}, 400, "invalid_request"},
			{"unknown grant type", url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
			{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, 400, "invalid_grant"},
		} {
			status, body := o.token(t, tc.form)
			if status != tc.status || body["error"] != tc.err || body["error_description"] == "" {
				t.Errorf("%s: %d %v", tc.name, status, body)
			}
		}
		// A wrong secret is invalid_client, 401 with a Basic challenge.
		bad := o.a.do(tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oauthRedirect}}, o.client.ID.String(), "wrong"))
		if bad.status != 401 || !strings.Contains(bad.body, `"invalid_client"`) || bad.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("wrong secret: %d %s %v", bad.status, bad.body, bad.header)
		}
		// A client without redirect URIs may not use the grant at all.
		_, plainSecret, _ := s.CreateAPIClient(context.Background(), models.NewAPIClient{Name: "etl", Scopes: []string{"read"}}, models.Actor{})
		plain, _ := s.APIClients(context.Background())
		var plainID string
		for _, c := range plain {
			if c.Name == "etl" {
				plainID = c.ID.String()
			}
		}
		un := o.a.do(tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oauthRedirect}}, plainID, plainSecret))
		if un.status != 400 || !strings.Contains(un.body, `"unauthorized_client"`) {
			t.Fatalf("client without redirect URIs: %d %s", un.status, un.body)
		}
		if after := oauthTables(t, s); after != before {
			t.Fatalf("refused token requests wrote: %s -> %s", before, after)
		}

		status, tokens := o.exchange(t, code, verifier)
		if status != 200 || tokens["token_type"] != "Bearer" || tokens["scope"] != "read write offline" || tokens["expires_in"] != float64(3600) || tokens["refresh_token"] == nil {
			t.Fatalf("exchange: %d %v", status, tokens)
		}
		access, refresh := tokens["access_token"].(string), tokens["refresh_token"].(string)
		if code, body := o.apiStatus(access); code != 200 || !strings.Contains(body, `"role":"rep"`) || !strings.Contains(body, `"employee":"`+o.user.EmployeeID.String()) {
			t.Fatalf("the token does not act as the rep: %d %s", code, body)
		}

		// Refresh: rotated; the old one then revokes the grant.
		status, second := o.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "scope": {"read"}})
		if status != 200 || second["scope"] != "read" || second["refresh_token"] == refresh || second["refresh_token"] == nil {
			t.Fatalf("refresh: %d %v", status, second)
		}
		if status, body := o.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second["refresh_token"].(string)}, "scope": {"read admin"}}); status != 400 || body["error"] != "invalid_scope" {
			t.Fatalf("refresh with a wider scope: %d %v", status, body)
		}
		if code, _ := o.apiStatus(second["access_token"].(string)); code != 200 {
			t.Fatalf("refreshed token: %d", code)
		}
		if status, body := o.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("rotated refresh token reused: %d %v", status, body)
		}
		for _, tok := range []string{access, second["access_token"].(string)} {
			if code, _ := o.apiStatus(tok); code != 401 {
				t.Fatalf("a token of a grant revoked by refresh reuse still works: %d", code)
			}
		}
		if status, body := o.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second["refresh_token"].(string)}}); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("newest refresh token of a revoked grant: %d %v", status, body)
		}
	})
}

func TestAuthorizationCodeReuseAndExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		o := newOAuthSetup(t, s, models.RoleManager)
		code := o.code(t, o.authQuery(nil))
		status, tokens := o.exchange(t, code, "")
		if status != 200 {
			t.Fatalf("exchange: %d %v", status, tokens)
		}
		access := tokens["access_token"].(string)
		if code, _ := o.apiStatus(access); code != 200 {
			t.Fatal(code)
		}
		if status, body := o.exchange(t, code, ""); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("code reuse: %d %v", status, body)
		}
		if code, _ := o.apiStatus(access); code != 401 {
			t.Fatalf("the token of a reused code still works: %d", code)
		}
		if status, body := o.token(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}}); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("the refresh token of a reused code: %d %v", status, body)
		}

		// A code lives a minute.
		late := o.code(t, o.authQuery(nil))
		s.Now = func() time.Time { return time.Now().UTC().Add(models.CodeTTL + time.Second) }
		before := oauthTables(t, s)
		if status, body := o.exchange(t, late, ""); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("expired code: %d %v", status, body)
		}
		if after := oauthTables(t, s); after != before {
			t.Fatalf("an expired code wrote: %s -> %s", before, after)
		}
	})
}

// A token from a rep's consent sees what the rep sees: with visibility "own", the rep's own
// and unassigned deals, never a colleague's (the real OData service).
func TestOAuthTokenHasTheUsersVisibility(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		s.RepVisibility = models.VisibilityOwn
		o := newOAuthSetup(t, s, models.RoleRep)
		ctx := context.Background()
		reps, _ := s.Employees(ctx)
		for subject, rep := range map[string]*models.Employee{"Mine deal": &reps[0], "Theirs deal": &reps[1], "Free deal": nil} {
			subj := subject
			ch := models.ActivityChanges{Subject: &subj}
			if rep != nil {
				ch.SalesRepresentativeID = &rep.ID
			}
			if _, err := s.CreateActivity(ctx, models.SalesOpportunity, ch, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		// The client itself would be a manager (CreateAPIClient's default) and see everything.
		if o.client.Role != models.RoleManager {
			t.Fatalf("client role %s", o.client.Role)
		}
		_, tokens := o.exchange(t, o.code(t, o.authQuery(nil)), "")
		req := httptest.NewRequest("GET", "/v1/odata/Activity_SalesOpportunity?$select=Subject", nil)
		req.Header.Set("Authorization", "Bearer "+tokens["access_token"].(string))
		r := o.a.do(req)
		if r.status != 200 || !strings.Contains(r.body, "Mine deal") || !strings.Contains(r.body, "Free deal") || strings.Contains(r.body, "Theirs deal") {
			t.Fatalf("the rep's token reads: %d %s", r.status, r.body)
		}
		// Read scope only: a write is refused.
		w := httptest.NewRequest("POST", "/v1/odata/Activity_SalesOpportunity", strings.NewReader(`{"Subject":"x"}`))
		w.Header.Set("Authorization", "Bearer "+tokens["access_token"].(string))
		w.Header.Set("Content-Type", "application/json")
		if r := o.a.do(w); r.status != 403 {
			t.Fatalf("a read-only grant writes: %d %s", r.status, r.body)
		}
	})
}
