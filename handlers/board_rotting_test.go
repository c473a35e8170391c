package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"phaseboard/models"
)

// cardHTML is the markup of one card on a page or in an answer ("" when it is not there).
func cardHTML(body, id string) string {
	i := strings.Index(body, `id="card-`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</li>")
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}

// A card idle in its phase longer than the phase allows (here an admin's "rotting after 5
// days") carries a "rotting" mark, on the board and in the columns re-rendered out of band
// after a move.
func TestBoardMarksRottingCards(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		_, phases := fixture(t, s.store)
		at := func(m time.Month, d int) {
			s.store.Now = func() time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
		}
		// Qualification rots after 5 days (an admin's limit). Proposal has no rule: one stay is
		// too little history for a usual time.
		q := phases["Qualification"]
		five := 5
		if err := s.store.UpdatePhase(ctx, q.ID, models.PhaseInput{Name: q.Name, DefaultProbability: q.DefaultProbability, RotAfterDays: &five}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		at(1, 1)
		stale, helper := newCard(t, s.store, "Stale deal"), newCard(t, s.store, "Helper deal")
		at(1, 3)
		if _, err := s.store.MoveActivity(ctx, helper.ID, phases["Proposal"].ID, nil, nil, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		at(1, 10)
		fresh := newCard(t, s.store, "Fresh deal")
		at(1, 11)

		c := s.client()
		code, body := c.get("/board")
		if code != 200 {
			t.Fatalf("board %d", code)
		}
		check := func(where, body, _ string) {
			t.Helper()
			mark := cardHTML(body, stale.ID.String())
			if !strings.Contains(mark, `data-testid="card-rotting"`) || !strings.Contains(mark, "Idle 10 days · limit 5") ||
				!strings.Contains(mark, `title="Rotting: in this phase for 10 days, longer than its limit of 5 days"`) {
				t.Errorf("%s: the stale card has no rotting mark: %s", where, mark)
			}
		}
		check("board", body, "2.0")
		if n := strings.Count(body, `data-testid="card-rotting"`); n != 1 {
			t.Errorf("board: %d rotting marks, want 1 (the stale card only)", n)
		}
		for _, other := range []*models.Activity{fresh, helper} {
			if html := cardHTML(body, other.ID.String()); html == "" || strings.Contains(html, "card-rotting") {
				t.Errorf("board: %s: missing or marked: %s", other.Subject, html)
			}
		}

		// "Load more" answers carry the mark too.
		_, more := c.get("/board/columns/" + phases["Qualification"].ID.String() + "/cards?pipeline=" + stale.PipelineID.String())
		check("load more", more, "2.0")

		// Saving the edit panel re-renders the card out of band: still marked.
		resp, body := c.post("/board/opportunities/"+stale.ID.String(), url.Values{"subject": {"Stale deal"},
			"probability": {"10"}, "version": {fmt.Sprint(stale.Version)}}, true)
		if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="form-saved"`) {
			t.Fatalf("save %d %s", resp.StatusCode, body)
		}
		check("after an edit", body, "2.0")

		// Dragging the fresh card to Proposal re-renders Qualification out of band: still marked.
		resp, body = c.post("/board/opportunities/"+fresh.ID.String()+"/move", url.Values{
			"phase_id": {phases["Proposal"].ID.String()}, "from_count": {"2"}, "to_count": {"1"}}, true)
		if resp.StatusCode != 200 {
			t.Fatalf("move %d %s", resp.StatusCode, body)
		}
		check("after moving another card", body, "2.0")
		// Reordering the stale card within its phase keeps its time in the phase, and the mark.
		resp, body = c.post("/board/opportunities/"+stale.ID.String()+"/move", url.Values{
			"phase_id": {phases["Qualification"].ID.String()}, "from_count": {"1"}, "to_count": {"1"}}, true)
		if resp.StatusCode != 200 {
			t.Fatalf("reorder %d %s", resp.StatusCode, body)
		}
		check("after reordering it", body, "2.0")
		// In Proposal (no rule) it has no mark.
		resp, body = c.post("/board/opportunities/"+stale.ID.String()+"/move", url.Values{
			"phase_id": {phases["Proposal"].ID.String()}, "from_count": {"1"}, "to_count": {"3"}}, true)
		if resp.StatusCode != 200 || cardHTML(body, stale.ID.String()) == "" || strings.Contains(body, "card-rotting") {
			t.Errorf("after moving it to Proposal: %d, marked: %v", resp.StatusCode, strings.Contains(body, "card-rotting"))
		}
	})
}
