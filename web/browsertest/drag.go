package browsertest

import (
	"testing"
	"time"

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

// Touch drags, the way a phone user drags a card: a finger held on the card past Sortable's
// touch delay (static/app.js: delay 150 ms on touch only, so that a swipe still scrolls the
// board), moved, then lifted. Playwright has no touch drag, so Touch sends the touch events
// through the Chrome DevTools Protocol (Input.dispatchTouchEvent), which Chromium handles as a
// finger's: the page sees touchstart, touchmove and touchend (and pointer events) at those
// points. Needs a page with touch (Phone).
type Touch struct {
	t    testing.TB
	page playwright.Page
	cdp  playwright.CDPSession
	X, Y float64
}

// touchHoldMs is longer than Sortable's touch delay (150 ms).
const touchHoldMs = 300

// TouchHold puts a finger on card (in its left padding, away from links and controls) and holds
// it there until Sortable takes the card.
func TouchHold(t testing.TB, page playwright.Page, card playwright.Locator) *Touch {
	t.Helper()
	if err := card.ScrollIntoViewIfNeeded(); err != nil {
		t.Fatalf("browsertest: touch: %v", err)
	}
	cdp, err := page.Context().NewCDPSession(page)
	if err != nil {
		t.Fatalf("browsertest: touch: %v", err)
	}
	d := &dragging{t: t, page: page}
	box := d.box(card)
	f := &Touch{t: t, page: page, cdp: cdp, X: box.X + 4, Y: box.Y + box.Height/2}
	f.send("touchStart", f.X, f.Y)
	page.WaitForTimeout(touchHoldMs)
	return f
}

// MoveTo slides the finger to (x, y) in steps, as a finger moves, and lets Sortable settle.
func (f *Touch) MoveTo(x, y float64) {
	f.t.Helper()
	const steps = 12
	x0, y0 := f.X, f.Y
	for i := 1; i <= steps; i++ {
		f.X, f.Y = x0+(x-x0)*float64(i)/steps, y0+(y-y0)*float64(i)/steps
		f.send("touchMove", f.X, f.Y)
		f.page.WaitForTimeout(16)
	}
	f.page.WaitForTimeout(settleMs)
}

// DragAcrossBoard takes the held card to list, a column off screen to the right on a phone
// (which shows one column at a time), as a finger does: it rests at the board's right edge,
// where Sortable scrolls the board, until list is well in view, then slides into list and
// stays clear of the edges (so the board stops scrolling). It fails if the board never
// scrolls there.
func (f *Touch) DragAcrossBoard(list playwright.Locator) {
	f.t.Helper()
	d := &dragging{t: f.t, page: f.page}
	width := float64(f.page.ViewportSize().Width)
	f.MoveTo(width-4, f.Y)
	for start := time.Now(); ; f.page.WaitForTimeout(16) {
		if box := d.box(list); box.X <= width*0.3 {
			break
		}
		if time.Since(start) > 10*time.Second {
			f.t.Fatalf("browsertest: touch: holding the card at the board's edge never scrolled %v into view", list)
		}
	}
	// Off the edge, to the middle of the screen over the list, and wait until the board stops
	// scrolling (static/app.js's scrollFn: Sortable alone went on to the board's end). The
	// finger trembles by a pixel, as a real one does: Sortable looks again on each move.
	f.MoveTo(width/2, d.box(list).Y+12)
	for i, last := 0, -1.0; ; i++ {
		for j := 0; j < 6; j++ {
			f.send("touchMove", f.X+float64(j%2), f.Y)
			f.page.WaitForTimeout(16)
		}
		if i == 100 {
			f.t.Fatalf("browsertest: touch: the board keeps scrolling with the finger off its edge")
		}
		box := d.box(list)
		if box.X == last {
			break
		}
		last = box.X
	}
	f.MoveOnto(list)
}

// MoveOnto slides the finger into target (a list or a drop target), near its top and in the
// middle of its part on screen, clear of the edges where the board scrolls; target must be on
// screen, as a finger cannot go elsewhere. It fails unless the held card's placeholder is then in
// target.
func (f *Touch) MoveOnto(target playwright.Locator) {
	f.t.Helper()
	box := (&dragging{t: f.t, page: f.page}).box(target)
	size := f.page.ViewportSize()
	w := float64(size.Width)
	left, right := max(box.X, 0), min(box.X+box.Width, w)
	x, y := min(max((left+right)/2, 100), w-100), box.Y+min(box.Height/2, 12)
	if x < left || x > right || y < 0 || y > float64(size.Height) {
		f.t.Fatalf("browsertest: touch: %v is off screen (%+v)", target, box)
	}
	f.MoveTo(x, y)
	in, err := target.Locator(".sortable-ghost").Count()
	if err != nil || in != 1 {
		f.t.Fatalf("browsertest: touch: the finger is on %v, but the card's placeholder is not (%v)", target, err)
	}
}

// Lift nudges the finger so that Sortable looks again where it is, lifts it, and waits until
// the move's answer is applied (WaitIdle).
func (f *Touch) Lift() {
	f.t.Helper()
	f.send("touchMove", f.X, f.Y+1)
	f.page.WaitForTimeout(30)
	f.send("touchMove", f.X, f.Y)
	f.page.WaitForTimeout(50)
	if _, err := f.cdp.Send("Input.dispatchTouchEvent", map[string]any{"type": "touchEnd", "touchPoints": []any{}}); err != nil {
		f.t.Fatalf("browsertest: touch: %v", err)
	}
	_ = f.cdp.Detach()
	WaitIdle(f.t, f.page)
}

func (f *Touch) send(kind string, x, y float64) {
	f.t.Helper()
	if _, err := f.cdp.Send("Input.dispatchTouchEvent", map[string]any{"type": kind,
		"touchPoints": []any{map[string]any{"x": x, "y": y, "radiusX": 2, "radiusY": 2, "force": 1, "id": 1}}}); err != nil {
		f.t.Fatalf("browsertest: touch %s: %v", kind, err)
	}
}
