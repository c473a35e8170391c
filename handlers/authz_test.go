package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// session is a browser of one role: its session cookie (none when anonymous) and CSRF pair.
type session struct {
	role   string
	user   *models.User
	cookie *http.Cookie
	token  string
	csrf   *http.Cookie
}

func (a *authApp) session(role string, emp *uuid.UUID) *session {
	a.t.Helper()
	s := &session{role: role}
	if role != "anonymous" {
		s.user, s.cookie = authtest.Login(a.t, a.store, role, emp)
	}
	page := "/login"
	if s.cookie != nil {
		page = "/board" // the login page sends logged-in users on
	}
	s.token, s.csrf = a.csrf(page, s.cookie)
	return s
}

func (a *authApp) post(s *session, path string, v url.Values) resp {
	return a.form(path, v, s.token, s.cookie, s.csrf)
}

// TestAuthorizationMatrix: every role against every protected action of the browser, and every
// token scope against reads and writes of the API.
func TestAuthorizationMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		ctx := context.Background()
		roles := []string{"anonymous", models.RoleRep, models.RoleManager, models.RoleAdmin}
		emps, _ := s.Employees(ctx)
		me, other := emps[0].ID, emps[1].ID
		sessions := map[string]*session{}
		for _, r := range roles {
			sessions[r] = a.session(r, &me) // the rep is employee me
		}
		sales, _ := s.SalesPipelines(ctx)
		phases, _ := s.Phases(ctx, sales[0].ID)
		reasons, _ := s.LostReasons(ctx)
		card := func(subject string, rep *uuid.UUID) string {
			a, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &sales[0].ID, SalesRepresentativeID: rep}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			return a.ID.String()
		}
		mine, theirs, free := card("mine", &me), card("theirs", &other), card("free", nil)
		moveTo := func() url.Values { return url.Values{"phase_id": {phases[1].ID.String()}} }
		// The edit form carries the version it was rendered with.
		version := func(id string) string {
			a, err := s.Activity(ctx, uuid.MustParse(id))
			if err != nil {
				t.Fatal(err)
			}
			return strconv.Itoa(a.Version)
		}
		// Every role may work on its own and unassigned cards; only managers and admins on others'.
		everyone := func(ok int) map[string]int {
			return map[string]int{"anonymous": 303, models.RoleRep: ok, models.RoleManager: ok, models.RoleAdmin: ok}
		}
		managers := func(ok int) map[string]int {
			return map[string]int{"anonymous": 303, models.RoleRep: 403, models.RoleManager: ok, models.RoleAdmin: ok}
		}

		type action struct {
			name   string
			method string
			path   string
			form   func() url.Values
			want   map[string]int // by role
		}
		adminOnly := func(ok int) map[string]int {
			return map[string]int{"anonymous": 303, models.RoleRep: 403, models.RoleManager: 403, models.RoleAdmin: ok}
		}
		oauthClient, _, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "authz", Scopes: []string{"read"}}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		clientPage := "/admin/clients/" + oauthClient.ID.String()
		actions := []action{
			{"board", "GET", "/board", nil, everyone(200)},
			{"forecast", "GET", "/forecast", nil, everyone(200)},
			{"edit panel of another rep's card", "GET", "/board/opportunities/" + theirs + "/edit", nil, everyone(200)},
			{"add a card", "POST", "/board/opportunities", func() url.Values {
				return url.Values{"phase_id": {phases[0].ID.String()}, "subject": {"new"}}
			}, everyone(303)},
			{"move own card", "POST", "/board/opportunities/" + mine + "/move", moveTo, everyone(303)},
			{"move unassigned card", "POST", "/board/opportunities/" + free + "/move", moveTo, everyone(303)},
			{"move another rep's card", "POST", "/board/opportunities/" + theirs + "/move", moveTo, managers(303)},
			{"save another rep's card", "POST", "/board/opportunities/" + theirs, func() url.Values {
				return url.Values{"subject": {"renamed"}, "rep": {other.String()}, "version": {version(theirs)}}
			}, managers(303)},
			{"take another rep's card", "POST", "/board/opportunities/" + theirs, func() url.Values {
				return url.Values{"subject": {"theirs"}, "rep": {me.String()}, "version": {version(theirs)}}
			}, map[string]int{"anonymous": 303, models.RoleRep: 403, models.RoleManager: 303, models.RoleAdmin: 303}},
			{"admin home", "GET", "/admin/", nil, adminOnly(303)},
			{"list users", "GET", "/admin/users", nil, adminOnly(200)},
			{"add user", "POST", "/admin/users", func() url.Values {
				return url.Values{"email": {uuid.NewString()[:8] + "@m.example"}, "password": {"long-enough-pw"}, "role": {"rep"}}
			}, adminOnly(303)},
			{"list clients", "GET", "/admin/clients", nil, adminOnly(200)},
			{"add client", "POST", "/admin/clients", func() url.Values { return url.Values{"name": {"x"}, "scope": {"read"}} }, adminOnly(201)},
			{"client page", "GET", clientPage, nil, adminOnly(200)},
			{"set redirect URIs", "POST", clientPage + "/redirect-uris", func() url.Values { return url.Values{"redirect_uris": {"https://x.example/cb"}} }, adminOnly(303)},
			{"revoke an unknown grant", "POST", clientPage + "/grants/" + uuid.NewString() + "/revoke", func() url.Values { return nil }, adminOnly(404)},
			{"list pipelines", "GET", "/admin/pipelines?kind=Invoice", nil, adminOnly(200)},
			{"phases", "GET", "/admin/pipelines/" + sales[0].ID.String(), nil, adminOnly(200)},
			{"rename pipeline", "POST", "/admin/pipelines/" + sales[0].ID.String(), func() url.Values { return url.Values{"name": {"Sales"}} }, adminOnly(303)},
			{"move phase", "POST", "/admin/phases/" + phases[1].ID.String() + "/move", func() url.Values { return url.Values{"dir": {"down"}} }, adminOnly(303)},
			{"retire form", "GET", "/admin/phases/" + phases[0].ID.String() + "/retire?remove=1", nil, adminOnly(200)},
			{"lost reasons", "GET", "/admin/lost-reasons", nil, adminOnly(200)},
			{"rename lost reason", "POST", "/admin/lost-reasons/" + reasons[0].ID.String(), func() url.Values { return url.Values{"name": {"Price"}} }, adminOnly(303)},
		}
		for _, act := range actions {
			for _, role := range roles {
				sess := sessions[role]
				var r resp
				if act.method == "GET" {
					r = a.get(act.path, sess.cookie)
				} else {
					r = a.post(sess, act.path, act.form())
				}
				want := act.want[role]
				if r.status != want {
					t.Errorf("%s as %s: %d, want %d", act.name, role, r.status, want)
				}
				if want == 403 && strings.HasPrefix(act.path, "/board") && !strings.Contains(r.body, "another rep") {
					t.Errorf("%s as %s: the refusal says %q", act.name, role, r.body)
				}
				if role == "anonymous" && want == 303 && !strings.HasPrefix(r.header.Get("Location"), "/login") {
					t.Errorf("%s as anonymous: redirected to %q, want the login page", act.name, r.header.Get("Location"))
				}
			}
		}

		// htmx requests of anonymous users are sent to the login page with HX-Redirect.
		req := httptest.NewRequest("GET", "/admin/users", nil)
		req.Header.Set("HX-Request", "true")
		if r := a.do(req); r.status != 401 || !strings.HasPrefix(r.header.Get("HX-Redirect"), "/login") {
			t.Errorf("htmx anonymous: %d %q", r.status, r.header.Get("HX-Redirect"))
		}

		// API: scopes against methods.
		tokens := map[string]string{}
		for _, sc := range []string{"read", "write", "read write"} {
			tokens[sc], _ = authtest.Token(t, s, models.RoleManager, sc, nil)
		}
		apiCases := []struct {
			scope, method string
			want          int
		}{
			{"read", "GET", 200}, {"read", "POST", 403}, {"read", "PATCH", 403}, {"read", "PUT", 403}, {"read", "DELETE", 403},
			{"write", "GET", 200}, {"write", "POST", 200}, {"write", "DELETE", 200},
			{"read write", "GET", 200}, {"read write", "PATCH", 200},
			{"", "GET", 401}, {"", "POST", 401},
		}
		for _, c := range apiCases {
			req := httptest.NewRequest(c.method, testAPI+"/Activity_SalesOpportunity", nil)
			if c.scope != "" {
				req.Header.Set("Authorization", "Bearer "+tokens[c.scope])
			}
			if r := a.do(req); r.status != c.want {
				t.Errorf("API %s with scope %q: %d, want %d", c.method, c.scope, r.status, c.want)
			}
		}
		// Browser sessions may read the API, whatever their role, but never write through it.
		for _, role := range roles[1:] {
			if r := a.get(testAPI+"/Pipeline", sessions[role].cookie); r.status != 200 {
				t.Errorf("API read as %s session: %d", role, r.status)
			}
			req := httptest.NewRequest("POST", testAPI+"/Pipeline", nil)
			if r := a.do(req, sessions[role].cookie); r.status != 403 {
				t.Errorf("API write as %s session: %d", role, r.status)
			}
		}
	})
}

// TestAdminPagesWork drives the admin pages as an admin: add and revoke a client (the secret is
// shown once), add a phase, delete a phase that holds opportunities by moving them.
func TestAdminPagesWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		ctx := context.Background()
		admin := a.session(models.RoleAdmin, nil)

		r := a.post(admin, "/admin/clients", url.Values{"name": {"ERP <b>"}, "scope": {"read", "write"}})
		if r.status != 201 || !strings.Contains(r.body, `data-testid="client-secret"`) || strings.Contains(r.body, "ERP <b>") {
			t.Fatalf("add client: %d", r.status)
		}
		clients, _ := s.APIClients(ctx)
		if len(clients) != 1 || clients[0].Scopes != "read write" {
			t.Fatalf("clients %+v", clients)
		}
		if r := a.get("/admin/clients", admin.cookie); strings.Contains(r.body, `data-testid="client-secret"`) {
			t.Fatal("the secret is shown again")
		}
		if r := a.post(admin, "/admin/clients/"+clients[0].ID.String()+"/revoke", nil); r.status != 303 {
			t.Fatalf("revoke: %d", r.status)
		}
		clients, _ = s.APIClients(ctx)
		if !clients[0].Revoked {
			t.Fatal("not revoked")
		}

		// Add a user; a duplicate email is refused on the page, keeping the typing.
		form := url.Values{"email": {"new@x.example"}, "password": {"long-enough-pw"}, "role": {"manager"}}
		if r := a.post(admin, "/admin/users", form); r.status != 303 {
			t.Fatalf("add user: %d %s", r.status, r.body)
		}
		if r := a.post(admin, "/admin/users", form); r.status != 409 || !strings.Contains(r.body, `value="new@x.example"`) {
			t.Fatalf("duplicate user: %d", r.status)
		}
		// An admin cannot lock themselves out.
		if r := a.post(admin, "/admin/users/"+admin.user.ID.String()+"/role", url.Values{"role": {"rep"}}); r.status != 400 {
			t.Fatalf("self-demotion: %d", r.status)
		}

		sales, _ := s.SalesPipelines(ctx)
		phases, _ := s.Phases(ctx, sales[0].ID)
		qual, prop := phases[0], phases[1]
		subj := "Moved by retire"
		opp, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subj, PipelineID: &sales[0].ID}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if r := a.get("/admin/phases/"+qual.ID.String()+"/retire?remove=1", admin.cookie); r.status != 200 || !strings.Contains(r.body, `data-testid="retire-target"`) {
			t.Fatalf("retire form: %d", r.status)
		}
		if r := a.post(admin, "/admin/phases/"+qual.ID.String()+"/retire", url.Values{"remove": {"1"}}); r.status != 400 {
			t.Fatalf("retire without target: %d", r.status)
		}
		if r := a.post(admin, "/admin/phases/"+qual.ID.String()+"/retire", url.Values{"remove": {"1"}, "target": {prop.ID.String()}}); r.status != 303 {
			t.Fatalf("retire: %d %s", r.status, r.body)
		}
		got, _ := s.Activity(ctx, opp.ID)
		if got.PhaseID != prop.ID || *got.Probability != prop.DefaultProbability {
			t.Fatalf("the opportunity was not moved by the move rules: %+v", got)
		}
		if r := a.post(admin, "/admin/pipelines/"+sales[0].ID.String()+"/phases", url.Values{"name": {"Demo"}, "probability": {"45"}}); r.status != 303 {
			t.Fatalf("add phase: %d", r.status)
		}
		if r := a.post(admin, "/admin/pipelines/"+sales[0].ID.String()+"/phases", url.Values{"name": {"Bad"}, "probability": {"abc"}}); r.status != 400 {
			t.Fatalf("bad probability: %d", r.status)
		}
		if r := a.post(admin, "/admin/lost-reasons", url.Values{"name": {"Went dark"}}); r.status != 303 {
			t.Fatalf("add reason: %d", r.status)
		}
	})
}
