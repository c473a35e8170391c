package handlers_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/web/browsertest"
)

// Browser tests: real Chromium (playwright-go) against a real server on PostgreSQL.

type boardPage struct {
	t    *testing.T
	s    *server
	page playwright.Page
}

func openBoard(t *testing.T, dialect string) *boardPage {
	t.Helper()
	return openBoardAt(t, dialect, browsertest.Desktop)
}

// openBoardAt is openBoard at a size (browsertest.Desktop, Phone).
func openBoardAt(t *testing.T, dialect string, size browsertest.Viewport) *boardPage {
	t.Helper()
	s := newServer(t, dialect, 0)
	for i := 0; i < 4; i++ {
		newCard(t, s.store, fmt.Sprintf("Deal %d", i)) // Qualification, newest on top: 3 2 1 0
	}
	b := &boardPage{t: t, s: s, page: browsertest.NewPageWith(t, size)}
	logInPage(t, s.store, b.page, s.URL)
	b.load()
	return b
}

func (b *boardPage) load() {
	b.t.Helper()
	if _, err := b.page.Goto(b.s.URL + "/board"); err != nil {
		b.t.Fatal(err)
	}
	if err := b.page.Locator(`[data-testid="board"]`).WaitFor(); err != nil {
		b.t.Fatal(err)
	}
}

func (b *boardPage) list(phase string) playwright.Locator {
	return b.page.Locator(fmt.Sprintf(`section.column[data-name=%q] ol.cards`, phase))
}

func (b *boardPage) card(subject string) playwright.Locator {
	return b.page.Locator(`li.card`, playwright.PageLocatorOptions{Has: b.page.GetByText(subject, playwright.PageGetByTextOptions{Exact: playwright.Bool(true)})})
}

// subjects lists the card subjects of a column in page order.
func (b *boardPage) subjects(phase string) string {
	b.t.Helper()
	texts, err := b.list(phase).Locator(`[data-testid="card-subject"]`).AllInnerTexts()
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.Join(texts, ",")
}

func (b *boardPage) text(selector string) string {
	b.t.Helper()
	s, err := b.page.Locator(selector).InnerText()
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimSpace(s)
}

func (b *boardPage) count(phase string) string {
	b.t.Helper()
	v, err := b.page.Locator(fmt.Sprintf(`section.column[data-name=%q] [data-testid="column-count"]`, phase)).GetAttribute("data-value")
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b *boardPage) weighted(phase string) string {
	return b.text(fmt.Sprintf(`section.column[data-name=%q] [data-testid="column-weighted"]`, phase))
}

func (b *boardPage) attr(l playwright.Locator, name string) string {
	b.t.Helper()
	v, err := l.GetAttribute(name)
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b *boardPage) countOf(selector string) int {
	b.t.Helper()
	n, err := b.page.Locator(selector).Count()
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

func (b *boardPage) expect(what, got, want string) {
	b.t.Helper()
	if got != want {
		b.t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func TestBrowserDragBetweenAndWithinColumns(t *testing.T) {
	for _, dialect := range []string{migrations.Postgres, migrations.SQLite} {
		t.Run(dialect, func(t *testing.T) {
			b := openBoard(t, dialect)
			b.expect("qualification", b.subjects("Qualification"), "Deal 3,Deal 2,Deal 1,Deal 0")

			// Across columns: Deal 2 to the top of Proposal.
			browsertest.DragCardToTop(t, b.page, b.card("Deal 2"), b.list("Proposal"))
			b.expect("proposal after drag", b.subjects("Proposal"), "Deal 2")
			b.expect("qualification after drag", b.subjects("Qualification"), "Deal 3,Deal 1,Deal 0")
			b.expect("proposal count", b.count("Proposal"), "1")
			b.expect("qualification count", b.count("Qualification"), "3")
			if a := b.text(`#announcer`); !strings.Contains(a, "Moved “Deal 2” to Proposal") {
				t.Fatalf("announcer says %q", a)
			}
			// The answer replaced the card in place (once, with the version it now has), so a
			// next move from this page is not refused as stale.
			pipe, phases := fixture(t, b.s.store)
			moved, _ := b.s.store.Cards(context.Background(), models.BoardFilter{PipelineID: pipe.ID}, phases["Proposal"].ID, nil, 10)
			if len(moved) != 1 {
				t.Fatalf("Proposal holds %d cards in the database", len(moved))
			}
			b.expect("the moved card's version", b.attr(b.card("Deal 2"), "data-version"), strconv.Itoa(moved[0].Version))
			b.expect("copies of the moved card", strconv.Itoa(b.countOf(`li.card[data-id="`+moved[0].ID.String()+`"]`)), "1")
			browsertest.DragCardToTop(t, b.page, b.card("Deal 2"), b.list("Qualification"))
			b.expect("qualification after dragging back", b.subjects("Qualification"), "Deal 2,Deal 3,Deal 1,Deal 0")
			browsertest.DragCardToTop(t, b.page, b.card("Deal 2"), b.list("Proposal"))
			b.expect("proposal after dragging again", b.subjects("Proposal"), "Deal 2")

			// Within a column: Deal 3 after Deal 1.
			browsertest.DragCardAfter(t, b.page, b.card("Deal 3"), b.card("Deal 1"))
			b.expect("qualification after reorder", b.subjects("Qualification"), "Deal 1,Deal 3,Deal 0")

			// A reload shows what the server saved, with the database's totals.
			b.load()
			b.expect("proposal after reload", b.subjects("Proposal"), "Deal 2")
			b.expect("qualification after reload", b.subjects("Qualification"), "Deal 1,Deal 3,Deal 0")
			b.expect("proposal count after reload", b.count("Proposal"), "1")
			col, err := b.s.store.Column(context.Background(), models.BoardFilter{PipelineID: pipe.ID}, phases["Proposal"].ID)
			if err != nil || col.Count != 1 {
				t.Fatalf("database column %+v %v", col, err)
			}
		})
	}
}

func TestBrowserMoveByKeyboard(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) { moveByKeyboard(t, size) })
	}
}

func moveByKeyboard(t *testing.T, size browsertest.Viewport) {
	b := openBoardAt(t, migrations.Postgres, size)
	card := b.card("Deal 1")
	// The "Move to" is on demand: m on the focused card opens it in the panel; Tab to a phase
	// and Enter.
	must(t, card.Focus())
	must(t, b.page.Keyboard().Press("m"))
	panel := b.page.GetByTestId("move-panel")
	must(t, expect.Locator(panel).ToBeVisible())
	waitProcessed(t, b.page, `[data-testid="move-form"]`)
	must(t, panel.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Negotiation"}).Focus())
	must(t, b.page.Keyboard().Press("Enter"))
	if err := b.list("Negotiation").Locator(`li.card`).First().WaitFor(); err != nil {
		t.Fatal(err)
	}
	b.expect("negotiation", b.subjects("Negotiation"), "Deal 1")
	b.expect("negotiation count", b.count("Negotiation"), "1")
	// The announcement comes with the answer's swap: wait for it rather than read it at once.
	if err := expect.Locator(b.page.Locator(`#announcer`)).ToContainText("Moved “Deal 1” to Negotiation"); err != nil {
		t.Fatalf("announcer says %q: %v", b.text(`#announcer`), err)
	}
	// Focus follows the card to its new column.
	focused, err := b.page.Evaluate(`() => document.activeElement && document.activeElement.closest('li.card') && document.activeElement.closest('li.card').id`)
	if err != nil {
		t.Fatal(err)
	}
	pipe, phases := fixture(t, b.s.store)
	cards, _ := b.s.store.Cards(context.Background(), models.BoardFilter{PipelineID: pipe.ID}, phases["Negotiation"].ID, nil, 5)
	if len(cards) != 1 || focused != "card-"+cards[0].ID.String() {
		t.Fatalf("focus on %v after the move", focused)
	}
	b.load()
	b.expect("negotiation after reload", b.subjects("Negotiation"), "Deal 1")
}

func TestBrowserRefusedMovePutsTheCardBack(t *testing.T) {
	b := openBoard(t, migrations.Postgres)
	// Behind the board's back an admin archives Proposal: the stale board still shows it.
	_, phases := fixture(t, b.s.store)
	if err := b.s.store.DB.Model(&models.Phase{}).Where("id = ?", phases["Proposal"].ID).Update("is_active", false).Error; err != nil {
		t.Fatal(err)
	}
	browsertest.DragCardToTop(t, b.page, b.card("Deal 2"), b.list("Proposal"))
	b.expect("qualification after refusal", b.subjects("Qualification"), "Deal 3,Deal 2,Deal 1,Deal 0")
	b.expect("proposal after refusal", b.subjects("Proposal"), "")
	flash := b.page.Locator(`#flash`)
	if err := flash.WaitFor(playwright.LocatorWaitForOptions{State: playwright.WaitForSelectorStateVisible}); err != nil {
		t.Fatal(err)
	}
	if msg := b.text(`#flash`); !strings.Contains(msg, "Phase “Proposal” is archived") && !strings.Contains(msg, `Phase "Proposal" is archived`) {
		t.Fatalf("flash says %q", msg)
	}
}

func TestBrowserEditPanelShowsErrorsAndKeepsTyping(t *testing.T) {
	b := openBoard(t, migrations.Postgres)
	if err := b.card("Deal 0").Locator(`[data-testid="card-subject"]`).Click(); err != nil {
		t.Fatal(err)
	}
	panel := b.page.Locator(`[data-testid="edit-panel"]`)
	if err := panel.WaitFor(); err != nil {
		t.Fatal(err)
	}
	fill := func(sel, v string) {
		if err := panel.Locator(sel).Fill(v); err != nil {
			t.Fatal(err)
		}
	}
	fill(`#f-subject`, "Deal 0 renamed")
	fill(`#f-estimated_amount`, "lots")
	if err := panel.Locator(`[data-testid="save"]`).Click(); err != nil {
		t.Fatal(err)
	}
	errLine := b.page.Locator(`[data-testid="error-estimated_amount"]`)
	if err := errLine.Filter(playwright.LocatorFilterOptions{HasText: "Enter a number"}).WaitFor(); err != nil {
		t.Fatal(err)
	}
	if v, _ := b.page.Locator(`#f-subject`).InputValue(); v != "Deal 0 renamed" {
		t.Fatalf("typed subject lost: %q", v)
	}
	fill(`#f-estimated_amount`, "50000")
	if err := b.page.Locator(`[data-testid="save"]`).Click(); err != nil {
		t.Fatal(err)
	}
	if err := b.page.Locator(`[data-testid="form-saved"]`).WaitFor(); err != nil {
		t.Fatal(err)
	}
	// The card and its column's figures refresh without a reload: 50,000 × 10 %.
	if err := b.card("Deal 0 renamed").WaitFor(); err != nil {
		t.Fatal(err)
	}
	b.expect("qualification weighted", b.weighted("Qualification"), "€ 5,000")
}
