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
// marked for cards, and a text field of people (listed under Person); a manager then finds it in a card's edit panel, picks a value and saves, and
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

	// A field of people: chosen by its label among the record types, listed in a group of its own.
	form = page.GetByTestId("add-custom-field")
	_, err = form.Locator(`select[name="entity_type"]`).SelectOption(playwright.SelectOptionValues{Labels: &[]string{"Person"}})
	must(t, err)
	must(t, form.Locator(`input[name="label"]`).Fill("Nickname"))
	_, err = form.Locator(`select[name="kind"]`).SelectOption(playwright.SelectOptionValues{Values: &[]string{models.CustomText}})
	must(t, err)
	must(t, form.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Add field"}).Click())
	people := page.Locator(`[data-testid="custom-field-group"][data-entity-type="` + models.TypePerson + `"]`)
	must(t, expect.Locator(people.GetByTestId("custom-field-group-label")).ToHaveText("Person"))
	must(t, expect.Locator(people.GetByTestId("custom-field-row")).ToHaveCount(1))
	must(t, expect.Locator(page.GetByTestId("custom-field-group-label")).ToHaveText([]string{"Opportunity", "Person"}))
	defs, err = s.CustomFields(ctx)
	must(t, err)
	if persons := defs.For(models.TypePerson); len(persons) != 1 || persons[0].Label != "Nickname" || persons[0].Kind != models.CustomText {
		t.Fatalf("defined on people %+v", persons)
	} else {
		must(t, expect.Locator(people.GetByTestId("custom-field-api-name")).ToHaveText(persons[0].APIName()))
	}
	opportunities := page.Locator(`[data-testid="custom-field-group"][data-entity-type="` + models.SalesOpportunity.Type + `"]`)
	must(t, expect.Locator(opportunities.GetByTestId("custom-field-row")).ToHaveCount(1))

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
