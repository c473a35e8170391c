package handlers_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web/authtest"
)

// Who may read what is one rule (models.ReadScope), applied at every entry point that reads
// activities: role × entry point × the installation's rep visibility (issue 9). A rep reads
// "mine" (own) and "free" (unassigned); "theirs" belongs to a colleague.
func TestVisibilityMatrix(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		s.store.Now = func() time.Time { return time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC) }
		pipe, _ := fixture(t, s.store)
		reps, _ := s.store.Employees(ctx)
		me, colleague := reps[0], reps[1]
		mk := func(subject string, amount float64, rep *uuid.UUID) *models.Activity {
			d := models.NewDate(2026, 3, 15)
			a, err := s.store.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &pipe.ID,
				EstimatedAmount: &amount, ExpectedOrderDate: &d, SalesRepresentativeID: rep}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			price := amount
			if _, err := s.store.SaveProductLine(ctx, nil, models.ProductLineChanges{ActivityID: &a.ID, Description: ptrTo("line of " + subject), Price: &price}, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			return a
		}
		mk("Mine deal", 1000, &me.ID)
		theirs, free := mk("Theirs deal", 10000, &colleague.ID), mk("Free deal", 100000, nil)

		type reader struct {
			name   string
			role   string
			cookie *http.Cookie
			token  string
		}
		var readers []reader
		for _, role := range []string{models.RoleRep, models.RoleManager, models.RoleAdmin} {
			_, cookie := authtest.Login(t, s.store, role, &me.ID)
			token, _ := authtest.Token(t, s.store, role, "read", &me.ID)
			readers = append(readers, reader{role, role, cookie, token})
		}
		api := func(r reader, path string) (int, string) {
			req, _ := http.NewRequest("GET", s.URL+"/v1/odata/"+strings.ReplaceAll(path, " ", "%20"), nil)
			req.Header.Set("Authorization", "Bearer "+r.token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		page := func(r reader, path string) (int, string) {
			c := s.client()
			c.useSession(r.cookie)
			return c.get(path)
		}
		// Each entry point answers whether the reader saw the colleague's deal.
		seesTheirs := map[string]func(r reader) bool{
			"board": func(r reader) bool {
				_, body := page(r, "/board")
				return strings.Contains(body, "Theirs deal")
			},
			"edit panel": func(r reader) bool {
				code, _ := page(r, "/board/activities/"+theirs.ID.String()+"/edit")
				return code == 200
			},
			"forecast page": func(r reader) bool {
				_, body := page(r, "/forecast?from=2026-01&to=2026-06")
				return strings.Contains(body, `data-testid="sum-weighted">€ 11,100<`)
			},
			"forecast CSV": func(r reader) bool {
				_, body := page(r, "/forecast.csv?from=2026-01&to=2026-06")
				return strings.Contains(body, "11100")
			},
			"forecast board": func(r reader) bool {
				_, body := page(r, "/forecast/board?from=2026-01&to=2026-06")
				return strings.Contains(body, "Theirs deal")
			},
			"OData list": func(r reader) bool {
				_, body := api(r, "Activity_SalesOpportunity/$count")
				return body == "3"
			},
			"OData base set": func(r reader) bool {
				_, body := api(r, "Activity?$filter=Subject eq 'Theirs deal'&$select=ID")
				return strings.Contains(body, theirs.ID.String())
			},
			"OData by key": func(r reader) bool {
				code, _ := api(r, "Activity_SalesOpportunity("+theirs.ID.String()+")")
				return code == 200
			},
			"OData $apply": func(r reader) bool {
				_, body := api(r, "Activity_SalesOpportunity?$apply=aggregate(EstimatedAmount with sum as Total)")
				return strings.Contains(body, `"Total":111000`)
			},
			"OData product lines": func(r reader) bool {
				_, body := api(r, "ProductLine?$filter=Description eq 'line of Theirs deal'&$select=ID")
				return strings.Contains(body, `"ID"`)
			},
			"OData any()": func(r reader) bool {
				_, body := api(r, "Activity_SalesOpportunity?$filter=ProductLines/any(l: l/Amount gt 5000)&$select=Subject")
				return strings.Contains(body, "Theirs deal")
			},
			"OData expand": func(r reader) bool {
				_, body := api(r, "ProductLine?$expand=Activity($select=Subject)&$select=ID")
				return strings.Contains(body, "Theirs deal")
			},
		}
		for _, policy := range []string{models.VisibilityTeam, models.VisibilityOwn} {
			s.store.RepVisibility = policy
			for _, r := range readers {
				want := policy == models.VisibilityTeam || r.role != models.RoleRep
				for entry, sees := range seesTheirs {
					if got := sees(r); got != want {
						t.Errorf("%s visibility, %s, %s: sees the colleague's deal %v, want %v", policy, r.name, entry, got, want)
					}
				}
			}
			// What a rep may always read: the own and the unassigned deal.
			rep := readers[0]
			if code, _ := page(rep, "/board/activities/"+free.ID.String()+"/edit"); code != 200 {
				t.Errorf("%s visibility: the rep cannot open an unassigned deal (%d)", policy, code)
			}
			if _, body := api(rep, "Activity_SalesOpportunity/$count"); policy == models.VisibilityOwn && body != "2" {
				t.Errorf("own visibility: the rep counts %s deals", body)
			}
		}
	})
}
