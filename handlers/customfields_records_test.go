package handlers_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// recordFieldsCase is one entity type beside activities that takes custom fields, as TestODataCustomFieldsOnRecords
// writes it through one of its sets.
type recordFieldsCase struct {
	name       string
	entityType string   // the type the fields are defined on
	set        string   // the set written
	types      []string // the EDM types that declare the fields
	sets       []string // every set that serves the entities, read by key
	model      any      // the table's model (what a refused create must not add to)
	// body is the body of a POST that creates an entity (without custom values); nil: the set
	// creates none, and existing entities (existing) are PATCHed.
	body     func(e *recordFieldsEnv, name string) map[string]any
	existing func(e *recordFieldsEnv) []string
	link     string // the link field's target type
	admin    bool   // the set is written by admins only
	noDelete bool   // the set does not delete (employees)
}

// recordFieldsEnv is a write environment with entities of every type a link field may point to.
type recordFieldsEnv struct {
	*writeEnv
	targets map[string][2]uuid.UUID // by link target type: two entities
}

func newRecordFieldsEnv(t *testing.T, dialect string) *recordFieldsEnv {
	t.Helper()
	e := &recordFieldsEnv{writeEnv: newWriteEnv(t, dialect), targets: map[string][2]uuid.UUID{}}
	e.srv.store.CustomFieldsTTL = -1
	ctx, s := context.Background(), e.srv.store
	for i, name := range []string{"Target One", "Target Two"} {
		n := name
		org, err := s.SaveOrganization(ctx, nil, models.RelationChanges{Name: &n}, models.Actor{})
		must(t, err)
		person, err := s.SavePerson(ctx, nil, models.RelationChanges{LastName: &n}, models.Actor{})
		must(t, err)
		product, err := s.SaveProduct(ctx, nil, models.ProductChanges{Name: &n}, models.Actor{})
		must(t, err)
		customer, err := s.SaveRelationship(ctx, nil, models.RelationshipChanges{Name: &n}, models.Actor{})
		must(t, err)
		for typ, id := range map[string]uuid.UUID{models.TypeOrganization: org, models.TypePerson: person, models.TypeProduct: product, models.TypeRelationship: customer} {
			pair := e.targets[typ]
			pair[i] = id
			e.targets[typ] = pair
		}
	}
	return e
}

// countValues counts the custom values stored for the entity with id.
func countValues(e *writeEnv, id string) int64 {
	e.t.Helper()
	var n int64
	must(e.t, e.srv.store.DB.Table("custom_field_values").Where("entity_id = ?", id).Count(&n).Error)
	return n
}

// qualifiedType is a type's name as $metadata qualifies it: a dotted name is its own
// namespace's ("Relation.Person": Person in Relation), others are the model's.
func qualifiedType(name string) (ns, simple string) {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "Phaseboard", name
}

// metadataType is the declaration of the EDM type name in $metadata.
func metadataType(t *testing.T, md, name string) string {
	t.Helper()
	ns, simple := qualifiedType(name)
	schema := regexp.MustCompile(`(?s)<Schema [^>]*Namespace="` + regexp.QuoteMeta(ns) + `">.*?</Schema>`).FindString(md)
	m := regexp.MustCompile(`(?s)<EntityType Name="` + regexp.QuoteMeta(simple) + `"[^>]*>.*?</EntityType>`).FindString(schema)
	if m == "" {
		t.Fatalf("$metadata has no EntityType %s", name)
	}
	return m
}

func recordFieldsCases() []recordFieldsCase {
	named := func(field string) func(*recordFieldsEnv, string) map[string]any {
		return func(_ *recordFieldsEnv, name string) map[string]any { return map[string]any{field: name} }
	}
	return []recordFieldsCase{
		{name: "person", entityType: models.TypePerson, set: "Relation_Person", types: []string{models.TypePerson},
			sets: []string{"Relation_Person"}, model: &models.Relation{}, body: named("LastName"), link: models.TypeOrganization},
		{name: "organisation", entityType: models.TypeOrganization, set: "Relation_Organization", types: []string{models.TypeOrganization},
			sets: []string{"Relation_Organization"}, model: &models.Relation{}, body: named("Name"), link: models.TypePerson},
		// A field of the base Relationship: the seeds' set and the subtypes' sets carry it.
		{name: "relationship", entityType: models.TypeRelationship, set: "Relationship", types: []string{models.TypeRelationship},
			sets: []string{"Relationship", "Relationship_Organization_CommercialRelationship_Customer"}, model: &models.Relationship{},
			body: named("Name"), link: models.TypeProduct},
		{name: "lead", entityType: models.TypeRelationship, set: "Relationship_Organization_CommercialRelationship_Lead", types: []string{models.TypeRelationship},
			sets: []string{"Relationship_Organization_CommercialRelationship_Lead", "Relationship"}, model: &models.Relationship{},
			body: named("Name"), link: models.TypeRelationship},
		// Contacts: the seeds' set and Tribe's name of it serve the same fields.
		{name: "contact", entityType: models.TypeContact, set: "Relation_Person_Contact", types: []string{models.TypeContact, models.TypeContactRelationship},
			sets: []string{"Relation_Person_Contact", "Relationship_Person_Contact_Standard"}, model: &models.Contact{},
			body: named("LastName"), link: models.TypeRelationship},
		{name: "contact as Tribe names it", entityType: models.TypeContact, set: "Relationship_Person_Contact_Standard",
			types: []string{models.TypeContact, models.TypeContactRelationship},
			sets:  []string{"Relationship_Person_Contact_Standard", "Relation_Person_Contact"}, model: &models.Contact{},
			body: func(e *recordFieldsEnv, name string) map[string]any {
				p, err := e.srv.store.SavePerson(context.Background(), nil, models.RelationChanges{LastName: &name}, models.Actor{})
				must(e.t, err)
				return map[string]any{"Person@odata.bind": "Relation_Person(" + p.String() + ")"}
			}, link: models.TypeOrganization},
		// Employees are not created through the API: their custom values are PATCHed (by admins,
		// who alone change employees).
		{name: "employee", entityType: models.TypeEmployee, set: "Relationship_Person_Contact_Employee",
			types: []string{models.TypeEmployee, models.TypeEmployeeRelationship},
			sets:  []string{"Relationship_Person_Contact_Employee", "Relation_Person_Contact_Employee"}, model: &models.Employee{},
			existing: func(e *recordFieldsEnv) []string {
				emps, err := e.srv.store.Employees(context.Background())
				must(e.t, err)
				if len(emps) < 3 {
					e.t.Fatal("fewer than 3 employees")
				}
				return []string{emps[0].ID.String(), emps[1].ID.String(), emps[2].ID.String()}
			}, link: models.TypePerson, admin: true, noDelete: true},
		{name: "product", entityType: models.TypeProduct, set: "Product", types: []string{models.TypeProduct},
			sets: []string{"Product"}, model: &models.Product{}, body: named("Name"), link: models.TypeOrganization},
	}
}

// Custom fields on every record type clients write beside activities, through the API on both
// databases: $metadata declares them on their types (with their EDM types; a link as a
// navigation property into its target's set), every set serving the type reads them, POST and
// PATCH write them, $select, $filter, $orderby and $expand read them; a wrong value is a 400
// naming the field that writes nothing (a create creates nothing); deleting an entity deletes
// its values; a removed field leaves $metadata and the entities, and its writes and filters
// are 400s.
func TestODataCustomFieldsOnRecords(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		for _, tc := range recordFieldsCases() {
			t.Run(dialect+"/"+tc.name, func(t *testing.T) {
				e := newRecordFieldsEnv(t, dialect)
				if tc.admin {
					emps, err := e.srv.store.Employees(context.Background())
					must(t, err)
					e.token, _ = authtest.Token(t, e.srv.store, models.RoleAdmin, "read write", &emps[0].ID)
				}
				def := func(in models.CustomFieldInput) *models.CustomField {
					t.Helper()
					in.EntityType = tc.entityType
					f, err := e.srv.store.DefineCustomField(context.Background(), in, models.Actor{})
					must(t, err)
					return f
				}
				fText := def(models.CustomFieldInput{Label: "Region", Kind: models.CustomText})
				fNum := def(models.CustomFieldInput{Label: "Seats", Kind: models.CustomNumber})
				fDate := def(models.CustomFieldInput{Label: "Renewal", Kind: models.CustomDate})
				fFlag := def(models.CustomFieldInput{Label: "Strategic", Kind: models.CustomBoolean})
				fChoice := def(models.CustomFieldInput{Label: "Tier", Kind: models.CustomChoice, Choices: []string{"Gold", "Silver"}})
				fLink := def(models.CustomFieldInput{Label: "Partner", Kind: models.CustomLink, LinkTarget: tc.link})
				text, num, date, flag, choice, link := fText.APIName(), fNum.APIName(), fDate.APIName(), fFlag.APIName(), fChoice.APIName(), fLink.APIName()
				targets, linkSet := e.targets[tc.link], strings.ReplaceAll(tc.link, ".", "_")

				ns, simple := qualifiedType(tc.link)
				linkType := ns + "." + simple
				md := e.do("GET", "$metadata", "").body
				for _, typ := range tc.types {
					decl := metadataType(t, md, typ)
					for _, frag := range []string{
						`<Property Name="` + text + `" Type="Edm.String"/>`, `<Property Name="` + num + `" Type="Edm.Double"/>`,
						`<Property Name="` + date + `" Type="Edm.Date"/>`, `<Property Name="` + flag + `" Type="Edm.Boolean"/>`,
						`<Property Name="` + choice + `" Type="Edm.String"/>`, `<NavigationProperty Name="` + link + `" Type="` + linkType + `"/>`,
					} {
						if !strings.Contains(decl, frag) {
							t.Errorf("%s lacks %s", typ, frag)
						}
					}
				}
				if tc.entityType == models.TypeRelationship {
					// The subtypes inherit the base type's fields, declared once.
					if lead := metadataType(t, md, models.TypeLead); strings.Contains(lead, text) || !strings.Contains(lead, `BaseType="Phaseboard.Relationship"`) {
						t.Errorf("the lead should inherit Relationship's fields: %s", lead)
					}
				}

				var existing []string
				if tc.existing != nil {
					existing = tc.existing(e)
				}
				write := func(n int, name string, values map[string]any) string {
					t.Helper()
					if tc.body == nil {
						b, _ := json.Marshal(values)
						if r := e.do("PATCH", tc.set+"("+existing[n]+")", string(b)); r.status != 204 {
							t.Fatalf("patch %s: %d %s", name, r.status, r.body)
						}
						return existing[n]
					}
					body := tc.body(e, name)
					for k, v := range values {
						body[k] = v
					}
					b, _ := json.Marshal(body)
					r := e.do("POST", tc.set, string(b))
					if r.status != 201 {
						t.Fatalf("create %s: %d %s", name, r.status, r.body)
					}
					return r.entity["ID"].(string)
				}
				a := write(0, "Alpha", map[string]any{text: "North", num: 12, date: "2027-01-31", flag: true, choice: "Gold",
					link: map[string]string{"ID": targets[0].String()}})
				b := write(1, "Beta", map[string]any{text: "South", num: 3.5, choice: "Silver",
					link + "@odata.bind": linkSet + "(" + targets[1].String() + ")"})
				c := write(2, "Gamma", map[string]any{})

				for _, set := range tc.sets {
					got := e.do("GET", set+"("+a+")", "")
					for k, v := range map[string]any{text: "North", num: 12.0, date: "2027-01-31", flag: true, choice: "Gold"} {
						if got.entity[k] != v {
							t.Errorf("%s: read %s: %v, want %v (%s)", set, k, got.entity[k], v, got.body)
						}
					}
				}

				// PATCH changes and clears; null clears a number (0 would be a value).
				if r := e.do("PATCH", tc.set+"("+c+")", `{"`+num+`":0,"`+flag+`":false,"`+text+`":"East"}`); r.status != 204 {
					t.Fatalf("patch: %d %s", r.status, r.body)
				}
				ids := "ID in (" + a + "," + b + "," + c + ")"
				list := func(set, query string) []string {
					t.Helper()
					r := e.do("GET", set+"?"+query, "")
					if r.status != 200 {
						t.Fatalf("%s?%s: %d %s", set, query, r.status, r.body)
					}
					return names(decodeList(t, r.body), "ID")
				}
				q := func(s string) string { return strings.NewReplacer(" ", "%20", "'", "%27").Replace(s) }
				for _, set := range tc.sets {
					r := e.do("GET", set+"?$select=ID,"+num+"&$filter="+q(num+" gt 10"), "")
					if sel := decodeList(t, r.body); len(sel) != 1 || sel[0]["ID"] != a || sel[0][num] != 12.0 || sel[0][text] != nil {
						t.Errorf("%s: $select and $filter on a number: %d %s", set, r.status, r.body)
					}
					if got := list(set, "$filter="+q(choice+" eq 'Silver' or "+flag+" eq true")+"&$orderby="+num); strings.Join(got, ",") != b+","+a {
						t.Errorf("%s: filter on a choice or a boolean, ordered by a number: %v", set, got)
					}
					if got := list(set, "$filter="+q(date+" ge 2027-01-01")); strings.Join(got, ",") != a {
						t.Errorf("%s: filter on a date: %v", set, got)
					}
					if got := list(set, "$filter="+q(ids)+"&$orderby="+num+"%20desc"); strings.Join(got, ",") != a+","+b+","+c {
						t.Errorf("%s: $orderby a number desc: %v", set, got)
					}
					if got := list(set, "$filter="+q(ids+" and "+text+" eq 'East'")); strings.Join(got, ",") != c {
						t.Errorf("%s: filter on text: %v", set, got)
					}
					if got := list(set, "$filter="+q(link+"/ID eq "+targets[1].String())); strings.Join(got, ",") != b {
						t.Errorf("%s: filter through a link: %v", set, got)
					}
					r = e.do("GET", set+"("+a+")?$select=ID&$expand="+link+"($select=ID)", "")
					if p, _ := r.entity[link].(map[string]any); p == nil || p["ID"] != targets[0].String() {
						t.Errorf("%s: expanded link: %d %s", set, r.status, r.body)
					}
				}
				got := e.do("GET", tc.set+"("+c+")?$select="+num+","+flag+","+text, "")
				if got.entity[num] != 0.0 || got.entity[flag] != false || got.entity[text] != "East" {
					t.Errorf("after patch: %v", got.entity)
				}
				if r := e.do("PATCH", tc.set+"("+a+")", `{"`+num+`":null,"`+link+`":null}`); r.status != 204 {
					t.Fatalf("patch null: %d %s", r.status, r.body)
				}
				got = e.do("GET", tc.set+"("+a+")?$select="+num+"&$expand="+link, "")
				if got.entity[num] != nil || got.entity[link] != nil {
					t.Errorf("after clearing: %v", got.entity)
				}

				// Refused writes: a 400 naming the field, nothing written.
				before := e.do("GET", tc.set+"("+b+")", "")
				bad := badCustomWrites(text, num, date, flag, choice, link, e.pipe.ID.String())
				bad["valid beside invalid"] = `{"` + text + `":"Changed","IsActive":false,"` + choice + `":"Bronze"}`
				for name, body := range bad {
					wantCustomRefused(t, name, e.do("PATCH", tc.set+"("+b+")", body))
				}
				if after := e.do("GET", tc.set+"("+b+")", ""); canonicalJSON(t, before.body) != canonicalJSON(t, after.body) {
					t.Errorf("refused writes wrote:\n%s\n%s", before.body, after.body)
				}
				if tc.body != nil {
					rows := e.count(tc.model, "1 = 1")
					body := tc.body(e, "Refused")
					body[choice] = "Bronze"
					bad, _ := json.Marshal(body)
					if r := e.do("POST", tc.set, string(bad)); r.status != 400 || !strings.Contains(r.body, choice) {
						t.Errorf("create with an unknown choice: %d %s", r.status, r.body)
					}
					if n := e.count(tc.model, "1 = 1"); n != rows {
						t.Errorf("a refused create made an entity: %d rows, were %d", n, rows)
					}
				}

				// Deleting an entity deletes its values.
				if !tc.noDelete {
					if n := countValues(e.writeEnv, c); n != 3 {
						t.Fatalf("values of %s before deleting it: %d", c, n)
					}
					if r := e.do("DELETE", tc.set+"("+c+")", ""); r.status != 204 {
						t.Fatalf("delete: %d %s", r.status, r.body)
					}
					if n := countValues(e.writeEnv, c); n != 0 {
						t.Errorf("deleting the entity left %d of its values", n)
					}
				}

				// Removed: gone from $metadata and the entities; writes and filters of it are 400s.
				must(t, e.srv.store.RemoveCustomField(context.Background(), fChoice.ID, models.Actor{}))
				if md := e.do("GET", "$metadata", ""); strings.Contains(md.body, choice) || !strings.Contains(md.body, text) {
					t.Errorf("$metadata after removal still has %s (or lost the others)", choice)
				}
				for _, set := range tc.sets {
					if got := e.do("GET", set+"("+b+")", ""); got.entity[text] != "South" {
						t.Errorf("%s after removal: %v", set, got.entity)
					} else if _, ok := got.entity[choice]; ok {
						t.Errorf("%s: removed field still read: %v", set, got.entity)
					}
					if r := e.do("GET", set+"?$filter="+q(choice+" eq 'Silver'"), ""); r.status != 400 {
						t.Errorf("%s: filter on a removed field: %d %s", set, r.status, r.body)
					}
				}
				if r := e.do("PATCH", tc.set+"("+b+")", `{"`+choice+`":"Gold"}`); r.status != 400 || !strings.Contains(r.body, choice) {
					t.Errorf("write of a removed field: %d %s", r.status, r.body)
				}
			})
		}
	}
}
