package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// Tribe's relation model over the demo data, on both databases: every new set and navigation
// reads, the seeds' sets serve the same rows, and the writes keep the names in one place
// (issue 11).
func TestODataRelationModel(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			s := e.srv.store
			ctx := context.Background()
			emps, _ := s.Employees(ctx)
			anna, err := s.Employee(ctx, emps[0].ID) // Anna de Vries
			if err != nil || anna.FirstName != "Anna" {
				t.Fatal(anna, err)
			}
			rels, _ := s.Relationships(ctx)
			acme := rels[0] // Acme Logistics
			var contact models.Contact
			if err := s.DB.Where("relationship_id = ?", acme.ID).Order("id").Take(&contact).Error; err != nil {
				t.Fatal(err)
			}
			contactOf, _ := s.Contact(ctx, contact.ID)
			ids := strings.NewReplacer("{anna}", anna.ID.String(), "{annaPerson}", anna.PersonID.String(), "{acme}", acme.ID.String(),
				"{acmeOrg}", acme.OrganizationID.String(), "{contact}", contact.ID.String(), "{ident}", models.IdentityOrganizationID.String())

			reads := []struct {
				path string
				want []string // substrings of the body
			}{
				{"Relation_Person?$filter=LastName eq 'de Vries'&$select=FirstName,MiddleName,LastName,EmailAddress,PhoneNumber,MobilePhoneNumber",
					[]string{`"EmailAddress":"anna@phaseboard.example","PhoneNumber":"","FirstName":"Anna","MiddleName":"","LastName":"de Vries","MobilePhoneNumber":""`}},
				{"Relationship_Person_Contact_Employee({anna})?$select=Name,_Type&$expand=Person($select=FirstName),Relation($select=Name)",
					[]string{`"_Type":"Relationship.Person.Contact.Employee"`, `"Name":"Anna de Vries"`, `"Person":{"FirstName":"Anna"}`, `"Relation":{"Name":"Our organisation"}`}},
				{"Relation_Person_Contact_Employee({anna})?$select=FirstName,Email", []string{`"FirstName":"Anna","Email":"anna@phaseboard.example"`}},
				{"Relationship_Person_Contact_Employee?$filter=Person/LastName eq 'Jansen'&$select=Name", []string{`"value":[{"Name":"Bram Jansen"}]`}},
				{"Relationship_Organization_CommercialRelationship_Customer({acme})?$select=Name,City&$expand=Organization($select=Name)",
					[]string{`"Name":"Acme Logistics"`, `"Organization":{"Name":"Acme Logistics"}`}},
				{"Relationship({acme})?$select=_Type,Name", []string{`"_Type":"Relationship.Organization.CommercialRelationship.Customer","Name":"Acme Logistics"`}},
				{"Relationship_Organization_CommercialRelationship_Customer/$count", []string{fmt.Sprint(len(rels))}},
				{"Relationship/$count", []string{fmt.Sprint(len(rels))}}, // the identity is not a customer
				{"Relationship_Organization_CommercialRelationship_Lead/$count", []string{"0"}},
				{"Relationship_Organization_Identity?$select=_Type&$expand=Organization($select=ID,Name)",
					[]string{`"_Type":"Relationship.Organization.Identity"`, `"Organization":{"ID":"{ident}","Name":"Our organisation"}`}},
				{"Relationship_Person_Contact_Standard({contact})?$select=Name&$expand=Person($select=FirstName,EmailAddress),Relation($select=ID,Name)",
					[]string{`"Name":"` + contactOf.FirstName + " " + contactOf.LastName + `"`, `"Person":{"EmailAddress":"` + contactOf.Email + `","FirstName":"` + contactOf.FirstName + `"}`,
						`"Relation":{"ID":"{acmeOrg}","Name":"Acme Logistics"}`}},
				{"Relation_Person_Contact({contact})?$select=FirstName,Email&$expand=Relationship($select=Name)",
					[]string{`"FirstName":"` + contactOf.FirstName + `","Email":"` + contactOf.Email + `"`, `"Relationship":{"Name":"Acme Logistics"}`}},
				{"Relationship_Organization_Competitor?$filter=Name eq 'HubSpot'&$select=Name&$expand=Organization($select=Name)",
					[]string{`"Name":"HubSpot","Organization":{"Name":"HubSpot"}`}},
				{"Relation_Organization?$filter=Name eq 'HubSpot'&$select=Name,_Type", []string{`"value":[{"_Type":"Relation.Organization","Name":"HubSpot"}]`}},
				{"Relation({annaPerson})?$select=_Name,EmailAddress", []string{`"_Name":"Anna de Vries","EmailAddress":"anna@phaseboard.example"`}},
				{"Relation/$count", []string{fmt.Sprint(5 + 2*len(rels) + len(rels) + 3 + 1)}}, // reps, contacts, customers, competitors, ours
				{"Activity_SalesOpportunity?$filter=SalesRepresentative/FirstName eq 'Anna'&$select=Subject&$top=1&$count=true", []string{`"@odata.count":`}},
			}
			for _, c := range reads {
				r := e.do("GET", ids.Replace(c.path), "")
				for _, w := range c.want {
					if r.status != 200 || !strings.Contains(r.body, ids.Replace(w)) {
						t.Errorf("GET %s: %d, want %s in %s", c.path, r.status, ids.Replace(w), r.body)
					}
				}
			}

			// A person's rename shows in every set that names them, and on the board.
			if r := e.do("PATCH", ids.Replace("Relation_Person({annaPerson})"), `{"FirstName":"Anne","MiddleName":"M."}`); r.status != 200 && r.status != 204 {
				t.Fatalf("rename: %d %s", r.status, r.body)
			}
			if r := e.do("GET", ids.Replace("Relation_Person_Contact_Employee({anna})?$select=FirstName"), ""); !strings.Contains(r.body, `"FirstName":"Anne"`) {
				t.Errorf("seed set after the rename: %s", r.body)
			}
			var act models.Activity
			if err := s.DB.Where("sales_representative_id = ?", anna.ID).Take(&act).Error; err == nil {
				if card, err := s.Card(models.WithActor(ctx, models.Actor{}), act.ID); err != nil || card.RepName != "Anne de Vries" {
					t.Errorf("card after the rename: %+v %v", card, err)
				}
			}

			// Leads: created with their organisation, in the base set, not among the customers.
			r := e.do("POST", "Relationship_Organization_CommercialRelationship_Lead", `{"Name":"Initech","City":"Austin"}`)
			if r.status != 201 || r.entity["_Type"] != models.TypeLead || r.entity["Name"] != "Initech" {
				t.Fatalf("lead: %d %s", r.status, r.body)
			}
			lead := r.entity["ID"].(string)
			if r := e.do("GET", "Relation_Organization?$filter=Name eq 'Initech'&$count=true&$select=Name", ""); !strings.Contains(r.body, `"@odata.count":1`) {
				t.Errorf("the lead's organisation: %s", r.body)
			}
			if r := e.do("GET", "Relationship("+lead+")?$select=Name", ""); r.status != 200 {
				t.Errorf("lead in Relationship: %d", r.status)
			}
			if r := e.do("GET", "Relationship_Organization_CommercialRelationship_Customer("+lead+")", ""); r.status != 404 {
				t.Errorf("lead among the customers: %d", r.status)
			}
			if r := e.do("DELETE", "Relationship_Organization_CommercialRelationship_Customer("+lead+")", ""); r.status != 404 {
				t.Errorf("lead deleted as a customer: %d %s", r.status, r.body)
			}

			// A contact linking an existing person and organisation (Tribe's way).
			r = e.do("POST", "Relation_Person", `{"FirstName":"Zoe","LastName":"Zimmer","EmailAddress":"zoe@example.com","MobilePhoneNumber":"+31 6 1234"}`)
			if r.status != 201 || r.entity["_Type"] != models.TypePerson {
				t.Fatalf("person: %d %s", r.status, r.body)
			}
			zoe := r.entity["ID"].(string)
			r = e.do("POST", "Relationship_Person_Contact_Standard", ids.Replace(`{"Person":{"ID":"`+zoe+`"},"Relation":{"ID":"{acmeOrg}"}}`))
			if r.status != 201 || r.entity["Name"] != "Zoe Zimmer" {
				t.Fatalf("contact of an existing person: %d %s", r.status, r.body)
			}
			if r := e.do("GET", "Relation_Person_Contact("+r.entity["ID"].(string)+")?$select=Email&$expand=Relationship($select=ID)", ""); !strings.Contains(r.body, `"Email":"zoe@example.com"`) ||
				!strings.Contains(r.body, ids.Replace(`"Relationship":{"ID":"{acme}"}`)) {
				t.Errorf("the new contact in the seeds' set: %s", r.body)
			}

			// Refused writes write nothing.
			countOf := func(set string) string { return e.do("GET", set+"/$count", "").body }
			persons, orgs := countOf("Relation_Person"), countOf("Relation_Organization")
			for _, c := range []struct {
				method, path, body string
				status             int
			}{
				{"POST", "Relation_Person", `{"FirstName":"Bad","EmailAddress":"not an email"}`, 400},
				{"POST", "Relation_Person", `{"MiddleName":"van"}`, 400},
				{"POST", "Relation_Person", `{"Name":"Not a person's field"}`, 400},
				{"POST", "Relation_Organization", `{"PhoneNumber":"1"}`, 400},
				{"POST", "Relationship_Person_Contact_Standard", `{"Person":{"ID":"{acmeOrg}"}}`, 400}, // an organisation is no person
				{"DELETE", "Relation_Person({annaPerson})", "", 409},                                   // still Anna's
				{"DELETE", "Relation_Organization({ident})", "", 409},
				{"DELETE", "Relation_Person({acmeOrg})", "", 404},
				{"PATCH", "Relation_Person_Contact_Employee({anna})", `{"FirstName":"X"}`, 400}, // the person's field
			} {
				if r := e.do(c.method, ids.Replace(c.path), ids.Replace(c.body)); r.status != c.status {
					t.Errorf("%s %s %s: %d, want %d: %s", c.method, c.path, c.body, r.status, c.status, r.body)
				}
			}
			if p, o := countOf("Relation_Person"), countOf("Relation_Organization"); p != persons || o != orgs {
				t.Errorf("refused writes changed the relations: persons %s → %s, organisations %s → %s", persons, p, orgs, o)
			}
		})
	}
}

// Employees are not deleted through the API (a clear 409, as Tribe refuses it); an admin
// deactivates one, who leaves the pickers and keeps their deals and name.
func TestODataEmployeesAreDeactivatedNotDeleted(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			s := e.srv.store
			ctx := context.Background()
			emps, _ := s.Employees(ctx)
			bram := emps[1]
			admin, _ := authtest.Token(t, s, models.RoleAdmin, "read write", &emps[0].ID)
			for _, set := range []string{"Relationship_Person_Contact_Employee", "Relation_Person_Contact_Employee"} {
				for _, tok := range []string{e.token, admin} {
					r := e.do("DELETE", set+"("+bram.ID.String()+")", "", "Authorization", "Bearer "+tok)
					if r.status != 409 || !strings.Contains(r.body, "cannot be deleted") {
						t.Fatalf("DELETE %s: %d %s", set, r.status, r.body)
					}
				}
				if r := e.do("DELETE", set+"(00000000-0000-4000-8000-000000000999)", "", "Authorization", "Bearer "+admin); r.status != 404 {
					t.Errorf("DELETE of no employee: %d", r.status)
				}
				if r := e.do("POST", set, `{"IsActive":true}`, "Authorization", "Bearer "+admin); r.status != 400 {
					t.Errorf("POST %s: %d %s", set, r.status, r.body)
				}
			}
			var deals int64
			s.DB.Model(&models.Activity{}).Where("sales_representative_id = ?", bram.ID).Count(&deals)
			// A manager may not; an admin may.
			if r := e.do("PATCH", "Relationship_Person_Contact_Employee("+bram.ID.String()+")", `{"IsActive":false}`); r.status != 403 {
				t.Fatalf("manager deactivates: %d %s", r.status, r.body)
			}
			if r := e.do("PATCH", "Relationship_Person_Contact_Employee("+bram.ID.String()+")", `{"IsActive":false}`, "Authorization", "Bearer "+admin); r.status != 200 && r.status != 204 {
				t.Fatalf("admin deactivates: %d %s", r.status, r.body)
			}
			after, _ := s.Employees(ctx)
			for _, x := range after {
				if x.ID == bram.ID {
					t.Fatal("a deactivated employee is still offered in the pickers")
				}
			}
			var still int64
			s.DB.Model(&models.Activity{}).Where("sales_representative_id = ?", bram.ID).Count(&still)
			if still != deals {
				t.Fatalf("deals of the deactivated employee: %d, were %d", still, deals)
			}
			if r := e.do("GET", "Relationship_Person_Contact_Employee("+bram.ID.String()+")?$select=Name,IsActive", ""); !strings.Contains(r.body, `"IsActive":false,"Name":"Bram Jansen"`) {
				t.Fatalf("the deactivated employee: %s", r.body)
			}
		})
	}
}

// GetCurrentEmployee() answers for every API client (issue 11): the employee chosen for it, else
// its own, named after it; $expand=Person and $select work on it, on both databases.
func TestGetCurrentEmployeeOfEveryClient(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			srv := newServer(t, dialect, 0)
			s := srv.store
			emps, _ := s.Employees(context.Background())
			anna := emps[0]
			chosen, _ := authtest.Token(t, s, models.RoleRep, "read", &anna.ID)
			ctx := context.Background()
			client, _, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "Nightly ERP import", Scopes: []string{"read"}}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			if client.EmployeeID == nil || *client.EmployeeID != client.ID {
				t.Fatalf("a client given no employee: employee %v", client.EmployeeID)
			}
			own, _, err := s.IssueToken(ctx, client, "")
			if err != nil {
				t.Fatal(err)
			}
			get := func(tok, path string) (int, string) {
				req, _ := http.NewRequest("GET", srv.URL+"/v1/odata/"+strings.ReplaceAll(path, " ", "%20"), nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}
			for _, c := range []struct {
				tok, path string
				want      []string
				not       string
			}{
				{chosen, "GetCurrentEmployee()?$select=Name&$expand=Person($select=FirstName,LastName)",
					[]string{`"Name":"Anna de Vries"`, `"Person":{"FirstName":"Anna","LastName":"de Vries"}`}, `"IsActive"`},
				{own, "GetCurrentEmployee()?$select=Name,IsActive&$expand=Person($select=LastName),Relation($select=Name)",
					[]string{`"Name":"Nightly ERP import"`, `"IsActive":true`, `"Person":{"LastName":"Nightly ERP import"}`, `"Relation":{"Name":"Our organisation"}`,
						`#Relationship_Person_Contact_Employee(`}, `"_Type"`},
				{own, "Relationship_Person_Contact_Employee(" + client.ID.String() + ")?$select=Name", []string{`"Name":"Nightly ERP import"`}, ""},
			} {
				status, body := get(c.tok, c.path)
				for _, w := range c.want {
					if status != 200 || !strings.Contains(body, w) {
						t.Errorf("GET %s: %d, want %s in %s", c.path, status, w, body)
					}
				}
				if c.not != "" && strings.Contains(body, c.not) {
					t.Errorf("GET %s: $select let %s through: %s", c.path, c.not, body)
				}
			}
		})
	}
}

// TestGetCurrentEmployeeOfAUsersToken: a token a user's consent issued acts as that user's
// employee; a user who had none gets one, named after their email, when the first token is
// issued (one only: a refresh reuses it), so GetCurrentEmployee answers 200 with its Person
// rather than 404. On both databases.
func TestGetCurrentEmployeeOfAUsersToken(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			srv := newServer(t, dialect, 0)
			s := srv.store
			ctx := context.Background()
			const redirect = "https://app.example/callback"
			client, _, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "mcp", Scopes: []string{"read"}, RedirectURIs: []string{redirect}}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			user, err := s.CreateUser(ctx, models.NewUser{Email: "Jo.Admin@Example.com", Password: "pw-123456789", Role: models.RoleAdmin}, models.Actor{})
			if err != nil || user.EmployeeID != nil {
				t.Fatalf("a user made without an employee: %v", err)
			}
			employees := func() int {
				emps, err := s.Employees(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return len(emps)
			}
			before := employees()
			code, err := s.IssueAuthorizationCode(ctx, user, models.AuthorizationRequest{ResponseType: "code", ClientID: client.ID.String(),
				RedirectURI: redirect, Scope: "read offline", State: "state-1234"})
			if err != nil {
				t.Fatal(err)
			}
			issued, err := s.ExchangeCode(ctx, client, code, redirect, "")
			if err != nil {
				t.Fatal(err)
			}
			status, body := apiCall(t, srv.URL, issued.AccessToken, "GET",
				"/v1/odata/GetCurrentEmployee()?$select=ID,Name&$expand=Person($select=LastName,EmailAddress)", "")
			for _, w := range []string{`"Name":"jo.admin"`, `"Person":{"EmailAddress":"jo.admin@example.com","LastName":"jo.admin"}`} {
				if status != 200 || !strings.Contains(body, w) {
					t.Errorf("GetCurrentEmployee() of a user's token: %d, want %s in %s", status, w, body)
				}
			}
			linked, err := s.User(ctx, user.ID)
			if err != nil || linked.EmployeeID == nil || !strings.Contains(body, linked.EmployeeID.String()) {
				t.Fatalf("the user's employee (%v, %v) is not the one answered: %s", linked.EmployeeID, err, body)
			}
			refreshed, err := s.RefreshGrant(ctx, client, issued.RefreshToken, "")
			if err != nil {
				t.Fatal(err)
			}
			if status, again := apiCall(t, srv.URL, refreshed.AccessToken, "GET", "/v1/odata/GetCurrentEmployee()?$select=ID", ""); status != 200 ||
				!strings.Contains(again, linked.EmployeeID.String()) {
				t.Fatalf("after a refresh: %d %s", status, again)
			}
			if n := employees(); n != before+1 {
				t.Fatalf("%d employees after two issues, want %d", n, before+1)
			}
		})
	}
}
