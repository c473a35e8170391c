package handlers_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/web/authtest"
)

// Custom fields in the browser pages, on both databases: an admin defines them on the admin
// page (CSRF-checked; refused input defines nothing; other roles are refused); the edit panel
// shows and saves them (a bad value is reported next to its field and writes nothing); the
// fields marked so show on the cards and in the forecast CSV; a removed field leaves all three.
func TestCustomFieldsPages(t *testing.T) {
	forEachDB(t, 0, func(t *testing.T, s *server) {
		ctx := context.Background()
		s.store.CustomFieldsTTL = -1
		admin := s.client()
		_, adminSession := authtest.Login(t, s.store, models.RoleAdmin, nil)
		admin.useSession(adminSession)
		if code, body := admin.get("/admin/custom-fields"); code != 200 || !strings.Contains(body, `data-testid="add-custom-field"`) {
			t.Fatalf("admin page: %d", code)
		}
		opp := models.SalesOpportunity.Type
		add := func(form url.Values) (int, string) {
			t.Helper()
			form.Set("entity_type", opp)
			resp, body := admin.post("/admin/custom-fields", form, false)
			return resp.StatusCode, body
		}
		countFields := func() int {
			defs, err := s.store.CustomFields(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return len(defs.Fields)
		}
		// Without the CSRF token: refused, nothing defined.
		if resp, _ := admin.post("/admin/custom-fields", url.Values{"entity_type": {opp}, "label": {"Sneaky"}, "kind": {"text"}, "_csrf": {"forged"}}, false); resp.StatusCode != 403 || countFields() != 0 {
			t.Fatalf("forged CSRF: %d, %d fields", resp.StatusCode, countFields())
		}
		if code, body := add(url.Values{"label": {"Tier"}, "kind": {"choice"}, "choices": {" \n "}}); code != 400 || !strings.Contains(body, "needs 1 to") || !strings.Contains(body, `value="Tier"`) || countFields() != 0 {
			t.Fatalf("a choice list without choices: %d, %d fields", code, countFields())
		}
		for _, form := range []url.Values{
			{"label": {"Region"}, "kind": {"text"}, "on_card": {"1"}, "in_export": {"1"}},
			{"label": {"Tier"}, "kind": {"choice"}, "choices": {"Gold\r\nSilver"}, "on_card": {"1"}},
			{"label": {"Seats"}, "kind": {"number"}, "in_export": {"1"}},
			{"label": {"Partner"}, "kind": {"link"}, "link_target": {models.TypeRelationship}, "on_card": {"1"}},
		} {
			if code, body := add(form); code != 303 {
				t.Fatalf("add %v: %d %s", form, code, body)
			}
		}
		defs, _ := s.store.CustomFields(ctx)
		fields := defs.For(opp)
		if len(fields) != 4 {
			t.Fatalf("fields %+v", fields)
		}
		region, tier, seats, partner := fields[0], fields[1], fields[2], fields[3]
		if !region.OnCard || !region.InExport || tier.InExport || strings.Join(tier.Choices, "|") != "Gold|Silver" {
			t.Fatalf("defined %+v %+v", region, tier)
		}
		if _, body := admin.get("/admin/custom-fields"); !strings.Contains(body, region.APIName()) {
			t.Errorf("the admin page does not show the API name %s", region.APIName())
		}
		manager := s.client()
		manager.get("/board")
		if resp, _ := manager.post("/admin/custom-fields", url.Values{"entity_type": {opp}, "label": {"Mine"}, "kind": {"text"}}, false); resp.StatusCode != 403 || countFields() != 4 {
			t.Fatalf("a manager adds a field: %d", resp.StatusCode)
		}

		// The edit panel: the inputs, a refused save, a save.
		card := newCard(t, s.store, "Custom deal")
		soon := models.Date{Time: s.store.Now().AddDate(0, 0, 5)}
		if _, err := s.store.UpdateActivity(ctx, card.ID, models.ActivityChanges{ExpectedOrderDate: &soon}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		card, _ = s.store.Activity(ctx, card.ID)
		path := "/board/activities/" + card.ID.String()
		code, body := manager.get(path + "/edit")
		for _, f := range fields {
			if code != 200 || !strings.Contains(body, `id="f-`+f.FormName()+`"`) || !strings.Contains(body, ">"+f.Label+"<") {
				t.Fatalf("edit panel %d lacks %s", code, f.Label)
			}
		}
		customers, _ := s.store.Relationships(ctx)
		form := url.Values{"subject": {"Custom deal"}, "estimated_amount": {"1000"}, "expected_order_date": {soon.String()}, "version": {fmt.Sprint(card.Version)},
			region.FormName(): {"North"}, tier.FormName(): {"Gold"}, seats.FormName(): {"12 seats"}, partner.FormName(): {customers[0].ID.String()}}
		resp, body := manager.post(path, form, false)
		if resp.StatusCode != 400 || !strings.Contains(body, "Enter a number") || !strings.Contains(body, `value="North"`) {
			t.Fatalf("unparsable number: %d", resp.StatusCode)
		}
		form.Set(seats.FormName(), "12")
		form.Set(tier.FormName(), "Bronze") // a forged choice: the domain refuses it
		resp, body = manager.post(path, form, false)
		if resp.StatusCode != 400 || !strings.Contains(body, `&#34;Bronze&#34; is not a choice of Tier`) {
			t.Fatalf("unknown choice: %d %s", resp.StatusCode, body)
		}
		if vals, _ := s.store.CustomValuesOf(ctx, []uuid.UUID{card.ID}, fields); len(vals) != 0 || mustActivity(t, s, card.ID).Version != card.Version {
			t.Fatalf("refused saves wrote %v", vals)
		}
		form.Set(tier.FormName(), "Silver")
		resp, body = manager.post(path, form, true)
		if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="form-saved"`) {
			t.Fatalf("save: %d %s", resp.StatusCode, body)
		}
		vals, _ := s.store.CustomValuesOf(ctx, []uuid.UUID{card.ID}, fields)
		if vals[card.ID][region.ID].Raw != "North" || vals[card.ID][tier.ID].Raw != "Silver" || vals[card.ID][seats.ID].Raw != "12" || vals[card.ID][partner.ID].Raw != customers[0].ID.String() {
			t.Fatalf("saved %v", vals)
		}
		// The saved card (out of band) and the board show the fields marked for cards.
		for _, want := range []string{"Region: North", "Tier: Silver", "Partner: " + customers[0].Name} {
			if !strings.Contains(body, want) {
				t.Errorf("the saved card lacks %q", want)
			}
		}
		_, board := manager.get("/board")
		cardHTML := regexp.MustCompile(`(?s)<li[^>]*id="card-` + card.ID.String() + `".*?</li>`).FindString(board)
		for _, want := range []string{"Region: North", "Tier: Silver", "Partner: " + customers[0].Name} {
			if !strings.Contains(cardHTML, want) {
				t.Errorf("the board's card lacks %q: %s", want, cardHTML)
			}
		}
		if strings.Contains(cardHTML, "Seats") {
			t.Errorf("a field not marked for cards is on the card")
		}

		// The forecast board's cards too, on its page and in a month's "Load more" page.
		if _, fb := manager.get("/forecast/board"); !strings.Contains(fb, "Region: North") {
			t.Errorf("the forecast board's card lacks its custom field")
		}
		month := models.PeriodKey(models.PeriodMonth, soon)
		if code, more := manager.get("/forecast/board/months/" + month + "/cards"); code != 200 || !strings.Contains(more, "Region: North") {
			t.Errorf("a month's cards page (%d) lacks the custom field", code)
		}

		// The forecast CSV: a table of the deals with the fields marked for it.
		code, export := manager.get("/forecast.csv")
		reader := csv.NewReader(strings.NewReader(export))
		reader.FieldsPerRecord = -1 // tables of different widths, one after another
		recs, err := reader.ReadAll()
		if code != 200 || err != nil {
			t.Fatalf("csv: %d %v", code, err)
		}
		var header, row []string
		for _, rec := range recsWithFields(recs) {
			if rec[0] == "Number" {
				header = rec
			}
			if len(rec) > 1 && rec[1] == "Custom deal" {
				row = rec
			}
		}
		if strings.Join(header[len(header)-2:], ",") != "Region,Seats" || row == nil || strings.Join(row[len(row)-2:], ",") != "North,12" {
			t.Fatalf("csv header %q row %q\n%s", header, row, export)
		}

		// Removed from the admin page: gone from the panel, the card and the CSV.
		if resp, _ := admin.post("/admin/custom-fields/"+region.ID.String()+"/remove", nil, false); resp.StatusCode != 303 {
			t.Fatalf("remove: %d", resp.StatusCode)
		}
		if _, body := manager.get(path + "/edit"); strings.Contains(body, region.FormName()) {
			t.Errorf("the panel still has the removed field")
		}
		if _, board := manager.get("/board"); strings.Contains(board, "Region: North") {
			t.Errorf("the board still shows the removed field")
		}
		if _, export := manager.get("/forecast.csv"); strings.Contains(export, "Region") || !strings.Contains(export, "Seats") {
			t.Errorf("the CSV after removal:\n%s", export)
		}
	})
}

// recsWithFields are the records of the export's custom fields table (after its caption).
func recsWithFields(recs [][]string) [][]string {
	for i, rec := range recs {
		if len(rec) > 0 && strings.HasPrefix(rec[0], "Opportunities of the forecast") {
			return recs[i+1:]
		}
	}
	return nil
}

func mustActivity(t *testing.T, s *server, id uuid.UUID) *models.Activity {
	t.Helper()
	a, err := s.store.Activity(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
