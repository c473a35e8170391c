package handlers_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/browsertest"
)

// How the board feels to use (issue 13), at desktop and phone size.

// demoBoard serves the demo data with n opportunities on PostgreSQL and opens the board at size
// as a manager.
func demoBoard(t *testing.T, n int, size browsertest.Viewport, path string) (*models.Store, string, playwright.Page) {
	t.Helper()
	s := storetest.New(t, migrations.Postgres)
	must(t, s.LoadDemo(context.Background(), n, nil, nil))
	base := serve(t, s)
	page := browsertest.NewPageWith(t, size)
	logInAs(t, s, page, base, models.RoleManager, nil)
	goTo(t, page, base, path)
	must(t, page.Locator(`.board li.card`).First().WaitFor())
	return s, base, page
}

// cardsInView counts the cards laid out wholly on the first screen: inside the window, their
// column's list and the board.
const cardsInView = `() => {
  let n = 0;
  for (const c of document.querySelectorAll('.board li.card')) {
    const r = c.getBoundingClientRect(), l = c.parentElement.getBoundingClientRect(), b = c.closest('.board').getBoundingClientRect();
    if (r.top >= Math.max(0, l.top) - 0.5 && r.bottom <= Math.min(innerHeight, l.bottom) + 0.5 &&
        r.left >= Math.max(0, b.left) - 0.5 && r.right <= Math.min(innerWidth, b.right) + 0.5) n++;
  }
  return n;
}`

// TestBrowserBoardDensity: at least 30 cards on the first screen at 1440×900 and 4 on a
// 390×844 phone (cards were 278 px tall: 6 and 1), and the board page's HTML size with 200 cards
// and more (it was 412 KiB for 200).
func TestBrowserBoardDensity(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			_, base, page := demoBoard(t, 400, size, "/board")
			n, err := page.Evaluate(cardsInView)
			must(t, err)
			want := map[string]int{"desktop": 30, "phone": 4}[size.Name]
			t.Logf("FIGURE cards visible at %dx%d: %v", size.Width, size.Height, n)
			if toInt(n) < want {
				t.Fatalf("%v cards on the first screen, want at least %d", n, want)
			}
			noHorizontalOverflow(t, page)
			if size.Phone {
				return
			}
			resp, err := page.Context().Request().Get(base + "/board?status=all")
			must(t, err)
			body, err := resp.Body()
			must(t, err)
			cards := strings.Count(string(body), `data-testid="card"`)
			t.Logf("FIGURE /board?status=all HTML: %d bytes (%.1f KiB) for %d cards", len(body), float64(len(body))/1024, cards)
			if cards < 200 || len(body) > 300*1024 {
				t.Fatalf("%d cards in %d bytes", cards, len(body))
			}
		})
	}
}

// tabStops presses Tab from the top of the page until the focus comes round again, and counts
// the stops: in all, and inside the board.
func tabStops(t *testing.T, page playwright.Page) (all, inBoard int, columns map[string]bool) {
	t.Helper()
	_, err := page.Evaluate(`() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }`)
	must(t, err)
	seen := map[string]bool{}
	columns = map[string]bool{}
	for i := 0; i < 400; i++ {
		must(t, page.Keyboard().Press("Tab"))
		got, err := page.Evaluate(`() => {
			const el = document.activeElement;
			if (!el || el === document.body) return null;
			if (!el.dataset.tabProbe) el.dataset.tabProbe = String(Math.random());
			const col = el.closest('.board section.column');
			return [el.dataset.tabProbe, col ? col.id : ''];
		}`)
		must(t, err)
		if got == nil {
			continue
		}
		pair := got.([]any)
		key, col := pair[0].(string), pair[1].(string)
		if seen[key] {
			return all, inBoard, columns
		}
		seen[key] = true
		all++
		if col != "" {
			inBoard++
			columns[col] = true
		}
	}
	t.Fatal("the focus never came round")
	return
}

// TestBrowserBoardKeyboard: one Tab stop per column, arrow keys and column shortcuts inside,
// Enter opens a card, m its "Move to", Alt+arrow moves it (announced), ? shows the shortcuts.
func TestBrowserBoardKeyboard(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			s, _, page := demoBoard(t, 120, size, "/board")
			cols, err := page.Locator(`.board section.column`).Count()
			must(t, err)
			all, inBoard, columns := tabStops(t, page)
			t.Logf("FIGURE Tab stops on /board at %s: %d in all, %d in the board's %d columns", size.Name, all, inBoard, cols)
			if inBoard != cols || len(columns) != cols {
				t.Fatalf("%d Tab stops in %d columns (%d columns reached), want one each", inBoard, cols, len(columns))
			}
			if size.Phone {
				return
			}
			focused := func() string {
				t.Helper()
				id, err := page.Evaluate(`() => { const c = document.activeElement.closest('li.card'); return c ? c.id : document.activeElement.tagName; }`)
				must(t, err)
				return fmt.Sprint(id)
			}
			key := func(k string) {
				t.Helper()
				must(t, page.Keyboard().Press(k))
			}
			id := func(col, i int) string {
				t.Helper()
				v, err := page.Locator(`.board section.column`).Nth(col).Locator(`li.card`).Nth(i).GetAttribute("id")
				must(t, err)
				return v
			}
			must(t, page.Locator(`.board section.column`).First().Locator(`li.card`).First().Focus())
			key("ArrowDown")
			if got := focused(); got != id(0, 1) {
				t.Fatalf("ArrowDown: focus on %s, want %s", got, id(0, 1))
			}
			key("ArrowRight")
			if got := focused(); got != id(1, 1) {
				t.Fatalf("ArrowRight: focus on %s, want %s", got, id(1, 1))
			}
			key("3")
			if got := focused(); got != id(2, 0) {
				t.Fatalf("3: focus on %s, want %s", got, id(2, 0))
			}
			key("Home")
			key("?")
			must(t, expect.Locator(page.GetByTestId("shortcut-help").Locator("dl")).ToBeVisible())
			key("?")
			must(t, expect.Locator(page.GetByTestId("shortcut-help").Locator("dl")).Not().ToBeVisible())

			// m: the card's "Move to" in the panel, its heading focused; Escape closes it and the
			// focus returns to the card.
			must(t, page.Locator("#"+id(2, 0)).Focus())
			key("m")
			must(t, expect.Locator(page.Locator(`#panel #move-title`)).ToBeFocused())
			key("Escape")
			if err := expect.Locator(page.Locator("#" + id(2, 0))).ToBeFocused(); err != nil {
				v, _ := page.Evaluate(`() => [document.activeElement.tagName, document.activeElement.id, document.activeElement.className, document.getElementById('panel').innerHTML.length]`)
				t.Fatalf("after Escape the focus is on %v: %v", v, err)
			}

			// Alt+ArrowLeft moves the card to the top of the previous column, announced, focus kept.
			moving := id(2, 0)
			must(t, page.Locator("#"+moving).Focus())
			key("Alt+ArrowLeft")
			browsertest.WaitIdle(t, page)
			must(t, expect.Locator(page.Locator(`#announcer`)).ToContainText("Moved “"))
			if got := id(1, 0); got != moving {
				t.Fatalf("after Alt+ArrowLeft the top of column 2 is %s, want %s", got, moving)
			}
			if got := focused(); got != moving {
				t.Fatalf("focus on %s after the move, want %s", got, moving)
			}
			// Still one Tab stop per column after the columns were re-rendered.
			if _, inBoard, _ := tabStops(t, page); inBoard != cols {
				t.Fatalf("after a move: %d Tab stops in %d columns", inBoard, cols)
			}

			// Enter opens the card's panel; Escape closes it and the focus returns to the card.
			must(t, page.Locator("#"+moving).Focus())
			key("Enter")
			must(t, expect.Locator(page.Locator(`#panel [data-testid="edit-panel"]`)).ToBeVisible())
			must(t, page.Locator(`#panel #f-subject`).Focus())
			key("Escape")
			must(t, expect.Locator(page.Locator(`#panel [data-testid="edit-panel"]`)).ToHaveCount(0))
			must(t, expect.Locator(page.Locator("#"+moving)).ToBeFocused())
			_ = s
		})
	}
}

// TestBrowserBoardFilters: filters apply as they change (no Apply, no page load), keep their
// URL, say so when nothing matches, and the board shows open deals by default.
func TestBrowserBoardFilters(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			s, _, page := demoBoard(t, 80, size, "/board")
			ctx := context.Background()
			// Open deals by default: no Won or Lost column.
			must(t, expect.Locator(page.Locator(`section.column[data-name="Won"]`)).ToHaveCount(0))
			must(t, expect.Locator(page.Locator(`section.column[data-name="Qualification"]`)).ToHaveCount(1))
			_, err := page.Evaluate(`() => { window.__samePage = true; }`)
			must(t, err)
			reps, err := s.Employees(ctx)
			must(t, err)
			_, err = page.GetByTestId("filter-rep").SelectOption(playwright.SelectOptionValues{Values: &[]string{reps[1].ID.String()}})
			must(t, err)
			must(t, page.WaitForURL(regexp.MustCompile(`rep=`+reps[1].ID.String())))
			owners, err := page.Locator(`.board [data-testid="card-owner"]`).AllInnerTexts()
			must(t, err)
			for _, o := range owners {
				if o != "Bram J." {
					t.Fatalf("rep filter: a card of %q", o)
				}
			}
			must(t, page.GetByTestId("filter-q").Fill("no deal is called this"))
			must(t, expect.Locator(page.GetByTestId("empty-board")).ToBeVisible())
			must(t, page.WaitForURL(regexp.MustCompile(`q=no(\+|%20)deal`)))
			must(t, expect.Locator(page.GetByTestId("filter-q")).ToBeFocused())
			if same, _ := page.Evaluate(`() => window.__samePage === true`); same != true {
				t.Fatal("the filters reloaded the page")
			}
			// The URL is the view: reloading it shows the same.
			_, err = page.Reload()
			must(t, err)
			must(t, expect.Locator(page.GetByTestId("empty-board")).ToBeVisible())
			must(t, expect.Locator(page.GetByTestId("filter-q")).ToHaveValue("no deal is called this"))
		})
	}
}

// TestBrowserWonLostDropTargets: while a card is dragged, Won and Lost drop targets are on
// screen (the Lost column was off-screen at 1440 px); dropping on Lost asks why with no reason
// chosen, and a Save without one is refused (the browser keeps the form; the server's 422 is
// TestLostReasonSaveWithoutReasonIsRefused). At both sizes.
func TestBrowserWonLostDropTargets(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) { wonLostDropTargets(t, size) })
	}
}

func wonLostDropTargets(t *testing.T, size browsertest.Viewport) {
	s, _, page := demoBoard(t, 40, size, "/board")
	ctx := context.Background()
	card := page.Locator(`section.column[data-name="Qualification"] li.card`).First()
	id, err := card.GetAttribute("data-id")
	must(t, err)
	bar := page.GetByTestId("drop-bar")
	must(t, expect.Locator(bar).Not().ToBeVisible())
	// Hold the card: the targets show.
	box, err := card.BoundingBox()
	must(t, err)
	m := page.Mouse()
	must(t, m.Move(box.X+4, box.Y+box.Height/2))
	must(t, m.Down())
	must(t, m.Move(box.X+20, box.Y+box.Height/2+20, playwright.MouseMoveOptions{Steps: playwright.Int(5)}))
	lost := page.Locator(`[data-testid="drop-lost"]`)
	fullyInViewport(t, page, page.Locator(`[data-testid="drop-won"]`), "the Won drop target")
	fullyInViewport(t, page, lost, "the Lost drop target")
	lb, err := lost.BoundingBox()
	must(t, err)
	must(t, m.Move(lb.X+lb.Width/2, lb.Y+lb.Height/2, playwright.MouseMoveOptions{Steps: playwright.Int(12)}))
	must(t, m.Move(lb.X+lb.Width/2+2, lb.Y+lb.Height/2, playwright.MouseMoveOptions{Steps: playwright.Int(2)}))
	must(t, m.Up())
	prompt := page.Locator(`#panel [data-testid="lost-panel"]`)
	must(t, expect.Locator(prompt).ToBeVisible())
	must(t, expect.Locator(bar).Not().ToBeVisible())
	must(t, expect.Locator(page.Locator("#card-"+id)).ToHaveCount(0)) // closed deals are not shown
	if v, _ := prompt.GetByTestId("lost-reason").InputValue(); v != "" {
		t.Fatalf("the lost reason is preselected: %q", v)
	}
	opp, err := s.Activity(ctx, mustUUID(t, id))
	must(t, err)
	if !opp.IsClosed || opp.LostReasonID != nil {
		t.Fatalf("after the drop: closed %v, reason %v", opp.IsClosed, opp.LostReasonID)
	}
	// A hurried Save, with a competitor but no reason: refused, the prompt stays, nothing written.
	rivals, err := s.Competitors(ctx)
	must(t, err)
	_, err = prompt.Locator("#f-competitor").SelectOption(playwright.SelectOptionValues{Values: &[]string{rivals[0].ID.String()}})
	must(t, err)
	must(t, prompt.GetByTestId("lost-save").Click())
	must(t, expect.Locator(prompt).ToBeVisible())
	if invalid, _ := prompt.GetByTestId("lost-reason").Evaluate(`el => el.matches(':invalid')`, nil); invalid != true {
		t.Fatal("the reason is not marked as missing")
	}
	after, err := s.Activity(ctx, opp.ID)
	must(t, err)
	if after.Version != opp.Version || after.LostReasonID != nil || after.LostToCompetitorID != nil {
		t.Fatalf("a Save without a reason wrote: version %d (was %d), reason %v, competitor %v", after.Version, opp.Version, after.LostReasonID, after.LostToCompetitorID)
	}
}

// TestBrowserCardPanel: the card's panel is the deal's page: its subject as the title, its phase,
// forecast category, lost reason and competitor, a notes placeholder and the move history as a
// timeline; the lost reason also shows on the card, and a lost deal reopens in one action.
func TestBrowserCardPanel(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			s, _, page := demoBoard(t, 10, size, "/board?status=all")
			ctx := context.Background()
			_, phases := fixture(t, s)
			deal := newCard(t, s, "Panel deal")
			_, err := s.MoveActivity(ctx, deal.ID, phases["Proposal"].ID, nil, nil, nil, models.Actor{})
			must(t, err)
			reasons, _ := s.LostReasons(ctx)
			rivals, _ := s.Competitors(ctx)
			_, err = s.MoveActivity(ctx, deal.ID, phases["Lost"].ID, nil, nil, nil, models.Actor{})
			must(t, err)
			_, err = s.UpdateActivity(ctx, deal.ID, models.ActivityChanges{LostReasonID: &reasons[1].ID, LostToCompetitorID: &rivals[0].ID}, models.Actor{})
			must(t, err)
			_, err = page.Reload()
			must(t, err)
			card := page.Locator("#card-" + deal.ID.String())
			must(t, expect.Locator(card.GetByTestId("card-lost-reason")).ToHaveText(reasons[1].Name))
			must(t, card.GetByTestId("card-subject").Click())
			panel := page.Locator(`#panel [data-testid="edit-panel"]`)
			must(t, expect.Locator(panel.GetByTestId("panel-title")).ToHaveText("Panel deal"))
			must(t, expect.Locator(panel.GetByTestId("panel-phase")).ToContainText("Lost"))
			must(t, expect.Locator(panel.GetByTestId("panel-category")).ToHaveText("Omitted"))
			must(t, expect.Locator(panel.GetByTestId("panel-lost-reason")).ToHaveText(reasons[1].Name))
			must(t, expect.Locator(panel.GetByTestId("panel-competitor")).ToHaveText(rivals[0].Name))
			must(t, expect.Locator(panel.GetByTestId("notes")).ToBeVisible())
			must(t, expect.Locator(panel.Locator(`[data-testid="history"] .timeline-text`)).ToHaveText([]string{"Proposal → Lost", "Qualification → Proposal", "Created in Qualification"}))
			if size.Phone {
				fullyInViewport(t, page, page.Locator("#panel"), "the panel")
			}
			// Reopen: one action, back to the phase it left.
			must(t, panel.GetByTestId("reopen").Click())
			must(t, expect.Locator(page.Locator(`section.column[data-name="Proposal"] #card-`+deal.ID.String())).ToBeVisible())
			got, err := s.Activity(ctx, deal.ID)
			must(t, err)
			if got.IsClosed || got.PhaseID != phases["Proposal"].ID || got.LostReasonID != nil {
				t.Fatalf("after reopening: closed %v, phase %v, reason %v", got.IsClosed, got.PhaseID, got.LostReasonID)
			}
		})
	}
}

// TestBrowserPhoneColumnPicker: a phone shows one column at a time; the picker above the board
// brings another into view and marks it current; the top bar stays on one row.
func TestBrowserPhoneColumnPicker(t *testing.T) {
	_, _, page := demoBoard(t, 60, browsertest.Phone, "/board")
	bar, err := page.Locator("nav.topbar").BoundingBox()
	must(t, err)
	if bar.Height > 56 {
		t.Fatalf("the top bar is %v px tall: more than one row", bar.Height)
	}
	// One column at a time: the names of the columns that show any width in the board (the
	// scroller clips them) on screen.
	shown := func() []string {
		t.Helper()
		names, err := page.Evaluate(`() => [...document.querySelectorAll('.board section.column')].filter(c => {
			const r = c.getBoundingClientRect(), b = c.closest('.board').getBoundingClientRect();
			return Math.min(r.right, b.right, innerWidth) - Math.max(r.left, b.left, 0) > 1;
		}).map(c => c.dataset.name)`)
		must(t, err)
		var out []string
		for _, n := range names.([]any) {
			out = append(out, n.(string))
		}
		return out
	}
	if got := shown(); len(got) != 1 || got[0] != "Qualification" {
		t.Fatalf("the phone shows the columns %v, want only Qualification", got)
	}
	proposal := page.Locator(`section.column[data-name="Proposal"]`)
	link := page.GetByTestId("column-picker").GetByRole("link", playwright.LocatorGetByRoleOptions{Name: "Proposal"})
	must(t, link.Tap())
	must(t, expect.Locator(link).ToHaveAttribute("aria-current", "true"))
	fullyInViewport(t, page, proposal.Locator("header"), "the Proposal column's header")
	if got := shown(); len(got) != 1 || got[0] != "Proposal" {
		t.Fatalf("after picking Proposal the phone shows %v", got)
	}
	noHorizontalOverflow(t, page)
}

// TestBrowserNoStrayBulletWhileDragging: the copy of a dragged card (an li on the body) shows no
// list bullet, at both sizes.
func TestBrowserNoStrayBulletWhileDragging(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			_, _, page := demoBoard(t, 20, size, "/board")
			card := page.Locator(`.board li.card`).First()
			box, err := card.BoundingBox()
			must(t, err)
			m := page.Mouse()
			must(t, m.Move(box.X+4, box.Y+box.Height/2))
			must(t, m.Down())
			must(t, m.Move(box.X+60, box.Y+box.Height/2+40, playwright.MouseMoveOptions{Steps: playwright.Int(6)}))
			ghost := page.Locator(`body > li.sortable-fallback`)
			must(t, expect.Locator(ghost).ToHaveCount(1))
			style, err := ghost.Evaluate(`el => getComputedStyle(el).listStyleType`, nil)
			must(t, err)
			must(t, m.Up())
			if style != "none" {
				t.Fatalf("the dragged copy's list style is %v", style)
			}
		})
	}
}

// TestBrowserSavedViews: a user saves the board's filter under a name, opens it again from the
// list, another user does not see it, and it can be deleted. At both sizes.
func TestBrowserSavedViews(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			s, base, page := demoBoard(t, 30, size, "/board")
			ctx := context.Background()
			reps, err := s.Employees(ctx)
			must(t, err)
			_, err = page.GetByTestId("filter-rep").SelectOption(playwright.SelectOptionValues{Values: &[]string{reps[1].ID.String()}})
			must(t, err)
			must(t, page.WaitForURL(regexp.MustCompile(`rep=`)))
			box := page.GetByTestId("saved-views")
			must(t, box.Locator("summary").Click())
			must(t, box.GetByTestId("save-view-name").Fill("Bram's deals"))
			must(t, box.GetByTestId("save-view-button").Click())
			goTo(t, page, base, "/board")
			must(t, expect.Locator(page.GetByTestId("filter-rep")).ToHaveValue(""))
			must(t, page.GetByTestId("saved-views").Locator("summary").Click())
			must(t, page.GetByTestId("saved-views").GetByRole("link", playwright.LocatorGetByRoleOptions{Name: "Bram's deals"}).Click())
			must(t, page.WaitForURL(regexp.MustCompile(`rep=`+reps[1].ID.String())))
			must(t, expect.Locator(page.GetByTestId("filter-rep")).ToHaveValue(reps[1].ID.String()))

			other := browsertest.NewPageWith(t, size)
			logInAs(t, s, other, base, models.RoleManager, nil)
			goTo(t, other, base, "/board")
			must(t, expect.Locator(other.GetByTestId("saved-view")).ToHaveCount(0))

			must(t, page.GetByTestId("saved-views").Locator("summary").Click())
			must(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Delete the view Bram's deals"}).Click())
			must(t, expect.Locator(page.GetByTestId("saved-view")).ToHaveCount(0))
		})
	}
}

// TestBrowserColleaguesCardLooksReadOnly: a rep sees before trying that a colleague's card is
// not theirs to change: "view only" on the card, no "Move to", and a panel without Save. At
// both sizes.
func TestBrowserColleaguesCardLooksReadOnly(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.New(t, migrations.SQLite)
			must(t, s.LoadDemo(ctx, 0, nil, nil))
			reps, _ := s.Employees(ctx)
			pipe, _ := fixture(t, s)
			mine, theirs := "My deal", "Their deal"
			for subject, rep := range map[*string]*models.Employee{&mine: &reps[0], &theirs: &reps[1]} {
				_, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: subject, PipelineID: &pipe.ID, SalesRepresentativeID: &rep.ID}, models.Actor{})
				must(t, err)
			}
			base := serve(t, s)
			page := browsertest.NewPageWith(t, size)
			logInAs(t, s, page, base, models.RoleRep, &reps[0].ID)
			goTo(t, page, base, "/board")
			card := func(subject string) playwright.Locator {
				return page.Locator(`li.card`, playwright.PageLocatorOptions{HasText: subject})
			}
			must(t, expect.Locator(card(theirs).GetByTestId("card-read-only")).ToBeVisible())
			must(t, expect.Locator(card(theirs).GetByTestId("card-move")).ToHaveCount(0))
			must(t, expect.Locator(card(mine).GetByTestId("card-read-only")).ToHaveCount(0))
			must(t, expect.Locator(card(mine).GetByTestId("card-move")).ToHaveCount(1))
			must(t, card(theirs).GetByTestId("card-subject").Click())
			panel := page.Locator(`#panel [data-testid="edit-panel"]`)
			must(t, expect.Locator(panel.GetByTestId("panel-read-only")).ToBeVisible())
			must(t, expect.Locator(panel.GetByTestId("save")).ToHaveCount(0))
			must(t, expect.Locator(panel.Locator("#f-subject")).ToBeDisabled())
		})
	}
}

// TestBrowserSavedViewClosingThisQuarter: a rep saves "My deals closing this quarter" (Mine and
// this quarter); reopened, it shows exactly the rep's open deals expected in the current
// calendar quarter (counted by hand in SQL), and the view keeps the choice, not dates. At both
// sizes.
func TestBrowserSavedViewClosingThisQuarter(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			ctx := context.Background()
			s := storetest.New(t, migrations.Postgres)
			must(t, s.LoadDemo(ctx, 120, nil, nil))
			reps, err := s.Employees(ctx)
			must(t, err)
			rep := reps[0]
			pipelines, err := s.Pipelines(ctx)
			must(t, err)
			now := time.Now().UTC()
			from := time.Date(now.Year(), now.Month()-(now.Month()-1)%3, 1, 0, 0, 0, 0, time.UTC)
			var want []string
			must(t, s.DB.Raw(`SELECT CAST(id AS text) FROM activities WHERE pipeline_id = ? AND sales_representative_id = ?
				AND NOT is_closed AND expected_order_date >= ? AND expected_order_date < ? ORDER BY 1`,
				pipelines[0].ID, rep.ID, from.Format("2006-01-02"), from.AddDate(0, 3, 0).Format("2006-01-02")).Scan(&want).Error)
			if len(want) == 0 {
				t.Fatal("the demo gives the rep no deal closing this quarter: nothing to show")
			}

			base := serve(t, s)
			page := browsertest.NewPageWith(t, size)
			user := logInAs(t, s, page, base, models.RoleRep, &rep.ID)
			goTo(t, page, base, "/board")
			_, err = page.GetByTestId("filter-rep").SelectOption(playwright.SelectOptionValues{Values: &[]string{"mine"}})
			must(t, err)
			must(t, page.WaitForURL(regexp.MustCompile(`rep=mine`)))
			_, err = page.GetByTestId("filter-close").SelectOption(playwright.SelectOptionValues{Values: &[]string{"quarter"}})
			must(t, err)
			must(t, page.WaitForURL(regexp.MustCompile(`close=quarter`)))
			box := page.GetByTestId("saved-views")
			must(t, box.Locator("summary").Click())
			must(t, box.GetByTestId("save-view-name").Fill("My deals closing this quarter"))
			must(t, box.GetByTestId("save-view-button").Click())
			must(t, page.WaitForURL(regexp.MustCompile(`close=quarter`)))

			goTo(t, page, base, "/board")
			must(t, expect.Locator(page.GetByTestId("filter-close")).ToHaveValue(""))
			must(t, page.GetByTestId("saved-views").Locator("summary").Click())
			must(t, page.GetByTestId("saved-views").GetByRole("link", playwright.LocatorGetByRoleOptions{Name: "My deals closing this quarter"}).Click())
			must(t, page.WaitForURL(regexp.MustCompile(`close=quarter`)))
			must(t, expect.Locator(page.GetByTestId("filter-close")).ToHaveValue("quarter"))
			must(t, expect.Locator(page.GetByTestId("filter-rep")).ToHaveValue("mine"))
			cards := page.Locator(`.board li.card`)
			must(t, expect.Locator(cards).ToHaveCount(len(want)))
			all, err := cards.All()
			must(t, err)
			var got []string
			for _, c := range all {
				id, err := c.GetAttribute("data-id")
				must(t, err)
				got = append(got, id)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("the view shows %v, want %v", got, want)
			}
			// The choice is kept, not its dates: next quarter the view shows that quarter's deals.
			saved, err := s.SavedViews(ctx, user.ID, models.SavedViewBoard)
			must(t, err)
			if len(saved) != 1 || !strings.Contains(saved[0].Query, "close=quarter") || strings.Contains(saved[0].Query, now.Format("2006-")) {
				t.Fatalf("saved views %+v", saved)
			}
		})
	}
}

// TestBrowserForecastBoardSavedViews: the forecast board saves and reopens a view of its own
// filter too, at both sizes.
func TestBrowserForecastBoardSavedViews(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			s, base, page := demoBoard(t, 30, size, "/forecast/board")
			reps, err := s.Employees(context.Background())
			must(t, err)
			_, err = page.GetByTestId("filter-rep").SelectOption(playwright.SelectOptionValues{Values: &[]string{reps[1].ID.String()}})
			must(t, err)
			must(t, page.WaitForURL(regexp.MustCompile(`/forecast/board\?.*rep=`)))
			box := page.GetByTestId("saved-views")
			must(t, box.Locator("summary").Click())
			must(t, box.GetByTestId("save-view-name").Fill("Bram by month"))
			must(t, box.GetByTestId("save-view-button").Click())
			goTo(t, page, base, "/forecast/board")
			must(t, expect.Locator(page.GetByTestId("filter-rep")).ToHaveValue(""))
			must(t, page.GetByTestId("saved-views").Locator("summary").Click())
			must(t, page.GetByTestId("saved-views").GetByRole("link", playwright.LocatorGetByRoleOptions{Name: "Bram by month"}).Click())
			must(t, page.WaitForURL(regexp.MustCompile(`/forecast/board\?.*rep=`+reps[1].ID.String())))
			must(t, expect.Locator(page.GetByTestId("filter-rep")).ToHaveValue(reps[1].ID.String()))
		})
	}
}
