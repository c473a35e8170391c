package odata

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// trickyFilters are valid-looking filters whose SQL must run on both
// databases (a compiler bug shows up as a 500 from the database).
var trickyFilters = []string{
	"'a' eq 'b'", "1 eq 1", "true", "null eq null", "1 add 2 gt 2.5", "1 div 0 eq null", "1.5 mod 2 eq 1.5",
	"Quantity mod 2 eq 0", "Amount mod 2 eq 0", "Quantity div 2 gt 0", "-Quantity lt 0", "-(Amount add 1) lt 0",
	"floor(Quantity) eq 1", "ceiling(1) eq 1", "round(Quantity) eq 1", "round(2.5) eq 3", "round(-2.5) eq -3",
	"length('abc') eq 3", "indexof('abc','c') eq 2", "substring('abc',1) eq 'bc'", "substring(Subject,0,0) eq ''",
	"contains('abc','b')", "startswith(Number,'2026')", "endswith(concat(Number,'x'),'x')", "trim(' a ') eq 'a'",
	"year(2024-02-03) eq 2024", "day(ExpectedOrderDate) eq 1", "minute(CreationDate) eq 0", "second(now()) ge 0",
	"date(now()) gt 2020-01-01", "date(CreationDate) eq ExpectedOrderDate", "CreationDate lt now()",
	"ExpectedOrderDate eq 0001-01-01", "CreationDate gt 0001-01-01T00:00:00Z", "CreationDate lt 9999-12-31T23:59:59.999999999Z",
	"ID eq 00000000-0000-0000-0000-000000000000", "ID ne '00000000-0000-0000-0000-000000000000'", "ID in (00000000-0000-4000-8000-000000000101, '00000000-0000-4000-8000-000000000102')",
	"IsClosed eq IsClosed", "IsClosed ne false", "not IsClosed", "not not IsClosed", "IsClosed and true or false",
	"(Amount eq 1000) eq true", "(Amount eq 1000) in (true, Quantity gt 1)", "true eq (Amount gt 1 and not IsClosed)", "contains(Subject,'a') ne ProductLines/any()", "Phase/IsTerminal", "Phase/Pipeline/ID ne null", "Pipeline eq null or Phase ne null",
	"ProductLines/any(p: p/Opportunity/IsClosed)", "ProductLines/all(p: p/Amount gt 0 and p/Opportunity/ProductLines/any(q: q/Amount eq p/Amount))",
	"Amount gt 99999999999999999999", "Quantity gt 9223372036854775807", "Quantity gt -9223372036854775808",
	"Probability eq 1e308", "Amount eq -0.0", "Subject eq ''", "contains(Subject,'%')", "contains(Subject,'\\')", "contains(Subject,'_')",
	"Subject eq 'ünïcödé ✓'", "Subject in ('a')", "_Name eq '2026-00001 Website relaunch'",
	// Syntax of issue 12: suffixes, Nav/$count, isof, cast.
	"Amount gt 20D and Quantity lt 5L and Probability ge 0.5F and Amount ne 1.5M", "ProductLines/$count ge 0",
	"ProductLines/any(p: p/Opportunity/ProductLines/$count gt 1)", "cast(Amount, Edm.String) ne 'x'", "cast(Quantity, Edm.Double) gt 0.5",
	"isof(Amount, Edm.Double)", "Quantity divby 2 gt 0.5", "isof(Activity.SalesOpportunity)", "isof($it, 'Activity.SalesOpportunity')", "not isof(Pipeline)",
}

// hostileInputs are what an attacker or a broken client sends, in the style of the OData ABNF
// test corpus: injection attempts, oversized literals, deep nesting, malformed percent-encoding,
// invalid UTF-8 and NUL bytes, dates outside the range. Every one must get a 4xx (or 501), never
// a 500, on both databases.
var hostileInputs = []string{
	// Injection.
	"Subject eq 'x'' or 1=1 --'", "Subject eq 'x''; DROP TABLE opportunities; --'", "Subject eq '\\'' or 1 eq 1",
	"Subject eq '$1' or Subject eq '?1'", "contains(Subject,'%_\\')", "Subject eq 'a' or 1 eq 1) --", "Subject eq 'x' union select id from pipelines",
	"Subject/**/eq 'x'", "Subject eq 'x'/*", "substring(Subject, 1; DROP TABLE x) eq 'a'", "Phase/../Pipeline/Name eq 'x'",
	"t.subject eq 'x'", "Subject eq CAST('x' AS text)", "concat(Subject,'''); --') eq 'x'",
	// Oversized literals.
	"Amount gt " + strings.Repeat("9", 400), "Amount gt 1e400", "Amount gt -1e400", "Quantity gt 99999999999999999999999",
	"Quantity gt -9223372036854775809", "Amount gt 0." + strings.Repeat("0", 500) + "1", "Subject eq '" + strings.Repeat("x", maxFilterLength-20) + "'",
	"ExpectedOrderDate eq 99999-01-01", "ExpectedOrderDate eq 2026-13-45", "CreationDate gt 2026-01-01T25:61:61Z",
	"substring(Subject, 99999999999) eq ''", "substring(Subject, -99999999999, 99999999999) eq ''", "indexof(Subject, '') gt 9223372036854775807",
	"Quantity mul 9223372036854775807 gt 0", "Quantity add 9223372036854775807 gt 0", "-(-9223372036854775808) gt 0",
	"Quantity mod 0 eq 0", "Amount div 0.0 eq 1", "round(1e308 mul 10) eq 1",
	// Deep nesting.
	strings.Repeat("(", 150) + "true" + strings.Repeat(")", 150), strings.Repeat("not ", 99) + "true",
	strings.Repeat("-", 99) + "1 eq 1", strings.Repeat("Amount add ", 120) + "1 gt 0",
	"ProductLines/any(a: a/Opportunity/ProductLines/any(b: b/Opportunity/ProductLines/any(c: c/Opportunity/ProductLines/any(d: true))))",
	strings.Repeat("concat(", 60) + "Subject" + strings.Repeat(",'x')", 60) + " eq 'y'",
	// Malformed percent-encoding (the raw forms are sent unescaped too).
	"%", "%zz", "Subject eq '%'", "Subject eq '%E2%82'", "%%%", "Subject eq '%G0'",
	// Invalid UTF-8 and NUL.
	"Subject eq '\xff\xfe'", "Subject eq 'a\x00b'", "contains(Subject,'\xc3')", "Subject eq '\xed\xa0\x80'", "\x00", "Subject\x00 eq 'x'",
	"startswith(Subject,'\x00')", "Subject in ('a','\xff')", "ProductLines/any(p: p/Description eq '\x00')",
	// Dates outside the supported range.
	"ExpectedOrderDate eq 0000-01-01", "CreationDate gt 0000-12-31T23:59:59Z", "CreationDate lt 9999-12-31T23:59:59-14:00",
	"year(0000-02-29) eq 0", "date(CreationDate) eq 0000-01-01",
}

func TestTrickyFiltersRunOnBothDatabases(t *testing.T) {
	for _, s := range bothDatabases(t, Options{Logger: discardLogger()}) {
		for _, f := range trickyFilters {
			res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity?$count=true&$orderby=Phase/Name desc,Amount&$filter="+url.QueryEscape(f))
			if res.status != 200 {
				t.Errorf("%s $filter=%s: %d %s", s.dialect.Name(), f, res.status, res.body)
			}
		}
	}
}

// fuzzSeeds are the seed corpus of every fuzz target: `go test` runs them (on both databases
// for the serving targets), `go test -fuzz` starts from them.
func fuzzSeeds() []string {
	seeds := []string{
		"Name eq 'x'", "contains(Subject,'a''b') and not (Amount gt -1.5e3)",
		"ProductLines/any(p: p/Amount gt 100)", "Code in ('A','B')", "CreationDate gt 2024-01-01T00:00:00.5+01:00",
		"ID eq 453ee597-6208-4b54-b511-da18fd31569d", "- -5 eq 5", "X/any()", "year(now()) eq 2024",
		"groupby((Phase/Name),aggregate(WeightedAmount with sum as Weighted))", "aggregate(Amount with sum as T,$count as N)",
		"filter(IsClosed eq false)/groupby((Phase/Name,Pipeline/Name),aggregate(Amount with average as A))", "compute(A as B)",
		"groupby((Subject))", "filter(Subject eq '\x00')/aggregate($count as N)", "aggregate(Amount with sum as " + strings.Repeat("A", 300) + ")",
		"groupby((" + strings.Repeat("Phase/", 40) + "Name))", "filter(" + strings.Repeat("(", 120) + "true" + strings.Repeat(")", 120) + ")",
		"Amount gt @p", "@p", "isof(@p)", "cast(Amount, @t)", "ProductLines/$count/$count eq 1", "$count eq 1", "ProductLines/$count/any()",
		"Amount gt 5LL", "Amount gt 1.5L", "isof(Datastore.Phase.)", "cast(Subject, Edm.Boolean)", "fractionalseconds(CreationDate) eq 0",
		"Datastore.Phase.ActivityInvoice/Name eq 'x'", "isof(" + strings.Repeat("A.", 200) + "B)",
		"Amount mul 2 as D", "concat(Subject,'x') as S,length(S) as L", "D as D",
		"website relaunch", "NOT (a OR b) \"exact phrase\"", "a AND NOT NOT b OR (c d)", "\"\\\"\"", "%_\\", "'; DROP TABLE x; --",
	}
	seeds = append(seeds, trickyFilters...)
	return append(seeds, hostileInputs...)
}

// acceptable is any answer but a server error; 501 says "not implemented", which is fine.
func acceptable(status int) bool { return status < 500 || status == http.StatusNotImplemented }

// doRaw sends a request whose query string is taken as it is, unescaped: malformed
// percent-encoding and raw bytes reach the service as a broken client sends them.
func doRaw(h http.Handler, path, rawQuery string) response {
	req := httptest.NewRequest("GET", path, nil)
	req.URL.RawQuery = rawQuery
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Result().Header, rec.Body.String()}
}

// FuzzServeFilter sends arbitrary filters through the whole stack to both databases (PostgreSQL
// refuses what SQLite accepts, so a 500 there is what this finds): as $filter, escaped and raw,
// and inside a nested $expand. Whatever the input, the answer is never a 500.
func FuzzServeFilter(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	services := fuzzServices(f)
	f.Fuzz(func(t *testing.T, filter string) {
		for _, svc := range services {
			res := do(svc, "GET", "/v1/odata/Activity_SalesOpportunity?$expand=ProductLines($filter="+url.QueryEscape(filter)+")&$filter="+url.QueryEscape(filter))
			if !acceptable(res.status) {
				t.Fatalf("%s $filter=%q: %d %s", svc.dialect.Name(), filter, res.status, res.body)
			}
			res = doRaw(svc, "/v1/odata/Activity_SalesOpportunity", "$select=Number&$filter="+filter)
			if !acceptable(res.status) {
				t.Fatalf("%s raw $filter=%q: %d %s", svc.dialect.Name(), filter, res.status, res.body)
			}
			res = do(svc, "GET", "/v1/odata/Activity_SalesOpportunity?$select=Number,C&$orderby=C&$compute="+url.QueryEscape(filter)+" as C")
			if !acceptable(res.status) {
				t.Fatalf("%s $compute=%q as C: %d %s", svc.dialect.Name(), filter, res.status, res.body)
			}
			res = do(svc, "GET", "/v1/odata/Activity_SalesOpportunity?$select=Number&$count=true&$search="+url.QueryEscape(filter))
			if !acceptable(res.status) {
				t.Fatalf("%s $search=%q: %d %s", svc.dialect.Name(), filter, res.status, res.body)
			}
		}
	})
}

// FuzzServeApply does the same for $apply: the input inside filter() before a groupby, raw as a
// $apply, and as the $filter over an aggregated result.
func FuzzServeApply(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	services := fuzzServices(f)
	f.Fuzz(func(t *testing.T, input string) {
		for _, svc := range services {
			for _, q := range []string{
				"$apply=" + url.QueryEscape("filter("+input+")/groupby((Phase/Name),aggregate(Amount with sum as S,$count as N))") + "&$filter=N gt 0",
				"$apply=" + url.QueryEscape(input),
				"$apply=" + url.QueryEscape("groupby((Subject),aggregate($count as N))") + "&$orderby=N desc&$filter=" + url.QueryEscape(input),
				"$apply=" + input,
			} {
				res := doRaw(svc, "/v1/odata/Activity_SalesOpportunity", q)
				if !acceptable(res.status) {
					t.Fatalf("%s ?%s: %d %s", svc.dialect.Name(), q, res.status, res.body)
				}
			}
		}
	})
}

// fuzzServices are one seeded service per database, shared by all inputs of a fuzz target.
func fuzzServices(f *testing.F) []*Service {
	return bothDatabases(f, Options{Logger: discardLogger()})
}
