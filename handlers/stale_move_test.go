package handlers_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestStaleMoveIsRefused: a move from a page that showed an older version of the card (someone
// moved it meanwhile) is refused with 409 and the columns as they are, whichever way it came
// (drag or keyboard over htmx, the no-JavaScript form, the forecast board), and writes nothing.
func TestStaleMoveIsRefused(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := newServer(t, dialect, 0)
			ctx := context.Background()
			card := newCard(t, s.store, "Contested")
			_, phases := fixture(t, s.store)
			reps, _ := s.store.Employees(ctx)
			mover := models.Actor{EmployeeID: &reps[0].ID, Role: models.RoleManager}
			c := s.client()
			c.get("/board")
			seen := strconv.Itoa(card.Version)
			// Someone else moves it to Negotiation.
			if _, err := s.store.MoveActivity(ctx, card.ID, phases["Negotiation"].ID, nil, nil, nil, mover); err != nil {
				t.Fatal(err)
			}
			before, _ := s.store.Activity(ctx, card.ID)
			form := url.Values{"phase_id": {phases["Proposal"].ID.String()}, "version": {seen},
				"from_phase": {phases["Qualification"].ID.String()}, "from_count": {"1"}, "to_count": {"1"}}
			resp, body := c.post("/board/activities/"+card.ID.String()+"/move", form, true)
			if resp.StatusCode != 409 {
				t.Fatalf("stale drag: %d %s", resp.StatusCode, body)
			}
			msg, _ := url.QueryUnescape(resp.Header.Get("X-Phaseboard-Message"))
			if !strings.Contains(msg, reps[0].FullName()) || !strings.Contains(msg, "Negotiation") {
				t.Errorf("message %q does not say who moved it and where it is", msg)
			}
			// The three columns, the card only in the one it is in.
			for _, p := range []string{"Negotiation", "Proposal", "Qualification"} {
				if !strings.Contains(body, `id="col-`+phases[p].ID.String()+`"`) {
					t.Errorf("column %s not re-rendered", p)
				}
			}
			if n := strings.Count(body, `id="card-`+card.ID.String()+`"`); n != 1 {
				t.Errorf("the card is shown %d times", n)
			}
			neg := body[strings.Index(body, `id="col-`+phases["Negotiation"].ID.String()+`"`):]
			neg = neg[:strings.Index(neg, "</section>")]
			if !strings.Contains(neg, "Contested") {
				t.Errorf("the card is not in Negotiation: %s", neg)
			}
			after, _ := s.store.Activity(ctx, card.ID)
			if after.Version != before.Version || after.PhaseID != phases["Negotiation"].ID {
				t.Fatalf("a refused move wrote: %+v", after)
			}
			// Without JavaScript: 409 too, nothing written.
			resp, _ = c.post("/board/activities/"+card.ID.String()+"/move", url.Values{"phase_id": {phases["Proposal"].ID.String()}, "version": {seen}}, false)
			if resp.StatusCode != 409 {
				t.Fatalf("stale form: %d", resp.StatusCode)
			}
			// With the version the page shows now, the move is made.
			form.Set("version", strconv.Itoa(after.Version))
			if resp, body := c.post("/board/activities/"+card.ID.String()+"/move", form, true); resp.StatusCode != 200 {
				t.Fatalf("current move: %d %s", resp.StatusCode, body)
			}
			if moved, _ := s.store.Activity(ctx, card.ID); moved.PhaseID != phases["Proposal"].ID {
				t.Fatal("the move with the current version was not made")
			}
			if resp, _ := c.post("/board/activities/"+card.ID.String()+"/move", url.Values{"phase_id": {phases["Proposal"].ID.String()}, "version": {"x"}}, true); resp.StatusCode != 400 {
				t.Fatalf("a version that is no number: %d", resp.StatusCode)
			}

			// The forecast board's move to a month: the same refusal.
			resp, body = c.post("/forecast/board/opportunities/"+card.ID.String()+"/move", url.Values{"month": {"nodate"}, "version": {seen}}, true)
			if resp.StatusCode != 409 || resp.Header.Get("X-Phaseboard-Message") == "" {
				t.Fatalf("stale forecast move: %d %s", resp.StatusCode, body)
			}
			if still, _ := s.store.Activity(ctx, card.ID); still.Version != after.Version+1 {
				t.Fatal("the refused forecast move wrote")
			}
		})
	}
}
