package handlers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"phaseboard/handlers"
	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/browsertest"
	"phaseboard/web/servertest"
)

// Live boards in real browsers: what one user does appears on another user's board, with the
// columns' database totals, without a reload; a page whose stream dropped catches up.

// liveBoard is a second user's board page (its own browser context: cookies, stream).
func liveBoard(t *testing.T, base string, s *models.Store) *boardPage {
	t.Helper()
	b := &boardPage{t: t, s: &server{URL: base, store: s}, page: browsertest.NewPage(t)}
	logInPage(t, s, b.page, base)
	b.load()
	// The stream is open when the page says who else is here or, alone, once connected.
	waitLive(t, b.page)
	return b
}

// waitLive waits until the page's stream is connected.
func waitLive(t *testing.T, page playwright.Page) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		open, err := page.Evaluate(`() => {
			const live = document.querySelector('.live');
			const data = live && live['htmx-internal-data'];
			return !!(data && data.sseEventSource && data.sseEventSource.readyState === 1);
		}`)
		if err == nil && open == true {
			return
		}
	}
	t.Fatal("the live stream did not open")
}

// expectColumn waits (Playwright's retrying assertions) until a column shows subjects and count.
func (b *boardPage) expectColumn(phase, subjects, count string) {
	b.t.Helper()
	deadline := time.Now().Add(browsertest.DefaultTimeout * time.Millisecond)
	for {
		got, n := b.subjects(phase), b.count(phase)
		if got == subjects && n == count {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s shows %q (count %s), want %q (count %s)", phase, got, n, subjects, count)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowserLiveBoardTwoUsers(t *testing.T) {
	a := openBoard(t, migrations.Postgres) // a manager: Deal 3 2 1 0 in Qualification
	b := liveBoard(t, a.s.URL, a.s.store)  // another manager, another browser context
	waitLive(t, a.page)
	b.expectColumn("Qualification", "Deal 3,Deal 2,Deal 1,Deal 0", "4")

	// A drags; B's board follows: the card in its new column, both headers with the totals.
	browsertest.DragCardToTop(t, a.page, a.card("Deal 2"), a.list("Proposal"))
	a.expect("a's proposal", a.subjects("Proposal"), "Deal 2")
	b.expectColumn("Proposal", "Deal 2", "1")
	b.expectColumn("Qualification", "Deal 3,Deal 1,Deal 0", "3")
	// The headers' figures are the database's: the same as on the mover's own page.
	for _, phase := range []string{"Proposal", "Qualification"} {
		b.expect(phase+" weighted on b", b.weighted(phase), a.weighted(phase))
	}

	// B's stream drops (as a network would); meanwhile a change is made. The page reconnects by
	// itself and catches up after the last event it saw.
	handlers.DropStreams(a.s.h)
	_, phases := fixture(t, a.s.store)
	deal1 := a.card("Deal 1")
	id, err := deal1.GetAttribute("data-id")
	must(t, err)
	if _, err := a.s.store.MoveActivity(context.Background(), mustUUID(t, id), phases["Negotiation"].ID, nil, nil, nil, models.Actor{}); err != nil {
		t.Fatal(err)
	}
	b.expectColumn("Negotiation", "Deal 1", "1")
	b.expectColumn("Qualification", "Deal 3,Deal 0", "2")
	if v := browsertest.CSPViolations(t, b.page); len(v) > 0 {
		t.Fatalf("CSP violations: %v", v)
	}
}

// TestBrowserLiveBoardTwoInstances: two Phaseboard processes on one PostgreSQL; a drag on one
// instance's page appears on the page of a user of the other (NOTIFY across instances).
func TestBrowserLiveBoardTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the built binary twice on PostgreSQL")
	}
	bin := servertest.Build(t)
	s := storetest.New(t, migrations.Postgres)
	if err := s.LoadDemo(context.Background(), 0, nil, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		newCard(t, s, fmt.Sprintf("Deal %d", i))
	}
	env := []string{"DATABASE_URL=" + storetest.URLOf(t, s), "PHASEBOARD_HOST=127.0.0.1"}
	// One after the other: two first starts at once race to create the first admin.
	one := servertest.Start(t, bin, env, "serve", "--port", "0")
	one.WaitListening()
	two := servertest.Start(t, bin, env, "serve", "--port", "0")
	two.WaitListening()

	a := &boardPage{t: t, s: &server{URL: one.URL, store: s}, page: browsertest.NewPage(t)}
	logInPage(t, s, a.page, one.URL)
	a.load()
	b := liveBoard(t, two.URL, s)
	b.expectColumn("Qualification", "Deal 3,Deal 2,Deal 1,Deal 0", "4")
	browsertest.DragCardToTop(t, a.page, a.card("Deal 1"), a.list("Proposal"))
	a.expect("a's proposal", a.subjects("Proposal"), "Deal 1")
	b.expectColumn("Proposal", "Deal 1", "1")
	b.expectColumn("Qualification", "Deal 3,Deal 2,Deal 0", "3")
}

// TestBrowserStaleMove: a page that has not seen a change yet (its live refreshes are held back
// here) drags the card that someone else moved: 409, the card shows where it really is, once,
// and the page says who moved it.
func TestBrowserStaleMove(t *testing.T) {
	a := openBoard(t, migrations.Postgres)
	waitLive(t, a.page)
	must(t, a.page.Route("**/board/refresh**", func(r playwright.Route) { r.Abort() }))
	ctx := context.Background()
	_, phases := fixture(t, a.s.store)
	reps, _ := a.s.store.Employees(ctx)
	id, err := a.card("Deal 2").GetAttribute("data-id")
	must(t, err)
	if _, err := a.s.store.MoveActivity(ctx, mustUUID(t, id), phases["Negotiation"].ID, nil, nil, nil,
		models.Actor{EmployeeID: &reps[0].ID, Role: models.RoleManager}); err != nil {
		t.Fatal(err)
	}
	a.expect("stale page", a.subjects("Qualification"), "Deal 3,Deal 2,Deal 1,Deal 0")
	browsertest.DragCardToTop(t, a.page, a.card("Deal 2"), a.list("Proposal"))
	a.expectColumn("Negotiation", "Deal 2", "1")
	a.expectColumn("Proposal", "", "0")
	a.expectColumn("Qualification", "Deal 3,Deal 1,Deal 0", "3")
	if n, _ := a.page.Locator(`li.card[data-id="` + id + `"]`).Count(); n != 1 {
		t.Fatalf("the card is shown %d times", n)
	}
	must(t, expect.Locator(a.page.Locator(`#flash`)).ToContainText(reps[0].FullName()+" changed “Deal 2”"))
}
