package handlers_test

import (
	"encoding/json"
	"log/slog"
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
	"phaseboard/web/servertest"
)

// TestCredentialsNeverLogged: a token sent as ?access_token= is masked in the log lines of failed
// requests (the API's and the pages'), and @odata.nextLink never repeats it.
func TestCredentialsNeverLogged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		a := newAuthApp(t, s, handlers.Handler{})
		logs := &servertest.Buffer{}
		log := slog.New(slog.NewTextHandler(logs, nil))
		app := web.New(web.Config{Store: s, Logger: log})
		handlers.Register(app, &handlers.Handler{Store: s, Logger: log})
		a.app = app
		tok, _ := authtest.Token(t, s, models.RoleManager, "read", nil)
		_, sess := authtest.Login(t, s, models.RoleManager, nil)
		q := "access_token=" + url.QueryEscape(tok)

		// Links: a page of a collection and of $apply.
		for _, path := range []string{
			"/v1/odata/Datastore_Phase?$select=Name&" + q,
			"/v1/odata/Datastore_Phase?$apply=groupby((Name))&" + q,
		} {
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Prefer", "odata.maxpagesize=2")
			r := a.do(req)
			var body struct {
				Next string `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != 200 || body.Next == "" {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			if strings.Contains(body.Next, tok) || strings.Contains(strings.ToLower(body.Next), "access_token") {
				t.Fatalf("%s: nextLink repeats the token: %s", path, body.Next)
			}
			// The link works with the token sent again, as a header.
			next := httptest.NewRequest("GET", body.Next, nil)
			next.Header.Set("Authorization", "Bearer "+tok)
			next.Header.Set("Prefer", "odata.maxpagesize=2")
			if r := a.do(next); r.status != 200 {
				t.Fatalf("following %s: %d %s", body.Next, r.status, r.body)
			}
		}

		// Failures are logged with their URL: break the table both requests read.
		if err := s.DB.Exec("ALTER TABLE pipelines RENAME TO pipelines_gone").Error; err != nil {
			t.Fatal(err)
		}
		if r := a.get("/v1/odata/Pipeline?$top=1&" + q); r.status != 500 || strings.Contains(r.body, tok) {
			t.Fatalf("API read of a broken table: %d %s", r.status, r.body)
		}
		req := httptest.NewRequest("GET", "/board?"+q, nil)
		if r := a.do(req, sess); r.status != http.StatusInternalServerError {
			t.Fatalf("board on a broken table: %d", r.status)
		}
		out := logs.String()
		if strings.Contains(out, tok) {
			t.Fatalf("the token is in the log:\n%s", out)
		}
		if strings.Count(out, "access_token=REDACTED") < 2 || !strings.Contains(out, "odata: request failed") || !strings.Contains(out, `url="/board?`) {
			t.Fatalf("expected both failures logged with masked URLs:\n%s", out)
		}
	})
}
