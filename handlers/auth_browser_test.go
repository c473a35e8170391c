package handlers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
	"phaseboard/web/browsertest"
)

// TestBrowserLoginAndRepCannotDragAnothersCard: a rep logs in through the form, drags its own
// card (it moves), then another rep's card: the server refuses, the card goes back and the
// message says why.
func TestBrowserLoginAndRepCannotDragAnothersCard(t *testing.T) {
	for _, dialect := range []string{migrations.SQLite, migrations.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.New(t, dialect)
			if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
				t.Fatal(err)
			}
			reps, _ := s.Employees(ctx)
			ann, bob := reps[0].ID, reps[1].ID
			for subject, rep := range map[string]uuid.UUID{"Bob's deal": bob, "Ann's deal": ann} {
				subj, id := subject, rep
				if _, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subj, SalesRepresentativeID: &id}, models.Actor{}); err != nil {
					t.Fatal(err)
				}
			}
			u := authtest.User(t, s, models.RoleRep, &ann)

			base := serve(t, s)

			page := browsertest.NewPage(t)
			if _, err := page.Goto(base + "/board"); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(page.URL(), "/login") {
				t.Fatalf("an anonymous visit to the board lands on %s", page.URL())
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(page.GetByTestId("login-email").Fill(u.Email))
			must(page.GetByTestId("login-password").Fill("wrong password"))
			must(page.GetByTestId("login-submit").Click())
			must(playwright.NewPlaywrightAssertions().Locator(page.GetByTestId("login-error")).ToContainText("do not match"))
			must(page.GetByTestId("login-password").Fill(authtest.Password))
			must(page.GetByTestId("login-submit").Click())
			must(page.Locator(`[data-testid="board"]`).WaitFor())
			must(playwright.NewPlaywrightAssertions().Locator(page.GetByTestId("current-user")).ToContainText(u.Email))

			list := func(phase string) playwright.Locator {
				return page.Locator(`section.column[data-name="` + phase + `"] ol.cards`)
			}
			card := func(subject string) playwright.Locator {
				return page.Locator(`li.card`, playwright.PageLocatorOptions{Has: page.GetByText(subject, playwright.PageGetByTextOptions{Exact: playwright.Bool(true)})})
			}
			subjects := func(phase string) string {
				texts, err := list(phase).Locator(`[data-testid="card-subject"]`).AllInnerTexts()
				must(err)
				return strings.Join(texts, ",")
			}
			browsertest.DragCardToTop(t, page, card("Ann's deal"), list("Proposal"))
			if got := subjects("Proposal"); got != "Ann's deal" {
				t.Fatalf("own card: Proposal holds %q", got)
			}
			browsertest.DragCardToTop(t, page, card("Bob's deal"), list("Proposal"))
			if got := subjects("Qualification"); got != "Bob's deal" {
				t.Fatalf("refused card: Qualification holds %q", got)
			}
			if got := subjects("Proposal"); got != "Ann's deal" {
				t.Fatalf("refused card: Proposal holds %q", got)
			}
			must(playwright.NewPlaywrightAssertions().Locator(page.Locator("#flash")).ToContainText("belongs to another rep"))
		})
	}
}
