package odata

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type pageBody struct {
	Context  string            `json:"@odata.context"`
	Count    *int              `json:"@odata.count"`
	NextLink string            `json:"@odata.nextLink"`
	Value    []json.RawMessage `json:"value"`
}

// TestServerDrivenPaging follows @odata.nextLink through 2,500 rows ordered
// by a column with duplicates and NULLs, on both databases.
func TestServerDrivenPaging(t *testing.T) {
	const n = 2500
	for _, d := range []*testDB{openSQLite(t), openPostgres(t)} {
		var rows [][]any
		for i := 0; i < n; i++ {
			var amount any = float64(i % 7)
			if i%11 == 0 {
				amount = nil
			}
			rows = append(rows, []any{guid(10000 + i), fmt.Sprintf("N%05d", i), amount, time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), i%2 == 0})
		}
		d.insert(t, "opportunities", "id,number,amount,creation_date,is_closed", rows...)
		s := newTestService(t, d, Options{})

		// Expected order: Amount desc NULLs last, then ID.
		var want []string
		for a := 6; a >= -1; a-- {
			for i := 0; i < n; i++ {
				isNull := i%11 == 0
				if (a == -1 && isNull) || (!isNull && i%7 == a) {
					want = append(want, fmt.Sprintf("N%05d", i))
				}
			}
		}
		target := "/v1/odata/Activity_SalesOpportunity?$select=Number&$orderby=Amount desc&$count=true"
		var got []string
		pages := 0
		for target != "" {
			res := do(s, "GET", target, "Prefer", "odata.maxpagesize=300")
			if res.status != 200 {
				t.Fatalf("%s: GET %s: %d %s", d.name, target, res.status, res.body)
			}
			if res.header.Get("Preference-Applied") != "odata.maxpagesize=300" {
				t.Errorf("%s: Preference-Applied = %q", d.name, res.header.Get("Preference-Applied"))
			}
			var page pageBody
			if err := json.Unmarshal([]byte(res.body), &page); err != nil {
				t.Fatalf("%s: %v in %s", d.name, err, res.body)
			}
			if page.Count == nil || *page.Count != n {
				t.Errorf("%s: @odata.count = %v", d.name, page.Count)
			}
			for _, v := range page.Value {
				var row struct{ Number string }
				json.Unmarshal(v, &row)
				got = append(got, row.Number)
			}
			pages++
			target = strings.TrimPrefix(page.NextLink, "http://example.test")
		}
		if pages != 9 {
			t.Errorf("%s: %d pages, want 9", d.name, pages)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: paging lost or reordered rows: got %d rows", d.name, len(got))
		}

		// $top across pages: the last page is cut at $top, $skip applies once.
		target = "/v1/odata/Activity_SalesOpportunity?$select=Number&$top=250&$skip=10&$filter=IsClosed eq true"
		got = nil
		for target != "" {
			res := do(s, "GET", target)
			var page pageBody
			if err := json.Unmarshal([]byte(res.body), &page); err != nil {
				t.Fatalf("%s: %v in %s", d.name, err, res.body)
			}
			for _, v := range page.Value {
				var row struct{ Number string }
				json.Unmarshal(v, &row)
				got = append(got, row.Number)
			}
			target = strings.TrimPrefix(page.NextLink, "http://example.test")
		}
		if len(got) != 250 || got[0] != "N00020" || got[249] != fmt.Sprintf("N%05d", 2*259) {
			t.Errorf("%s: $top/$skip paging: %d rows, first %v", d.name, len(got), got[:1])
		}

		if res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity?$skiptoken=abc"); res.status != 400 {
			t.Errorf("%s: bad skiptoken: %d", d.name, res.status)
		}
		first := do(s, "GET", "/v1/odata/Activity_SalesOpportunity?$select=Number")
		var page pageBody
		json.Unmarshal([]byte(first.body), &page)
		if len(page.Value) != 100 || !strings.Contains(page.NextLink, "$skiptoken=") {
			t.Errorf("%s: default page: %d rows, next %q", d.name, len(page.Value), page.NextLink)
		}
		// A token is bound to its query.
		tok := page.NextLink[strings.Index(page.NextLink, "$skiptoken=")+len("$skiptoken="):]
		if res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity?$orderby=Number&$skiptoken="+tok); res.status != 400 {
			t.Errorf("%s: token replayed with another $orderby: %d", d.name, res.status)
		}
	}
}

func TestErrors(t *testing.T) {
	d := openSQLite(t)
	d.seed(t)
	s := newTestService(t, d, Options{})
	tests := []struct {
		method, target string
		status         int
		want           string
	}{
		{"GET", "/v1/odata/Nope", 404, `"code":"NotFound"`},
		{"GET", "/v1/odata/activity_salesopportunity", 404, "unknown entity set"},
		{"GET", "/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000999)", 404, "does not exist"},
		{"GET", "/v1/odata/Activity_SalesOpportunity(123)", 400, "expected a GUID"},
		{"GET", "/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)/Nope", 404, "has no property Nope"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$filter=contains(Subject, 'x'", 400, `syntax error at position 21: expected ')'`},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$filter=Nope eq 1", 400, "unknown property Nope"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$filter=subject eq 'x'", 400, "unknown property subject"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$filter=Subject EQ 'x'", 400, "unknown operator"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$select=Nope", 400, "unknown property Nope in $select"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$orderby=Nope", 400, "unknown property Nope"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$orderby=ProductLines", 400, "not a property"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$expand=Nope", 400, "unknown navigation property Nope"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$expand=Subject", 400, "not a navigation property"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$expand=Phase($top=1)", 400, "not allowed when expanding the single-valued"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$top=-1", 400, "$top must be a non-negative integer"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$top=1&$top=2", 400, "more than once"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$count=yes", 400, "$count must be true or false"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$foo=1", 400, "unknown query option $foo"},
		{"GET", "/v1/odata/Pipeline?$search=x", 501, `"code":"NotImplemented"`},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$search=(x", 400, "expected ')'"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$apply=compute(Amount mul 2 as D)", 501, "compute is not supported"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$compute=Amount mul 2 as X&$select=X&$filter=X gt 1999", 200, `[{"X":2000},{"X":2000}]`},
		{"GET", "/v1/odata/Pipeline?$orderby=_Type&$select=Name", 200, `"value":[`}, // a constant _Type: not a bare constant in ORDER BY
		{"GET", "/v1/odata/Activity_SalesOpportunity?$format=xml", 406, "$format"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?%zz=1", 400, "malformed query string"},
		{"GET", "/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)?$filter=Amount gt 1", 400, "only $select and $expand"},
		{"POST", "/v1/odata/Activity_SalesOpportunity", 405, "does not accept POST"},
		{"DELETE", "/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)", 405, "does not accept DELETE"},
		{"PATCH", "/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)", 405, "MethodNotAllowed"},
		{"POST", "/v1/odata/$metadata", 405, "MethodNotAllowed"},
		{"PUT", "/v1/odata/Activity_SalesOpportunity/$count", 405, "MethodNotAllowed"},
		// Custom options are ignored, access_token included.
		{"GET", "/v1/odata/Activity_SalesOpportunity/$count?access_token=abc&foo=bar", 200, "4"},
		// Mounted behind http.StripPrefix the paths arrive relative.
		{"GET", "/Activity_SalesOpportunity/$count", 200, "4"},
		{"GET", "/v1/odata/Activity_SalesOpportunity/$count?$filter=CreationDate gt 2026-01-11T00:00:00+01:00", 200, "2"},
		{"GET", "/v1/odata/Activity_SalesOpportunity?$filter=CreationDate gt 2026-01-01T00:00:00 1:00", 400, "syntax error at position 16"},
	}
	for _, tt := range tests {
		res := do(s, tt.method, tt.target)
		if res.status != tt.status || !strings.Contains(res.body, tt.want) {
			t.Errorf("%s %s: got %d %s, want %d containing %q", tt.method, tt.target, res.status, res.body, tt.status, tt.want)
		}
		if res.status >= 400 {
			var body struct {
				Error struct {
					Code    string          `json:"code"`
					Message string          `json:"message"`
					Target  *string         `json:"target"`
					Details json.RawMessage `json:"details"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(res.body), &body); err != nil || body.Error.Code == "" || body.Error.Message == "" || string(body.Error.Details) != "[]" {
				t.Errorf("%s %s: not an OData error body: %s", tt.method, tt.target, res.body)
			}
		}
	}
}

// panicQuerier stands for any bug below the handler.
type panicQuerier struct{}

func (panicQuerier) QueryContext(context.Context, string, ...any) (*sql.Rows, error) { panic("boom") }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func TestPanicBecomes500(t *testing.T) {
	d := openSQLite(t)
	s, err := NewService(testModel(), panicQuerier{}, d.dialect, Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity")
	if res.status != 500 || !strings.Contains(res.body, `"code":"InternalError"`) || strings.Contains(res.body, "boom") {
		t.Errorf("got %d %s", res.status, res.body)
	}
}

func TestMetadata(t *testing.T) {
	d := openSQLite(t)
	s := newTestService(t, d, Options{
		CurrentEmployee: func(r *http.Request) (string, error) { return "", errors.New("x") },
		EmployeeSet:     "Pipeline",
	})
	xml := do(s, "GET", "/v1/odata/$metadata")
	for _, want := range []string{
		`<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Datastore.Phase"><EntityType Name="ActivityInvoice" BaseType="Datastore.Phase"></EntityType>`,
		`<EntityType Name="Phase"><Key><PropertyRef Name="ID"/></Key><Property Name="ID" Type="Edm.Guid" Nullable="false"/><Property Name="_Type" Type="Edm.String" Nullable="false"/><Property Name="Name" Type="Edm.String"/>`,
		`<NavigationProperty Name="ProductLines" Type="Phaseboard.ProductLine"`,
		`<Property Name="ExpectedOrderDate" Type="Edm.Date"/>`,
		`<EntitySet Name="Activity_SalesOpportunity" EntityType="Activity.SalesOpportunity"><NavigationPropertyBinding Path="Phase" Target="Datastore_Phase_ActivitySalesOpportunity"/>`,
		`<FunctionImport Name="GetCurrentEmployee" Function="Phaseboard.GetCurrentEmployee" EntitySet="Pipeline"/>`,
	} {
		want = strings.Replace(want, `Type="Phaseboard.ProductLine"`, `Type="Collection(Phaseboard.ProductLine)"`, 1)
		if !strings.Contains(xml.body, want) {
			t.Errorf("$metadata lacks %s", want)
		}
	}
	if ct := xml.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		t.Errorf("Content-Type %s", ct)
	}
	for _, res := range []response{do(s, "GET", "/v1/odata/$metadata?$format=json"), do(s, "GET", "/v1/odata/$metadata", "Accept", "application/json")} {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(res.body), &raw); err != nil {
			t.Fatalf("CSDL JSON: %v %s", err, res.body)
		}
		doc := map[string]map[string]any{}
		for k, v := range raw {
			if !strings.HasPrefix(k, "$") {
				var m map[string]any
				json.Unmarshal(v, &m)
				doc[k] = m
			}
		}
		inv, _ := doc["Datastore.Phase"]["ActivityInvoice"].(map[string]any)
		if inv["$BaseType"] != "Datastore.Phase" {
			t.Errorf("CSDL JSON ActivityInvoice = %v", inv)
		}
		opp, _ := doc["Activity"]["SalesOpportunity"].(map[string]any)
		if pl, _ := opp["ProductLines"].(map[string]any); pl["$Collection"] != true || pl["$Type"] != "Phaseboard.ProductLine" {
			t.Errorf("CSDL JSON ProductLines = %v", pl)
		}
		if c, _ := doc["Phaseboard"]["Container"].(map[string]any); c["Datastore_Phase_ActivityInvoice"] == nil {
			t.Errorf("CSDL JSON container = %v", c)
		}
	}
}

func TestCurrentEmployee(t *testing.T) {
	d := openSQLite(t)
	d.seed(t)
	s := newTestService(t, d, Options{
		CurrentEmployee: func(r *http.Request) (string, error) {
			if r.Header.Get("Authorization") == "" {
				return "", &Error{Status: 401, Code: "Unauthorized", Message: "log in first"}
			}
			return guid(2), nil
		},
		EmployeeSet: "Pipeline",
	})
	res := do(s, "GET", "/v1/odata/GetCurrentEmployee()?$select=Name", "Authorization", "Bearer x")
	if res.status != 200 || res.body != `{"@odata.context":"http://example.test/v1/odata/$metadata#Pipeline(Name)/$entity","Name":"Renewals"}` {
		t.Errorf("got %d %s", res.status, res.body)
	}
	if res := do(s, "GET", "/v1/odata/GetCurrentEmployee()"); res.status != 401 || !strings.Contains(res.body, "log in first") {
		t.Errorf("got %d %s", res.status, res.body)
	}
	if res := do(s, "GET", "/v1/odata/"); !strings.Contains(res.body, `{"name":"GetCurrentEmployee","kind":"FunctionImport","url":"GetCurrentEmployee"}`) {
		t.Errorf("service document: %s", res.body)
	}
}

type recordingWriter struct{ calls []string }

func (w *recordingWriter) NewChanges() any { return &testChanges{} }

func (w *recordingWriter) Create(r *http.Request, changes any, body *Body) (string, bool, error) {
	w.calls = append(w.calls, "create "+deref(changes.(*testChanges).Name))
	return guid(1), true, nil
}

func (w *recordingWriter) Update(r *http.Request, key string, changes any, body *Body) error {
	w.calls = append(w.calls, fmt.Sprintf("update %s %s %v", key, deref(changes.(*testChanges).Name), body.Sent["Name"]))
	return nil
}

func (w *recordingWriter) Delete(r *http.Request, key string) error {
	w.calls = append(w.calls, "delete "+key)
	return &Error{Status: 409, Code: "Conflict", Message: "still in use"}
}

func TestWriterExtensionPoint(t *testing.T) {
	d := openSQLite(t)
	d.seed(t)
	m := testModel()
	w := &recordingWriter{}
	m.Sets[0].Writer = w
	s, err := NewService(m, d.db, d.dialect, Options{ServiceRoot: serviceRoot})
	if err != nil {
		t.Fatal(err)
	}
	req := func(method, target, body string) response {
		r, _ := http.NewRequest(method, target, strings.NewReader(body))
		rec := newRecorder()
		s.ServeHTTP(rec, r)
		return response{rec.Code, rec.Header(), rec.Body.String()}
	}
	res := req("POST", "/v1/odata/Pipeline", `{"Name":"Sales"}`)
	if res.status != 201 || res.header.Get("Location") != serviceRoot+"/Pipeline("+guid(1)+")" || !strings.Contains(res.body, `"http://example.test/v1/odata/$metadata#Pipeline/$entity"`) {
		t.Errorf("POST: %d %v %s", res.status, res.header, res.body)
	}
	if res := req("PATCH", "/v1/odata/Pipeline("+guid(1)+")", `{"Name":"X"}`); res.status != 204 {
		t.Errorf("PATCH: %d %s", res.status, res.body)
	}
	if res := req("DELETE", "/v1/odata/Pipeline("+guid(1)+")", ""); res.status != 409 || !strings.Contains(res.body, "still in use") {
		t.Errorf("DELETE: %d %s", res.status, res.body)
	}
	want := `create Sales|update 00000000-0000-4000-8000-000000000001 X true|delete 00000000-0000-4000-8000-000000000001`
	if got := strings.Join(w.calls, "|"); got != want {
		t.Errorf("calls %s", got)
	}
}

// failingQuerier stands for a database that cannot be reached.
type failingQuerier struct{ err error }

func (q failingQuerier) QueryContext(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, q.err
}

// TestMapError: an error the application recognises becomes its OData error (a 503 with
// Retry-After for a database that is down); without MapError it is a 500.
func TestMapError(t *testing.T) {
	d := openSQLite(t)
	down := errors.New("connection refused")
	for _, tc := range []struct {
		mapError func(error) error
		status   int
		code     string
	}{
		{nil, 500, "InternalError"},
		{func(err error) error {
			if errors.Is(err, down) {
				return &Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "the database is down"}
			}
			return err
		}, 503, "ServiceUnavailable"},
	} {
		s, err := NewService(testModel(), failingQuerier{down}, d.dialect, Options{Logger: discardLogger(), MapError: tc.mapError})
		if err != nil {
			t.Fatal(err)
		}
		w := newRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", "/v1/odata/Activity_SalesOpportunity", nil))
		if w.Code != tc.status || !strings.Contains(w.Body.String(), `"code":"`+tc.code+`"`) {
			t.Fatalf("MapError %v: %d %s", tc.mapError != nil, w.Code, w.Body)
		}
		if tc.status == 503 && w.Header().Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	}
}

// TestCountRunsWithThePageOnPostgreSQL: $count=true and the page are two queries that
// PostgreSQL runs at once, on two connections. Both evaluate barrier(), which waits (up to 3 s)
// until two queries have reached it: run one after the other, the first would give up and the
// count would be 0.
func TestCountRunsWithThePageOnPostgreSQL(t *testing.T) {
	d := openPostgres(t)
	d.seed(t)
	for _, ddl := range []string{
		`CREATE SEQUENCE barrier_seq`,
		`CREATE FUNCTION barrier() RETURNS boolean LANGUAGE plpgsql AS $$
		BEGIN
			IF current_setting('odata_test.joined', true) IS DISTINCT FROM '1' THEN
				PERFORM set_config('odata_test.joined', '1', true);
				PERFORM nextval('barrier_seq');
			END IF;
			FOR i IN 1..300 LOOP
				IF (SELECT last_value FROM barrier_seq) >= 2 THEN
					RETURN true;
				END IF;
				PERFORM pg_sleep(0.01);
			END LOOP;
			RETURN false;
		END $$`,
	} {
		if _, err := d.db.Exec(ddl); err != nil {
			t.Fatal(err)
		}
	}
	m := testModel()
	for i := range m.Types {
		if m.Types[i].Name == "Activity.SalesOpportunity" {
			m.Types[i].Properties = append(m.Types[i].Properties, Prop("Barrier", EdmBoolean, "barrier()"))
		}
	}
	s, err := NewService(m, d.db, d.dialect, Options{ServiceRoot: serviceRoot})
	if err != nil {
		t.Fatal(err)
	}
	res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity?$count=true&$select=Number&$filter=Barrier")
	if res.status != 200 || !strings.Contains(res.body, `"@odata.count":4,`) || strings.Count(res.body, `"Number"`) != 4 {
		t.Errorf("count and page did not run together: %d %s", res.status, res.body)
	}
}

// TestDateTimeOffsetsAtTheirPrecision: a timestamp with nanoseconds reads the same from both
// databases, to the microsecond that $metadata declares (Precision="6").
func TestDateTimeOffsetsAtTheirPrecision(t *testing.T) {
	var bodies []string
	for _, d := range []*testDB{openSQLite(t), openPostgres(t)} {
		d.insert(t, "opportunities", "id,number,creation_date,is_closed", []any{guid(900), "N", time.Date(2026, 1, 1, 10, 0, 0, 123456789, time.UTC), false})
		s := newTestService(t, d, Options{})
		res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity("+guid(900)+")/CreationDate")
		if !strings.Contains(res.body, `"value":"2026-01-01T10:00:00.123456Z"`) {
			t.Errorf("%s: %s", d.name, res.body)
		}
		bodies = append(bodies, res.body)
		if meta := do(s, "GET", "/v1/odata/$metadata"); !strings.Contains(meta.body, `<Property Name="CreationDate" Type="Edm.DateTimeOffset" Nullable="false" Precision="6"/>`) {
			t.Errorf("$metadata lacks the precision: %.300s", meta.body)
		}
	}
}
