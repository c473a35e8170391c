package handlers_test

import (
	"context"
	"testing"

	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/browsertest"
)

// TestBrowserPhoneBoard: on a 390×844 touch phone the board does not lay out wider than the
// screen, a card's panel and the lost-reason prompt open fully on screen, and "Save", "Save
// reason" and "Load more" can be tapped. (The page once laid out 714 px wide, visually hidden
// labels escaping the board's overflow, and the panels opened mostly off-screen.)
func TestBrowserPhoneBoard(t *testing.T) {
	ctx := context.Background()
	s := storetest.New(t, migrations.Postgres)
	must(t, s.LoadDemo(ctx, 260, nil, nil)) // Qualification holds more than a page of cards
	base := serve(t, s)
	page := browsertest.NewPageWith(t, browsertest.Phone)
	logInAs(t, s, page, base, models.RoleManager, nil)
	goTo(t, page, base, "/board?status=all")
	noHorizontalOverflow(t, page)

	// A card's panel: on screen, and its Save can be tapped.
	first := page.Locator(`section.column`).First()
	card := first.Locator(`li.card`).First()
	must(t, card.GetByTestId("card-subject").Tap())
	panel := page.Locator(`#panel [data-testid="edit-panel"]`)
	fullyInViewport(t, page, page.Locator(`#panel`), "the edit panel")
	must(t, panel.GetByTestId("save").Tap())
	must(t, expect.Locator(panel.GetByTestId("form-saved")).ToBeVisible())
	noHorizontalOverflow(t, page)
	must(t, panel.GetByTestId("panel-close").Tap())
	must(t, expect.Locator(panel).ToHaveCount(0))

	// "Load more" in the first column.
	before, err := first.Locator(`li.card`).Count()
	must(t, err)
	must(t, first.GetByTestId("load-more").GetByRole("button").Tap())
	must(t, expect.Locator(first.Locator(`li.card`)).Not().ToHaveCount(before))

	// Lost by the card's "Move to" (its "⋯"): the prompt is on screen and saves.
	id, err := card.GetAttribute("data-id")
	must(t, err)
	must(t, card.GetByTestId("card-move").Tap())
	moves := page.GetByTestId("move-panel")
	fullyInViewport(t, page, page.Locator(`#panel`), "the move panel")
	must(t, moves.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Lost"}).Tap())
	lost := page.Locator(`#panel [data-testid="lost-panel"]`)
	// The move's answer swaps the move panel for the prompt: measure once the prompt is in.
	must(t, expect.Locator(lost).ToBeVisible())
	fullyInViewport(t, page, page.Locator(`#panel`), "the lost-reason panel")
	noHorizontalOverflow(t, page)
	reasons, err := s.LostReasons(ctx)
	must(t, err)
	_, err = lost.GetByTestId("lost-reason").SelectOption(playwright.SelectOptionValues{Values: &[]string{reasons[2].ID.String()}})
	must(t, err)
	must(t, lost.GetByTestId("lost-save").Tap())
	must(t, expect.Locator(page.Locator("#announcer")).ToContainText("Saved why"))
	opp, err := s.Activity(ctx, mustUUID(t, id))
	must(t, err)
	if opp.LostReasonID == nil || *opp.LostReasonID != reasons[2].ID {
		t.Fatalf("lost reason %v, want %v", opp.LostReasonID, reasons[2].ID)
	}
}
