package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// Notes on every activity (Tribe's Notes), on both databases: a create carries its notes and
// makes both in one transaction; a bad note refuses the whole create and writes nothing;
// $expand=Notes(...) reads them; the Note set writes them by the activity's edit rule.
func TestODataNotes(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			count := func(set string) string { return e.do("GET", set+"/$count", "").body }
			acts, notes := count("Activity"), count("Note")

			// A bad note (no Content, a wrong type, an ID, a back-link, too long) refuses the create.
			long := strings.Repeat("x", 10001)
			for _, body := range []string{
				`{"Subject":"Deep","Notes":[{"Content":"fine"},{"IsPinned":true}]}`,
				`{"Subject":"Deep","Notes":[{"Content":"fine"},{"Content":42}]}`,
				`{"Subject":"Deep","Notes":[{"ID":"00000000-0000-4000-8000-000000000999","Content":"x"}]}`,
				`{"Subject":"Deep","Notes":[{"Content":"x","Activity":{"ID":"00000000-0000-4000-8000-000000000999"}}]}`,
				`{"Subject":"Deep","Notes":[{"Content":"` + long + `"}]}`,
				`{"Subject":"Deep","Notes":[{"Content":"x","Nonsense":1}]}`,
				`{"Subject":"Deep","Notes":{"Content":"not an array"}}`,
				`{"Subject":"Deep","Notes":[{"Content":"x","ImportId":"n:1"},{"Content":"y","ImportId":"n:1"}]}`, // one ImportId twice
			} {
				r := e.do("POST", "Activity_SalesOpportunity", body)
				if r.status != 400 && r.status != 409 || !strings.Contains(r.body, `"target":"Notes`) {
					t.Errorf("POST %.80s: %d %s", body, r.status, r.body)
				}
			}
			if a, n := count("Activity"), count("Note"); a != acts || n != notes {
				t.Fatalf("refused creates wrote: activities %s → %s, notes %s → %s", acts, a, notes, n)
			}

			emps, _ := e.srv.store.Employees(t.Context())
			r := e.do("POST", "Activity_SalesOpportunity", `{"Subject":"Deep","SalesRepresentative":{"ID":"`+emps[0].ID.String()+`"},`+
				`"Notes":[{"Content":"Called Jan","ImportId":"n:1"},{"Content":"Budget approved","IsPinned":true}]}`)
			if r.status != 201 {
				t.Fatalf("deep insert: %d %s", r.status, r.body)
			}
			// The answer is expanded as deep as the request (OData 4.0 §11.4.2.2): the new notes, with their IDs.
			if created, _ := r.entity["Notes"].([]any); len(created) != 2 || created[0].(map[string]any)["ID"] == nil ||
				!strings.Contains(r.body, `$metadata#Activity_SalesOpportunity(Notes())/$entity"`) {
				t.Fatalf("the deep insert's answer does not carry its notes: %s", r.body)
			}
			opp := r.entity["ID"].(string)
			r = e.do("GET", "Activity_SalesOpportunity("+opp+")?$select=Subject&$expand=Notes($select=Content,IsPinned,ImportId;$orderby=IsPinned desc,Content)", "")
			if want := `"Notes":[{"ImportId":null,"Content":"Budget approved","IsPinned":true},{"ImportId":"n:1","Content":"Called Jan","IsPinned":false}]`; !strings.Contains(r.body, want) {
				t.Fatalf("$expand=Notes: %s, want %s", r.body, want)
			}
			if r := e.do("GET", "Note?$filter=Activity/Subject eq 'Deep' and IsPinned&$select=Content&$expand=CreatedBy($select=Name)", ""); !strings.Contains(r.body, `"Content":"Budget approved","CreatedBy":{"Name":"Anna de Vries"}`) {
				t.Errorf("notes by their activity, with the author: %s", r.body)
			}
			// Every kind has them.
			if r := e.do("POST", "Activity_Invoice", `{"Subject":"Bill","Notes":[{"Content":"Paid by card"}]}`); r.status != 201 {
				t.Fatalf("invoice with a note: %d %s", r.status, r.body)
			}
			// Notes are added through their own set afterwards; a change of the activity cannot carry them.
			if r := e.do("PATCH", "Activity_SalesOpportunity("+opp+")", `{"Notes":[{"Content":"late"}]}`); r.status != 400 {
				t.Errorf("PATCH with notes: %d %s", r.status, r.body)
			}
			r = e.do("POST", "Note", fmt.Sprintf(`{"Activity":{"ID":%q},"Content":"Sent the quote"}`, opp))
			if r.status != 201 || r.entity["IsPinned"] != false {
				t.Fatalf("note: %d %s", r.status, r.body)
			}
			note := r.entity["ID"].(string)
			if r := e.do("PATCH", "Note("+note+")", `{"IsPinned":true}`); r.status != 200 && r.status != 204 {
				t.Fatalf("pin: %d %s", r.status, r.body)
			}
			if r := e.do("GET", "Activity_SalesOpportunity("+opp+")/Notes/$count", ""); r.body != "3" {
				t.Errorf("notes of the opportunity: %s", r.body)
			}
			// A rep may not write on a colleague's activity, nor read its notes under own visibility.
			rep, _ := authtest.Token(t, e.srv.store, models.RoleRep, "read write", &emps[1].ID)
			if r := e.do("POST", "Note", fmt.Sprintf(`{"Activity":{"ID":%q},"Content":"not mine"}`, opp), "Authorization", "Bearer "+rep); r.status != 403 {
				t.Errorf("a rep's note on a colleague's deal: %d %s", r.status, r.body)
			}
			if r := e.do("DELETE", "Note("+note+")", "", "Authorization", "Bearer "+rep); r.status != 403 {
				t.Errorf("a rep deletes a colleague's note: %d %s", r.status, r.body)
			}
			if r := e.do("DELETE", "Note("+note+")", ""); r.status != 204 {
				t.Errorf("delete: %d %s", r.status, r.body)
			}
			// Deleting the activity deletes its notes.
			if r := e.do("DELETE", "Activity_SalesOpportunity("+opp+")", ""); r.status != 204 {
				t.Fatalf("delete the opportunity: %d %s", r.status, r.body)
			}
			if r := e.do("GET", "Note?$filter=Content eq 'Called Jan'&$count=true&$top=0", ""); !strings.Contains(r.body, `"@odata.count":0`) {
				t.Errorf("notes outlived their activity: %s", r.body)
			}
		})
	}
}
