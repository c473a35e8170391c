package handlers_test

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"testing"

	"github.com/google/uuid"

	"phaseboard/models"
)

var (
	formInput    = regexp.MustCompile(`<input[^>]*\bname="([^"]+)"[^>]*>`)
	formValue    = regexp.MustCompile(`\bvalue="([^"]*)"`)
	formSelect   = regexp.MustCompile(`(?s)<select[^>]*\bname="([^"]+)"[^>]*>(.*?)</select>`)
	selectOption = regexp.MustCompile(`<option value="([^"]*)"([^>]*)>`)
)

// browserForm is what a browser posts for the form of page whose action is action, untouched:
// each input's value, each select's selected option (else its first).
func browserForm(t *testing.T, page, action string) url.Values {
	t.Helper()
	form := regexp.MustCompile(`(?s)<form[^>]*action="` + regexp.QuoteMeta(action) + `".*?</form>`).FindString(page)
	if form == "" {
		t.Fatalf("no form posting to %s", action)
	}
	out := url.Values{}
	for _, m := range formInput.FindAllStringSubmatch(form, -1) {
		if v := formValue.FindStringSubmatch(m[0]); v != nil {
			out.Add(m[1], html.UnescapeString(v[1]))
		} else {
			out.Add(m[1], "")
		}
	}
	for _, m := range formSelect.FindAllStringSubmatch(form, -1) {
		opts := selectOption.FindAllStringSubmatch(m[2], -1)
		chosen := ""
		if len(opts) > 0 {
			chosen = opts[0][1]
		}
		for _, o := range opts {
			if regexp.MustCompile(`\bselected\b`).MatchString(o[2]) {
				chosen = o[1]
			}
		}
		out.Set(m[1], html.UnescapeString(chosen))
	}
	return out
}

// Saving the edit panel as it was shown keeps what its pickers no longer list: the deal's
// deactivated rep ("deactivating keeps history"), its archived customer, a custom choice an
// admin has since removed and a custom link to an archived customer. Each used to be posted as
// the picker's empty first option and cleared. Both databases.
func TestPanelSaveKeepsWhatItsPickersNoLongerList(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		s.store.CustomFieldsTTL = -1
		admin := models.Actor{Role: models.RoleAdmin}
		opp := models.SalesOpportunity.Type
		tier, err := s.store.DefineCustomField(ctx, models.CustomFieldInput{EntityType: opp, Label: "Tier", Kind: models.CustomChoice, Choices: []string{"Gold", "Silver"}}, admin)
		if err != nil {
			t.Fatal(err)
		}
		partner, err := s.store.DefineCustomField(ctx, models.CustomFieldInput{EntityType: opp, Label: "Partner", Kind: models.CustomLink, LinkTarget: models.TypeRelationship}, admin)
		if err != nil {
			t.Fatal(err)
		}
		reps, _ := s.store.Employees(ctx)
		customers, _ := s.store.Relationships(ctx)
		if len(reps) == 0 || len(customers) < 2 {
			t.Fatalf("demo: %d reps, %d customers", len(reps), len(customers))
		}
		rep, customer, linked := reps[0].ID, customers[0].ID, customers[1].ID
		card := newCard(t, s.store, "Kept deal")
		if _, err := s.store.UpdateActivity(ctx, card.ID, models.ActivityChanges{SalesRepresentativeID: &rep, RelationshipID: &customer,
			Custom: models.CustomValues{tier.ID: "Gold", partner.ID: linked.String()}}, admin); err != nil {
			t.Fatal(err)
		}
		off := false
		if _, err := s.store.SaveEmployee(ctx, &rep, models.EmployeeChanges{IsActive: &off}, admin); err != nil {
			t.Fatal(err)
		}
		for _, id := range []uuid.UUID{customer, linked} {
			if _, err := s.store.SaveRelationship(ctx, &id, models.RelationshipChanges{IsActive: &off}, admin); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.store.UpdateCustomField(ctx, tier.ID, models.CustomFieldInput{Label: "Tier", Choices: []string{"Silver"}}, admin); err != nil {
			t.Fatal(err)
		}

		manager := s.client()
		path := "/board/activities/" + card.ID.String()
		code, page := manager.get(path + "/edit")
		if code != 200 {
			t.Fatalf("edit panel: %d", code)
		}
		form := browserForm(t, page, path)
		form.Set("subject", "Kept deal, renamed")
		if resp, body := manager.post(path, form, true); resp.StatusCode != 200 {
			t.Fatalf("save: %d %s", resp.StatusCode, body)
		}
		a := mustActivity(t, s, card.ID)
		if a.Subject != "Kept deal, renamed" {
			t.Fatalf("the save did not save: %q", a.Subject)
		}
		if a.SalesRepresentativeID == nil || *a.SalesRepresentativeID != rep {
			t.Errorf("the deactivated rep was unassigned: %v", a.SalesRepresentativeID)
		}
		if a.RelationshipID == nil || *a.RelationshipID != customer {
			t.Errorf("the archived customer was cleared: %v", a.RelationshipID)
		}
		vals, _ := s.store.CustomValuesOf(ctx, []uuid.UUID{card.ID}, []models.CustomField{*tier, *partner})
		if got := vals[card.ID][tier.ID].Raw; got != "Gold" {
			t.Errorf("the removed choice was cleared: %q", got)
		}
		if got := vals[card.ID][partner.ID].Raw; got != linked.String() {
			t.Errorf("the link to an archived customer was cleared: %q", got)
		}
	})
}
