package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// TestCSRFTokenBoundToSession: the token a logged-in page carries is its session's. It is new
// at every login (the anonymous login form's token does not carry over), and it opens nothing
// with another session.
func TestCSRFTokenBoundToSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		u := authtest.User(t, s, models.RoleManager, nil)
		login := func() (*http.Cookie, string, string) {
			anon, anonCookie := a.csrf("/login")
			r := a.form("/login", url.Values{"email": {u.Email}, "password": {authtest.Password}}, anon, anonCookie)
			sess := r.cookie[web.SessionCookie]
			if r.status != 303 || sess == nil {
				t.Fatalf("login: %d", r.status)
			}
			tok, _ := a.csrf("/board", sess)
			return sess, tok, anon
		}
		s1, t1, anon1 := login()
		s2, t2, _ := login()
		_, other := authtest.Login(t, s, models.RoleManager, nil)
		tOther, _ := a.csrf("/board", other)
		if t1 == anon1 || t1 == t2 || t1 == tOther {
			t.Fatalf("tokens not rotated per login: session %q, anonymous %q, next login %q", t1, anon1, t2)
		}
		if again, _ := a.csrf("/forecast", s1); again != t1 {
			t.Fatalf("the token changed within the session: %q then %q", t1, again)
		}
		card := newCard(t, s, "csrf").ID.String()
		_, phases := fixture(t, s)
		move := url.Values{"phase_id": {phases["Proposal"].ID.String()}}
		for _, tc := range []struct {
			name   string
			token  string
			cookie *http.Cookie
			status int
		}{
			{"the anonymous token after login", anon1, s1, 403},
			{"another session's token", tOther, s1, 403},
			{"the previous login's token", t1, s2, 403},
			{"the session's own token", t1, s1, 303},
			{"the second session's own token", t2, s2, 303},
		} {
			if r := a.form("/board/opportunities/"+card+"/move", move, tc.token, tc.cookie); r.status != tc.status {
				t.Fatalf("%s: %d, want %d (%s)", tc.name, r.status, tc.status, r.body)
			}
		}
	})
}

// TestCrossSiteRequestsRefused: origin is the second line of defence: a browser's cross-site
// (or sibling-site) post is refused even with a valid token and session.
func TestCrossSiteRequestsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		mgr := a.session(models.RoleManager, nil)
		anon := a.session("anonymous", nil)
		u := authtest.User(t, s, models.RoleRep, nil)
		card := newCard(t, s, "origin").ID.String()
		_, phases := fixture(t, s)
		post := func(sess *session, path string, v url.Values, header map[string]string) resp {
			req := httptest.NewRequest("POST", path, strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-CSRF-Token", sess.token)
			for k, v := range header {
				req.Header.Set(k, v)
			}
			return a.do(req, sess.cookie, sess.csrf)
		}
		move := url.Values{"phase_id": {phases["Proposal"].ID.String()}}
		for _, tc := range []struct {
			name   string
			header map[string]string
			status int
		}{
			{"cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
			{"same-site (a sibling subdomain)", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
			{"foreign Origin, no Sec-Fetch-Site", map[string]string{"Origin": "https://evil.example"}, 403},
			{"Origin null", map[string]string{"Origin": "null"}, 403},
			{"Origin of this host on another port", map[string]string{"Origin": "http://example.com:8081"}, 403},
			{"same-origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}, 303},
			{"Origin of this host", map[string]string{"Origin": "http://example.com"}, 303},
			{"neither header (not a browser)", nil, 303},
		} {
			if r := post(mgr, "/board/opportunities/"+card+"/move", move, tc.header); r.status != tc.status {
				t.Fatalf("move, %s: %d, want %d", tc.name, r.status, tc.status)
			}
		}
		// Login CSRF: another site cannot log a visitor in (as the attacker, say).
		creds := url.Values{"email": {u.Email}, "password": {authtest.Password}}
		if r := post(anon, "/login", creds, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.status != 403 || r.cookie[web.SessionCookie] != nil {
			t.Fatalf("cross-site login: %d", r.status)
		}
		if r := post(anon, "/login", creds, map[string]string{"Sec-Fetch-Site": "same-origin"}); r.status != 303 {
			t.Fatalf("same-origin login: %d", r.status)
		}
	})
}

// TestPageViewWritesNothing: viewing pages (logged in or not) writes no row: the CSRF token is
// read with the session (logged in) or signed into a cookie (anonymous).
func TestPageViewWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		_, sess := authtest.Login(t, s, models.RoleManager, nil)
		a.get("/login") // the first anonymous view may create the server key, once
		rows := func() (n int64) {
			var kv, sessions int64
			s.DB.Table("kv_store").Count(&kv)
			s.DB.Table("sessions").Count(&sessions)
			return kv*1000 + sessions
		}
		before := rows()
		for i := 0; i < 3; i++ {
			for _, path := range []string{"/board", "/forecast", "/login"} {
				if r := a.get(path, sess); r.status != 200 && r.status != 303 {
					t.Fatalf("%s: %d", path, r.status)
				}
			}
			if r := a.get("/login"); r.status != 200 || r.cookie["phaseboard_csrf"] == nil {
				t.Fatalf("anonymous login page: %d", r.status)
			}
		}
		if after := rows(); after != before {
			t.Fatalf("page views wrote rows: kv_store*1000+sessions %d -> %d", before, after)
		}
	})
}
