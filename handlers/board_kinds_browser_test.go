package handlers_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/web/browsertest"
)

// An invoice is dragged Draft → Sent → Paid on its own board and is closed in Paid: the board
// of every kind works as the sales board does (issue 9).
func TestBrowserDragInvoiceToPaid(t *testing.T) {
	s := newServer(t, migrations.Postgres, 0)
	ctx := context.Background()
	phases := kindPhases(t, s.store, "Invoice")
	subject := "Invoice for Acme"
	amount := 1250.0
	inv, err := s.store.CreateActivity(ctx, models.KindByName("Invoice"), models.ActivityChanges{Subject: &subject, Amount: &amount}, models.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	b := &boardPage{t: t, s: s, page: browsertest.NewPage(t)}
	logInPage(t, s.store, b.page, s.URL)
	if _, err := b.page.Goto(s.URL + "/board?status=all&pipeline=" + phases[0].PipelineID.String()); err != nil {
		t.Fatal(err)
	}
	if err := b.page.Locator(`[data-testid="board"]`).WaitFor(); err != nil {
		t.Fatal(err)
	}
	b.expect("draft", b.subjects("Draft"), subject)
	b.expect("draft amount", b.text(`section.column[data-name="Draft"] [data-testid="column-amount"]`), "€ 1,250")
	for _, phase := range []string{"Sent", "Paid"} {
		browsertest.DragCardToTop(t, b.page, b.card(subject), b.list(phase))
		b.expect(phase, b.subjects(phase), subject)
		b.expect(phase+" count", b.count(phase), "1")
	}
	b.expect("draft after", b.subjects("Draft"), "")
	b.expect("paid amount", b.text(`section.column[data-name="Paid"] [data-testid="column-amount"]`), "€ 1,250")
	if cls, _ := b.card(subject).GetAttribute("class"); !slices.Contains(strings.Fields(cls), "closed") {
		t.Fatalf("the paid invoice's card is not shown closed: %v", cls)
	}
	got, _ := s.store.Activity(ctx, inv.ID)
	if !got.IsClosed || got.PhaseID != phases[2].ID {
		t.Fatalf("stored: closed %v phase %v", got.IsClosed, got.PhaseID)
	}
}
