package odata

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseApplyPrints(t *testing.T) {
	tests := []struct{ in, want string }{
		{"groupby((Phase/Name),aggregate(WeightedAmount with sum as Weighted))", "groupby((Phase/Name),aggregate(WeightedAmount with sum as Weighted))"},
		{"groupby( ( Phase/Name , Pipeline/Name ) , aggregate( Amount with sum as S , Amount with average as A, $count as N ) )",
			"groupby((Phase/Name,Pipeline/Name),aggregate(Amount with sum as S,Amount with average as A,$count as N))"},
		{"groupby((IsClosed))", "groupby((IsClosed))"},
		{"aggregate(Amount with sum as Total)", "aggregate(Amount with sum as Total)"},
		{"aggregate(Amount with min as Lo,Amount with max as Hi,Phase with countdistinct as P)", "aggregate(Amount with min as Lo,Amount with max as Hi,Phase with countdistinct as P)"},
		{"filter(IsClosed eq false)/groupby((Phase/Name),aggregate(Amount with sum as S))", "filter((IsClosed eq false))/groupby((Phase/Name),aggregate(Amount with sum as S))"},
		{"filter(Amount gt 1 and contains(Subject,'a/b'))/filter(true)/aggregate($count as N)", "filter(((Amount gt 1) and contains(Subject,'a/b')))/filter(true)/aggregate($count as N)"},
		{"filter(ProductLines/any(p: p/Amount gt 1))", "filter(ProductLines/any(p:(p/Amount gt 1)))"},
	}
	for _, tt := range tests {
		a, err := parseApply(tt.in)
		if err != nil {
			t.Errorf("parseApply(%q): %v", tt.in, err)
			continue
		}
		if got := a.String(); got != tt.want {
			t.Errorf("parseApply(%q) = %s, want %s", tt.in, got, tt.want)
		}
		again, err := parseApply(a.String())
		if err != nil || again.String() != a.String() {
			t.Errorf("round trip of %q: %v, %v", tt.in, again, err)
		}
	}
}

func TestParseApplyErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "position 0: empty $apply"},
		{"groupby(Phase/Name)", "position 8: expected '('"},
		{"groupby((Phase/Name)", "position 20: expected ')'"},
		{"groupby((Phase/Name),aggregate(Amount sum as S))", "position 38: expected \"with\""},
		{"aggregate(Amount with median as M)", "position 22: unknown aggregation method \"median\""},
		{"aggregate(Amount with sum)", "position 25: expected \"as\""},
		{"aggregate(Amount with sum as)", "position 28: expected identifier"},
		{"aggregate($count as N", "position 21: expected ')'"},
		{"aggregate(Amount with sum as S) groupby", "position 32: expected '/' or end of input"},
		{"frobnicate(x)", "position 0: unknown transformation \"frobnicate\""},
		{"filter(Amount gt)", "position 16: expected an operand"},
		{"filter(Amount gt 1", "position 18: expected ')'"},
		{"aggregate(1 with sum as S)", "position 10: expected a property or $count"},
		{strings.Repeat("filter(true)/", 9) + "filter(true)", "too many transformations"},
		{strings.Repeat("x", maxApplyLength+1), "longer than"},
	}
	for _, tt := range tests {
		_, err := parseApply(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseApply(%.50q) error = %v, want %q", tt.in, err, tt.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), "syntax error at position ") {
			t.Errorf("parseApply(%.50q) error %q does not name the position", tt.in, err)
		}
	}
	for _, in := range []string{"compute(Amount mul 2 as D)", "filter(true)/topcount(2,Amount)", "groupby((Phase/Name),topcount(1,Amount))", "concat(identity,identity)"} {
		_, err := parseApply(in)
		e, ok := err.(*Error)
		if !ok || e.Status != 501 {
			t.Errorf("parseApply(%q) = %v, want a 501", in, err)
		}
	}
}

// compileApplyForTest compiles $apply (and $filter/$orderby) on the test
// model's opportunities.
func compileApplyForTest(t *testing.T, d Dialect, apply, filter, orderby string) (*applyStatement, error) {
	t.Helper()
	s, err := testModel().resolve()
	if err != nil {
		t.Fatal(err)
	}
	vals := url.Values{"$apply": {apply}}
	if filter != "" {
		vals.Set("$filter", filter)
	}
	if orderby != "" {
		vals.Set("$orderby", orderby)
	}
	q, err := parseQuery(vals)
	if err != nil {
		return nil, err
	}
	b := &sqlBuilder{d: d, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	st, err := buildApply(b, s.sets["Activity_SalesOpportunity"], q.apply, q, 101, 0, false)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func TestCompileApply(t *testing.T) {
	const phaseJoin = "LEFT JOIN phases AS j1 ON j1.id = t.phase_id AND (j1.type = 'Datastore.Phase.ActivitySalesOpportunity')"
	tests := []struct {
		apply, filter, orderby string
		pg, lite               string
		args                   string
	}{
		{"groupby((Phase/Name),aggregate(Amount with sum as Total))", "", "",
			"SELECT a.c0, a.c1 FROM (SELECT (j1.name) AS c0, SUM((t.amount)) AS c1 FROM opportunities AS t " + phaseJoin + " GROUP BY (j1.name)) AS a ORDER BY a.c0 ASC NULLS FIRST LIMIT 101",
			"", "[]"},
		{"aggregate(Amount with sum as Total,Quantity with sum as Q,Amount with average as Avg,$count as N,Phase/Name with countdistinct as Phases)", "", "",
			"SELECT a.c0, a.c1, a.c2, a.c3, a.c4 FROM (SELECT SUM((t.amount)) AS c0, CAST(SUM((t.quantity)) AS bigint) AS c1, CAST(AVG((t.amount)) AS double precision) AS c2, COUNT(*) AS c3, COUNT(DISTINCT (j1.name)) AS c4 FROM opportunities AS t " + phaseJoin + ") AS a LIMIT 101",
			"", "[]"},
		{"filter(IsClosed eq false and Amount gt 10)/groupby((Pipeline/Name,Phase/Name),aggregate(Amount with max as Hi))", "Hi gt 5 and Pipeline/Name ne 'x'", "Hi desc",
			"SELECT a.c0, a.c1, a.c2 FROM (SELECT (j1.name) AS c0, (j2.name) AS c1, MAX((t.amount)) AS c2 FROM opportunities AS t LEFT JOIN pipelines AS j1 ON j1.id = t.pipeline_id " +
				strings.ReplaceAll(phaseJoin, "j1", "j2") + " WHERE ((t.is_closed) = FALSE AND (t.amount) > CAST($1 AS double precision)) GROUP BY (j1.name), (j2.name)) AS a WHERE (a.c2 > CAST($2 AS double precision) AND a.c0 IS DISTINCT FROM CAST($3 AS text)) ORDER BY a.c2 DESC NULLS LAST, a.c0 ASC NULLS FIRST, a.c1 ASC NULLS FIRST LIMIT 101",
			"SELECT a.c0, a.c1, a.c2 FROM (SELECT (j1.name) AS c0, (j2.name) AS c1, MAX((t.amount)) AS c2 FROM opportunities AS t LEFT JOIN pipelines AS j1 ON j1.id = t.pipeline_id " +
				strings.ReplaceAll(phaseJoin, "j1", "j2") + " WHERE ((t.is_closed) = FALSE AND (t.amount) > ?1) GROUP BY (j1.name), (j2.name)) AS a WHERE (a.c2 > ?2 AND a.c0 IS NOT ?3) ORDER BY a.c2 DESC NULLS LAST, a.c0 ASC NULLS FIRST, a.c1 ASC NULLS FIRST LIMIT 101",
			"[10 5 x]"},
	}
	for _, tt := range tests {
		for _, d := range []Dialect{PostgreSQL, SQLite} {
			want := tt.pg
			if d == SQLite && tt.lite != "" {
				want = tt.lite
			}
			st, err := compileApplyForTest(t, d, tt.apply, tt.filter, tt.orderby)
			if err != nil {
				t.Errorf("%s %s: %v", d.Name(), tt.apply, err)
				continue
			}
			if st.sql != want {
				t.Errorf("%s %s:\n got %s\nwant %s", d.Name(), tt.apply, st.sql, want)
			}
			if d == SQLite && fmt.Sprint(st.args) != tt.args {
				t.Errorf("%s args %v, want %s", tt.apply, st.args, tt.args)
			}
		}
	}
}

func TestCompileApplyErrors(t *testing.T) {
	tests := []struct{ apply, filter, orderby, want string }{
		{"groupby((Nope))", "", "", "unknown property Nope on Activity_SalesOpportunity (at position 9)"},
		{"groupby((Phase/Nope))", "", "", "unknown property Nope on Datastore_Phase_ActivitySalesOpportunity"},
		{"groupby((Phase))", "", "", "Phase is a navigation property"},
		{"groupby((ProductLines/Amount))", "", "", "ProductLines is a collection"},
		{"aggregate(Subject with sum as S)", "", "", "cannot compute sum of Subject: it is Edm.String, not a number (at position 10)"},
		{"aggregate(CreationDate with average as S)", "", "", "cannot compute average of CreationDate"},
		{"aggregate(IsClosed with max as S)", "", "", "cannot compute max of IsClosed"},
		{"aggregate(Amount with sum as Amount)", "", "", "alias Amount is already a property"},
		{"aggregate(Amount with sum as S,Amount with max as S)", "", "", "alias S is already"},
		{"groupby((Phase/Name),aggregate(Amount with sum as Phase))", "", "", "alias Phase is already"},
		{"groupby((Subject,Subject))", "", "", "Subject is grouped twice"},
		{"groupby(($it/Subject))", "", "", "group by Subject without $it"},
		{"groupby((Subject))", "Amount gt 1", "", "unknown property Amount: after $apply"},
		{"groupby((Subject))", "ProductLines/any()", "", "any/all cannot be used"},
		{"groupby((Subject))", "", "Amount", "unknown property Amount in $orderby"},
		{"filter(Nope eq 1)/aggregate($count as N)", "", "", "unknown property Nope"},
	}
	for _, tt := range tests {
		_, err := compileApplyForTest(t, SQLite, tt.apply, tt.filter, tt.orderby)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s ($filter=%s, $orderby=%s): error %v, want %q", tt.apply, tt.filter, tt.orderby, err, tt.want)
			continue
		}
		if e, ok := err.(*Error); !ok || e.Status != 400 {
			t.Errorf("%s: %v is not a 400", tt.apply, err)
		}
	}
	for _, apply := range []string{"aggregate($count as N)/filter(N gt 1)", "groupby((Subject))/aggregate($count as N)"} {
		_, err := compileApplyForTest(t, SQLite, apply, "", "")
		if e, ok := err.(*Error); !ok || e.Status != 501 {
			t.Errorf("%s: %v, want a 501", apply, err)
		}
	}
}

// TestApplyAgreesOnBothDatabases runs aggregations over the seed (four
// opportunities: Qualification 1000 qty 3 open, Won 250.5 qty 1 closed,
// no phase/amount open, Lost 1000 qty 2 closed) with expected answers
// computed by hand.
func TestApplyAgreesOnBothDatabases(t *testing.T) {
	const set = "/v1/odata/Activity_SalesOpportunity?"
	tests := []struct {
		query  string
		status int
		want   string
	}{
		{"$apply=groupby((Phase/Name),aggregate(Amount with sum as Total))", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(Phase(Name),Total)","value":[{"Phase":{"Name":null},"Total":null},{"Phase":{"Name":"Lost"},"Total":1000},{"Phase":{"Name":"Qualification"},"Total":1000},{"Phase":{"Name":"Won"},"Total":250.5}]}`},
		{"$apply=aggregate(Amount with sum as Total,Amount with average as Avg,Quantity with sum as Q,Quantity with average as QA,$count as N,Amount with countdistinct as D,Amount with min as Lo,ExpectedOrderDate with max as Last,Subject with min as First)", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(Total,Avg,Q,QA,N,D,Lo,Last,First)","value":[{"Total":2250.5,"Avg":750.1666666666666,"Q":6,"QA":2,"N":4,"D":2,"Lo":250.5,"Last":"2026-04-01","First":"50% discount deal"}]}`},
		{"$apply=filter(IsClosed eq true)/groupby((Pipeline/Name,Phase/Pipeline/Name,IsClosed),aggregate($count as N))&$orderby=Pipeline/Name desc", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(Pipeline(Name),Phase(Pipeline(Name)),IsClosed,N)","value":[{"Pipeline":{"Name":"Sales"},"Phase":{"Pipeline":{"Name":"Sales"}},"IsClosed":true,"N":1},{"Pipeline":{"Name":"Renewals"},"Phase":{"Pipeline":{"Name":null}},"IsClosed":true,"N":1}]}`},
		{"$apply=groupby((IsClosed),aggregate(Amount with sum as S))&$filter=S gt 1000&$count=true", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(IsClosed,S)","@odata.count":1,"value":[{"IsClosed":true,"S":1250.5}]}`},
		{"$apply=groupby((Phase/Name))&$orderby=Phase/Name desc&$top=2&$skip=1", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(Phase(Name))","value":[{"Phase":{"Name":"Qualification"}},{"Phase":{"Name":"Lost"}}]}`},
		{"$apply=filter(Amount gt 100000)/aggregate(Amount with sum as S,$count as N)", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(S,N)","value":[{"S":null,"N":0}]}`},
		{"$apply=filter(IsClosed eq false)&$select=Number&$orderby=Number", 200,
			`{"@odata.context":"http://example.test/v1/odata/$metadata#Activity_SalesOpportunity(Number)","value":[{"Number":"2026-00001"},{"Number":"2026-00003"}]}`},
		{"$apply=groupby((Subject))&$expand=Phase", 400, "cannot be combined with $select or $expand"},
		{"$apply=aggregate(Subject with sum as S)", 400, "cannot compute sum of Subject"},
		{"$apply=groupby((Phase/Nope))", 400, "unknown property Nope"},
		{"$apply=groupby((Phase/Name)", 400, "syntax error at position"},
		{"$apply=compute(Amount mul 2 as D)", 501, "compute is not supported"},
	}
	for _, s := range bothDatabases(t, Options{}) {
		for _, tt := range tests {
			got := do(s, "GET", set+tt.query)
			if got.status != tt.status || !strings.Contains(got.body, tt.want) {
				t.Errorf("%s %s\n got %d %s\nwant %d %s", s.dialect.Name(), tt.query, got.status, got.body, tt.status, tt.want)
			}
		}
		// Paging: one group a page.
		got := do(s, "GET", set+"$apply=groupby((Phase/Name))&$top=3", "Prefer", "odata.maxpagesize=1")
		if !strings.Contains(got.body, `"value":[{"Phase":{"Name":null}}],"@odata.nextLink":"`+serviceRoot+`/Activity_SalesOpportunity?$apply=groupby%28%28Phase%2FName%29%29\u0026$skip=1\u0026$top=2"`) {
			t.Errorf("%s paging: %s", s.dialect.Name(), got.body)
		}
		if got := do(s, "GET", "/v1/odata/Activity_SalesOpportunity(00000000-0000-4000-8000-000000000101)?$apply=aggregate($count as N)"); got.status != 501 {
			t.Errorf("%s $apply on an entity: %d", s.dialect.Name(), got.status)
		}
	}
}
