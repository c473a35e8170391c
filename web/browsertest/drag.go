package browsertest

import (
	"testing"

	"github.com/playwright-community/playwright-go"
)

// Drag and drop of board cards, the way a user does it with the mouse.
//
// static/app.js runs SortableJS with forceFallback (mouse events rather than
// native HTML5 drag and drop, which Locator.DragTo does not drive reliably)
// and fallbackTolerance 4 (a click is not a drag). Sortable decides where the
// card goes from the path of the pointer and ignores elements that are still
// animating (150 ms), so these helpers always take the same path: grab the
// card in its left padding (never on a link or a form control), move a few
// pixels to start the drag, go to the top of the target list, then down to
// the drop point, pause until the animations end, nudge the pointer so
// Sortable looks again, and release.
//
// After the drop they wait until no card is aria-busy, that is until the
// move's request has been answered and the server's columns are swapped in
// (or the card was put back), so the next step sees the final page.

const settleMs = 200 // longer than Sortable's 150 ms animation (0 under reduced motion)

// DragCardToTop drops card (an li.card) at the top of list (an ol.cards),
// which may be empty and may be the card's own list.
func DragCardToTop(t testing.TB, page playwright.Page, card, list playwright.Locator) {
	t.Helper()
	d := startDrag(t, page, card, list)
	box := d.box(list)
	d.moveTo(box.X+box.Width/2, box.Y+3)
	d.drop()
}

// DragCardToEnd drops card at the end of list: after its last card and
// before its "Load more" row.
func DragCardToEnd(t testing.TB, page playwright.Page, card, list playwright.Locator) {
	t.Helper()
	d := startDrag(t, page, card, list)
	// Below the last card, in the list's bottom padding; measured again once
	// the placeholder has made the list taller.
	box := d.box(list)
	d.moveTo(box.X+box.Width/2, box.Y+box.Height-3)
	box = d.box(list)
	d.moveTo(box.X+box.Width/2, box.Y+box.Height-3)
	d.drop()
}

// DragCardAfter drops card just after the card other, in other's list.
func DragCardAfter(t testing.TB, page playwright.Page, card, other playwright.Locator) {
	t.Helper()
	list := other.Locator("xpath=..")
	d := startDrag(t, page, card, list)
	top := d.box(list)
	d.moveTo(top.X+top.Width/2, top.Y+3)
	// Coming from above, Sortable puts the card after each card the pointer
	// enters; aim at the bottom of other so the pointer ends on the dragged
	// card's placeholder once other has moved up.
	box := d.box(other)
	d.moveTo(box.X+box.Width/2, box.Y+box.Height-4)
	d.drop()
}

type dragging struct {
	t    testing.TB
	page playwright.Page
	x, y float64
}

func startDrag(t testing.TB, page playwright.Page, card, list playwright.Locator) *dragging {
	t.Helper()
	if err := card.ScrollIntoViewIfNeeded(); err != nil {
		t.Fatalf("browsertest: drag: %v", err)
	}
	d := &dragging{t: t, page: page}
	box := d.box(card)
	d.x, d.y = box.X+4, box.Y+box.Height/2 // the card's left padding
	m := page.Mouse()
	d.check(m.Move(d.x, d.y))
	d.check(m.Down())
	d.moveTo(d.x+8, d.y+8) // past fallbackTolerance: the drag starts
	// A target column outside the viewport: scroll the board while holding
	// the card (the user would let Sortable auto-scroll).
	d.check(list.ScrollIntoViewIfNeeded())
	return d
}

func (d *dragging) box(l playwright.Locator) *playwright.Rect {
	d.t.Helper()
	b, err := l.BoundingBox()
	if err != nil {
		d.t.Fatalf("browsertest: drag: %v", err)
	}
	if b == nil {
		d.t.Fatalf("browsertest: drag: %v is not visible", l)
	}
	return b
}

func (d *dragging) moveTo(x, y float64) {
	d.t.Helper()
	d.check(d.page.Mouse().Move(x, y, playwright.MouseMoveOptions{Steps: playwright.Int(12)}))
	d.x, d.y = x, y
	d.page.WaitForTimeout(settleMs)
}

func (d *dragging) drop() {
	d.t.Helper()
	m := d.page.Mouse()
	d.check(m.Move(d.x, d.y+1, playwright.MouseMoveOptions{Steps: playwright.Int(2)}))
	d.check(m.Move(d.x, d.y, playwright.MouseMoveOptions{Steps: playwright.Int(2)}))
	d.page.WaitForTimeout(50)
	d.check(m.Up())
	WaitIdle(d.t, d.page)
}

// WaitIdle waits until no card on the page is aria-busy: every move sent by
// a drag, a key or a "Move to" form has been answered and applied.
func WaitIdle(t testing.TB, page playwright.Page) {
	t.Helper()
	busy := page.Locator(`li.card[aria-busy="true"]`)
	if err := playwright.NewPlaywrightAssertions(DefaultTimeout).Locator(busy).ToHaveCount(0); err != nil {
		t.Fatalf("browsertest: a card move is still in flight: %v", err)
	}
}

func (d *dragging) check(err error) {
	d.t.Helper()
	if err != nil {
		d.t.Fatalf("browsertest: drag: %v", err)
	}
}
