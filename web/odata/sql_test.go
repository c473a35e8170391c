package odata

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// compileForTest compiles a $filter on set and returns the SQL condition,
// the joins and the bound arguments.
func compileForTest(t *testing.T, d Dialect, set, filter string) (string, []any, error) {
	t.Helper()
	s, err := testModel().resolve()
	if err != nil {
		t.Fatal(err)
	}
	n, err := parseFilter(filter)
	if err != nil {
		return "", nil, err
	}
	b := &sqlBuilder{d: d, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	sc := newScope(s.sets[set], "t", nil, "")
	cond, err := compileFilter(b, sc, n)
	if err != nil {
		return "", nil, err
	}
	return strings.TrimSpace(strings.Join(sc.joins, "") + " WHERE " + cond), b.args, nil
}

func TestCompileFilter(t *testing.T) {
	const opp = "Activity_SalesOpportunity"
	tests := []struct {
		filter   string
		pg, lite string
		args     string // fmt %v of the SQLite args
	}{
		{"Subject eq 'x'", "WHERE (t.subject) = CAST($1 AS text)", "WHERE (t.subject) = ?1", "[x]"},
		{"Subject eq 'x'' or 1=1 --'", "WHERE (t.subject) = CAST($1 AS text)", "WHERE (t.subject) = ?1", "[x' or 1=1 --]"},
		{"Subject ne 'a'", "WHERE (t.subject) IS DISTINCT FROM CAST($1 AS text)", "WHERE (t.subject) IS NOT ?1", "[a]"},
		{"Subject eq null", "WHERE (t.subject) IS NULL", "WHERE (t.subject) IS NULL", "[]"},
		{"null ne Subject", "WHERE (t.subject) IS NOT NULL", "WHERE (t.subject) IS NOT NULL", "[]"},
		{"Amount gt 10", "WHERE (t.amount) > CAST($1 AS double precision)", "WHERE (t.amount) > ?1", "[10]"},
		{"Quantity gt 10", "WHERE (t.quantity) > CAST($1 AS bigint)", "WHERE (t.quantity) > ?1", "[10]"},
		{"10 lt Amount", "WHERE CAST($1 AS double precision) < (t.amount)", "WHERE ?1 < (t.amount)", "[10]"},
		{"IsClosed eq true and not (Amount le 1.5)", "WHERE ((t.is_closed) = TRUE AND NOT ((t.amount) <= CAST($1 AS double precision)))", "WHERE ((t.is_closed) = TRUE AND NOT ((t.amount) <= ?1))", "[1.5]"},
		{"IsClosed", "WHERE (t.is_closed)", "WHERE (t.is_closed)", "[]"},
		{"contains(Subject, '50%_off')", `WHERE (t.subject) ILIKE CAST($1 AS text) ESCAPE '\'`, `WHERE (t.subject) LIKE ?1 ESCAPE '\'`, `[%50\%\_off%]`},
		{"startswith(Subject,'a\\b')", `WHERE (t.subject) ILIKE CAST($1 AS text) ESCAPE '\'`, `WHERE (t.subject) LIKE ?1 ESCAPE '\'`, `[a\\b%]`},
		{"endswith(tolower(Subject),'x')", `WHERE lower((t.subject)) ILIKE CAST($1 AS text) ESCAPE '\'`, `WHERE lower((t.subject)) LIKE ?1 ESCAPE '\'`, `[%x]`},
		{"ExpectedOrderDate lt 2024-01-01", "WHERE (t.expected_order_date) < CAST($1 AS date)", "WHERE (t.expected_order_date) < ?1", "[2024-01-01]"},
		{"CreationDate gt 2024-01-01T01:00:00.5+01:00", "WHERE (t.creation_date) > CAST($1 AS timestamptz)", "WHERE (t.creation_date) > ?1", "[2024-01-01 00:00:00.5+00:00]"},
		{"CreationDate gt 2024-01-01", "WHERE (t.creation_date) > CAST($1 AS timestamptz)", "WHERE (t.creation_date) > ?1", "[2024-01-01 00:00:00+00:00]"},
		{"CreationDate lt now()", "WHERE (t.creation_date) < CAST($1 AS timestamptz)", "WHERE (t.creation_date) < ?1", "[2026-01-02 03:04:05+00:00]"},
		{"ID eq 453EE597-6208-4b54-b511-da18fd31569d", "WHERE (t.id) = CAST($1 AS uuid)", "WHERE (t.id) = ?1", "[453ee597-6208-4b54-b511-da18fd31569d]"},
		{"ID eq '453EE597-6208-4b54-b511-da18fd31569d'", "WHERE (t.id) = CAST($1 AS uuid)", "WHERE (t.id) = ?1", "[453ee597-6208-4b54-b511-da18fd31569d]"},
		{"year(CreationDate) eq 2024", "WHERE CAST(EXTRACT(YEAR FROM ((t.creation_date)) AT TIME ZONE 'UTC') AS integer) = CAST($1 AS bigint)", "WHERE CAST(strftime('%Y', (t.creation_date)) AS INTEGER) = ?1", "[2024]"},
		{"month(ExpectedOrderDate) eq 2", "WHERE CAST(EXTRACT(MONTH FROM (t.expected_order_date)) AS integer) = CAST($1 AS bigint)", "WHERE CAST(strftime('%m', (t.expected_order_date)) AS INTEGER) = ?1", "[2]"},
		{"date(CreationDate) eq 2024-05-01", "WHERE CAST(((t.creation_date)) AT TIME ZONE 'UTC' AS date) = CAST($1 AS date)", "WHERE date((t.creation_date)) = ?1", "[2024-05-01]"},
		{"round(Amount) eq 3", "WHERE CAST(round(CAST((t.amount) AS numeric)) AS double precision) = CAST($1 AS double precision)", "WHERE round((t.amount)) = ?1", "[3]"},
		{"floor(Amount) add ceiling(Amount) gt 1", "WHERE (floor((t.amount)) + ceiling((t.amount))) > CAST($1 AS double precision)", "WHERE (floor((t.amount)) + ceiling((t.amount))) > ?1", "[1]"},
		{"Amount div 0 eq 1", "WHERE ((t.amount) / NULLIF(CAST($1 AS double precision), 0)) = CAST($2 AS double precision)", "WHERE ((t.amount) / NULLIF(?1, 0)) = ?2", "[0 1]"},
		{"Quantity mod 2 eq 1", "WHERE mod((t.quantity), NULLIF(CAST($1 AS bigint), 0)) = CAST($2 AS bigint)", "WHERE ((t.quantity) % NULLIF(?1, 0)) = ?2", "[2 1]"},
		{"indexof(Subject,'b') eq 1", "WHERE (strpos((t.subject), CAST($1 AS text)) - 1) = CAST($2 AS bigint)", "WHERE (instr((t.subject), ?1) - 1) = ?2", "[b 1]"},
		{"substring(Subject,1,2) eq 'ab'", "WHERE substr((t.subject), CAST(CAST($1 AS bigint) + 1 AS integer), CAST(CAST($2 AS bigint) AS integer)) = CAST($3 AS text)", "WHERE substr((t.subject), CAST(?1 + 1 AS integer), CAST(?2 AS integer)) = ?3", "[1 2 ab]"},
		{"concat(Subject,'x') eq 'ax'", "WHERE ((t.subject) || CAST($1 AS text)) = CAST($2 AS text)", "WHERE ((t.subject) || ?1) = ?2", "[x ax]"},
		{"Number in ('1','2')", "WHERE (t.number) IN (CAST($1 AS text), CAST($2 AS text))", "WHERE (t.number) IN (?1, ?2)", "[1 2]"},
		{"Phase/Code eq 'WON' and Phase/Name ne 'x'",
			"LEFT JOIN phases AS j1 ON j1.id = t.phase_id AND (j1.type = 'Datastore.Phase.ActivitySalesOpportunity') WHERE ((j1.code) = CAST($1 AS text) AND (j1.name) IS DISTINCT FROM CAST($2 AS text))",
			"LEFT JOIN phases AS j1 ON j1.id = t.phase_id AND (j1.type = 'Datastore.Phase.ActivitySalesOpportunity') WHERE ((j1.code) = ?1 AND (j1.name) IS NOT ?2)", "[WON x]"},
		{"Phase/Pipeline/Name eq 'P'",
			"LEFT JOIN phases AS j1 ON j1.id = t.phase_id AND (j1.type = 'Datastore.Phase.ActivitySalesOpportunity') LEFT JOIN pipelines AS j2 ON j2.id = j1.pipeline_id WHERE (j2.name) = CAST($1 AS text)",
			"LEFT JOIN phases AS j1 ON j1.id = t.phase_id AND (j1.type = 'Datastore.Phase.ActivitySalesOpportunity') LEFT JOIN pipelines AS j2 ON j2.id = j1.pipeline_id WHERE (j2.name) = ?1", "[P]"},
		{"Phase eq null", "WHERE t.phase_id IS NULL", "WHERE t.phase_id IS NULL", "[]"},
		{"ProductLines/any(p: p/Amount gt 100)",
			"WHERE EXISTS (SELECT 1 FROM product_lines AS s1 WHERE s1.opportunity_id = t.id AND (s1.amount) > CAST($1 AS double precision))",
			"WHERE EXISTS (SELECT 1 FROM product_lines AS s1 WHERE s1.opportunity_id = t.id AND (s1.amount) > ?1)", "[100]"},
		{"ProductLines/any(p: p/Amount gt $it/Amount)",
			"WHERE EXISTS (SELECT 1 FROM product_lines AS s1 WHERE s1.opportunity_id = t.id AND (s1.amount) > (t.amount))",
			"WHERE EXISTS (SELECT 1 FROM product_lines AS s1 WHERE s1.opportunity_id = t.id AND (s1.amount) > (t.amount))", "[]"},
		{"ProductLines/any()", "WHERE EXISTS (SELECT 1 FROM product_lines AS s1 WHERE s1.opportunity_id = t.id)", "WHERE EXISTS (SELECT 1 FROM product_lines AS s1 WHERE s1.opportunity_id = t.id)", "[]"},
		{"ProductLines/all(p: p/Amount gt Amount)",
			"WHERE NOT EXISTS (SELECT 1 FROM product_lines AS s1 WHERE s1.opportunity_id = t.id AND NOT COALESCE((s1.amount) > (t.amount), FALSE))",
			"WHERE NOT EXISTS (SELECT 1 FROM product_lines AS s1 WHERE s1.opportunity_id = t.id AND NOT COALESCE((s1.amount) > (t.amount), FALSE))", "[]"},
		{"ProductLines/any(p: p/Opportunity/Phase/Code eq 'X')",
			"WHERE EXISTS (SELECT 1 FROM product_lines AS s1 LEFT JOIN opportunities AS j2 ON j2.id = s1.opportunity_id LEFT JOIN phases AS j3 ON j3.id = j2.phase_id AND (j3.type = 'Datastore.Phase.ActivitySalesOpportunity') WHERE s1.opportunity_id = t.id AND (j3.code) = CAST($1 AS text))",
			"WHERE EXISTS (SELECT 1 FROM product_lines AS s1 LEFT JOIN opportunities AS j2 ON j2.id = s1.opportunity_id LEFT JOIN phases AS j3 ON j3.id = j2.phase_id AND (j3.type = 'Datastore.Phase.ActivitySalesOpportunity') WHERE s1.opportunity_id = t.id AND (j3.code) = ?1)", "[X]"},
	}
	for _, tt := range tests {
		for _, d := range []Dialect{PostgreSQL, SQLite} {
			want := tt.pg
			if d == SQLite {
				want = tt.lite
			}
			got, args, err := compileForTest(t, d, opp, tt.filter)
			if err != nil {
				t.Errorf("%s %q: %v", d.Name(), tt.filter, err)
				continue
			}
			if got != want {
				t.Errorf("%s %q:\n got %s\nwant %s", d.Name(), tt.filter, got, want)
			}
			if d == SQLite && fmt.Sprint(args) != tt.args {
				t.Errorf("%s %q: args %v, want %s", d.Name(), tt.filter, args, tt.args)
			}
			if strings.Contains(got, "1=1") || strings.Contains(got, "WON") {
				t.Errorf("%q: a literal leaked into the SQL: %s", tt.filter, got)
			}
		}
	}
}

func TestCompileFilterErrors(t *testing.T) {
	tests := []struct{ set, filter, want string }{
		{"Datastore_Phase", "_Type eq 'Datastore.Phase.ActivityInvoice'", typeFilterMessage},
		{"Activity_SalesOpportunity", "_Type eq 'x'", "Filtering by _Type is not supported"},
		{"Activity_SalesOpportunity", "Nope eq 1", "unknown property Nope on Activity_SalesOpportunity"},
		{"Activity_SalesOpportunity", "Phase/Nope eq 1", "unknown property Nope on Datastore_Phase_ActivitySalesOpportunity"},
		{"Activity_SalesOpportunity", "Subject eq 1", "cannot compare Edm.String with Edm.Int64"},
		{"Activity_SalesOpportunity", "Amount eq 'x'", "cannot compare Edm.Double with Edm.String"},
		{"Activity_SalesOpportunity", "ExpectedOrderDate lt 2024-01-01T00:00:00Z", "cannot compare Edm.Date with Edm.DateTimeOffset"},
		{"Activity_SalesOpportunity", "IsClosed gt true", "booleans can only be compared with eq or ne"},
		{"Activity_SalesOpportunity", "Subject gt null", "null can only be compared"},
		{"Activity_SalesOpportunity", "Subject", "is not a condition"},
		{"Activity_SalesOpportunity", "Subject add 1 eq 2", "needs numbers"},
		{"Activity_SalesOpportunity", "contains(Subject, Number)", "must be a string literal"},
		{"Activity_SalesOpportunity", "contains(Amount, 'x')", "argument 1 of contains must be Edm.String"},
		{"Activity_SalesOpportunity", "ProductLines/Amount gt 1", "is a collection"},
		{"Activity_SalesOpportunity", "Phase/any(p: p/Code eq 'x')", "needs a collection navigation property"},
		{"Activity_SalesOpportunity", "ID eq 'not-a-guid'", "is not a valid GUID"},
		{"Activity_SalesOpportunity", "Phase eq 'x'", "can only be compared with null"},
		{"Activity_SalesOpportunity", "hour(ExpectedOrderDate) eq 1", "argument 1 of hour must be Edm.DateTimeOffset"},
		{"Activity_SalesOpportunity", "Subject/Code eq 1", "is a property, not a navigation property"},
		{"Activity_SalesOpportunity", strings.Repeat("ProductLines/any(p: p/Opportunity/Phase/Pipeline/Name eq 'x') or ", 8) + "true", "too many navigation paths"},
	}
	for _, tt := range tests {
		for _, d := range []Dialect{PostgreSQL, SQLite} {
			_, _, err := compileForTest(t, d, tt.set, tt.filter)
			e, ok := err.(*Error)
			if !ok || e.Status != 400 || !strings.Contains(e.Message, tt.want) {
				t.Errorf("%s %q: err = %v, want 400 containing %q", d.Name(), tt.filter, err, tt.want)
			}
		}
	}
}

func TestKeysetCondition(t *testing.T) {
	order := []orderExpr{{sql: "a", typ: EdmDouble}, {sql: "b", typ: EdmString, desc: true}, {sql: "k", typ: EdmGuid}}
	b := &sqlBuilder{d: SQLite}
	tok, err := decodeSkipToken(encodeSkipToken([]any{1.5, nil, guid(7)}, "s"), "s")
	if err != nil {
		t.Fatal(err)
	}
	got, err := keysetCondition(b, order, tok)
	if err != nil {
		t.Fatal(err)
	}
	want := "((a > ?1) OR (a = ?1 AND b IS NULL AND k > ?2))"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := decodeSkipToken(encodeSkipToken([]any{1.5}, "s"), "other"); err == nil {
		t.Error("a token of another query was accepted")
	}
	if _, err := decodeSkipToken("!!!", "s"); err == nil {
		t.Error("garbage token accepted")
	}
}
