package handlers_test

import (
	"fmt"
	"testing"

	"github.com/playwright-community/playwright-go"

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

	// To the next phase, off screen to the right.
	finger := browsertest.TouchHold(t, b.page, b.card("Deal 1"))
	finger.MoveTo(finger.X+10, finger.Y+10)
	finger.DragAcrossBoard(b.list("Proposal"))
	finger.Lift()
	b.expect("proposal after the touch drag", b.subjects("Proposal"), "Deal 1")
	b.announced("Moved “Deal 1” to Proposal")
	b.saved("Deal 1", "Proposal")

	// To Won and to Lost: the targets at the bottom of the screen while a card is held.
	for _, c := range []struct{ subject, target, phase string }{{"Deal 2", "drop-won", "Won"}, {"Deal 3", "drop-lost", "Lost"}} {
		must(t, b.page.GetByTestId("column-picker").GetByText("Qualification").Tap())
		finger := browsertest.TouchHold(t, b.page, b.card(c.subject))
		finger.MoveTo(finger.X+10, finger.Y+10)
		target := b.page.GetByTestId(c.target)
		fullyInViewport(t, b.page, target, "the "+c.phase+" drop target")
		finger.MoveOnto(target.Locator("ol.cards"))
		finger.Lift()
		b.announced("Moved “" + c.subject + "” to " + c.phase)
		b.saved(c.subject, c.phase)
		must(t, expect.Locator(b.card(c.subject)).ToHaveCount(0)) // the board shows open deals
	}
	// Lost asks why, with no reason chosen.
	prompt := b.page.Locator(`#panel [data-testid="lost-panel"]`)
	must(t, expect.Locator(prompt).ToBeVisible())
}

// TestBrowserPhoneKeyboardMove: at 390×844 with the keyboard alone (a phone with a keyboard
// attached, or a switch device): Tab reaches the first column, the arrow keys the card, m opens
// its "Move to" in the panel, Tab and Enter pick the phase; then Alt+ArrowLeft moves it on.
// Each move is saved and announced, and the focus stays on the card, in view.
func TestBrowserPhoneKeyboardMove(t *testing.T) {
	b := openBoardAt(t, migrations.Postgres, browsertest.Phone)
	page := b.page
	key := func(k string) {
		t.Helper()
		must(t, page.Keyboard().Press(k))
	}
	focused := func() string {
		t.Helper()
		v, err := page.Evaluate(`() => { const el = document.activeElement, c = el && el.closest('li.card');
			return c ? 'card:' + c.querySelector('[data-testid="card-subject"]').textContent.trim() : (el.getAttribute('aria-label') || el.textContent || el.tagName).trim(); }`)
		must(t, err)
		return fmt.Sprint(v)
	}
	// Tab from the top of the page into the board: the first column's stop is its first card.
	_, err := page.Evaluate(`() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }`)
	must(t, err)
	for i := 0; focused() != "card:Deal 3"; i++ {
		if i == 60 {
			t.Fatalf("60 Tabs never reached the board's first card (focus on %q)", focused())
		}
		key("Tab")
	}
	key("ArrowDown")
	key("ArrowDown")
	if got := focused(); got != "card:Deal 1" {
		t.Fatalf("two ArrowDowns: focus on %q, want Deal 1", got)
	}
	fullyInViewport(t, page, b.card("Deal 1"), "the focused card")

	// m: "Move to" in the panel; Tab to Negotiation, Enter.
	key("m")
	panel := page.GetByTestId("move-panel")
	must(t, expect.Locator(panel).ToBeVisible())
	waitProcessed(t, page, `[data-testid="move-form"]`)
	for i := 0; focused() != "Negotiation"; i++ {
		if i == 20 {
			t.Fatalf("20 Tabs in the move panel never reached Negotiation (focus on %q)", focused())
		}
		key("Tab")
	}
	key("Enter")
	b.announced("Moved “Deal 1” to Negotiation")
	b.expect("negotiation", b.subjects("Negotiation"), "Deal 1")
	b.saved("Deal 1", "Negotiation")
	must(t, expect.Locator(b.card("Deal 1")).ToBeFocused())
	fullyInViewport(t, page, b.card("Deal 1"), "the moved card")

	// Alt+ArrowLeft: to the top of the previous column.
	key("Alt+ArrowLeft")
	browsertest.WaitIdle(t, page)
	b.announced("Moved “Deal 1” to Proposal")
	b.saved("Deal 1", "Proposal")
	must(t, expect.Locator(b.card("Deal 1")).ToBeFocused())
	fullyInViewport(t, page, b.card("Deal 1"), "the card moved by Alt+ArrowLeft")
}

// saved fails unless the card of subject is saved in phase.
func (b *boardPage) saved(subject, phase string) {
	b.t.Helper()
	_, phases := fixture(b.t, b.s.store)
	var a models.Activity
	must(b.t, b.s.store.DB.Where("subject = ?", subject).Take(&a).Error)
	if a.PhaseID != phases[phase].ID {
		b.t.Fatalf("%s is saved in phase %v, want %s", subject, a.PhaseID, phase)
	}
}

// announced fails unless the announcer comes to say text.
func (b *boardPage) announced(text string) {
	b.t.Helper()
	if err := expect.Locator(b.page.Locator(`#announcer`)).ToContainText(text); err != nil {
		b.t.Fatalf("announcer says %q, want %q: %v", b.text(`#announcer`), text, err)
	}
}

// waitProcessed waits until htmx has processed the element of selector: until then Enter on a
// form posts it without JavaScript (which works, but reloads the page); a person cannot be that
// quick, a test can.
func waitProcessed(t *testing.T, page playwright.Page, selector string) {
	t.Helper()
	for i := 0; ; i++ {
		done, err := page.Evaluate(`s => { const f = document.querySelector(s); return !!(f && f['htmx-internal-data']); }`, selector)
		must(t, err)
		if done == true {
			return
		}
		if i == 250 {
			t.Fatalf("htmx did not process %s", selector)
		}
		page.WaitForTimeout(20)
	}
}
