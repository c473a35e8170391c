package handlers_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web/authtest"
)

// odataEnv is a running Phaseboard with the demo reference data (no random opportunities) and a
// handful of opportunities with known values, plus an API token acting as the rep Anna.
type odataEnv struct {
	t     *testing.T
	srv   *server
	token string
	// rwToken may also write (POST to a read-only set gets past authentication to the 405).
	rwToken string
	// ids maps the placeholders of the request table ({alpha}, {qual}, ...) to real keys.
	ids map[string]string
}

// odataT0 is the clock of the fixture: creation dates are stable, so bodies can be exact.
var odataT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newODataEnv(t *testing.T, dialect string) *odataEnv {
	t.Helper()
	srv := newServer(t, dialect, 0)
	s := srv.store
	ctx := context.Background()
	pipe, phases := fixture(t, s)
	emps, err := s.Employees(ctx)
	if err != nil || len(emps) < 2 {
		t.Fatal("employees", err)
	}
	rels, err := s.Relationships(ctx)
	if err != nil || len(rels) == 0 {
		t.Fatal("relationships", err)
	}
	var contact models.Contact
	var source models.Source
	var reason models.LostReason
	var rival models.Competitor
	var prices models.PriceList
	for _, q := range []struct {
		dst  any
		cond string
	}{{&contact, "relationship_id = ?"}, {&source, "name = 'Website'"}, {&reason, "name = 'No budget'"},
		{&rival, "competitors.organization_id IN (SELECT id FROM relations WHERE name = 'HubSpot')"}, {&prices, "1 = 1"}} {
		db := s.DB.Where(q.cond)
		if q.cond == "relationship_id = ?" {
			db = s.DB.Where(q.cond, rels[0].ID).Order("(SELECT first_name FROM relations WHERE relations.id = contacts.person_id)")
		}
		if err := db.Take(q.dst).Error; err != nil {
			t.Fatal(err)
		}
	}
	anna, bram := emps[0], emps[1] // Anna de Vries, Bram Jansen
	e := &odataEnv{t: t, srv: srv, ids: map[string]string{
		"{pipeline}": pipe.ID.String(), "{anna}": anna.ID.String(), "{bram}": bram.ID.String(),
		"{acme}": rels[0].ID.String(), "{contact}": contact.ID.String(), "{source}": source.ID.String(),
		"{reason}": reason.ID.String(), "{rival}": rival.ID.String(), "{prices}": prices.ID.String(),
	}}
	for name, key := range map[string]string{"Qualification": "{qual}", "Proposal": "{prop}", "Negotiation": "{nego}", "Won": "{won}", "Lost": "{lost}"} {
		e.ids[key] = phases[name].ID.String()
	}
	var invoicePhase models.Phase
	if err := s.DB.Where("type = ? AND name = 'Draft'", models.PhaseType("Invoice")).Take(&invoicePhase).Error; err != nil {
		t.Fatal(err)
	}
	e.ids["{draft}"] = invoicePhase.ID.String()

	// The opportunities, one a day from odataT0.
	type opp struct {
		key, subject, phase, date string
		est                       float64
		full                      bool // every link set
	}
	opps := []opp{
		{"{alpha}", "Alpha CRM rollout", "Qualification", "2026-04-15", 10000, true},
		{"{bravo}", "Bravo renewal", "Proposal", "2026-06-30", 50000, false},
		{"{charlie}", "Charlie licence", "Negotiation", "2026-05-01", 80000, false},
		{"{delta}", "Delta lost deal", "Lost", "2026-03-20", 20000, false},
		{"{echo}", "Echo won deal", "Won", "2026-03-10", 5000, false},
	}
	for i, o := range opps {
		now := odataT0.Add(time.Duration(i) * 24 * time.Hour)
		s.Now = func() time.Time { return now }
		d, _ := models.ParseDate(o.date)
		ph := phases[o.phase].ID
		subject, est := o.subject, o.est
		ch := models.ActivityChanges{Subject: &subject, PipelineID: &pipe.ID, PhaseID: &ph, EstimatedAmount: &est,
			Amount: &est, ExpectedOrderDate: &d}
		if o.full {
			imp := "crm:alpha"
			ch.RelationshipID, ch.ContactID, ch.SourceID = &rels[0].ID, &contact.ID, &source.ID
			ch.SalesRepresentativeID, ch.PriceListID, ch.ImportID = &anna.ID, &prices.ID, &imp
		}
		if o.phase == "Lost" {
			ch.LostReasonID, ch.LostToCompetitorID = &reason.ID, &rival.ID
		}
		a, err := s.CreateActivity(ctx, models.SalesOpportunity, ch, models.Actor{})
		if err != nil {
			t.Fatalf("create %s: %v", o.subject, err)
		}
		e.ids[o.key] = a.ID.String()
		e.ids[o.key[:len(o.key)-1]+".number}"] = a.Number
	}
	s.Now = func() time.Time { return odataT0 }
	// Echo is linked to Alpha (its parent activity).
	if err := s.DB.Exec("UPDATE activities SET parent_activity_id = ? WHERE id = ?", e.ids["{alpha}"], e.ids["{echo}"]).Error; err != nil {
		t.Fatal(err)
	}
	// Product lines: Alpha 50 and 150, Charlie 80; an involved party and an hour booked on Alpha.
	for i, pl := range []struct {
		key, opp, desc string
		amount         float64
	}{{"{line1}", "{alpha}", "Licences", 50}, {"{line2}", "{alpha}", "Training", 150}, {"{line3}", "{charlie}", "Setup", 80}} {
		l := models.ProductLine{ActivityID: uuid.MustParse(e.ids[pl.opp]), Description: pl.desc, Quantity: 1, Price: pl.amount, Amount: pl.amount}
		l.ID, l.Type, l.SortIndex, l.CreationDate, l.LastMutationDate, l.IsActive = uuid.New(), models.TypeProductLine, float64(i+1), odataT0, odataT0, true
		if err := s.DB.Create(&l).Error; err != nil {
			t.Fatal(err)
		}
		e.ids[pl.key] = l.ID.String()
	}
	e.ids["{involved}"] = uuid.NewString()
	if err := s.DB.Exec(`INSERT INTO involved (id, type, sort_index, creation_date, last_mutation_date, is_active, is_closed, activity_id, employee_id, role)
		VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, 'Pre-sales')`, e.ids["{involved}"], models.TypeInvolved, odataT0, odataT0, true, false, e.ids["{alpha}"], e.ids["{bram}"]).Error; err != nil {
		t.Fatal(err)
	}
	e.ids["{hours}"] = uuid.NewString()
	if err := s.DB.Exec(`INSERT INTO time_registrations (id, type, sort_index, creation_date, last_mutation_date, is_active, is_closed, activity_id, employee_id, date, hours, description)
		VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, 2.5, 'Demo')`, e.ids["{hours}"], models.TypeTimeRegistration, odataT0, odataT0, true, false, e.ids["{alpha}"], e.ids["{anna}"], models.NewDate(2026, 3, 2)).Error; err != nil {
		t.Fatal(err)
	}
	// The reference rows were stamped when the demo loaded: give them the fixture's clock too.
	for _, table := range []string{"pipelines", "phases", "employees", "relationships", "contacts", "sources", "lost_reasons", "competitors", "price_lists"} {
		if err := s.DB.Exec("UPDATE "+table+" SET creation_date = ?, last_mutation_date = ?", odataT0, odataT0).Error; err != nil {
			t.Fatal(err)
		}
	}
	e.token, _ = authtest.Token(t, s, models.RoleManager, "read", &anna.ID)
	e.rwToken, _ = authtest.Token(t, s, models.RoleManager, "read write", &anna.ID)
	e.ids["{base}"] = srv.URL
	return e
}

// expand replaces the placeholders of s with the fixture's keys.
func (e *odataEnv) expand(s string) string {
	var pairs []string
	for k, v := range e.ids {
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// do sends a request to the API with the read token (the read-write one for other methods than
// GET); path may hold placeholders and spaces, header is name, value pairs.
func (e *odataEnv) do(method, path string, header ...string) (int, http.Header, string) {
	e.t.Helper()
	u := e.srv.URL + strings.ReplaceAll(e.expand(path), " ", "%20")
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	tok := e.token
	if method != "GET" {
		tok = e.rwToken
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// odataCase is one request and what its answer must be. Placeholders ({alpha}, {qual}, {base},
// ...) stand for the fixture's keys in path and expectations.
type odataCase struct {
	name   string
	method string // GET when empty
	path   string
	header []string // name, value pairs
	status int
	// exact is the whole body, byte for byte; with unordered, the same JSON up to the order of
	// array elements (for requests without $orderby, which the server sorts by key).
	exact     string
	unordered bool
	// values is "Field: v1, v2, ..." the values of Field in "value", in order (sorted when
	// unordered).
	values string
	has    []string // substrings of the body
	check  func(t *testing.T, e *odataEnv, body string)
}

// The standard fields of a row the fixture stamped at odataT0, from SortIndex to ImportId.
const stamped = `"CreationDate":"2026-03-01T10:00:00Z","LastMutationDate":"2026-03-01T10:00:00Z","IsActive":true,"IsClosed":false`

// etag1 is the annotation of an activity at version 1 (activities.version is the sets' ETag).
const etag1 = `"@odata.etag":"W/\"1\"",`

var odataCases = []odataCase{
	// The service document and $metadata.
	{name: "service document", path: "/v1/odata/", status: 200,
		has: []string{`"@odata.context":"{base}/v1/odata/$metadata"`, `{"name":"Datastore_Phase","kind":"EntitySet","url":"Datastore_Phase"}`,
			`{"name":"GetCurrentEmployee","kind":"FunctionImport","url":"GetCurrentEmployee"}`}},
	{name: "metadata XML", path: "/v1/odata/$metadata", status: 200, check: checkMetadataXML},
	{name: "metadata JSON ($format)", path: "/v1/odata/$metadata?$format=json", status: 200, check: checkMetadataJSON},
	{name: "metadata JSON (Accept)", path: "/v1/odata/$metadata", header: []string{"Accept", "application/json"}, status: 200, check: checkMetadataJSON},

	// Phases: every example URL of the phase seed.
	{name: "seed: all phases", path: "/v1/odata/Datastore_Phase", status: 200, check: func(t *testing.T, e *odataEnv, body string) {
		v := decodeList(t, body)
		if len(v) != 55 || strings.Contains(body, "nextLink") {
			t.Fatalf("%d phases (want 55 on one page): %.300s", len(v), body)
		}
		types := map[string]int{}
		for _, p := range v {
			types[p["_Type"].(string)]++
		}
		if len(types) != 16 || types["Datastore.Phase.ActivitySalesOpportunity"] != 9 || types["Datastore.Phase.ActivityInvoice"] != 3 {
			t.Fatalf("_Type of the phases: %v", types)
		}
	}},
	{name: "seed: single phase", path: "/v1/odata/Datastore_Phase({qual})", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase/$entity","ID":"{qual}","_Type":"Datastore.Phase.ActivitySalesOpportunity","_Name":"Qualification","SortIndex":1,` + stamped +
			`,"ImportId":null,"Name":"Qualification","Code":"QUAL","LocalizedName":"Qualification","IsDefault":true,"Icon":"circle","ActionName":"Qualify","LocalizedActionName":"Qualify",` +
			`"IsAssignable":true,"IsTerminal":false,"IsWon":false,"DefaultProbability":10}`},
	{name: "seed: invoice phases with $select", path: "/v1/odata/Datastore_Phase_ActivityInvoice?$select=Name,Code", status: 200, unordered: true,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase_ActivityInvoice(Name,Code)","value":[{"Name":"Draft","Code":"DRAFT"},{"Name":"Sent","Code":"SENT"},{"Name":"Paid","Code":"PAID"}]}`},
	{name: "seed: opportunity phases with $select", path: "/v1/odata/Datastore_Phase_ActivitySalesOpportunity?$select=Name,Code,IsTerminal", status: 200, unordered: true,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase_ActivitySalesOpportunity(Name,Code,IsTerminal)","value":[` +
			`{"Name":"Qualification","Code":"QUAL","IsTerminal":false},{"Name":"Proposal","Code":"PROP","IsTerminal":false},{"Name":"Negotiation","Code":"NEGO","IsTerminal":false},` +
			`{"Name":"Won","Code":"WON","IsTerminal":true},{"Name":"Lost","Code":"LOST","IsTerminal":true},{"Name":"Discovery","Code":"DISC","IsTerminal":false},` +
			`{"Name":"Quote","Code":"QUOTE","IsTerminal":false},{"Name":"Won","Code":"WON","IsTerminal":true},{"Name":"Lost","Code":"LOST","IsTerminal":true}]}`},
	{name: "seed: subtype single phase", path: "/v1/odata/Datastore_Phase_ActivityInvoice({draft})?$select=Name", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase_ActivityInvoice(Name)/$entity","Name":"Draft"}`},
	{name: "a phase is not in another subtype's set", path: "/v1/odata/Datastore_Phase_ActivityInvoice({qual})", status: 404, has: []string{`"code":"NotFound"`}},
	{name: "seed: phase with $expand=Pipeline", path: "/v1/odata/Datastore_Phase({qual})?$expand=Pipeline&$select=Name", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase(Name,Pipeline())/$entity","Name":"Qualification","Pipeline":{"ID":"{pipeline}","_Type":"Pipeline","_Name":"Sales","SortIndex":1,` +
			stamped + `,"ImportId":"demo:pipeline:sales","Name":"Sales","ActivityType":"Activity.SalesOpportunity"}}`},
	{name: "seed: phase/Pipeline", path: "/v1/odata/Datastore_Phase({qual})/Pipeline", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Pipeline/$entity","ID":"{pipeline}","_Type":"Pipeline","_Name":"Sales","SortIndex":1,` +
			stamped + `,"ImportId":"demo:pipeline:sales","Name":"Sales","ActivityType":"Activity.SalesOpportunity"}`},
	{name: "seed: terminal opportunity phases", path: "/v1/odata/Datastore_Phase_ActivitySalesOpportunity?$filter=IsTerminal eq true", status: 200,
		unordered: true, values: "Name: Lost, Lost, Won, Won"},
	{name: "seed: phases by Name", path: "/v1/odata/Datastore_Phase?$filter=Name eq 'Won'&$top=10", status: 200, unordered: true,
		values: "_Type: Datastore.Phase.ActivitySalesOpportunity, Datastore.Phase.ActivitySalesOpportunity"},
	{name: "seed: phases by Name (quote escaped)", path: "/v1/odata/Datastore_Phase?$filter=Name eq 'Won''t'&$top=10", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase","value":[]}`},
	{name: "seed: phases by Code", path: "/v1/odata/Datastore_Phase?$filter=Code eq 'PAID'&$top=5&$select=Name,Code", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase(Name,Code)","value":[{"Name":"Paid","Code":"PAID"}]}`},
	{name: "seed: phases by IsTerminal", path: "/v1/odata/Datastore_Phase?$filter=IsTerminal eq true&$top=3&$select=IsTerminal", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase(IsTerminal)","value":[{"IsTerminal":true},{"IsTerminal":true},{"IsTerminal":true}]}`},
	{name: "seed: phases by IsAssignable", path: "/v1/odata/Datastore_Phase?$filter=IsAssignable eq false&$top=3", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase","value":[]}`},
	{name: "seed: phases by IsAssignable (true)", path: "/v1/odata/Datastore_Phase?$filter=IsAssignable eq true&$top=2&$count=true&$select=IsAssignable", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase(IsAssignable)","@odata.count":55,"value":[{"IsAssignable":true},{"IsAssignable":true}]}`},
	{name: "seed: filtering by _Type is refused", path: "/v1/odata/Datastore_Phase?$filter=_Type eq 'Datastore.Phase.ActivityInvoice'", status: 400,
		exact: `{"error":{"code":"BadRequest","message":"Filtering by _Type is not supported: query the subtype's own entity set instead (e.g. /v1/odata/Datastore_Phase_ActivityInvoice)","target":"$filter","details":[]}}`},
	{name: "_Type refused inside a condition too", path: "/v1/odata/Activity_SalesOpportunity?$filter=Amount gt 0 and Phase/_Type eq 'x'", status: 400,
		has: []string{"Filtering by _Type is not supported"}},

	// Opportunities: every example URL of the opportunity seed.
	{name: "seed: list opportunities (plain)", path: "/v1/odata/Activity_SalesOpportunity", status: 200, unordered: true,
		values: "Subject: Alpha CRM rollout, Bravo renewal, Charlie licence, Delta lost deal, Echo won deal"},
	{name: "seed: opportunity with $expand=Phase (plain)", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$expand=Phase", status: 200,
		has: []string{`"Subject":"Alpha CRM rollout"`, `"Phase":{"ID":"{qual}","_Type":"Datastore.Phase.ActivitySalesOpportunity","_Name":"Qualification"`}},
	{name: "seed: list opportunities", path: "/v1/odata/Activity_SalesOpportunity?$select=Subject,Number", status: 200, unordered: true,
		values: "Subject: Alpha CRM rollout, Bravo renewal, Charlie licence, Delta lost deal, Echo won deal"},
	{name: "seed: single opportunity (every field)", path: "/v1/odata/Activity_SalesOpportunity({alpha})", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity/$entity",` + etag1 + `"ID":"{alpha}","_Type":"Activity.SalesOpportunity","_Name":"Alpha CRM rollout","SortIndex":1024,` +
			stamped + `,"ImportId":"crm:alpha","Subject":"Alpha CRM rollout","Number":"2026-00001","Amount":10000,"Currency":"EUR","IsVatIncluded":false,"DiscountPercentage":0,` +
			`"RelationDescription":"","NumberOfProductLines":0,"NumberOfOpenTasks":0,"NumberOfPlannedActions":0,"BillingAmount":0,"BillingAmountInCurrency":0,"AmountInCurrency":0,` +
			`"TotalSalesExcludingVAT":0,"TotalSalesIncludingVAT":0,"VatAmount":0,"TotalDiscountExcludingVAT":0,"TotalMargin":0,"TotalPurchaseAmount":0,` +
			`"ReportingRate":1,"AmountInReportingCurrency":10000,` +
			`"Probability":10,"WeightedAmount":1000,"EstimatedAmount":10000,"ExpectedOrderDate":"2026-04-15","ForecastCategory":null,` +
			`"EstimatedAmountInReportingCurrency":10000,"WeightedAmountInReportingCurrency":1000}`},
	{name: "seed: single opportunity, key with guid'' and ID=", path: "/v1/odata/Activity_SalesOpportunity(ID=guid'{alpha}')?$select=Subject", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Subject)/$entity",` + etag1 + `"Subject":"Alpha CRM rollout"}`},
	{name: "seed: opportunity with expanded relations", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$expand=Relationship,Contact,ProductLines,Phase,Pipeline", status: 200,
		check: func(t *testing.T, e *odataEnv, body string) {
			var o map[string]any
			mustJSON(t, body, &o)
			want := map[string]string{"Relationship": "Acme Logistics", "Phase": "Qualification", "Pipeline": "Sales"}
			for nav, name := range want {
				if m, _ := o[nav].(map[string]any); m == nil || m["Name"] != name {
					t.Fatalf("%s: %v", nav, o[nav])
				}
			}
			if c, _ := o["Contact"].(map[string]any); c == nil || c["ID"] != e.ids["{contact}"] || c["_Name"] != c["FirstName"].(string)+" "+c["LastName"].(string) {
				t.Fatalf("Contact: %v", o["Contact"])
			}
			if lines, _ := o["ProductLines"].([]any); len(lines) != 2 {
				t.Fatalf("ProductLines: %v", o["ProductLines"])
			}
			if o["Subject"] != "Alpha CRM rollout" || o["@odata.context"] != e.expand("{base}/v1/odata/$metadata#Activity_SalesOpportunity(Relationship(),Contact(),ProductLines(),Phase(),Pipeline())/$entity") {
				t.Fatalf("entity: %v", o)
			}
		}},
	{name: "seed: opportunity with $expand=Phase", path: "/v1/odata/Activity_SalesOpportunity({charlie})?$select=Subject&$expand=Phase($select=Name,Code)", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Subject,Phase(Name,Code))/$entity",` + etag1 + `"Subject":"Charlie licence","Phase":{"Name":"Negotiation","Code":"NEGO"}}`},
	{name: "seed: opportunity/ProductLines", path: "/v1/odata/Activity_SalesOpportunity({alpha})/ProductLines", status: 200, unordered: true,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#ProductLine","value":[` +
			`{"ID":"{line1}","_Type":"ProductLine","_Name":"Licences","SortIndex":1,` + stamped + `,"ImportId":null,"Description":"Licences","Quantity":1,"Price":50,"Amount":50},` +
			`{"ID":"{line2}","_Type":"ProductLine","_Name":"Training","SortIndex":2,` + stamped + `,"ImportId":null,"Description":"Training","Quantity":1,"Price":150,"Amount":150}]}`},
	{name: "seed: opportunity/Involved", path: "/v1/odata/Activity_SalesOpportunity({alpha})/Involved", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Involved","value":[{"ID":"{involved}","_Type":"Involved","_Name":"Bram Jansen","SortIndex":1,` + stamped + `,"ImportId":null,"Role":"Pre-sales"}]}`},
	{name: "seed: opportunity/Pipeline/$ref", path: "/v1/odata/Activity_SalesOpportunity({alpha})/Pipeline/$ref", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#$ref","@odata.id":"{base}/v1/odata/Pipeline({pipeline})"}`},
	{name: "seed: contains(Subject, ...)", path: "/v1/odata/Activity_SalesOpportunity?$filter=contains(Subject, 'DEAL')&$top=10", status: 200, unordered: true,
		values: "Subject: Delta lost deal, Echo won deal"},
	{name: "seed: Probability gt", path: "/v1/odata/Activity_SalesOpportunity?$filter=Probability gt 50&$top=10", status: 200, unordered: true,
		values: "Subject: Charlie licence, Echo won deal"},
	{name: "seed: WeightedAmount gt", path: "/v1/odata/Activity_SalesOpportunity?$filter=WeightedAmount gt 10000&$top=10", status: 200, unordered: true,
		values: "Subject: Bravo renewal, Charlie licence"},
	{name: "seed: EstimatedAmount gt", path: "/v1/odata/Activity_SalesOpportunity?$filter=EstimatedAmount gt 30000.5&$top=10", status: 200, unordered: true,
		values: "Subject: Bravo renewal, Charlie licence"},
	{name: "seed: ExpectedOrderDate lt", path: "/v1/odata/Activity_SalesOpportunity?$filter=ExpectedOrderDate lt 2026-04-01&$top=10&$select=Subject,ExpectedOrderDate&$orderby=ExpectedOrderDate", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Subject,ExpectedOrderDate)","value":[{` + etag1 + `"Subject":"Echo won deal","ExpectedOrderDate":"2026-03-10"},{` + etag1 + `"Subject":"Delta lost deal","ExpectedOrderDate":"2026-03-20"}]}`},
	{name: "seed: Amount gt", path: "/v1/odata/Activity_SalesOpportunity?$filter=Amount gt 15000&$top=2&$orderby=Amount desc", status: 200,
		values: "Subject: Charlie licence, Bravo renewal"},
	{name: "seed: IsClosed eq", path: "/v1/odata/Activity_SalesOpportunity?$filter=IsClosed eq true&$top=10", status: 200, unordered: true,
		values: "Subject: Delta lost deal, Echo won deal"},
	{name: "seed: CreationDate gt (date-time)", path: "/v1/odata/Activity_SalesOpportunity?$filter=CreationDate gt 2026-03-03T12:00:00Z&$top=10", status: 200, unordered: true,
		values: "Subject: Delta lost deal, Echo won deal"},
	{name: "CreationDate gt (date: midnight UTC)", path: "/v1/odata/Activity_SalesOpportunity?$filter=CreationDate gt 2026-03-03&$top=10", status: 200, unordered: true,
		values: "Subject: Charlie licence, Delta lost deal, Echo won deal"},
	{name: "CreationDate gt (offset)", path: "/v1/odata/Activity_SalesOpportunity?$filter=CreationDate gt 2026-03-03T11:00:00%2B01:00&$top=10", status: 200, unordered: true,
		values: "Subject: Delta lost deal, Echo won deal"},

	// Navigation paths, lambdas, ordering, expand.
	{name: "Phase/Code path", path: "/v1/odata/Activity_SalesOpportunity?$filter=Phase/Code eq 'NEGO'", status: 200, values: "Subject: Charlie licence"},
	{name: "Pipeline/Name path", path: "/v1/odata/Activity_SalesOpportunity?$filter=Pipeline/Name eq 'Sales'&$count=true&$top=0", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity","@odata.count":5,"value":[]}`},
	{name: "ProductLines/any", path: "/v1/odata/Activity_SalesOpportunity?$filter=ProductLines/any(p: p/Amount gt 100)", status: 200, values: "Subject: Alpha CRM rollout"},
	{name: "ProductLines/all", path: "/v1/odata/Activity_SalesOpportunity?$filter=ProductLines/all(p: p/Amount lt 100) and ProductLines/any()&$select=Subject", status: 200,
		values: "Subject: Charlie licence"},
	{name: "a computed _Name inside a lambda", path: "/v1/odata/Activity_SalesOpportunity?$filter=Involved/any(i: i/_Name eq 'Bram Jansen')&$select=Subject", status: 200,
		values: "Subject: Alpha CRM rollout"},
	{name: "a computed _Name through a path", path: "/v1/odata/Activity_SalesOpportunity?$filter=startswith(SalesRepresentative/_Name, 'anna d')&$orderby=Contact/_Name&$select=Subject", status: 200,
		values: "Subject: Alpha CRM rollout"},
	{name: "orderby a navigation path, then subject", path: "/v1/odata/Activity_SalesOpportunity?$orderby=Phase/SortIndex desc,Subject&$select=Subject", status: 200,
		values: "Subject: Delta lost deal, Echo won deal, Charlie licence, Bravo renewal, Alpha CRM rollout"},
	{name: "nested expand", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$select=Subject&$expand=Relationship($select=Name;$expand=Contacts($select=FirstName;$orderby=FirstName))", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Subject,Relationship(Name,Contacts(FirstName)))/$entity",` + etag1 + `"Subject":"Alpha CRM rollout",` +
			`"Relationship":{"Name":"Acme Logistics","Contacts":[{"FirstName":"Lotte"},{"FirstName":"Sam"}]}}`},
	{name: "expand 1:N with $filter and $count", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$select=Subject&$expand=ProductLines($filter=Amount gt 100;$select=Description;$count=true)", status: 200,
		has: []string{`"ProductLines@odata.count":1`, `"ProductLines":[{"Description":"Training"}]`}},
	{name: "an empty N:1 link is null", path: "/v1/odata/Activity_SalesOpportunity({bravo})?$select=Subject&$expand=Relationship,SalesRepresentative,LostReason", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Subject,Relationship(),SalesRepresentative(),LostReason())/$entity",` + etag1 + `"Subject":"Bravo renewal","Relationship":null,"SalesRepresentative":null,"LostReason":null}`},
	{name: "navigating an empty N:1 link", path: "/v1/odata/Activity_SalesOpportunity({bravo})/Relationship", status: 204},
	{name: "lost reason and competitor", path: "/v1/odata/Activity_SalesOpportunity({delta})?$select=Subject&$expand=LostReason($select=Name),LostToCompetitor($select=Name)", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(Subject,LostReason(Name),LostToCompetitor(Name))/$entity",` + etag1 + `"Subject":"Delta lost deal","LostReason":{"Name":"No budget"},"LostToCompetitor":{"Name":"HubSpot"}}`},
	{name: "every relationship of the seed expands", path: "/v1/odata/Activity_SalesOpportunity({alpha})?$select=ID&$expand=Relationship($select=Name),Contact($select=FirstName),ProductLines($select=Amount;$orderby=Amount),Involved($select=Role),Phase($select=Code),Pipeline($select=Name),Source($select=Name),SalesRepresentative($select=LastName),LostReason,LostToCompetitor,PriceList($select=Name),LinkedActivities($select=Subject),Activity,TimeRegistrations($select=Date,Hours)", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(ID,Relationship(Name),Contact(FirstName),ProductLines(Amount),Involved(Role),Phase(Code),Pipeline(Name),Source(Name),SalesRepresentative(LastName),LostReason(),LostToCompetitor(),PriceList(Name),LinkedActivities(Subject),Activity(),TimeRegistrations(Date,Hours))/$entity",` + etag1 +
			`"ID":"{alpha}","Relationship":{"Name":"Acme Logistics"},"Contact":{"FirstName":"Lotte"},"ProductLines":[{"Amount":50},{"Amount":150}],"Involved":[{"Role":"Pre-sales"}],` +
			`"Phase":{"Code":"QUAL"},"Pipeline":{"Name":"Sales"},"Source":{"Name":"Website"},"SalesRepresentative":{"LastName":"de Vries"},"LostReason":null,"LostToCompetitor":null,` +
			`"PriceList":{"Name":"Standard 2026"},"LinkedActivities":[{` + etag1 + `"Subject":"Echo won deal"}],"Activity":null,"TimeRegistrations":[{"Date":"2026-03-02","Hours":2.5}]}`},
	{name: "parent activity", path: "/v1/odata/Activity_SalesOpportunity({echo})/Activity?$select=Subject", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity(Subject)/$entity",` + etag1 + `"Subject":"Alpha CRM rollout"}`},
	{name: "Activity set holds every activity", path: "/v1/odata/Activity/$count", status: 200, exact: `5`},
	{name: "Set/$count", path: "/v1/odata/Activity_SalesOpportunity/$count?$filter=IsClosed eq false", status: 200, exact: `3`},
	{name: "$count=true", path: "/v1/odata/Datastore_Phase_ActivityInvoice?$count=true&$top=1&$select=Code&$orderby=Code", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase_ActivityInvoice(Code)","@odata.count":3,"value":[{"Code":"DRAFT"}]}`},
	{name: "GUIDs lowercase, dates YYYY-MM-DD", path: "/v1/odata/Activity_SalesOpportunity?$select=ID,ExpectedOrderDate,CreationDate&$orderby=CreationDate&$top=1", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(ID,ExpectedOrderDate,CreationDate)","value":[{` + etag1 + `"ID":"{alpha}","CreationDate":"2026-03-01T10:00:00Z","ExpectedOrderDate":"2026-04-15"}]}`},
	{name: "uppercase GUID key", path: "/v1/odata/Activity_SalesOpportunity({ALPHA})?$select=ID", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Activity_SalesOpportunity(ID)/$entity",` + etag1 + `"ID":"{alpha}"}`},
	{name: "filter on a GUID", path: "/v1/odata/Activity_SalesOpportunity?$filter=ID eq {alpha} or Relationship eq null&$select=Subject", status: 200, unordered: true,
		values: "Subject: Alpha CRM rollout, Bravo renewal, Charlie licence, Delta lost deal, Echo won deal"},
	{name: "the other sets", path: "/v1/odata/Relation_Person_Contact_Employee?$filter=startswith(LastName,'de')&$select=_Name", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Relation_Person_Contact_Employee(_Name)","value":[{"_Name":"Anna de Vries"}]}`},
	{name: "sources", path: "/v1/odata/Datastore_Source?$orderby=SortIndex&$top=2&$select=Name,Code", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Source(Name,Code)","value":[{"Name":"Website","Code":"S1"},{"Name":"Referral","Code":"S2"}]}`},
	{name: "lost reasons", path: "/v1/odata/Datastore_LostReason/$count", status: 200, exact: `5`},
	{name: "competitors", path: "/v1/odata/Relationship_Organization_Competitor?$orderby=Name&$select=Name", status: 200, values: "Name: HubSpot, Pipedrive, Salesforce"},
	{name: "price lists", path: "/v1/odata/PriceList?$select=Name,Currency", status: 200, exact: `{"@odata.context":"{base}/v1/odata/$metadata#PriceList(Name,Currency)","value":[{"Name":"Standard 2026","Currency":"EUR"}]}`},
	{name: "time registrations", path: "/v1/odata/TimeRegistration({hours})?$select=Date,Hours&$expand=Employee($select=_Name)", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#TimeRegistration(Date,Hours,Employee(_Name))/$entity","Date":"2026-03-02","Hours":2.5,"Employee":{"_Name":"Anna de Vries"}}`},
	{name: "relationships", path: "/v1/odata/Relationship/$count", status: 200, exact: `26`},
	{name: "contacts", path: "/v1/odata/Relation_Person_Contact/$count?$filter=Relationship/Name eq 'Acme Logistics'", status: 200, exact: `2`},
	{name: "product lines", path: "/v1/odata/ProductLine?$filter=Activity/Subject eq 'Charlie licence'&$select=Amount", status: 200, exact: `{"@odata.context":"{base}/v1/odata/$metadata#ProductLine(Amount)","value":[{"Amount":80}]}`},
	{name: "pipelines with their phases", path: "/v1/odata/Pipeline?$filter=Name eq 'Invoice'&$select=Name&$expand=Phases($select=Name;$orderby=SortIndex)", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Pipeline(Name,Phases(Name))","value":[{"Name":"Invoice","Phases":[{"Name":"Draft"},{"Name":"Sent"},{"Name":"Paid"}]}]}`},
	{name: "GetCurrentEmployee()", path: "/v1/odata/GetCurrentEmployee()?$select=ID,_Name", status: 200,
		exact: `{"@odata.context":"{base}/v1/odata/$metadata#Relationship_Person_Contact_Employee(ID,_Name)/$entity","ID":"{anna}","_Name":"Anna de Vries"}`},
	{name: "arithmetic, in, functions", path: "/v1/odata/Activity_SalesOpportunity?$filter=EstimatedAmount div 1000 mod 7 eq 3 or year(ExpectedOrderDate) eq 2026 and month(ExpectedOrderDate) in (5, 6) and length(tolower(Subject)) gt 3&$select=Subject", status: 200,
		unordered: true, values: "Subject: Bravo renewal, Charlie licence, Alpha CRM rollout"},

	// Errors.
	{name: "unknown property in $filter", path: "/v1/odata/Datastore_Phase?$filter=Colour eq 'red'", status: 400, has: []string{`"code":"BadRequest"`, "Colour"}},
	{name: "unknown property in $select", path: "/v1/odata/Datastore_Phase?$select=Name,Colour", status: 400, has: []string{"Colour", `"target":"$select"`}},
	{name: "unknown property in $orderby", path: "/v1/odata/Datastore_Phase?$orderby=Colour", status: 400, has: []string{"Colour"}},
	{name: "unknown navigation in $expand", path: "/v1/odata/Datastore_Phase?$expand=Colour", status: 400, has: []string{"Colour"}},
	{name: "unknown set", path: "/v1/odata/Datastore_Colour", status: 404, has: []string{`"code":"NotFound"`, "Datastore_Colour"}},
	{name: "unknown key", path: "/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000000)", status: 404, has: []string{`"code":"NotFound"`}},
	{name: "unknown key, navigation", path: "/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000000)/ProductLines", status: 404},
	{name: "a phase key is not an opportunity", path: "/v1/odata/Activity_SalesOpportunity({qual})", status: 404},
	{name: "malformed key", path: "/v1/odata/Activity_SalesOpportunity(42)", status: 400, has: []string{"GUID"}},
	{name: "malformed filter names the position", path: "/v1/odata/Activity_SalesOpportunity?$filter=Amount gt (1", status: 400, has: []string{"position"}},
	{name: "unterminated string", path: "/v1/odata/Activity_SalesOpportunity?$filter=Subject eq 'x", status: 400, has: []string{"position"}},
	{name: "type mismatch", path: "/v1/odata/Activity_SalesOpportunity?$filter=Amount eq 'x'", status: 400, has: []string{"cannot compare"}},
	{name: "$search on a set without searchable properties", path: "/v1/odata/Datastore_Phase?$search=acme", status: 501, has: []string{`"code":"NotImplemented"`}},
	{name: "unknown $ option", path: "/v1/odata/Activity_SalesOpportunity?$colour=red", status: 400},
	{name: "POST to a read-only set", method: "POST", path: "/v1/odata/Datastore_Phase", status: 405, has: []string{`"code":"MethodNotAllowed"`}},
	{name: "DELETE on a read-only set", method: "DELETE", path: "/v1/odata/Datastore_Phase({qual})", status: 405},
	{name: "POST on $metadata", method: "POST", path: "/v1/odata/$metadata", status: 405},
	{name: "$top out of range", path: "/v1/odata/Datastore_Phase?$top=-1", status: 400},
	{name: "SQL in a string stays a value", path: "/v1/odata/Datastore_Phase?$filter=Name eq 'x'' OR 1=1 --'", status: 200, exact: `{"@odata.context":"{base}/v1/odata/$metadata#Datastore_Phase","value":[]}`},
}

func TestODataRequests(t *testing.T) {
	bodies := map[string]map[string]string{} // dialect → case → normalised body
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newODataEnv(t, dialect)
			e.ids["{ALPHA}"] = strings.ToUpper(e.ids["{alpha}"])
			bodies[dialect] = map[string]string{}
			for _, c := range odataCases {
				t.Run(c.name, func(t *testing.T) {
					method := c.method
					if method == "" {
						method = "GET"
					}
					status, header, body := e.do(method, c.path, c.header...)
					if status != c.status {
						t.Fatalf("%s %s: status %d, want %d: %s", method, c.path, status, c.status, body)
					}
					if status >= 400 {
						var oe struct {
							Error struct {
								Code, Message string
								Details       []any
							}
						}
						if err := json.Unmarshal([]byte(body), &oe); err != nil || oe.Error.Code == "" || oe.Error.Message == "" || oe.Error.Details == nil {
							t.Fatalf("not an OData error body: %s", body)
						}
						if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
							t.Fatalf("error Content-Type %q", ct)
						}
					}
					if c.exact != "" {
						want := e.expand(c.exact)
						if c.unordered {
							if canonicalJSON(t, body) != canonicalJSON(t, want) {
								t.Fatalf("body\n got %s\nwant %s", body, want)
							}
						} else if body != want {
							t.Fatalf("body\n got %s\nwant %s", body, want)
						}
					}
					if c.values != "" {
						field, list, _ := strings.Cut(c.values, ": ")
						want := strings.Split(list, ", ")
						var got []string
						for _, v := range decodeList(t, body) {
							s, _ := json.Marshal(v[field])
							got = append(got, strings.Trim(string(s), `"`))
						}
						if c.unordered {
							sort.Strings(got)
							sort.Strings(want)
						}
						if strings.Join(got, "|") != strings.Join(want, "|") {
							t.Fatalf("%s: got %q, want %q", field, got, want)
						}
					}
					for _, h := range c.has {
						if h = e.expand(h); !strings.Contains(body, h) {
							t.Fatalf("body lacks %s: %s", h, body)
						}
					}
					if c.check != nil {
						c.check(t, e, body)
					}
					bodies[dialect][c.name] = e.normalise(t, body)
				})
			}
		})
	}
	// The same answers from both databases (keys replaced by their fixture names).
	if len(bodies) == 2 {
		for _, c := range odataCases {
			if a, b := bodies[storetest.Dialects[0]][c.name], bodies[storetest.Dialects[1]][c.name]; a != b {
				t.Errorf("%s: the databases differ:\n%s\n%s", c.name, a, b)
			}
		}
	}
}

var guidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// normalise makes a body comparable across databases: fixture keys become their placeholder,
// other keys "<guid>", the server's address "{base}", and arrays are sorted.
func (e *odataEnv) normalise(t *testing.T, body string) string {
	names := map[string]string{}
	for k, v := range e.ids {
		if guidRE.MatchString(v) && k != "{ALPHA}" {
			names[v] = k
		}
	}
	body = strings.ReplaceAll(body, e.srv.URL, "{base}")
	body = guidRE.ReplaceAllStringFunc(body, func(g string) string {
		if n, ok := names[strings.ToLower(g)]; ok {
			return n
		}
		return "<guid>"
	})
	if json.Valid([]byte(body)) {
		return canonicalJSON(t, body)
	}
	return body
}

// canonicalJSON re-encodes a JSON document with every array sorted (by its elements' encoding).
func canonicalJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	mustJSON(t, s, &v)
	var sortArrays func(v any) any
	sortArrays = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = sortArrays(e)
			}
		case []any:
			keys := make([]string, len(x))
			for i, e := range x {
				b, _ := json.Marshal(sortArrays(e))
				keys[i] = string(b)
			}
			sort.Strings(keys)
			out := make([]any, len(x))
			for i, k := range keys {
				out[i] = json.RawMessage(k)
			}
			return out
		}
		return v
	}
	b, _ := json.Marshal(sortArrays(v))
	return string(b)
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("invalid JSON (%v): %.500s", err, s)
	}
}

// decodeList returns the entities of a collection body.
func decodeList(t *testing.T, body string) []map[string]any {
	t.Helper()
	var c struct {
		Value []map[string]any `json:"value"`
	}
	mustJSON(t, body, &c)
	return c.Value
}

// odataSetNames are every entity set the API must serve.
func odataSetNames() []string {
	names := []string{"Datastore_Phase", "Activity_SalesOpportunity", "Activity", "Pipeline", "Relationship", "Relation_Person_Contact",
		"Relation_Person_Contact_Employee", "Datastore_Source", "Datastore_LostReason", "Relationship_Organization_Competitor", "PriceList",
		"ProductLine", "Involved", "TimeRegistration"}
	for _, k := range models.ActivityKinds {
		names = append(names, "Datastore_Phase_Activity"+k)
	}
	return names
}

func checkMetadataXML(t *testing.T, e *odataEnv, body string) {
	if !strings.HasPrefix(body, `<?xml`) {
		t.Fatalf("not XML: %.200s", body)
	}
	var doc struct {
		Schemas []struct {
			Namespace string `xml:"Namespace,attr"`
			Types     []struct {
				Name     string `xml:"Name,attr"`
				BaseType string `xml:"BaseType,attr"`
			} `xml:"EntityType"`
			Sets []struct {
				Name string `xml:"Name,attr"`
			} `xml:"EntityContainer>EntitySet"`
		} `xml:"DataServices>Schema"`
	}
	if err := xml.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	sets, bases := map[string]bool{}, map[string]string{}
	for _, s := range doc.Schemas {
		for _, es := range s.Sets {
			sets[es.Name] = true
		}
		for _, ty := range s.Types {
			bases[s.Namespace+"."+ty.Name] = ty.BaseType
		}
	}
	for _, name := range odataSetNames() {
		if !sets[name] {
			t.Errorf("$metadata lacks the set %s", name)
		}
	}
	for _, k := range models.ActivityKinds {
		if b := bases[models.PhaseType(k)]; b != "Datastore.Phase" {
			t.Errorf("%s: BaseType %q", models.PhaseType(k), b)
		}
	}
	if bases["Activity.SalesOpportunity"] != "Phaseboard.Activity" {
		t.Errorf("opportunity BaseType %q", bases["Activity.SalesOpportunity"])
	}
	for _, frag := range []string{`<Property Name="ExpectedOrderDate" Type="Edm.Date"/>`, `<Property Name="ID" Type="Edm.Guid" Nullable="false"`,
		`<NavigationProperty Name="ProductLines" Type="Collection(ProductLine.ProductLine)"/>`, `<NavigationProperty Name="Phase" Type="Datastore.Phase.ActivitySalesOpportunity" Nullable="false"/>`,
		`<Key><PropertyRef Name="ID"/></Key>`} {
		if !strings.Contains(body, frag) && !strings.Contains(body, strings.ReplaceAll(frag, "ProductLine.ProductLine", "Phaseboard.ProductLine")) {
			t.Errorf("$metadata lacks %s", frag)
		}
	}
	for _, secret := range []string{"password", "token", "secret", "Session", "User"} {
		if strings.Contains(body, secret) {
			t.Errorf("$metadata mentions %q", secret)
		}
	}
}

func checkMetadataJSON(t *testing.T, e *odataEnv, body string) {
	var doc map[string]map[string]json.RawMessage
	var top map[string]json.RawMessage
	mustJSON(t, body, &top)
	doc = map[string]map[string]json.RawMessage{}
	for k, v := range top {
		if strings.HasPrefix(k, "$") {
			continue
		}
		var m map[string]json.RawMessage
		mustJSON(t, string(v), &m)
		doc[k] = m
	}
	var container map[string]json.RawMessage
	mustJSON(t, string(doc["Phaseboard"]["Container"]), &container)
	for _, name := range odataSetNames() {
		if container[name] == nil {
			t.Errorf("CSDL JSON lacks the set %s", name)
		}
	}
	for _, k := range models.ActivityKinds {
		var ty struct {
			BaseType string `json:"$BaseType"`
		}
		mustJSON(t, string(doc["Datastore.Phase"]["Activity"+k]), &ty)
		if ty.BaseType != "Datastore.Phase" {
			t.Errorf("%s: $BaseType %q", k, ty.BaseType)
		}
	}
	var opp map[string]json.RawMessage
	mustJSON(t, string(doc["Activity"]["SalesOpportunity"]), &opp)
	if string(opp["ExpectedOrderDate"]) != `{"$Type":"Edm.Date","$Nullable":true}` {
		t.Errorf("ExpectedOrderDate: %s", opp["ExpectedOrderDate"])
	}
}

// TestODataPaging follows @odata.nextLink through every page: each row once, in order, with
// Prefer: odata.maxpagesize honoured and $top spread over the pages.
func TestODataPaging(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newODataEnv(t, dialect)
			for _, c := range []struct {
				path  string
				pages []int
			}{
				{"/v1/odata/Datastore_Phase?$select=ID,Name&$orderby=Name desc&$count=true", []int{20, 20, 15}},
				{"/v1/odata/Datastore_Phase?$select=ID&$top=30", []int{20, 10}},
				{"/v1/odata/Datastore_Phase?$filter=IsTerminal eq true&$skip=3", []int{16}},
				{"/v1/odata/Datastore_Phase?$skip=50", []int{5}},
			} {
				var got []int
				seen := map[string]bool{}
				last := "\uffff"
				path := c.path
				for page := 0; path != "" && page < 10; page++ {
					status, header, body := e.do("GET", path, "Prefer", "odata.maxpagesize=20")
					if status != 200 {
						t.Fatalf("%s: %d %s", path, status, body)
					}
					if header.Get("Preference-Applied") != "odata.maxpagesize=20" {
						t.Fatalf("Preference-Applied %q", header.Get("Preference-Applied"))
					}
					var p struct {
						Count *int             `json:"@odata.count"`
						Next  string           `json:"@odata.nextLink"`
						Value []map[string]any `json:"value"`
					}
					mustJSON(t, body, &p)
					if strings.Contains(c.path, "$count=true") && (p.Count == nil || *p.Count != 55) {
						t.Fatalf("page %d: @odata.count %v", page, p.Count)
					}
					for _, v := range p.Value {
						id := v["ID"].(string)
						if seen[id] {
							t.Fatalf("%s: %s twice", c.path, id)
						}
						seen[id] = true
						if name, ok := v["Name"].(string); ok && strings.Contains(c.path, "Name desc") {
							if name > last {
								t.Fatalf("out of order: %q after %q", name, last)
							}
							last = name
						}
					}
					got = append(got, len(p.Value))
					if p.Next != "" && !strings.HasPrefix(p.Next, e.srv.URL+"/v1/odata/Datastore_Phase?") {
						t.Fatalf("nextLink %q", p.Next)
					}
					path = strings.TrimPrefix(p.Next, e.srv.URL)
				}
				if fmt.Sprint(got) != fmt.Sprint(c.pages) {
					t.Errorf("%s: pages %v, want %v", c.path, got, c.pages)
				}
			}
			// A token replayed against another query is refused.
			_, _, body := e.do("GET", "/v1/odata/Datastore_Phase?$select=ID", "Prefer", "odata.maxpagesize=5")
			var p struct {
				Next string `json:"@odata.nextLink"`
			}
			mustJSON(t, body, &p)
			tok := p.Next[strings.Index(p.Next, "$skiptoken="):]
			if status, _, body := e.do("GET", "/v1/odata/Datastore_Phase?$orderby=Name&"+tok); status != 400 {
				t.Fatalf("replayed token: %d %s", status, body)
			}
		})
	}
}

// TestODataNeedsCredentials: the API is behind web.APIAuth, GetCurrentEmployee() included.
func TestODataNeedsCredentials(t *testing.T) {
	e := newODataEnv(t, "sqlite")
	for _, path := range []string{"/v1/odata/", "/v1/odata/Activity_SalesOpportunity", "/v1/odata/GetCurrentEmployee()", "/v1/odata"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(b), `"code":"Unauthorized"`) {
			t.Errorf("%s without a token: %d %s", path, resp.StatusCode, b)
		}
	}
	// A client given no employee acts as its own (TestGetCurrentEmployeeOfEveryClient).
	tok, _ := authtest.Token(t, e.srv.store, models.RoleManager, "read", nil)
	e.token = tok
	if status, _, body := e.do("GET", "/v1/odata/GetCurrentEmployee()"); status != 200 || !strings.Contains(body, `"Name":"test client"`) {
		t.Errorf("GetCurrentEmployee() of a client given no employee: %d %s", status, body)
	}
	// /v1/odata itself is the service document.
	e.token = e.rwToken
	if status, _, body := e.do("GET", "/v1/odata"); status != 200 || !strings.Contains(body, `"Activity_SalesOpportunity"`) {
		t.Errorf("/v1/odata: %d %.200s", status, body)
	}
}
