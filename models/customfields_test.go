package models_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// Custom fields: defining checks its input and is for admins; values of every kind are
// written with the activity and read back; a wrong value, an unknown choice, a link to nothing
// or a field of another kind refuses the whole write; a second instance sees a new field
// without a restart; removing a field removes its values, and a write of it is then refused.
func TestCustomFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		s.CustomFieldsTTL = -1
		other := storetest.Reopen(t, s)
		other.CustomFieldsTTL = -1
		before, err := other.CustomFields(ctx)
		if err != nil || len(before.Fields) != 0 {
			t.Fatalf("before: %+v %v", before, err)
		}
		opp := models.SalesOpportunity.Type
		for _, bad := range []models.CustomFieldInput{
			{EntityType: "Nope", Label: "x", Kind: models.CustomText},
			{EntityType: opp, Label: " ", Kind: models.CustomText},
			{EntityType: opp, Label: "x", Kind: "colour"},
			{EntityType: opp, Label: "x", Kind: models.CustomChoice, Choices: []string{" ", ""}},
			{EntityType: opp, Label: "x", Kind: models.CustomLink, LinkTarget: "Pipeline"},
		} {
			if _, err := s.DefineCustomField(ctx, bad, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		if _, err := s.DefineCustomField(ctx, models.CustomFieldInput{EntityType: opp, Label: "x", Kind: models.CustomText},
			models.Actor{Role: models.RoleManager}); models.ErrorCode(err) != models.EForbidden {
			t.Errorf("a manager defines a field: %v", err)
		}
		def := func(in models.CustomFieldInput) *models.CustomField {
			t.Helper()
			in.EntityType = opp
			cf, err := s.DefineCustomField(ctx, in, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			return cf
		}
		text := def(models.CustomFieldInput{Label: "Region", Kind: models.CustomText, OnCard: true})
		num := def(models.CustomFieldInput{Label: "Seats", Kind: models.CustomNumber})
		date := def(models.CustomFieldInput{Label: "Renewal", Kind: models.CustomDate})
		flag := def(models.CustomFieldInput{Label: "Strategic", Kind: models.CustomBoolean})
		choice := def(models.CustomFieldInput{Label: "Tier", Kind: models.CustomChoice, Choices: []string{"Gold", " Silver ", "Gold"}})
		link := def(models.CustomFieldInput{Label: "Partner", Kind: models.CustomLink, LinkTarget: models.TypeRelationship})
		if len(choice.Choices) != 2 || choice.Choices[1] != "Silver" {
			t.Fatalf("choices %q", choice.Choices)
		}
		if name := text.APIName(); len(name) != 41 || !strings.HasPrefix(name, "_") || strings.Contains(name, "-") ||
			strings.ReplaceAll(name[1:], "__", "-") != text.ID.String() {
			t.Fatalf("API name %q of %s", name, text.ID)
		}
		// The other instance sees them without a restart.
		seen, err := other.CustomFields(ctx)
		if err != nil || len(seen.For(opp)) != 6 || seen.Version <= before.Version {
			t.Fatalf("other instance: %d fields, version %d→%d, %v", len(seen.For(opp)), before.Version, seen.Version, err)
		}

		customers, _ := s.Relationships(ctx)
		a := f.create(t, "Custom", 1000)
		vals := models.CustomValues{text.ID: "North", num.ID: 12.5, date.ID: "2027-01-31", flag.ID: true, choice.ID: "Silver", link.ID: customers[0].ID.String()}
		if _, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{Custom: vals}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		cur, _ := s.CustomFields(ctx)
		fields := cur.For(opp)
		got, err := s.CustomValuesOf(ctx, []uuid.UUID{a.ID}, fields)
		if err != nil {
			t.Fatal(err)
		}
		want := map[uuid.UUID]string{text.ID: "North", num.ID: "12.5", date.ID: "2027-01-31", flag.ID: "true", choice.ID: "Silver", link.ID: customers[0].ID.String()}
		for id, w := range want {
			if got[a.ID][id].Raw != w {
				t.Errorf("field %s: %q, want %q", id, got[a.ID][id].Raw, w)
			}
		}
		version := mustVersion(t, s, a.ID)
		for name, bad := range map[string]models.CustomValues{
			"text as number":   {text.ID: 5.0},
			"unknown choice":   {choice.ID: "Bronze"},
			"bad date":         {date.ID: "2027-02-30"},
			"link to nothing":  {link.ID: uuid.NewString()},
			"no such field":    {uuid.New(): "x"},
			"number as string": {num.ID: "12"},
		} {
			bad[flag.ID] = false // a valid value beside the bad one: refused with it
			if _, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{Custom: bad}, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
				t.Errorf("%s: %v", name, err)
			}
		}
		subject := "Created with a bad value"
		if _, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subject, PipelineID: &f.sales.ID,
			Custom: models.CustomValues{choice.ID: "Bronze"}}, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("create with a bad choice: %v", err)
		}
		var n int64
		s.DB.Model(&models.Activity{}).Where("subject = ?", subject).Count(&n)
		again, _ := s.CustomValuesOf(ctx, []uuid.UUID{a.ID}, fields)
		if n != 0 || again[a.ID][flag.ID].Raw != "true" || mustVersion(t, s, a.ID) != version {
			t.Fatalf("refused writes wrote: %d created, strategic %q, version %d→%d", n, again[a.ID][flag.ID].Raw, version, mustVersion(t, s, a.ID))
		}
		// A field of another kind is refused too.
		inv := models.KindByType("Activity.Invoice")
		invoiceSubject := "Invoice"
		if _, err := s.CreateActivity(ctx, inv, models.ActivityChanges{Subject: &invoiceSubject, Custom: models.CustomValues{text.ID: "x"}}, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("an opportunity's field on an invoice: %v", err)
		}
		// null and "" clear.
		if _, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{Custom: models.CustomValues{text.ID: "", num.ID: nil}}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		cleared, _ := s.CustomValuesOf(ctx, []uuid.UUID{a.ID}, fields)
		if _, ok := cleared[a.ID][text.ID]; ok {
			t.Errorf("region not cleared: %+v", cleared[a.ID])
		}
		if _, ok := cleared[a.ID][num.ID]; ok || cleared[a.ID][flag.ID].Raw != "true" {
			t.Errorf("seats not cleared or strategic lost: %+v", cleared[a.ID])
		}

		// Removed: gone for both instances, its values too, and a write of it is refused.
		if err := s.RemoveCustomField(ctx, flag.ID, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveCustomField(ctx, flag.ID, models.Actor{}); models.ErrorCode(err) != models.ENotFound {
			t.Errorf("removed twice: %v", err)
		}
		after, _ := other.CustomFields(ctx)
		if len(after.For(opp)) != 5 {
			t.Fatalf("other instance after removal: %d fields", len(after.For(opp)))
		}
		var left int64
		s.DB.Table("custom_field_values").Where("field_id = ?", flag.ID).Count(&left)
		if left != 0 {
			t.Errorf("%d values of a removed field left", left)
		}
		if _, err := other.UpdateActivity(ctx, a.ID, models.ActivityChanges{Custom: models.CustomValues{flag.ID: true}}, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("write of a removed field: %v", err)
		}
		// Deleting the activity deletes its values.
		if err := s.DeleteActivity(ctx, a.ID, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		s.DB.Table("custom_field_values").Where("entity_id = ?", a.ID).Count(&left)
		if left != 0 {
			t.Errorf("%d values of a deleted activity left", left)
		}
	})
}

func mustVersion(t *testing.T, s *models.Store, id uuid.UUID) int {
	t.Helper()
	a, err := s.Activity(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Version
}

// A link to an activity the writer may not read is refused as a link to nothing (it does not
// exist for them: the refusal must not tell otherwise), and one they may read is kept.
func TestCustomFieldLinkRespectsVisibility(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		s.RepVisibility = models.VisibilityOwn
		emps, err := s.Employees(ctx)
		if err != nil || len(emps) < 2 {
			t.Fatal("employees", err)
		}
		mine, theirs := emps[0].ID, emps[1].ID
		link, err := s.DefineCustomField(ctx, models.CustomFieldInput{EntityType: models.SalesOpportunity.Type, Label: "Related deal",
			Kind: models.CustomLink, LinkTarget: "Activity"}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		own := f.createFor(t, "Mine", &mine)
		other := f.createFor(t, "Theirs", &theirs)
		rep := models.Actor{Role: models.RoleRep, EmployeeID: &mine}
		repCtx := models.WithActor(ctx, rep)
		_, err = s.UpdateActivity(repCtx, own.ID, models.ActivityChanges{Custom: models.CustomValues{link.ID: other.ID.String()}}, rep)
		if models.ErrorCode(err) != models.EInvalid || !strings.Contains(models.ErrorMessage(err), "does not exist") {
			t.Fatalf("link to a colleague's deal: %v", err)
		}
		if _, err := s.UpdateActivity(repCtx, own.ID, models.ActivityChanges{Custom: models.CustomValues{link.ID: own.ID.String()}}, rep); err != nil {
			t.Fatalf("link to an own deal: %v", err)
		}
	})
}

// Custom fields on the records beside activities, in the Store: a record type takes them (never
// on cards or in the export, which are the opportunities'), its save writes them in its own
// transaction (a value refused, or a field of another type, refuses the whole save: the person
// is not created), links to persons, organisations and products are checked and shown by name,
// and deleting the record deletes its values.
func TestCustomFieldsOnRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		def := func(typ string, in models.CustomFieldInput) *models.CustomField {
			t.Helper()
			in.EntityType = typ
			cf, err := s.DefineCustomField(ctx, in, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			return cf
		}
		nickname := def(models.TypePerson, models.CustomFieldInput{Label: "Nickname", Kind: models.CustomText, OnCard: true, InExport: true})
		if nickname.OnCard || nickname.InExport {
			t.Errorf("a person's field is on cards or in the export: %+v", nickname)
		}
		employer := def(models.TypePerson, models.CustomFieldInput{Label: "Employer", Kind: models.CustomLink, LinkTarget: models.TypeOrganization})
		uses := def(models.TypeOrganization, models.CustomFieldInput{Label: "Uses", Kind: models.CustomLink, LinkTarget: models.TypeProduct})
		buyer := def(models.TypeProduct, models.CustomFieldInput{Label: "Buyer", Kind: models.CustomLink, LinkTarget: models.TypePerson})
		sku := def(models.TypeProduct, models.CustomFieldInput{Label: "SKU", Kind: models.CustomText})
		customer := def(models.TypePerson, models.CustomFieldInput{Label: "Customer", Kind: models.CustomLink, LinkTarget: models.TypeRelationship})

		name := func(s string) *string { return &s }
		product, err := s.SaveProduct(ctx, nil, models.ProductChanges{Name: name("Widget"), Custom: models.CustomValues{sku.ID: "W-1"}}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		org, err := s.SaveOrganization(ctx, nil, models.RelationChanges{Name: name("Acme"), Custom: models.CustomValues{uses.ID: product.String()}}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		person, err := s.SavePerson(ctx, nil, models.RelationChanges{FirstName: name("Ann"), LastName: name("Lee"),
			Custom: models.CustomValues{nickname.ID: "Annie", employer.ID: org.String()}}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveProduct(ctx, &product, models.ProductChanges{Custom: models.CustomValues{buyer.ID: person.String()}}, models.Actor{}); err != nil {
			t.Fatal(err)
		}

		countPeople := func() int64 {
			var n int64
			s.DB.Model(&models.Relation{}).Where("type = ?", models.TypePerson).Count(&n)
			return n
		}
		people := countPeople()
		for what, vals := range map[string]models.CustomValues{
			"a field of products":           {sku.ID: "W-2"},
			"a link to a product as person": {employer.ID: product.String()},
			"a link to nothing":             {employer.ID: uuid.NewString()},
			"text as a number":              {nickname.ID: 5.0},
			// The Relationship set a link reads through does not serve the tenant's identity.
			"a link to the identity": {customer.ID: models.IdentityRelationshipID.String()},
		} {
			_, err := s.SavePerson(ctx, nil, models.RelationChanges{LastName: name("Refused"), Custom: vals}, models.Actor{})
			if models.ErrorCode(err) != models.EInvalid {
				t.Errorf("%s: %v", what, err)
			}
		}
		if n := countPeople(); n != people {
			t.Errorf("refused saves created %d people", n-people)
		}

		for _, c := range []struct {
			id     uuid.UUID
			fields []models.CustomField
			want   map[uuid.UUID]string
		}{
			{person, []models.CustomField{*nickname, *employer}, map[uuid.UUID]string{nickname.ID: "Annie", employer.ID: "Acme"}},
			{org, []models.CustomField{*uses}, map[uuid.UUID]string{uses.ID: "Widget"}},
			{product, []models.CustomField{*buyer, *sku}, map[uuid.UUID]string{buyer.ID: "Ann Lee", sku.ID: "W-1"}},
		} {
			shown, err := s.CustomDisplay(ctx, []uuid.UUID{c.id}, c.fields)
			if err != nil {
				t.Fatal(err)
			}
			for fid, want := range c.want {
				if shown[c.id][fid] != want {
					t.Errorf("%s shows %q, want %q", fid, shown[c.id][fid], want)
				}
			}
		}

		if err := s.DeleteRecordOf(ctx, &models.Relation{}, []string{models.TypePerson}, person, "person", models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if vals, err := s.CustomValuesOf(ctx, []uuid.UUID{person}, []models.CustomField{*nickname, *employer}); err != nil || len(vals) != 0 {
			t.Errorf("the deleted person's values: %v %v", vals, err)
		}
	})
}
