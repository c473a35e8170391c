package handlers_test

import (
	"context"
	"testing"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/web/browsertest"
)

// How a rep moves cards on a 390×844 phone (touch, one column at a time), without a mouse.

// TestBrowserTouchDrag: a finger drags a card to another phase (holding it at the board's edge
// scrolls the board to the next column; a mandatory scroll snap used to pull each step back, so
// the board never moved) and onto the Won and Lost targets shown while dragging. Each move is
// saved and announced.
func TestBrowserTouchDrag(t *testing.T) {
	b := openBoardAt(t, migrations.Postgres, browsertest.Phone)
	ctx := context.Background()
	_, phases := fixture(t, b.s.store)
	saved := func(subject, phase string) {
		t.Helper()
		var a models.Activity
		must(t, b.s.store.DB.Where("subject = ?", subject).Take(&a).Error)
		if a.PhaseID != phases[phase].ID {
			t.Fatalf("%s is saved in phase %v, want %s", subject, a.PhaseID, phase)
		}
	}
	announced := func(text string) {
		t.Helper()
		if err := expect.Locator(b.page.Locator(`#announcer`)).ToContainText(text); err != nil {
			t.Fatalf("announcer says %q, want %q: %v", b.text(`#announcer`), text, err)
		}
	}

	// To the next phase, off screen to the right.
	finger := browsertest.TouchHold(t, b.page, b.card("Deal 1"))
	finger.MoveTo(finger.X+10, finger.Y+10)
	finger.DragAcrossBoard(b.list("Proposal"))
	finger.Lift()
	b.expect("proposal after the touch drag", b.subjects("Proposal"), "Deal 1")
	announced("Moved “Deal 1” to Proposal")
	saved("Deal 1", "Proposal")

	// To Won and to Lost: the targets at the bottom of the screen while a card is held.
	for _, c := range []struct{ subject, target, phase string }{{"Deal 2", "drop-won", "Won"}, {"Deal 3", "drop-lost", "Lost"}} {
		must(t, b.page.GetByTestId("column-picker").GetByText("Qualification").Tap())
		finger := browsertest.TouchHold(t, b.page, b.card(c.subject))
		finger.MoveTo(finger.X+10, finger.Y+10)
		target := b.page.GetByTestId(c.target)
		fullyInViewport(t, b.page, target, "the "+c.phase+" drop target")
		finger.MoveOnto(target.Locator("ol.cards"))
		finger.Lift()
		announced("Moved “" + c.subject + "” to " + c.phase)
		saved(c.subject, c.phase)
		must(t, expect.Locator(b.card(c.subject)).ToHaveCount(0)) // the board shows open deals
	}
	// Lost asks why, with no reason chosen.
	prompt := b.page.Locator(`#panel [data-testid="lost-panel"]`)
	must(t, expect.Locator(prompt).ToBeVisible())
	_ = ctx
}
