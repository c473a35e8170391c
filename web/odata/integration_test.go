package odata

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// The integration tests run the same requests against real SQLite and
// PostgreSQL databases and require the same JSON from both.

const serviceRoot = "http://example.test/v1/odata"

func guid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

type testDB struct {
	name    string
	db      *sql.DB
	dialect Dialect
}

// openSQLite creates a database file in a temporary directory.
func openSQLite(t testing.TB) *testDB {
	d := openSQLiteAt(t, filepath.Join(t.TempDir(), "test.db"))
	t.Cleanup(func() { d.db.Close() })
	return d
}

// openSQLiteAt opens (and creates the tables of) the SQLite database at dsn.
func openSQLiteAt(t testing.TB, dsn string) *testDB {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one connection: also keeps a ":memory:" database alive
	ddl := `
CREATE TABLE pipelines (id text PRIMARY KEY, name text);
CREATE TABLE phases (id text PRIMARY KEY, type text NOT NULL, name text, code text, is_terminal numeric NOT NULL, sort_index real, pipeline_id text);
CREATE TABLE opportunities (id text PRIMARY KEY, subject text, number text, amount real, probability real, quantity integer,
  expected_order_date date, creation_date datetime NOT NULL, is_closed numeric NOT NULL, phase_id text, pipeline_id text);
CREATE TABLE product_lines (id text PRIMARY KEY, opportunity_id text, description text, amount real);`
	if _, err := db.Exec(ddl); err != nil {
		t.Fatal(err)
	}
	return &testDB{"sqlite", db, SQLite}
}

// openPostgres creates a fresh schema on the server at
// PHASEBOARD_TEST_DATABASE_URL and drops it afterwards. An unreachable server
// fails the test: PostgreSQL coverage must not silently disappear.
func openPostgres(t testing.TB) *testDB {
	if testing.Short() {
		t.Skip("-short: skipping the PostgreSQL part (make test runs it)")
	}
	base := os.Getenv("PHASEBOARD_TEST_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	if err := admin.Ping(); err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s (set PHASEBOARD_TEST_DATABASE_URL or start the server): %v", base, err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schemaName := "odata_test_" + hex.EncodeToString(rnd[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schemaName); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schemaName + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schemaName)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ddl := `
CREATE TABLE pipelines (id uuid PRIMARY KEY, name text);
CREATE TABLE phases (id uuid PRIMARY KEY, type text NOT NULL, name text, code text, is_terminal boolean NOT NULL, sort_index double precision, pipeline_id uuid);
CREATE TABLE opportunities (id uuid PRIMARY KEY, subject text, number text, amount double precision, probability double precision, quantity bigint,
  expected_order_date date, creation_date timestamptz NOT NULL, is_closed boolean NOT NULL, phase_id uuid, pipeline_id uuid);
CREATE TABLE product_lines (id uuid PRIMARY KEY, opportunity_id uuid, description text, amount double precision);`
	if _, err := db.Exec(ddl); err != nil {
		t.Fatal(err)
	}
	return &testDB{"postgres", db, PostgreSQL}
}

// value converts a seed value to what the database stores.
func (d *testDB) value(v any) any {
	switch x := v.(type) {
	case time.Time:
		if d.dialect == SQLite {
			return x.UTC().Format(sqliteTimeLayout)
		}
		return x
	case bool:
		return x
	}
	return v
}

func (d *testDB) insert(t testing.TB, table string, cols string, rows ...[]any) {
	t.Helper()
	tx, err := d.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	n := len(strings.Split(cols, ","))
	ph := make([]string, n)
	for i := range ph {
		if d.dialect == SQLite {
			ph[i] = fmt.Sprintf("?%d", i+1)
		} else {
			ph[i] = fmt.Sprintf("$%d", i+1)
		}
	}
	stmt, err := tx.Prepare("INSERT INTO " + table + " (" + cols + ") VALUES (" + strings.Join(ph, ",") + ")")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		args := make([]any, len(r))
		for i, v := range r {
			args[i] = d.value(v)
		}
		if _, err := stmt.Exec(args...); err != nil {
			t.Fatalf("insert into %s %v: %v", table, r, err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// seed fills the small fixture every test uses.
func (d *testDB) seed(t testing.TB) {
	d.insert(t, "pipelines", "id,name", []any{guid(1), "Sales"}, []any{guid(2), "Renewals"})
	d.insert(t, "phases", "id,type,name,code,is_terminal,sort_index,pipeline_id",
		[]any{guid(11), "Datastore.Phase.ActivitySalesOpportunity", "Qualification", "QUAL", false, 1.0, guid(1)},
		[]any{guid(12), "Datastore.Phase.ActivitySalesOpportunity", "Won", "WON", true, 2.0, guid(1)},
		[]any{guid(13), "Datastore.Phase.ActivitySalesOpportunity", "Lost", "LOST", true, 3.0, nil},
		[]any{guid(21), "Datastore.Phase.ActivityInvoice", "Draft", "DRAFT", false, 1.0, nil},
		[]any{guid(22), "Datastore.Phase.ActivityInvoice", "Paid", "PAID", true, 2.0, nil},
	)
	d.insert(t, "opportunities", "id,subject,number,amount,probability,quantity,expected_order_date,creation_date,is_closed,phase_id,pipeline_id",
		[]any{guid(101), "Website relaunch", "2026-00001", 1000.0, 50.0, int64(3), "2026-03-01", time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC), false, guid(11), guid(1)},
		[]any{guid(102), "50% discount deal", "2026-00002", 250.5, 100.0, int64(1), "2026-02-15", time.Date(2026, 1, 11, 23, 30, 0, 500_000_000, time.UTC), true, guid(12), guid(1)},
		[]any{guid(103), "it's complicated", "2026-00003", nil, nil, nil, nil, time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC), false, nil, nil},
		[]any{guid(104), "WEBSITE hosting", "2026-00004", 1000.0, 0.0, int64(2), "2026-04-01", time.Date(2026, 2, 1, 8, 15, 0, 0, time.UTC), true, guid(13), guid(2)},
	)
	d.insert(t, "product_lines", "id,opportunity_id,description,amount",
		[]any{guid(201), guid(101), "Design", 600.0},
		[]any{guid(202), guid(101), "Build", 400.0},
		[]any{guid(203), guid(102), "Licence", 250.5},
		[]any{guid(204), guid(104), "Hosting", 80.0},
		[]any{guid(205), guid(101), "Support", nil},
	)
}

func newTestService(t testing.TB, d *testDB, opts Options) *Service {
	opts.ServiceRoot = serviceRoot
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC) }
	}
	s, err := NewService(testModel(), d.db, d.dialect, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(h http.Handler, method, target string, header ...string) response {
	req := httptest.NewRequest(method, strings.ReplaceAll(target, " ", "%20"), nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return response{rec.Code, rec.Result().Header, string(body)}
}

// bothDatabases opens, seeds and serves both databases.
func bothDatabases(t testing.TB, opts Options) []*Service {
	var out []*Service
	for _, d := range []*testDB{openSQLite(t), openPostgres(t)} {
		d.seed(t)
		out = append(out, newTestService(t, d, opts))
	}
	return out
}

func TestRequestsAgreeOnBothDatabases(t *testing.T) {
	services := bothDatabases(t, Options{})
	tests := []struct {
		target string
		status int
		want   string // substring of the body; "" to check only status and agreement
	}{
		{"/v1/odata/", 200, `{"name":"Activity_SalesOpportunity","kind":"EntitySet","url":"Activity_SalesOpportunity"}`},
		{"/v1/odata/Activity_SalesOpportunity?$select=ID,Subject&$orderby=Subject", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(ID,Subject)","value":[{"ID":"00000000-0000-4000-8000-000000000102","Subject":"50% discount deal"},{"ID":"00000000-0000-4000-8000-000000000104","Subject":"WEBSITE hosting"},{"ID":"00000000-0000-4000-8000-000000000101","Subject":"Website relaunch"},{"ID":"00000000-0000-4000-8000-000000000103","Subject":"it's complicated"}]}`},
		{"/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000102)", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity/$entity","ID":"00000000-0000-4000-8000-000000000102","_Name":"2026-00002 50% discount deal","Subject":"50% discount deal","Number":"2026-00002","Amount":250.5,"Probability":100,"Quantity":1,"ExpectedOrderDate":"2026-02-15","CreationDate":"2026-01-11T23:30:00.5Z","IsClosed":true,"_Type":"Activity.SalesOpportunity"}`},
		{"/v1/odata/Activity_SalesOpportunity(guid'00000000-0000-4000-8000-000000000103')?$select=Amount,ExpectedOrderDate", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(Amount,ExpectedOrderDate)/$entity","Amount":null,"ExpectedOrderDate":null}`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=contains(Subject,'website')&$select=Number&$orderby=Number", 200,
			`"value":[{"Number":"2026-00001"},{"Number":"2026-00004"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=contains(Subject,'50%25')&$select=Number", 200, `"value":[{"Number":"2026-00002"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=contains(Subject,'it''s')&$select=Number", 200, `"value":[{"Number":"2026-00003"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=Subject eq 'x'' or 1=1 --'", 200, `"value":[]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=Amount ne 1000&$select=Number&$orderby=Number", 200, `"value":[{"Number":"2026-00002"},{"Number":"2026-00003"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=Probability gt 40&$select=Number&$orderby=Probability desc", 200, `"value":[{"Number":"2026-00002"},{"Number":"2026-00001"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=ExpectedOrderDate lt 2026-03-01&$select=Number", 200, `"value":[{"Number":"2026-00002"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=CreationDate gt 2026-01-11T23:30:00Z&$select=Number&$orderby=CreationDate", 200, `"value":[{"Number":"2026-00002"},{"Number":"2026-00004"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=CreationDate gt 2026-01-12T00:30:00.4%2B01:00&$select=Number&$orderby=CreationDate", 200, `"value":[{"Number":"2026-00002"},{"Number":"2026-00004"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=CreationDate gt 2026-01-11&$select=Number&$orderby=CreationDate", 200, `"value":[{"Number":"2026-00002"},{"Number":"2026-00004"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=CreationDate lt now()&$count=true&$top=0", 200, `"@odata.count":3,"value":[]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=year(CreationDate) eq 2025 or month(ExpectedOrderDate) eq 4&$select=Number&$orderby=Number", 200, `"value":[{"Number":"2026-00003"},{"Number":"2026-00004"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=hour(CreationDate) eq 23 and second(CreationDate) eq 0 and day(CreationDate) eq 11&$select=Number", 200, `"value":[{"Number":"2026-00002"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=date(CreationDate) eq 2026-01-11&$select=Number", 200, `"value":[{"Number":"2026-00002"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=round(Amount) eq 251 and floor(Amount) eq 250 and ceiling(Amount) eq 251&$select=Number", 200, `"value":[{"Number":"2026-00002"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=Quantity mod 2 eq 1 and Amount div 0 eq null&$select=Number&$orderby=Number", 200, `"value":[{"Number":"2026-00001"},{"Number":"2026-00002"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=Amount mul 2 sub 1 gt 1000 and -Amount lt 0&$select=Number&$orderby=Number", 200, `"value":[{"Number":"2026-00001"},{"Number":"2026-00004"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=indexof(Subject,'site') eq 3 and length(Subject) eq 16 and substring(Subject,0,3) eq 'Web' and toupper(trim(concat(' ',Subject))) eq 'WEBSITE RELAUNCH'&$select=Number", 200, `"value":[{"Number":"2026-00001"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=Phase/Code eq 'WON' or Pipeline/Name eq 'Renewals'&$select=Number&$orderby=Phase/SortIndex desc", 200, `"value":[{"Number":"2026-00004"},{"Number":"2026-00002"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=Phase/Pipeline/Name eq 'Sales'&$select=Number&$orderby=Number", 200, `"value":[{"Number":"2026-00001"},{"Number":"2026-00002"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=Phase eq null&$select=Number", 200, `"value":[{"Number":"2026-00003"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=ProductLines/any(p: p/Amount gt 500)&$select=Number", 200, `"value":[{"Number":"2026-00001"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=ProductLines/all(p: p/Amount lt 300)&$select=Number&$orderby=Number", 200, `"value":[{"Number":"2026-00002"},{"Number":"2026-00003"},{"Number":"2026-00004"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=not ProductLines/any()&$select=Number", 200, `"value":[{"Number":"2026-00003"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=Number in ('2026-00001','2026-00003')&$select=Number&$orderby=Number", 200, `"value":[{"Number":"2026-00001"},{"Number":"2026-00003"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$filter=IsClosed eq true&$count=true&$select=Number&$orderby=Number desc", 200, `"@odata.count":2,"value":[{"Number":"2026-00004"},{"Number":"2026-00002"}]`},
		{"/v1/odata/Activity_SalesOpportunity?$orderby=Amount,Number desc&$select=Number,Amount", 200,
			`"value":[{"Number":"2026-00003","Amount":null},{"Number":"2026-00002","Amount":250.5},{"Number":"2026-00004","Amount":1000},{"Number":"2026-00001","Amount":1000}]`},
		{"/v1/odata/Activity_SalesOpportunity?$orderby=Amount desc&$select=Number&$top=2&$skip=1", 200, `"value":[{"Number":"2026-00004"},{"Number":"2026-00002"}]`},
		{"/v1/odata/Activity_SalesOpportunity/$count?$filter=IsClosed eq false", 200, "2"},
		{"/v1/odata/Datastore_Phase/$count", 200, "5"},
		{"/v1/odata/Datastore_Phase_ActivityInvoice?$select=Name,Code,_Type", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Datastore_Phase_ActivityInvoice(Name,Code,_Type)","value":[{"_Type":"Datastore.Phase.ActivityInvoice","Name":"Draft","Code":"DRAFT"},{"_Type":"Datastore.Phase.ActivityInvoice","Name":"Paid","Code":"PAID"}]}`},
		{"/v1/odata/Datastore_Phase_ActivitySalesOpportunity?$filter=IsTerminal eq true&$select=Code&$orderby=Code", 200, `"value":[{"Code":"LOST"},{"Code":"WON"}]`},
		{"/v1/odata/Datastore_Phase_ActivityInvoice(00000000-0000-4000-8000-000000000011)", 404, `"code":"NotFound"`},
		{"/v1/odata/Datastore_Phase?$filter=_Type eq 'Datastore.Phase.ActivityInvoice'", 400, typeFilterMessage},
		{"/v1/odata/Datastore_Phase(00000000-0000-4000-8000-000000000012)?$expand=Pipeline", 200, `"Pipeline":{"ID":"00000000-0000-4000-8000-000000000001","Name":"Sales","_Type":"Pipeline"}`},
		{"/v1/odata/Datastore_Phase(00000000-0000-4000-8000-000000000013)?$expand=Pipeline($select=Name)&$select=Code", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Datastore_Phase(Code,Pipeline(Name))/$entity","Code":"LOST","Pipeline":null}`},
		{"/v1/odata/Datastore_Phase(00000000-0000-4000-8000-000000000012)/Pipeline", 200, `{"@odata.context":"http://example.test/v1/odata/$metadata#Pipeline/$entity","ID":"00000000-0000-4000-8000-000000000001","Name":"Sales","_Type":"Pipeline"}`},
		{"/v1/odata/Datastore_Phase(00000000-0000-4000-8000-000000000013)/Pipeline", 204, ""},
		{"/v1/odata/Datastore_Phase(00000000-0000-4000-8000-000000000099)/Pipeline", 404, ""},
		{"/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)/Pipeline/$ref", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#$ref","@odata.id":"http://example.test/v1/odata/Pipeline(00000000-0000-4000-8000-000000000001)"}`},
		{"/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)/ProductLines/$ref", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Collection($ref)","value":[{"@odata.id":"http://example.test/v1/odata/ProductLine(00000000-0000-4000-8000-000000000201)"},`},
		{"/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)/ProductLines?$filter=Amount ge 400&$orderby=Amount&$select=Description&$count=true", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#ProductLine(Description)","@odata.count":2,"value":[{"Description":"Build"},{"Description":"Design"}]}`},
		{"/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)/ProductLines/$count", 200, "3"},
		{"/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)/Subject", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)/Subject","value":"Website relaunch"}`},
		{"/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)/Amount/$value", 200, "1000"},
		{"/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000103)/Amount", 204, ""},
		{"/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)?$select=Number&$expand=Phase($select=Code;$expand=Pipeline($select=Name)),Pipeline($select=Name),ProductLines($select=Description;$orderby=Amount desc;$top=2;$count=true)", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(Number,Phase(Code,Pipeline(Name)),Pipeline(Name),ProductLines(Description))/$entity","Number":"2026-00001","Phase":{"Code":"QUAL","Pipeline":{"Name":"Sales"}},"Pipeline":{"Name":"Sales"},"ProductLines@odata.count":3,"ProductLines":[{"Description":"Design"},{"Description":"Build"}]}`},
		{"/v1/odata/Activity_SalesOpportunity?$select=Number&$orderby=Number&$expand=ProductLines($select=Description;$orderby=Description;$skip=1;$top=1),Phase($select=Name)", 200,
			`"value":[{"Number":"2026-00001","ProductLines":[{"Description":"Design"}],"Phase":{"Name":"Qualification"}},{"Number":"2026-00002","ProductLines":[],"Phase":{"Name":"Won"}},{"Number":"2026-00003","ProductLines":[],"Phase":null},{"Number":"2026-00004","ProductLines":[],"Phase":{"Name":"Lost"}}]`},
		{"/v1/odata/Pipeline?$select=Name&$expand=Phases($select=Code;$filter=IsTerminal eq true;$expand=Pipeline($select=Name))&$orderby=Name", 200,
			`"value":[{"Name":"Renewals","Phases":[]},{"Name":"Sales","Phases":[{"Code":"WON","Pipeline":{"Name":"Sales"}}]}]`},
		{"/v1/odata/GetCurrentEmployee()", 404, ""},
	}
	for _, tt := range tests {
		var first response
		for i, s := range services {
			got := do(s, "GET", tt.target)
			if got.status != tt.status || !strings.Contains(got.body, tt.want) {
				t.Errorf("%s GET %s\n got %d %s\nwant %d containing %s", s.dialect.Name(), tt.target, got.status, got.body, tt.status, tt.want)
			}
			if got.status == 200 && strings.HasPrefix(got.body, "{") && !json.Valid([]byte(got.body)) {
				t.Errorf("%s GET %s: invalid JSON %s", s.dialect.Name(), tt.target, got.body)
			}
			if i == 0 {
				first = got
			} else if got.body != first.body || got.status != first.status {
				t.Errorf("GET %s differs between databases:\nsqlite   %d %s\npostgres %d %s", tt.target, first.status, first.body, got.status, got.body)
			}
		}
	}
}
