package handlers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// authApp is the real Fiber app with the demo reference data, driven through app.Test, plus a
// stand-in OData handler that echoes who the caller is.
// testAPI is where newAuthApp mounts its stand-in API (under /v1/, outside CSRF, like the API).
const testAPI = "/v1/test-api"

type authApp struct {
	t     *testing.T
	store *models.Store
	app   *fiber.App
}

func newAuthApp(t *testing.T, s *models.Store, h handlers.Handler) *authApp {
	t.Helper()
	if err := s.LoadDemo(context.Background(), 0, nil, nil); err != nil {
		t.Fatal(err)
	}
	// app.Test connects from 0.0.0.0: trusting it as a proxy lets a test pose as any client IP
	// with X-Forwarded-For.
	app := web.New(web.Config{Store: s, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}})
	h.Store = s
	handlers.Register(app, &h)
	// A stand-in API behind its own web.APIAuth, mounted like the OData service (a net/http
	// handler through Fiber's adaptor): it answers 200 with who the caller is, so these tests
	// see the middleware alone. The real /v1/odata is checked in TestAPIAuthentication.
	app.Use(testAPI, web.APIAuth(web.APIAuthConfig{Store: s, RateLimit: h.APIRateLimit}))
	app.All(testAPI+"/*", adaptor.HTTPHandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		emp, ok := web.CurrentEmployeeID(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"employee": emp.String(), "known": ok, "role": web.CurrentActor(r.Context()).Role})
	}))
	return &authApp{t: t, store: s, app: app}
}

type resp struct {
	status int
	header http.Header
	body   string
	cookie map[string]*http.Cookie
}

// do sends req with the cookies and returns the answer.
func (a *authApp) do(req *http.Request, cookies ...*http.Cookie) resp {
	a.t.Helper()
	for _, c := range cookies {
		if c != nil {
			req.AddCookie(c)
		}
	}
	r, err := a.app.Test(req, 30_000)
	if err != nil {
		a.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	out := resp{status: r.StatusCode, header: r.Header, body: string(b), cookie: map[string]*http.Cookie{}}
	for _, c := range r.Cookies() {
		out.cookie[c.Name] = c
	}
	return out
}

func (a *authApp) get(path string, cookies ...*http.Cookie) resp {
	return a.do(httptest.NewRequest("GET", path, nil), cookies...)
}

// form posts a form; csrf (when not empty) goes in the htmx header.
func (a *authApp) form(path string, v url.Values, csrf string, cookies ...*http.Cookie) resp {
	req := httptest.NewRequest("POST", path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	return a.do(req, cookies...)
}

// csrf fetches a page and returns its CSRF token and the anonymous visitor's CSRF cookie (nil
// for a logged-in page, whose token is bound to the session instead).
func (a *authApp) csrf(path string, cookies ...*http.Cookie) (string, *http.Cookie) {
	a.t.Helper()
	r := a.get(path, cookies...)
	m := csrfMeta.FindStringSubmatch(r.body)
	if m == nil {
		a.t.Fatalf("no CSRF token on %s (%d)", path, r.status)
	}
	return m[1], r.cookie["phaseboard_csrf"]
}

func TestLoginLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		u := authtest.User(t, s, models.RoleManager, nil)
		token, csrfCookie := a.csrf("/login")

		bad := a.form("/login", url.Values{"email": {u.Email}, "password": {"wrong-password"}}, token, csrfCookie)
		unknown := a.form("/login", url.Values{"email": {"nobody@test.example"}, "password": {"wrong-password"}}, token, csrfCookie)
		if bad.status != 401 || unknown.status != 401 || !strings.Contains(bad.body, "do not match an active account") ||
			!strings.Contains(unknown.body, "do not match an active account") || bad.cookie[web.SessionCookie] != nil {
			t.Fatalf("failed logins: %d %d", bad.status, unknown.status)
		}
		if r := a.form("/login", url.Values{"email": {u.Email}, "password": {authtest.Password}}, "", csrfCookie); r.status != 403 {
			t.Fatalf("login without CSRF token: %d", r.status)
		}
		// A session planted before login must not survive it (fixation).
		_, planted := authtest.Login(t, s, models.RoleRep, nil)
		ok := a.form("/login", url.Values{"email": {strings.ToUpper(u.Email)}, "password": {authtest.Password}, "next": {"//evil.example/x"}}, token, csrfCookie, planted)
		sess := ok.cookie[web.SessionCookie]
		if ok.status != 303 || ok.header.Get("Location") != "/board" || sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode {
			t.Fatalf("login: %d %q %+v", ok.status, ok.header.Get("Location"), sess)
		}
		if _, err := s.SessionUser(context.Background(), planted.Value); err == nil {
			t.Fatal("the pre-login session survived the login")
		}
		board := a.get("/board", sess)
		if board.status != 200 || !strings.Contains(board.body, u.Email) || !strings.Contains(board.body, `data-testid="logout"`) {
			t.Fatalf("board after login: %d", board.status)
		}
		tok2, csrf2 := a.csrf("/board", sess)
		if r := a.form("/logout", url.Values{}, "", sess, csrf2); r.status != 403 {
			t.Fatalf("logout without CSRF token: %d", r.status)
		}
		if r := a.form("/logout", url.Values{}, tok2, sess, csrf2); r.status != 303 || r.header.Get("Location") != "/login" {
			t.Fatalf("logout: %d", r.status)
		}
		if _, err := s.SessionUser(context.Background(), sess.Value); err == nil {
			t.Fatal("session still valid after logout")
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{LoginLimit: 3})
		u := authtest.User(t, s, models.RoleRep, nil)
		other := authtest.User(t, s, models.RoleRep, nil)
		token, csrfCookie := a.csrf("/login")
		for i := 0; i < 3; i++ {
			if r := a.form("/login", url.Values{"email": {u.Email}, "password": {"guess-" + string(rune('a'+i))}}, token, csrfCookie); r.status != 401 {
				t.Fatalf("attempt %d: %d", i, r.status)
			}
		}
		r := a.form("/login", url.Values{"email": {u.Email}, "password": {authtest.Password}}, token, csrfCookie)
		if r.status != 429 || r.header.Get("Retry-After") == "" || r.cookie[web.SessionCookie] != nil {
			t.Fatalf("past the limit, even the right password must wait: %d %q", r.status, r.header.Get("Retry-After"))
		}
		// Another account from the same address still logs in (its IP budget is larger).
		if r := a.form("/login", url.Values{"email": {other.Email}, "password": {authtest.Password}}, token, csrfCookie); r.status != 303 {
			t.Fatalf("other user: %d", r.status)
		}
	})
}

func TestTokenRevocation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		ctx := context.Background()
		mine, secret, _ := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "mine", Scopes: []string{"read"}}, models.Actor{})
		theirs, _ := authtest.Token(t, s, models.RoleManager, "read", nil)
		own, _, _ := s.IssueToken(ctx, mine, "")
		revoke := func(token string) resp {
			return a.do(formRequest("/oauth2/revoke", url.Values{"token": {token}, "client_id": {mine.ID.String()}, "client_secret": {secret}}))
		}
		if r := revoke(theirs); r.status != 200 {
			t.Fatalf("revoking another client's token: %d", r.status)
		}
		if _, err := s.LookupToken(ctx, theirs); err != nil {
			t.Fatal("a client revoked another client's token")
		}
		if r := revoke(own); r.status != 200 {
			t.Fatalf("revoke: %d", r.status)
		}
		if _, err := s.LookupToken(ctx, own); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("revoked token still valid: %v", err)
		}
		bad := a.do(formRequest("/oauth2/revoke", url.Values{"token": {own}, "client_id": {mine.ID.String()}, "client_secret": {"nope"}}))
		if bad.status != 401 || !strings.Contains(bad.body, "invalid_client") {
			t.Fatalf("wrong secret: %d %s", bad.status, bad.body)
		}
		bad = a.do(formRequest("/oauth2/revoke", url.Values{"token": {"\xff"}, "client_id": {mine.ID.String()}, "client_secret": {secret}}))
		if bad.status != 400 || !strings.Contains(bad.body, `"error":"invalid_request"`) || bad.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("invalid UTF-8: %d %s", bad.status, bad.body)
		}
		bad = a.do(formRequest("/oauth2/revoke", url.Values{"token": {"one", "two"}, "client_id": {mine.ID.String()}, "client_secret": {secret}}))
		if bad.status != 400 || !strings.Contains(bad.body, `"error":"invalid_request"`) {
			t.Fatalf("repeated token: %d %s", bad.status, bad.body)
		}
	})
}

func formRequest(path string, v url.Values) *http.Request {
	req := httptest.NewRequest("POST", path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func tokenRequest(v url.Values, basicID, basicSecret string) *http.Request {
	req := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(basicID)+":"+url.QueryEscape(basicSecret))))
	}
	return req
}

func TestTokenEndpoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		c, secret, err := s.CreateAPIClient(context.Background(), models.NewAPIClient{Name: "erp", Scopes: []string{"read", "write"}}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		id := c.ID.String()
		cases := []struct {
			name    string
			form    url.Values
			bid, bs string
			status  int
			errCode string
			scope   string
		}{
			{"form credentials", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, "", "", 200, "", "read write"},
			{"basic credentials, narrowed scope", url.Values{"grant_type": {"client_credentials"}, "scope": {"read offline"}}, id, secret, 200, "", "read offline"},
			{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret + "x"}}, "", "", 401, "invalid_client", ""},
			{"unknown client", url.Values{"grant_type": {"client_credentials"}}, "nobody", secret, 401, "invalid_client", ""},
			{"no credentials", url.Values{"grant_type": {"client_credentials"}}, "", "", 400, "invalid_request", ""},
			{"password grant", url.Values{"grant_type": {"password"}, "client_id": {id}, "client_secret": {secret}}, "", "", 400, "unsupported_grant_type", ""},
			{"unknown scope", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"admin"}}, "", "", 400, "invalid_scope", ""},
			// Refused at the door (web.RefuseBadText), still in RFC 6749's body.
			{"invalid UTF-8", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"\xff\xfe"}}, "", "", 400, "invalid_request", ""},
			{"NUL", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"a\x00b"}}, id, secret, 400, "invalid_request", ""},
		}
		for _, tc := range cases {
			r := a.do(tokenRequest(tc.form, tc.bid, tc.bs))
			var body map[string]any
			_ = json.Unmarshal([]byte(r.body), &body)
			if r.status != tc.status || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
			}
			if tc.errCode != "" && body["error"] != tc.errCode {
				t.Fatalf("%s: error %v", tc.name, body["error"])
			}
			if tc.status == 200 {
				if body["token_type"] != "Bearer" || body["scope"] != tc.scope || body["expires_in"] != float64(3600) || body["access_token"] == "" {
					t.Fatalf("%s: %v", tc.name, body)
				}
				tok := body["access_token"].(string)
				req := httptest.NewRequest("GET", testAPI+"/Activity_SalesOpportunity", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				if r := a.do(req); r.status != 200 {
					t.Fatalf("%s: the issued token does not open the API: %d", tc.name, r.status)
				}
			}
		}
	})
}

// TestAPIAuthentication covers the ways in, and the ways that must stay shut.
func TestAPIAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		ctx := context.Background()
		reps, _ := s.Employees(ctx)
		emp := reps[0].ID
		readTok, _ := authtest.Token(t, s, models.RoleManager, "read", &emp)
		rwTok, _ := authtest.Token(t, s, models.RoleManager, "read write", nil)
		expiredTok, _ := authtest.Token(t, s, models.RoleManager, "read", nil)
		revokedTok, _ := authtest.Token(t, s, models.RoleManager, "read", nil)
		if err := s.RevokeToken(ctx, revokedTok); err != nil {
			t.Fatal(err)
		}
		_, sess := authtest.Login(t, s, models.RoleRep, &emp)
		// Expire one token by issuing it under a clock an hour and a bit in the past.
		real := s.Now
		s.Now = func() time.Time { return real().Add(-models.TokenTTL - time.Minute) }
		c, _, _ := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "old", Scopes: []string{"read"}}, models.Actor{})
		expiredTok, _, _ = s.IssueToken(ctx, c, "")
		s.Now = real

		req := func(method, path, bearer string) *http.Request {
			r := httptest.NewRequest(method, path, nil)
			if bearer != "" {
				r.Header.Set("Authorization", "Bearer "+bearer)
			}
			return r
		}
		cases := []struct {
			name   string
			req    *http.Request
			cookie *http.Cookie
			status int
			code   string
		}{
			{"no credentials", req("GET", testAPI+"/Pipeline", ""), nil, 401, "Unauthorized"},
			{"garbage token", req("GET", testAPI+"/Pipeline", "nope"), nil, 401, "Unauthorized"},
			{"basic scheme", func() *http.Request { r := req("GET", testAPI+"/Pipeline", ""); r.SetBasicAuth("a", "b"); return r }(), nil, 401, "Unauthorized"},
			{"expired token", req("GET", testAPI+"/Pipeline", expiredTok), nil, 401, "Unauthorized"},
			{"revoked token", req("GET", testAPI+"/Pipeline", revokedTok), nil, 401, "Unauthorized"},
			{"read token reads", req("GET", testAPI+"/Pipeline", readTok), nil, 200, ""},
			{"token as query parameter", req("GET", testAPI+"/Pipeline?access_token="+url.QueryEscape(readTok), ""), nil, 200, ""},
			{"read token writes", req("POST", testAPI+"/Activity_SalesOpportunity", readTok), nil, 403, "Forbidden"},
			{"read-write token writes", req("POST", testAPI+"/Activity_SalesOpportunity", rwTok), nil, 200, ""},
			{"browser session reads", req("GET", testAPI+"/Pipeline", ""), sess, 200, ""},
			{"browser session may not write", req("DELETE", testAPI+"/Pipeline", ""), sess, 403, "Forbidden"},
		}
		for _, tc := range cases {
			r := a.do(tc.req, tc.cookie)
			if r.status != tc.status {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
			}
			if tc.code == "" {
				continue
			}
			var body struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Error.Code != tc.code || body.Error.Message == "" {
				t.Fatalf("%s: OData error body %q", tc.name, r.body)
			}
			if tc.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Bearer realm="phaseboard"`) {
				t.Fatalf("%s: WWW-Authenticate %q", tc.name, r.header.Get("WWW-Authenticate"))
			}
		}
		// GetCurrentEmployee: the read token's client acts as emp.
		r := a.do(req("GET", testAPI+"/x", readTok))
		if !strings.Contains(r.body, emp.String()) || !strings.Contains(r.body, `"known":true`) {
			t.Fatalf("current employee: %s", r.body)
		}
		// The real API sits behind the same middleware.
		for _, tc := range []struct {
			name   string
			req    *http.Request
			status int
		}{
			{"real API without token", req("GET", "/v1/odata/Pipeline", ""), 401},
			{"real API with an expired token", req("GET", "/v1/odata/Pipeline", expiredTok), 401},
			{"real API read", req("GET", "/v1/odata/Pipeline", readTok), 200},
			{"real API write with a read token", req("POST", "/v1/odata/Activity_SalesOpportunity", readTok), 403},
			{"real API write as a browser session", req("POST", "/v1/odata/Activity_SalesOpportunity", ""), 403},
		} {
			var cookie *http.Cookie
			if strings.Contains(tc.name, "browser") {
				cookie = sess
			}
			if r := a.do(tc.req, cookie); r.status != tc.status {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
			}
		}
	})
}

func TestAPIRateLimitIsPerClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{APIRateLimit: 3})
		busy, _ := authtest.Token(t, s, models.RoleManager, "read", nil)
		calm, _ := authtest.Token(t, s, models.RoleManager, "read", nil)
		call := func(tok string) resp {
			r := httptest.NewRequest("GET", testAPI+"/Pipeline", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			return a.do(r)
		}
		for i := 0; i < 3; i++ {
			if r := call(busy); r.status != 200 {
				t.Fatalf("call %d: %d", i, r.status)
			}
		}
		r := call(busy)
		if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, `"TooManyRequests"`) {
			t.Fatalf("past the limit: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
		}
		if r := call(calm); r.status != 200 {
			t.Fatalf("another client is limited too: %d", r.status)
		}
	})
}

// TestODataErrorBodyIsOneShape: the API's errors, whether the authentication in front of the
// service or the service itself answers, have one body: code, message, details, and target only
// when there is one.
func TestODataErrorBodyIsOneShape(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		tok, _ := authtest.Token(t, s, models.RoleManager, "read", nil)
		get := func(path, bearer string) resp {
			method := "GET"
			if strings.HasPrefix(path, "POST ") {
				method, path = "POST", strings.TrimPrefix(path, "POST ")
			}
			r := httptest.NewRequest(method, path, nil)
			if bearer != "" {
				r.Header.Set("Authorization", "Bearer "+bearer)
			}
			return a.do(r)
		}
		for _, tc := range []struct {
			name, path, bearer string
			status             int
			target             string
		}{
			{"no token (middleware)", "/v1/odata/Pipeline", "", 401, ""},
			{"read token writes (middleware)", "POST /v1/odata/Pipeline", tok, 403, ""},
			{"unknown set (service)", "/v1/odata/NoSuchSet", tok, 404, ""},
			{"unknown property (service)", "/v1/odata/Pipeline?$select=Colour", tok, 400, "$select"},
		} {
			r := get(tc.path, tc.bearer)
			var body map[string]map[string]json.RawMessage
			if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != tc.status {
				t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
			}
			e := body["error"]
			want := []string{"code", "message", "details"}
			if tc.target != "" {
				want = append(want, "target")
				if string(e["target"]) != `"`+tc.target+`"` {
					t.Fatalf("%s: target %s", tc.name, e["target"])
				}
			}
			if len(e) != len(want) {
				t.Fatalf("%s: error members %s, want exactly %v", tc.name, r.body, want)
			}
			for _, k := range want {
				if _, ok := e[k]; !ok {
					t.Fatalf("%s: no %q in %s", tc.name, k, r.body)
				}
			}
			if string(e["details"]) != "[]" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Fatalf("%s: %s %s", tc.name, r.header.Get("Content-Type"), r.body)
			}
		}
	})
}
