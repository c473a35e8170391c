package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// TestDatabaseOutage: while PostgreSQL is down, pages, moves, logins and the API answer 503 with
// Retry-After and a message that says so. Nobody is logged out and no cookie is touched, so the
// page that was open before the outage works again, unchanged, once the database is back.
func TestDatabaseOutage(t *testing.T) {
	cluster := storetest.NewCluster(t)
	s := storetest.NewOn(t, cluster.URL)
	ctx := context.Background()
	if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
		t.Fatal(err)
	}
	app := web.New(web.Config{Store: s})
	handlers.Register(app, &handlers.Handler{Store: s})
	base := listen(t, app)
	_, sess := authtest.Login(t, s, models.RoleManager, nil)
	apiToken, _ := authtest.Token(t, s, models.RoleManager, "read", nil)
	user := authtest.User(t, s, models.RoleRep, nil)
	card := newCard(t, s, "outage").ID.String()
	_, phases := fixture(t, s)

	// The open board page (logged in) and an open login page (anonymous).
	board := (&server{t: t, URL: base, session: sess}).client()
	if st, _ := board.get("/board"); st != 200 || board.csrf == "" {
		t.Fatalf("board: %d", st)
	}
	jar, _ := cookiejar.New(nil)
	visitor := &client{t: t, base: base, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	if st, _ := visitor.get("/login"); st != 200 || visitor.csrf == "" {
		t.Fatalf("login page: %d", st)
	}
	move := func(phase string) (*http.Response, string) {
		return board.post("/board/opportunities/"+card+"/move", url.Values{"phase_id": {phases[phase].ID.String()}}, true)
	}
	login := func() (*http.Response, string) {
		return visitor.post("/login", url.Values{"email": {user.Email}, "password": {authtest.Password}}, false)
	}
	// api reads the API with the token or, with bearer "", as the logged-in browser.
	api := func(bearer string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", base+"/v1/odata/Pipeline?$top=1", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		} else {
			req.AddCookie(sess)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	if r, body := move("Proposal"); r.StatusCode != 200 {
		t.Fatalf("move before the outage: %d %s", r.StatusCode, body)
	}

	cluster.Stop()
	unavailable := func(what string, r *http.Response, body string) {
		t.Helper()
		if r.StatusCode != 503 || r.Header.Get("Retry-After") == "" {
			t.Fatalf("%s while the database is down: %d (Retry-After %q) %s", what, r.StatusCode, r.Header.Get("Retry-After"), body)
		}
		if body != "" && !strings.Contains(body, "database is not available") && !strings.Contains(body, "cannot reach its database") {
			t.Fatalf("%s: the message does not say the database is down: %s", what, body)
		}
		if len(r.Cookies()) > 0 {
			t.Fatalf("%s: cookies changed during the outage: %v", what, r.Cookies())
		}
	}
	r, body := move("Negotiation")
	unavailable("a board move", r, body)
	r, body = login()
	unavailable("a login", r, body)
	res, err := board.http.Get(base + "/board")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	unavailable("the board page", res, string(b))
	for _, bearer := range []string{apiToken, ""} {
		r, body := api(bearer)
		unavailable("an API read", r, body)
		if !strings.Contains(body, `"code":"ServiceUnavailable"`) || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("the API's 503 is not an OData error body: %s", body)
		}
	}
	if res, err := http.Get(base + "/healthz"); err != nil || res.StatusCode != 503 {
		t.Fatalf("healthz while down: %v %v", res, err)
	}

	cluster.Start()
	// The same open pages, with the same tokens and cookies, work again.
	if r, body := move("Negotiation"); r.StatusCode != 200 {
		t.Fatalf("move after the outage, from the page opened before it: %d %s", r.StatusCode, body)
	}
	if r, _ := login(); r.StatusCode != 303 {
		t.Fatalf("login after the outage, from the form opened before it: %d", r.StatusCode)
	}
	if r, _ := api(apiToken); r.StatusCode != 200 {
		t.Fatalf("API after the outage: %d", r.StatusCode)
	}
	opp, err := s.Activity(ctx, uuid.MustParse(card))
	if err != nil || opp.PhaseID != phases["Negotiation"].ID {
		t.Fatalf("the card after the outage: %+v %v", opp, err)
	}
}
