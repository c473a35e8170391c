package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// TestQueriesPerRequest counts the SQL statements each kind of request sends, so that a
// regression in per-request work fails here: an API read sends only its own queries (a token
// verified before is answered from memory, the rate limit from this instance's share of the
// quota); a board page view writes nothing.
func TestQueriesPerRequest(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			a, counter, token := countedApp(t, dialect)
			s := a.store
			_, sess := authtest.Login(t, s, models.RoleManager, nil)
			card := newCard(t, s, "counted")
			_, phases := fixture(t, s)
			csrf, _ := a.csrf("/board", sess)
			a.get("/login") // the anonymous CSRF key is read once per process

			api := func(path string) *http.Request {
				r := httptest.NewRequest("GET", path, nil)
				r.Header.Set("Authorization", "Bearer "+token)
				return r
			}
			moves := 0
			moveWith := func(form url.Values) *http.Request {
				to := []string{"Proposal", "Negotiation"}[moves%2] // each move changes the phase
				moves++
				form.Set("phase_id", phases[to].ID.String())
				r := httptest.NewRequest("POST", "/board/opportunities/"+card.ID.String()+"/move",
					strings.NewReader(form.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("HX-Request", "true")
				r.Header.Set("X-CSRF-Token", csrf)
				r.AddCookie(sess)
				return r
			}
			move := func() *http.Request { return moveWith(url.Values{}) }
			board := func() *http.Request {
				r := httptest.NewRequest("GET", "/board", nil)
				r.AddCookie(sess)
				return r
			}
			for _, tc := range []struct {
				name               string
				req                func() *http.Request
				statements, writes int64
				transactions       int64
			}{
				// the entity: the token was verified and the quota's share taken by the first call.
				{"OData by key with a token", func() *http.Request {
					return api("/v1/odata/Activity_SalesOpportunity(" + card.ID.String() + ")")
				}, 1, 0, 0},
				// the page and its batched expansion.
				{"OData list with a token", func() *http.Request {
					return api("/v1/odata/Activity_SalesOpportunity?$filter=Probability%20gt%2050&$expand=Phase($select=Name,Code)&$orderby=ExpectedOrderDate&$top=100")
				}, 2, 0, 0},
				// session (user and CSRF secret in one query), pipelines (once), reps, phases,
				// column figures, a page of cards per column; no write, no transaction. And the
				// change feed's newest id, where the page's live stream resumes (handlers/live.go):
				// a serving instance's feed knows it in memory, but this test runs no feed (its
				// reader's polls would be counted), so the id is read from the table: one more.
				{"GET /board", board, 11, 0, 0},
				// session, the move's one transaction (lock card and phase, neighbours, update,
				// history row), then the two columns re-rendered (phases, the two columns' figures,
				// their cards); no pipeline lookup, as the moved card names its pipeline. In the
				// move's transaction also the forecast's maintained aggregates (models/rollups.go:
				// the phases' won flags, both phase visits in one upsert, phase stats, open ages,
				// forecast rollups, the deal's history row), and the change feed's row appended
				// at commit (models/feed.go: on PostgreSQL the feed lock, the row and its NOTIFY
				// in one statement, which the counter takes for a read as it begins with WITH).
				{"board move", move, 17, 8, 1},
				// A drag the page has shown (placed=1): the same, but the answer reads the moved
				// card and the two columns' figures, not their cards.
				{"board move, placed", func() *http.Request { return moveWith(url.Values{"placed": {"1"}}) }, 16, 8, 1},
			} {
				// Twice: the second request shows the steady state (statement caches warm).
				for i := 0; i < 2; i++ {
					counter.Reset()
					r := a.do(tc.req())
					if r.status != 200 {
						t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
					}
				}
				got := counter.Counts()
				t.Logf("%s: %d statements (%d writes), %d transactions, %d round trips", tc.name, got.Statements, got.Writes, got.Transactions, got.RoundTrips())
				if testing.Verbose() {
					t.Log(strings.Join(counter.Log(), "\n"))
				}
				if got.Statements > tc.statements || got.Writes > tc.writes || got.Transactions > tc.transactions {
					t.Errorf("%s: %d statements (%d writes) in %d transactions, want at most %d (%d) in %d:\n%s",
						tc.name, got.Statements, got.Writes, got.Transactions, tc.statements, tc.writes, tc.transactions,
						strings.Join(counter.Log(), "\n"))
				}
			}
		})
	}
}

// countedApp is the app over the demo data (30 opportunities) on a Store whose statements
// counter counts, and a manager's read token.
func countedApp(t *testing.T, dialect string) (*authApp, *storetest.Counter, string) {
	t.Helper()
	s, counter := storetest.NewCounting(t, dialect)
	// The custom field definitions' version is checked once a second per instance, not
	// per request: keep that check out of the counted requests on a slow machine.
	s.CustomFieldsTTL = time.Hour
	// The demo loader's COPY needs a plain pgx connection: load through a second store.
	if err := storetest.Reopen(t, s).LoadDemo(context.Background(), 30, nil, nil); err != nil {
		t.Fatal(err)
	}
	app := web.New(web.Config{Store: s})
	handlers.Register(app, &handlers.Handler{Store: s})
	token, _ := authtest.Token(t, s, models.RoleManager, "read", nil)
	return &authApp{t: t, store: s, app: app}, counter, token
}
