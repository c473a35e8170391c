package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"phaseboard/handlers"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
)

// customFieldsEnv is a write environment with one custom field of every kind on opportunities.
type customFieldsEnv struct {
	*writeEnv
	text, num, date, flag, choice, link *models.CustomField
	customers                           []models.Relationship
}

func newCustomFieldsEnv(t *testing.T, dialect string) *customFieldsEnv {
	t.Helper()
	e := &customFieldsEnv{writeEnv: newWriteEnv(t, dialect)}
	e.srv.store.CustomFieldsTTL = -1 // compare the version on every request: the test needs no waiting
	def := func(in models.CustomFieldInput) *models.CustomField {
		t.Helper()
		in.EntityType = models.SalesOpportunity.Type
		f, err := e.srv.store.DefineCustomField(context.Background(), in, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	e.text = def(models.CustomFieldInput{Label: "Region", Kind: models.CustomText})
	e.num = def(models.CustomFieldInput{Label: "Seats", Kind: models.CustomNumber})
	e.date = def(models.CustomFieldInput{Label: "Renewal", Kind: models.CustomDate})
	e.flag = def(models.CustomFieldInput{Label: "Strategic", Kind: models.CustomBoolean})
	e.choice = def(models.CustomFieldInput{Label: "Tier", Kind: models.CustomChoice, Choices: []string{"Gold", "Silver"}})
	e.link = def(models.CustomFieldInput{Label: "Partner", Kind: models.CustomLink, LinkTarget: models.TypeRelationship})
	var err error
	if e.customers, err = e.srv.store.Relationships(context.Background()); err != nil || len(e.customers) < 2 {
		t.Fatal("customers", err)
	}
	return e
}

// create posts an opportunity with the custom values given (API names to JSON values).
func (e *customFieldsEnv) create(subject string, values map[string]any) string {
	e.t.Helper()
	body := map[string]any{"Subject": subject, "Pipeline": map[string]string{"ID": e.pipe.ID.String()}}
	for k, v := range values {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	r := e.do("POST", "Activity_SalesOpportunity", string(b))
	if r.status != 201 {
		e.t.Fatalf("create %s: %d %s", subject, r.status, r.body)
	}
	return r.entity["ID"].(string)
}

func names(entities []map[string]any, key string) []string {
	var out []string
	for _, x := range entities {
		s, _ := x[key].(string)
		out = append(out, s)
	}
	return out
}

// badCustomWrites are bodies that each write a wrong value to one of the custom fields named
// (API names): the wrong JSON type, an unknown choice, a link to nothing (the pipeline with the
// ID pipeline) or into another set.
func badCustomWrites(text, num, date, flag, choice, link, pipeline string) map[string]string {
	return map[string]string{
		"text as a number":    `{"` + text + `":5}`,
		"number as a string":  `{"` + num + `":"12"}`,
		"not a date":          `{"` + date + `":"31-01-2027"}`,
		"boolean as a string": `{"` + flag + `":"yes"}`,
		"unknown choice":      `{"` + choice + `":"Bronze"}`,
		"link to nothing":     `{"` + link + `":{"ID":"` + pipeline + `"}}`,
		"link to another set": `{"` + link + `@odata.bind":"Pipeline(` + pipeline + `)"}`,
	}
}

// wantCustomRefused checks that a write was refused for a custom field: a 400 whose target is
// the field (an API name starts with "_").
func wantCustomRefused(t *testing.T, what string, r writeResp) {
	t.Helper()
	var odataErr struct {
		Error struct{ Code, Message, Target string }
	}
	json.Unmarshal([]byte(r.body), &odataErr)
	if r.status != 400 || !strings.HasPrefix(odataErr.Error.Target, "_") {
		t.Errorf("%s: %d %s", what, r.status, r.body)
	}
}

// Custom fields through the API, end to end on both databases: $metadata declares them with
// their EDM types (a link as a navigation property); they are written by POST and PATCH, read,
// selected, filtered, ordered and expanded; a wrong value, an unknown choice or a link to
// nothing is a 400 naming the field, and writes nothing; a removed field leaves $metadata and
// a write of it is a 400.
func TestODataCustomFields(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newCustomFieldsEnv(t, dialect)
			text, num, date, flag, choice, link := e.text.APIName(), e.num.APIName(), e.date.APIName(), e.flag.APIName(), e.choice.APIName(), e.link.APIName()

			md := e.do("GET", "$metadata", "")
			for _, frag := range []string{
				`<Property Name="` + text + `" Type="Edm.String"/>`, `<Property Name="` + num + `" Type="Edm.Double"/>`,
				`<Property Name="` + date + `" Type="Edm.Date"/>`, `<Property Name="` + flag + `" Type="Edm.Boolean"/>`,
				`<Property Name="` + choice + `" Type="Edm.String"/>`, `<NavigationProperty Name="` + link + `" Type="Phaseboard.Relationship"/>`,
				`<NavigationPropertyBinding Path="` + link + `" Target="Relationship"/>`,
			} {
				if !strings.Contains(md.body, frag) {
					t.Errorf("$metadata lacks %s", frag)
				}
			}

			a := e.create("Alpha", map[string]any{text: "North", num: 12, date: "2027-01-31", flag: true, choice: "Gold",
				link: map[string]string{"ID": e.customers[0].ID.String()}})
			b := e.create("Beta", map[string]any{text: "South", num: 3.5, choice: "Silver",
				link + "@odata.bind": "Relationship(" + e.customers[1].ID.String() + ")"})
			c := e.create("Gamma", nil)

			got := e.do("GET", "Activity_SalesOpportunity("+a+")", "")
			want := map[string]any{text: "North", num: 12.0, date: "2027-01-31", flag: true, choice: "Gold"}
			for k, v := range want {
				if got.entity[k] != v {
					t.Errorf("read %s: %v, want %v", k, got.entity[k], v)
				}
			}
			if got.entity[link] != nil {
				t.Errorf("a link is a navigation property, not a value: %v", got.entity[link])
			}

			list := func(query string) []map[string]any {
				t.Helper()
				r := e.do("GET", "Activity_SalesOpportunity?"+query, "")
				if r.status != 200 {
					t.Fatalf("%s: %d %s", query, r.status, r.body)
				}
				return decodeList(t, r.body)
			}
			q := func(s string) string { return strings.NewReplacer(" ", "%20", "'", "%27").Replace(s) }
			sel := list("$select=Subject," + num + "&$filter=" + q(num+" gt 10"))
			if len(sel) != 1 || sel[0]["Subject"] != "Alpha" || sel[0][num] != 12.0 || sel[0][text] != nil {
				t.Errorf("$select and $filter on a number: %v", sel)
			}
			if got := names(list("$filter="+q(choice+" eq 'Silver' or "+flag+" eq true")+"&$orderby=Subject"), "Subject"); strings.Join(got, ",") != "Alpha,Beta" {
				t.Errorf("filter on a choice or a boolean: %v", got)
			}
			if got := names(list("$filter="+q(date+" ge 2027-01-01")), "Subject"); strings.Join(got, ",") != "Alpha" {
				t.Errorf("filter on a date: %v", got)
			}
			if got := names(list("$filter="+q(text+" eq null")), "Subject"); strings.Join(got, ",") != "Gamma" {
				t.Errorf("filter on null: %v", got)
			}
			if got := names(list("$orderby="+num+"%20desc&$filter="+q("Subject ne 'x'")), "Subject"); strings.Join(got, ",") != "Alpha,Beta,Gamma" {
				t.Errorf("$orderby a number desc (nulls last): %v", got)
			}
			// Keyset paging over a custom field's order: one entity a page, the same order.
			var paged []string
			next := "Activity_SalesOpportunity?$select=Subject&$orderby=" + num + "%20desc"
			for i := 0; next != "" && i < 5; i++ {
				r := e.do("GET", next, "", "Prefer", "odata.maxpagesize=1")
				var page struct {
					Value []map[string]any `json:"value"`
					Next  string           `json:"@odata.nextLink"`
				}
				if r.status != 200 || json.Unmarshal([]byte(r.body), &page) != nil {
					t.Fatalf("page %d: %d %s", i, r.status, r.body)
				}
				paged = append(paged, names(page.Value, "Subject")...)
				next = ""
				if page.Next != "" {
					next = page.Next[strings.Index(page.Next, "/v1/odata/")+len("/v1/odata/"):]
				}
			}
			if strings.Join(paged, ",") != "Alpha,Beta,Gamma" {
				t.Errorf("paged by a custom field: %v", paged)
			}
			if got := names(list("$filter="+q(link+"/Name eq '"+e.customers[1].Name+"'")), "Subject"); strings.Join(got, ",") != "Beta" {
				t.Errorf("filter through a link: %v", got)
			}
			exp := list("$select=Subject&$expand=" + link + "($select=Name)&$orderby=Subject")
			if len(exp) != 3 {
				t.Fatalf("expanded: %v", exp)
			}
			if p, _ := exp[0][link].(map[string]any); p == nil || p["Name"] != e.customers[0].Name {
				t.Errorf("Alpha's partner: %v", exp[0][link])
			}
			if p, _ := exp[1][link].(map[string]any); p == nil || p["Name"] != e.customers[1].Name {
				t.Errorf("Beta's partner: %v", exp[1][link])
			}
			if exp[2][link] != nil {
				t.Errorf("Gamma has no partner: %v", exp[2][link])
			}
			if nav := e.do("GET", "Activity_SalesOpportunity("+a+")/"+link, ""); nav.status != 200 || nav.entity["Name"] != e.customers[0].Name {
				t.Errorf("navigation: %d %s", nav.status, nav.body)
			}

			// PATCH changes and clears; null clears a number (0 would be a value).
			if r := e.do("PATCH", "Activity_SalesOpportunity("+c+")", `{"`+num+`":0,"`+flag+`":false,"`+text+`":"East"}`); r.status != 204 {
				t.Fatalf("patch: %d %s", r.status, r.body)
			}
			if r := e.do("PATCH", "Activity_SalesOpportunity("+a+")", `{"`+num+`":null,"`+link+`":null}`); r.status != 204 {
				t.Fatalf("patch null: %d %s", r.status, r.body)
			}
			got = e.do("GET", "Activity_SalesOpportunity("+c+")?$select="+num+","+flag+","+text, "")
			if got.entity[num] != 0.0 || got.entity[flag] != false || got.entity[text] != "East" {
				t.Errorf("after patch: %v", got.entity)
			}
			got = e.do("GET", "Activity_SalesOpportunity("+a+")?$select="+num+"&$expand="+link, "")
			if got.entity[num] != nil || got.entity[link] != nil {
				t.Errorf("after clearing: %v", got.entity)
			}

			// Refused writes: a 400 naming the field, nothing written (the version stays too).
			before := e.do("GET", "Activity_SalesOpportunity("+b+")", "")
			bad := badCustomWrites(text, num, date, flag, choice, link, e.pipe.ID.String())
			bad["link as a value"] = `{"` + link + `":"` + e.customers[0].ID.String() + `"}`
			bad["valid beside invalid"] = `{"` + text + `":"Changed","Subject":"Changed","` + choice + `":"Bronze"}`
			for name, body := range bad {
				wantCustomRefused(t, name, e.do("PATCH", "Activity_SalesOpportunity("+b+")", body))
			}
			refused, _ := json.Marshal(map[string]any{"Subject": "Refused", "Pipeline": map[string]string{"ID": e.pipe.ID.String()}, choice: "Bronze"})
			if r := e.do("POST", "Activity_SalesOpportunity", string(refused)); r.status != 400 {
				t.Errorf("create with an unknown choice: %d %s", r.status, r.body)
			}
			after := e.do("GET", "Activity_SalesOpportunity("+b+")", "")
			if canonicalJSON(t, before.body) != canonicalJSON(t, after.body) || e.count(&models.Activity{}, "subject = ?", "Refused") != 0 {
				t.Errorf("refused writes wrote:\n%s\n%s", before.body, after.body)
			}

			// A field of the opportunity is no member of an invoice.
			if r := e.do("POST", "Activity_Invoice", `{"Subject":"x","`+text+`":"North"}`); r.status != 400 || !strings.Contains(r.body, "Activity.SalesOpportunity") {
				t.Errorf("an opportunity's field on an invoice: %d %s", r.status, r.body)
			}

			// Removed: gone from $metadata and the entities; a write of it is a 400.
			if err := e.srv.store.RemoveCustomField(context.Background(), e.choice.ID, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			if md := e.do("GET", "$metadata", ""); strings.Contains(md.body, choice) || !strings.Contains(md.body, text) {
				t.Errorf("$metadata after removal still has %s (or lost the others)", choice)
			}
			if got := e.do("GET", "Activity_SalesOpportunity("+b+")", ""); got.entity[text] != "South" {
				t.Errorf("after removal: %v", got.entity)
			} else if _, ok := got.entity[choice]; ok {
				t.Errorf("removed field still read: %v", got.entity)
			}
			if r := e.do("PATCH", "Activity_SalesOpportunity("+b+")", `{"`+choice+`":"Gold"}`); r.status != 400 || !strings.Contains(r.body, choice) {
				t.Errorf("write of a removed field: %d %s", r.status, r.body)
			}
			if r := e.do("GET", "Activity_SalesOpportunity?$filter="+q(choice+" eq 'Gold'"), ""); r.status != 400 {
				t.Errorf("filter on a removed field: %d %s", r.status, r.body)
			}
		})
	}
}

// A second instance on the same database serves a field the first defined, and stops serving
// one the first removed, without a restart; a write that reaches an instance whose definitions
// are stale is still refused by the definitions of its own transaction.
func TestODataCustomFieldsSecondInstance(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newWriteEnv(t, dialect)
			second := storetest.Reopen(t, e.srv.store)
			second.CustomFieldsTTL = -1
			app := web.New(web.Config{Store: second})
			handlers.Register(app, &handlers.Handler{Store: second})
			card := newCard(t, e.srv.store, "On the second instance")
			send := func(method, path, body string) (int, string) {
				t.Helper()
				r := httptest.NewRequest(method, "/v1/odata/"+path, strings.NewReader(body))
				r.Header.Set("Authorization", "Bearer "+e.token)
				if body != "" {
					r.Header.Set("Content-Type", "application/json")
				}
				res, err := app.Test(r, -1)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}
			get := func(path string) (int, string) { t.Helper(); return send("GET", path, "") }
			if code, _ := get("$metadata"); code != 200 {
				t.Fatalf("before: %d", code)
			}
			f, err := e.srv.store.DefineCustomField(context.Background(), models.CustomFieldInput{
				EntityType: models.SalesOpportunity.Type, Label: "Region", Kind: models.CustomText}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			if _, md := get("$metadata"); !strings.Contains(md, `<Property Name="`+f.APIName()+`" Type="Edm.String"/>`) {
				t.Fatalf("the second instance does not serve the new field")
			}
			if code, body := send("PATCH", "Activity_SalesOpportunity("+card.ID.String()+")", `{"`+f.APIName()+`":"North"}`); code != 204 {
				t.Fatalf("write on the second instance: %d %s", code, body)
			}
			if code, body := get("Activity_SalesOpportunity?$select=" + url.QueryEscape(f.APIName())); code != 200 || !strings.Contains(body, `"North"`) {
				t.Fatalf("select on the second instance: %d %s", code, body)
			}
			// Stale definitions (a long TTL): the write of a field removed meanwhile is refused by
			// the definitions its own transaction reads.
			second.CustomFieldsTTL = time.Hour
			if err := e.srv.store.RemoveCustomField(context.Background(), f.ID, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			if code, body := send("PATCH", "Activity_SalesOpportunity("+card.ID.String()+")", `{"`+f.APIName()+`":"South"}`); code != 400 || !strings.Contains(body, "removed") {
				t.Fatalf("write of a removed field on a stale instance: %d %s", code, body)
			}
			second.CustomFieldsTTL = -1
			if _, md := get("$metadata"); strings.Contains(md, f.APIName()) {
				t.Fatalf("the second instance still serves the removed field")
			}
		})
	}
}
