package handlers_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
	"phaseboard/web/browsertest"
)

// pagesOf lists the pages a role can open, with what to do on each before it is checked (open
// a panel, wait for a late section).
type pageCheck struct {
	name, path string
	then       func(t *testing.T, page playwright.Page)
}

func everyPage(t *testing.T, s *models.Store, role string) []pageCheck {
	ctx := context.Background()
	pipe, phases := fixture(t, s)
	cards, err := s.Cards(ctx, models.BoardFilter{PipelineID: pipe.ID}, phases["Qualification"].ID, nil, 1)
	must(t, err)
	if len(cards) == 0 {
		t.Fatal("no card to open")
	}
	openPanel := func(t *testing.T, page playwright.Page) {
		must(t, page.Locator(`li.card [data-testid="card-subject"]`).First().Click())
		must(t, expect.Locator(page.Locator(`#panel [data-testid="edit-panel"]`)).ToBeVisible())
	}
	openActions := func(t *testing.T, page playwright.Page) {
		must(t, page.Locator(`li.card [data-testid="card-move"]`).First().Click())
		must(t, expect.Locator(page.Locator(`#panel [data-testid="move-panel"]`)).ToBeVisible())
	}
	health := func(t *testing.T, page playwright.Page) {
		must(t, page.Locator(`#health[data-loaded="true"]`).WaitFor())
	}
	list := []pageCheck{
		{"board", "/board", openActions},
		{"board with a panel", "/board?status=all", openPanel},
		{"edit page", "/board/opportunities/" + cards[0].ID.String() + "/edit", nil},
		{"move page", "/board/opportunities/" + cards[0].ID.String() + "/move", nil},
		{"forecast", "/forecast", health},
		{"forecast board", "/forecast/board", openActions},
		{"pipeline health", "/forecast/health", nil},
		{"forecast deals", "/forecast/deals?k=open", nil},
		{"forecast history", "/forecast/history", nil},
		{"forecast history deals", "/forecast/history/deals?bar=" + models.BarNew, nil}, // since the test's snapshot
		{"forecast board move page", "/forecast/board/opportunities/" + cards[0].ID.String() + "/move", nil},
		{"conversion", "/forecast/conversion", nil},
	}
	if role != models.RoleRep {
		list = append(list, pageCheck{"targets", "/forecast/targets", nil})
	}
	// A snapshot's figure's deals: today's, with the note that says so.
	if snaps, err := s.Snapshots(ctx, 1); err == nil && len(snaps) == 1 {
		list = append(list, pageCheck{"forecast deals of a snapshot", "/forecast/deals?k=open&snapshot=" + snaps[0].ID.String(), func(t *testing.T, page playwright.Page) {
			must(t, expect.Locator(page.GetByTestId("deals-snapshot-note")).ToBeVisible())
		}})
	} else {
		t.Fatalf("no snapshot to check: %v", err)
	}
	// The OAuth consent page (the page of a refused request answers 400, which goTo refuses).
	client, _, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "Integration " + role, Scopes: []string{"read", "write"},
		RedirectURIs: []string{"https://integration.example/cb"}}, models.Actor{})
	must(t, err)
	consent := url.Values{"response_type": {"code"}, "client_id": {client.ID.String()}, "redirect_uri": {"https://integration.example/cb"},
		"scope": {"read write offline"}, "state": {"state-of-the-page"}}
	list = append(list, pageCheck{"oauth consent", "/oauth2/auth?" + consent.Encode(), nil})
	if role == models.RoleAdmin {
		retire := "/admin/phases/" + phases["Proposal"].ID.String() + "/retire"
		list = append(list, []pageCheck{
			{"admin users", "/admin/users", nil}, {"admin clients", "/admin/clients", nil},
			{"admin pipelines", "/admin/pipelines", nil}, {"admin phases", "/admin/pipelines/" + pipe.ID.String(), nil},
			{"admin retire phase", retire, nil}, {"admin lost reasons", "/admin/lost-reasons", nil},
			{"admin currencies", "/admin/currencies", nil}, {"admin custom fields", "/admin/custom-fields", nil},
			{"admin client with a grant", "/admin/clients/" + client.ID.String(), nil},
		}...)
		// A user's grant to list.
		req := models.AuthorizationRequest{ResponseType: "code", ClientID: client.ID.String(), RedirectURI: "https://integration.example/cb",
			Scope: "read offline", State: "state-of-the-page"}
		code, err := s.IssueAuthorizationCode(ctx, authtest.User(t, s, models.RoleRep, nil), req)
		must(t, err)
		_, err = s.ExchangeCode(ctx, client, code, req.RedirectURI, "")
		must(t, err)
	}
	return list
}

// TestBrowserEveryPage opens every page (with custom fields defined) as every role at desktop and phone size and checks
// what every page owes: no critical or serious accessibility violation (axe-core), no
// Content-Security-Policy violation (the policy allows no inline style) and one h1.
func TestBrowserEveryPage(t *testing.T) {
	ctx := context.Background()
	s := storetest.New(t, migrations.Postgres)
	must(t, s.LoadDemo(ctx, 60, nil, nil))
	// A custom field of every kind, on cards: in the panels, on the cards and on the admin page.
	for _, k := range models.CustomKinds {
		_, err := s.DefineCustomField(ctx, models.CustomFieldInput{EntityType: models.SalesOpportunity.Type, Label: k.Label,
			Kind: k.Kind, Choices: []string{"Gold", "Silver"}, LinkTarget: models.TypeRelationship, OnCard: true}, models.Actor{})
		must(t, err)
	}
	// A snapshot for the waterfall's deals page to go back to.
	_, err := s.TakeSnapshot(ctx, models.SnapshotManual, "every-page check", models.Actor{})
	must(t, err)
	base := serve(t, s)
	reps, err := s.Employees(ctx)
	must(t, err)
	for _, role := range models.Roles {
		for _, size := range browsertest.Sizes {
			t.Run(role+"/"+size.Name, func(t *testing.T) {
				page := browsertest.NewPageWith(t, size)
				var emp = &reps[0].ID
				if role != models.RoleRep {
					emp = nil
				}
				logInAs(t, s, page, base, role, emp)
				for _, p := range everyPage(t, s, role) {
					goTo(t, page, base, p.path)
					if p.then != nil {
						p.then(t, page)
					}
					checkPage(t, page, p.name)
				}
			})
		}
	}
	for _, size := range browsertest.Sizes {
		t.Run("logged out/"+size.Name, func(t *testing.T) {
			page := browsertest.NewPageWith(t, size)
			goTo(t, page, base, "/login")
			checkPage(t, page, "login")
		})
	}
}

// checkPage checks what every page owes, once it has done what it does on load.
func checkPage(t *testing.T, page playwright.Page, name string) {
	t.Helper()
	if v := browsertest.CSPViolations(t, page); len(v) > 0 {
		t.Errorf("%s: Content-Security-Policy violations:\n%s", name, strings.Join(v, "\n"))
	}
	if n, err := page.Locator("h1").Count(); err != nil || n != 1 {
		t.Errorf("%s: %d h1 elements, want 1 (%v)", name, n, err)
	}
	if w, err := page.Evaluate(`() => document.documentElement.scrollWidth`); err != nil || toInt(w) > page.ViewportSize().Width {
		t.Errorf("%s: the page is %v px wide on a %d px screen (%v)", name, w, page.ViewportSize().Width, err)
	}
	for _, v := range browsertest.Axe(t, page) {
		t.Errorf("%s: %s", name, v)
	}
}
