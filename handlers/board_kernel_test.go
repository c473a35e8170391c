package handlers_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"phaseboard/handlers"
	"phaseboard/models"
)

// An invoice board is a board like the sales one: its columns show count and Σ amount, a card
// moves Draft → Sent → Paid through the same move and is closed in Paid (issue 9).
func TestInvoiceBoard(t *testing.T) {
	forEachDB(t, 20, func(t *testing.T, s *server) {
		ctx := context.Background()
		phases := kindPhases(t, s.store, "Invoice")
		c := s.client()
		code, body := c.get("/board?pipeline=" + phases[0].PipelineID.String())
		if code != 200 || !strings.Contains(body, `data-testid="column-amount"`) || strings.Contains(body, `data-testid="column-weighted"`) ||
			!strings.Contains(body, "+ Add invoice") {
			t.Fatalf("invoice board: %d", code)
		}
		if !strings.Contains(body, `<option value="`+phases[0].PipelineID.String()+`" selected>`) {
			t.Fatal("the pipeline picker does not offer the invoice pipeline")
		}
		resp, _ := c.post("/board/activities", url.Values{"phase_id": {phases[0].ID.String()}, "subject": {"Invoice 7"}}, true)
		if resp.StatusCode != 200 {
			t.Fatalf("quick add: %d", resp.StatusCode)
		}
		var inv models.Activity
		if err := s.store.DB.Where("subject = ? AND type = ?", "Invoice 7", "Activity.Invoice").Take(&inv).Error; err != nil {
			t.Fatal(err)
		}
		for _, ph := range phases[1:] {
			resp, body := c.post("/board/activities/"+inv.ID.String()+"/move", url.Values{"phase_id": {ph.ID.String()}}, true)
			if resp.StatusCode != 200 || !strings.Contains(body, "Moved “Invoice 7” to "+ph.Name) {
				t.Fatalf("move to %s: %d %s", ph.Name, resp.StatusCode, body)
			}
		}
		got, _ := s.store.Activity(ctx, inv.ID)
		if !got.IsClosed || got.PhaseID != phases[len(phases)-1].ID || got.Probability != nil {
			t.Fatalf("paid invoice: closed %v phase %v probability %v", got.IsClosed, got.PhaseID, got.Probability)
		}
	})
}

// A move whose answer cannot be rendered after its commit tells the truth: the move is saved and
// the page reloads to show it; it does not say that nothing changed (issue 8).
func TestMoveThatCannotBeShownSaysItWasSaved(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		card := newCard(t, s.store, "Shown or not")
		_, phases := fixture(t, s.store)
		handlers.FailRefresh(s.h, errors.New("render failed"))
		c := s.client()
		c.get("/board")
		resp, body := c.post("/board/activities/"+card.ID.String()+"/move", url.Values{"phase_id": {phases["Proposal"].ID.String()}}, true)
		if resp.StatusCode != 200 || resp.Header.Get("HX-Refresh") != "true" || strings.Contains(body, "nothing was changed") ||
			!strings.Contains(body, "Moved “Shown or not”") {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
		}
		if got, _ := s.store.Activity(context.Background(), card.ID); got.PhaseID != phases["Proposal"].ID {
			t.Fatal("the move was not saved")
		}
	})
}

// Quick add and the edit panel check the page's filter and the form's version before anything
// is written: a refused request writes nothing, so a retry cannot duplicate a card (issue 8).
func TestRefusedFormsWriteNothing(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		card := newCard(t, s.store, "Kept")
		_, phases := fixture(t, s.store)
		c := s.client()
		c.get("/board")
		count := func() int64 {
			var n int64
			s.store.DB.Model(&models.Activity{}).Count(&n)
			return n
		}
		before := count()
		for _, ret := range []string{"status=bogus", "rep=not-an-id", "pipeline=%zz", "close=someday"} {
			resp, _ := c.post("/board/activities", url.Values{"phase_id": {phases["Qualification"].ID.String()}, "subject": {"dup"}, "return": {ret}}, true)
			if resp.StatusCode != 400 || count() != before {
				t.Fatalf("quick add with return=%s: %d, %d cards (was %d)", ret, resp.StatusCode, count(), before)
			}
			resp, _ = c.post("/board/activities/"+card.ID.String(), url.Values{"subject": {"changed"}, "version": {"1"}, "return": {ret}}, true)
			if got, _ := s.store.Activity(ctx, card.ID); resp.StatusCode != 400 || got.Subject != "Kept" {
				t.Fatalf("edit with return=%s: %d, subject %q", ret, resp.StatusCode, got.Subject)
			}
		}
		// A malformed version is refused, not taken as "no check" (version=1 OR 1=1).
		if _, err := s.store.UpdateActivity(ctx, card.ID, models.ActivityChanges{Subject: ptrTo("Changed elsewhere")}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"1 OR 1=1", "", "0", "-1", "1.0"} {
			resp, _ := c.post("/board/activities/"+card.ID.String(), url.Values{"subject": {"overwrite"}, "version": {v}}, true)
			if got, _ := s.store.Activity(ctx, card.ID); resp.StatusCode != 400 || got.Subject != "Changed elsewhere" {
				t.Fatalf("version %q: %d, subject %q", v, resp.StatusCode, got.Subject)
			}
		}
		// The stale version itself is a conflict shown in the panel, nothing written.
		resp, body := c.post("/board/activities/"+card.ID.String(), url.Values{"subject": {"overwrite"}, "version": {"1"}}, true)
		if got, _ := s.store.Activity(ctx, card.ID); resp.StatusCode != 200 || !strings.Contains(body, "changed by someone else") || got.Subject != "Changed elsewhere" {
			t.Fatalf("stale edit: %d, subject %q", resp.StatusCode, got.Subject)
		}
	})
}

func ptrTo[T any](v T) *T { return &v }
