package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// TestLostToWonThroughEveryDoor: a deal moved from Lost to Won loses its lost reason and
// competitor whichever door moves it: a drag on the board, "Move to" (the keyboard's and the
// no-JS form's endpoint), the API's seed form (POST with the ID) and a PATCH binding the phase.
func TestLostToWonThroughEveryDoor(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			ctx := context.Background()
			reasons, _ := e.srv.store.LostReasons(ctx)
			rivals, _ := e.srv.store.Competitors(ctx)
			if len(reasons) == 0 || len(rivals) == 0 {
				t.Fatal("the demo has no lost reasons or competitors")
			}
			won, lost := e.phases["Won"], e.phases["Lost"]
			c := e.srv.client()
			c.get("/board")
			set := "Activity_SalesOpportunity"
			doors := map[string]func(id string) int{
				"drag": func(id string) int {
					resp, _ := c.post("/board/activities/"+id+"/move", url.Values{"phase_id": {won.ID.String()}}, true)
					return resp.StatusCode
				},
				"move to, without JavaScript": func(id string) int {
					resp, _ := c.post("/board/activities/"+id+"/move", url.Values{"phase_id": {won.ID.String()}, "source": {"form"}}, false)
					return resp.StatusCode
				},
				"API POST with the ID": func(id string) int {
					return e.do("POST", set, fmt.Sprintf(`{"ID":%q,"Phase":{"ID":%q}}`, id, won.ID)).status
				},
				"API PATCH": func(id string) int {
					return e.do("PATCH", set+"("+id+")", fmt.Sprintf(`{"Phase@odata.bind":"Datastore_Phase_ActivitySalesOpportunity(%s)"}`, won.ID)).status
				},
			}
			for door, move := range doors {
				card := newCard(t, e.srv.store, "Lost, then won: "+door)
				if _, err := e.srv.store.MoveActivity(ctx, card.ID, lost.ID, nil, nil, nil, models.Actor{}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.srv.store.UpdateActivity(ctx, card.ID, models.ActivityChanges{LostReasonID: &reasons[0].ID, LostToCompetitorID: &rivals[0].ID}, models.Actor{}); err != nil {
					t.Fatal(err)
				}
				status := move(card.ID.String())
				got, err := e.srv.store.Activity(ctx, card.ID)
				if err != nil || status >= 400 {
					t.Fatalf("%s: %d %v", door, status, err)
				}
				if got.PhaseID != won.ID || got.LostReasonID != nil || got.LostToCompetitorID != nil || !got.IsClosed {
					t.Errorf("%s: phase won %v, lost reason %v, competitor %v, closed %v", door, got.PhaseID == won.ID, got.LostReasonID, got.LostToCompetitorID, got.IsClosed)
				}
			}
		})
	}
}

// TestMalformedPageURLRefusesBeforeWriting: the page a form came from may be named by the
// return field, HX-Current-URL or Referer; a malformed one is refused before anything is written,
// whichever carried it, so a retry cannot duplicate the card.
func TestMalformedPageURLRefusesBeforeWriting(t *testing.T) {
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
		send := func(path string, form url.Values, header, value string) int {
			req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("HX-Request", "true")
			req.Header.Set("X-CSRF-Token", c.csrf)
			req.Header.Set(header, value)
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		before := count()
		for _, header := range []string{"HX-Current-URL", "Referer"} {
			for _, page := range []string{"/board?status=bogus", "/board?rep=not-an-id", "/board?pipeline=%zz"} {
				value := c.base + page
				if status := send("/board/activities", url.Values{"phase_id": {phases["Qualification"].ID.String()}, "subject": {"dup"}}, header, value); status != 400 || count() != before {
					t.Fatalf("quick add from %s %s: %d, %d cards (was %d)", header, page, status, count(), before)
				}
				status := send("/board/activities/"+card.ID.String(), url.Values{"subject": {"changed"}, "version": {"1"}}, header, value)
				if got, _ := s.store.Activity(ctx, card.ID); status != 400 || got.Subject != "Kept" {
					t.Fatalf("edit from %s %s: %d, subject %q", header, page, status, got.Subject)
				}
			}
		}
	})
}

// TestODataRefusedPipelineChangeWritesNothing: the pipeline half of the composite admin change,
// through the API: archiving the last active sales pipeline together with a rename is refused
// and the rename is not kept.
func TestODataRefusedPipelineChangeWritesNothing(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			ctx := context.Background()
			pipes, err := e.srv.store.SalesPipelines(ctx)
			if err != nil {
				t.Fatal(err)
			}
			off := false
			for _, p := range pipes[1:] {
				if _, err := e.srv.store.SavePipeline(ctx, &p.ID, models.PipelineChanges{IsActive: &off}, models.Actor{}); err != nil {
					t.Fatal(err)
				}
			}
			admin, _ := authtest.Token(t, e.srv.store, models.RoleAdmin, "read write", nil)
			e.token = admin
			last := pipes[0]
			r := e.do("PATCH", "Pipeline("+last.ID.String()+")", `{"Name":"Renamed","IsActive":false}`)
			if r.status != 400 && r.status != 409 {
				t.Fatalf("archiving the last sales pipeline: %d %s", r.status, r.body)
			}
			got, _ := e.srv.store.Pipeline(ctx, last.ID)
			if got.Name != last.Name || !got.IsActive {
				t.Fatalf("half written: %q active %v", got.Name, got.IsActive)
			}
		})
	}
}
