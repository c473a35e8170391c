package handlers_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/browsertest"
)

// TestBrowserCustomFields: an admin defines a choice list for opportunities on the admin page,
// marked for cards; a manager then finds it in a card's edit panel, picks a value and saves, and
// the card on the board shows it without a reload.
func TestBrowserCustomFields(t *testing.T) {
	ctx := context.Background()
	s := storetest.New(t, migrations.Postgres)
	must(t, s.LoadDemo(ctx, 0, nil, nil))
	card := newCard(t, s, "Custom fields deal")
	base := serve(t, s)
	page := browsertest.NewPageWith(t, browsertest.Desktop)
	logInAs(t, s, page, base, models.RoleAdmin, nil)

	goTo(t, page, base, "/admin/custom-fields")
	form := page.GetByTestId("add-custom-field")
	must(t, form.Locator(`input[name="label"]`).Fill("Tier"))
	_, err := form.Locator(`select[name="kind"]`).SelectOption(playwright.SelectOptionValues{Values: &[]string{models.CustomChoice}})
	must(t, err)
	must(t, form.Locator(`textarea[name="choices"]`).Fill("Gold\nSilver"))
	must(t, form.Locator(`input[name="on_card"]`).Check())
	must(t, form.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Add field"}).Click())
	row := page.GetByTestId("custom-field-row")
	must(t, expect.Locator(row).ToHaveCount(1))
	defs, err := s.CustomFields(ctx)
	must(t, err)
	fields := defs.For(models.SalesOpportunity.Type)
	if len(fields) != 1 || fields[0].Kind != models.CustomChoice || !fields[0].OnCard || len(fields[0].Choices) != 2 {
		t.Fatalf("defined %+v", fields)
	}
	must(t, expect.Locator(row.GetByTestId("custom-field-api-name")).ToHaveText(fields[0].APIName()))

	logInAs(t, s, page, base, models.RoleManager, nil)
	goTo(t, page, base, "/board")
	cardEl := page.Locator(`#card-` + card.ID.String())
	must(t, cardEl.Locator(`[data-testid="card-subject"]`).Click())
	panel := page.GetByTestId("edit-panel")
	must(t, panel.WaitFor())
	_, err = panel.GetByLabel("Tier").SelectOption(playwright.SelectOptionValues{Values: &[]string{"Gold"}})
	must(t, err)
	must(t, panel.GetByTestId("save").Click())
	must(t, page.GetByTestId("form-saved").WaitFor())
	must(t, expect.Locator(cardEl.GetByTestId("card-field")).ToHaveText("Tier: Gold"))
	vals, err := s.CustomValuesOf(ctx, []uuid.UUID{card.ID}, fields)
	must(t, err)
	if vals[card.ID][fields[0].ID].Raw != "Gold" {
		t.Fatalf("stored %v", vals)
	}
}
