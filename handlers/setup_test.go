package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/playwright-community/playwright-go"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// server is a running Phaseboard on a real database with the demo reference data.
type server struct {
	t     testing.TB
	store *models.Store
	h     *handlers.Handler
	app   *fiber.App
	URL   string
	// session is a manager's session cookie: every client starts logged in with it.
	session *http.Cookie
}

func newServer(t testing.TB, dialect string, opportunities int) *server {
	t.Helper()
	s := storetest.New(t, dialect)
	if err := s.LoadDemo(context.Background(), opportunities, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, session := authtest.Login(t, s, models.RoleManager, nil)
	app := web.New(web.Config{Store: s})
	h := &handlers.Handler{Store: s}
	handlers.Register(app, h)
	ts := httptest.NewUnstartedServer(nil)
	ln := ts.Listener
	go app.Listener(ln)
	t.Cleanup(func() { h.StopStreams(); app.Shutdown() })
	return &server{t: t, store: s, h: h, app: app, URL: "http://" + ln.Addr().String(), session: session}
}

// logInPage gives a browser page a manager's session on the server at base.
func logInPage(t testing.TB, s *models.Store, page playwright.Page, base string) {
	t.Helper()
	_, cookie := authtest.Login(t, s, models.RoleManager, nil)
	err := page.Context().AddCookies([]playwright.OptionalCookie{{Name: cookie.Name, Value: cookie.Value, URL: playwright.String(base)}})
	if err != nil {
		t.Fatal(err)
	}
}

// client is a browser-like HTTP client: it keeps cookies and the page's CSRF token.
type client struct {
	t    testing.TB
	base string
	http *http.Client
	csrf string
}

func (s *server) client() *client {
	jar, _ := cookiejar.New(nil)
	if u, err := url.Parse(s.URL); err == nil {
		jar.SetCookies(u, []*http.Cookie{s.session})
	}
	return &client{t: s.t, base: s.URL, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)

// get fetches a page and remembers its CSRF token.
func (c *client) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfMeta.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return resp.StatusCode, string(b)
}

// post sends a form; htmx requests carry the CSRF header, plain ones the hidden field.
func (c *client) post(path string, form url.Values, htmx bool) (*http.Response, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !htmx && c.csrf != "" && form.Get("_csrf") == "" {
		form.Set("_csrf", c.csrf)
	}
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if htmx {
		req.Header.Set("HX-Request", "true")
		if c.csrf != "" {
			req.Header.Set("X-CSRF-Token", c.csrf)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// fixture reads the demo's sales pipeline and its phases by name.
func fixture(t testing.TB, s *models.Store) (models.Pipeline, map[string]models.Phase) {
	t.Helper()
	ps, err := s.SalesPipelines(context.Background())
	if err != nil || len(ps) == 0 {
		t.Fatal("no pipelines", err)
	}
	phases, _ := s.Phases(context.Background(), ps[0].ID)
	byName := map[string]models.Phase{}
	for _, p := range phases {
		byName[p.Name] = p
	}
	return ps[0], byName
}

// newCard creates an opportunity at the top of the sales pipeline's first phase.
func newCard(t testing.TB, s *models.Store, subject string) *models.Activity {
	t.Helper()
	pipe, _ := fixture(t, s)
	a, err := s.CreateActivity(context.Background(), models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &pipe.ID}, models.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// useSession replaces the client's session cookie (to act as another user).
func (c *client) useSession(cookie *http.Cookie) {
	u, _ := url.Parse(c.base)
	c.http.Jar.SetCookies(u, []*http.Cookie{cookie})
}
