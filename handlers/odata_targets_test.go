package handlers_test

import (
	"context"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// SalesTarget through the API: Tribe's body (Amount, Person, SalesCategory) with the period,
// the Store's rules (a whole month or quarter, no overlap, managers only), and reads limited
// like the activities (a rep who sees only their own reads their targets and the team's).
func TestODataSalesTargets(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newWriteEnv(t, d)
			ctx := context.Background()
			emps, _ := e.srv.store.Employees(ctx)
			anna, bram := emps[0], emps[1]
			// Sales categories are the admins' (a manager's POST is refused).
			if r := e.do("POST", "Datastore_SalesCategory", `{"Name":"Licences","Code":"LIC"}`); r.status != 403 {
				t.Fatalf("a manager's category %d %s", r.status, r.body)
			}
			catUUID, err := e.srv.store.SaveSalesCategory(ctx, nil, models.NamedChanges{Name: ptrTo("Licences"), Code: ptrTo("LIC")}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			catID := catUUID.String()
			r := e.do("POST", "SalesTarget", `{"Amount":40000,"Person":{"ID":"`+anna.ID.String()+`"},"StartDate":"2026-01-01","EndDate":"2026-03-31"}`)
			if r.status != 201 || r.entity["Amount"] != 40000.0 || r.entity["_Name"] != "Anna de Vries 2026-01-01" {
				t.Fatalf("create %d %s", r.status, r.body)
			}
			id := r.entity["ID"].(string)
			if r := e.do("POST", "SalesTarget", `{"Amount":5000,"Person@odata.bind":"Relation_Person_Contact_Employee(`+bram.ID.String()+`)","SalesCategory":{"ID":"`+catID+`"},"StartDate":"2026-02-01","EndDate":"2026-02-28"}`); r.status != 201 {
				t.Fatalf("Bram's licences %d %s", r.status, r.body)
			}
			if r := e.do("POST", "SalesTarget", `{"Amount":100000,"StartDate":"2026-01-01","EndDate":"2026-03-31"}`); r.status != 201 {
				t.Fatalf("team target %d %s", r.status, r.body)
			}
			for body, want := range map[string]int{
				`{"Amount":1,"Person":{"ID":"` + anna.ID.String() + `"},"StartDate":"2026-02-01","EndDate":"2026-02-28"}`: 409, // inside Anna's quarter
				`{"Amount":1,"StartDate":"2026-02-02","EndDate":"2026-02-28"}`:                                            400,
				`{"Amount":-1,"StartDate":"2026-05-01","EndDate":"2026-05-31"}`:                                           400,
				`{"Amount":1,"StartDate":"2026-05-01","EndDate":"2026-05-31","Colour":"red"}`:                             400,
				`{"Amount":"a lot","StartDate":"2026-05-01","EndDate":"2026-05-31"}`:                                      400,
			} {
				if r := e.do("POST", "SalesTarget", body); r.status != want {
					t.Errorf("%s: %d %s, want %d", body, r.status, r.body, want)
				}
			}
			if r := e.do("PATCH", "SalesTarget("+id+")", `{"Amount":45000}`); r.status != 204 && r.status != 200 {
				t.Fatalf("patch %d %s", r.status, r.body)
			}
			r = e.do("GET", "SalesTarget("+id+")?$expand=Person($select=FirstName)", "")
			if r.status != 200 || r.entity["Amount"] != 45000.0 || r.entity["Person"].(map[string]any)["FirstName"] != "Anna" {
				t.Fatalf("read %d %s", r.status, r.body)
			}
			if r := e.do("GET", "SalesTarget?$filter=SalesCategory/Code eq 'LIC'&$select=Amount", ""); !strings.Contains(r.body, `"Amount":5000`) || strings.Contains(r.body, "45000") {
				t.Errorf("filter by category: %s", r.body)
			}

			// A rep may not write targets; with own visibility a rep reads theirs and the team's.
			e.srv.store.RepVisibility = models.VisibilityOwn
			repToken, _ := authtest.Token(t, e.srv.store, models.RoleRep, "read write", &bram.ID)
			manager := e.token
			e.token = repToken
			if r := e.do("POST", "SalesTarget", `{"Amount":1,"StartDate":"2026-06-01","EndDate":"2026-06-30"}`); r.status != 403 {
				t.Errorf("a rep's target: %d %s", r.status, r.body)
			}
			r = e.do("GET", "SalesTarget?$select=Amount&$orderby=Amount", "")
			if r.status != 200 || !strings.Contains(r.body, `"value":[{"Amount":5000},{"Amount":100000}]`) {
				t.Errorf("Bram reads %s", r.body)
			}
			if r := e.do("DELETE", "SalesTarget("+id+")", ""); r.status != 404 && r.status != 403 {
				t.Errorf("a rep deleted Anna's target: %d", r.status)
			}
			e.token = manager
			if r := e.do("DELETE", "SalesTarget("+id+")", ""); r.status != 204 {
				t.Errorf("delete %d %s", r.status, r.body)
			}
		})
	}
}
