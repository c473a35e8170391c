package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"phaseboard/models"
)

// TestBoardRefusesBadText: invalid UTF-8 and NUL in the board's query and forms are a clear 400
// before any handler runs, on both databases (PostgreSQL answered 500), and change nothing.
func TestBoardRefusesBadText(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		c := s.client()
		if code, _ := c.get("/board"); code != 200 {
			t.Fatalf("board: %d", code)
		}
		for _, q := range []string{"q=a%00b", "q=%FF%FE", "q=ok&status=%C3", "%FF=1"} {
			if code, body := c.get("/board?" + q); code != 400 || !strings.Contains(body, "refused") {
				t.Errorf("/board?%s: %d %.200s", q, code, body)
			}
		}
		// A long search is cut at a character boundary, never inside one (half an "é" is invalid UTF-8).
		if code, body := c.get("/board?q=" + strings.Repeat("a", 199) + "%C3%A9"); code != 200 {
			t.Errorf("long search: %d %.200s", code, body)
		}
		_, phases := fixture(t, s.store)
		opp := newCard(t, s.store, "Keep me")
		before := cardCount(t, s)
		for _, bad := range []string{"a\x00b", "\xff\xfe", "ok\xc3"} {
			for _, htmx := range []bool{true, false} {
				resp, body := c.post("/board/opportunities", url.Values{"phase_id": {phases["Qualification"].ID.String()}, "subject": {bad}}, htmx)
				if resp.StatusCode != 400 || !strings.Contains(body, "subject") {
					t.Errorf("quick add %q (htmx %v): %d %.200s", bad, htmx, resp.StatusCode, body)
				}
				resp, body = c.post("/board/opportunities/"+opp.ID.String(), url.Values{"subject": {bad}, "version": {fmt.Sprint(opp.Version)}}, htmx)
				if resp.StatusCode != 400 || !strings.Contains(body, "subject") {
					t.Errorf("edit save %q (htmx %v): %d %.200s", bad, htmx, resp.StatusCode, body)
				}
			}
		}
		// The page's filter comes back from the return field of a mutation, decoded by the handler.
		if code, body := c.get("/board/opportunities/" + opp.ID.String() + "/edit?q=%2500"); code != 200 {
			t.Errorf("edit with a literal %%00 in the search: %d %.200s", code, body)
		}
		if after := cardCount(t, s); after != before {
			t.Errorf("refused posts created cards: %d before, %d after", before, after)
		}
		if got, _ := s.store.Activity(ctx, opp.ID); got.Subject != "Keep me" || got.Version != opp.Version {
			t.Errorf("a refused edit changed the card: %+v", got)
		}
	})
}

// TestDatesOutsideTheRangeAreRefused: 0000-01-01 (valid in the OData ABNF, refused by
// PostgreSQL) and other dates outside 0001-01-01 … 9999-12-31 cannot be written by the edit form,
// the forecast board or the API, and $filter refuses them with a 400, on both databases.
func TestDatesOutsideTheRangeAreRefused(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			s := e.srv
			ctx := context.Background()
			c := s.client()
			c.get("/board")
			opp := newCard(t, s.store, "Dated deal")
			path := "/board/opportunities/" + opp.ID.String()
			for _, d := range []string{"0000-01-01", "0000-12-31", "10000-01-01"} {
				resp, body := c.post(path, url.Values{"subject": {"Dated deal"}, "expected_order_date": {d}, "version": {fmt.Sprint(opp.Version)}}, false)
				if (resp.StatusCode != 400 && resp.StatusCode != 422) || !strings.Contains(body, "Enter a date") {
					t.Errorf("edit save with %s: %d %.200s", d, resp.StatusCode, body)
				}
				r := e.do("PATCH", "Activity_SalesOpportunity("+opp.ID.String()+")", `{"ExpectedOrderDate": "`+d+`"}`)
				if r.status < 400 || r.status >= 500 || !strings.Contains(r.body, "ExpectedOrderDate") {
					t.Errorf("PATCH with %s: %d %s", d, r.status, r.body)
				}
			}
			for _, month := range []string{"0000-01", "0000-12", "10000-01"} {
				resp, body := c.post("/forecast/board/opportunities/"+opp.ID.String()+"/move", url.Values{"month": {month}}, true)
				if resp.StatusCode != 400 {
					t.Errorf("forecast move to %s: %d %.200s", month, resp.StatusCode, body)
				}
			}
			if got, _ := s.store.Activity(ctx, opp.ID); got.ExpectedOrderDate != nil && !got.ExpectedOrderDate.IsZero() || got.Version != opp.Version {
				t.Errorf("a refused date was written: %+v", got)
			}
			for _, f := range []string{"ExpectedOrderDate eq 0000-01-01", "CreationDate lt 0000-12-31T00:00:00Z"} {
				r := e.do("GET", "Activity_SalesOpportunity?$filter="+url.QueryEscape(f), "")
				if r.status != 400 || !strings.Contains(r.body, "outside the supported range") {
					t.Errorf("$filter=%s: %d %s", f, r.status, r.body)
				}
			}
		})
	}
}

func cardCount(t *testing.T, s *server) int64 {
	t.Helper()
	var n int64
	if err := s.store.DB.Model(&models.Activity{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
