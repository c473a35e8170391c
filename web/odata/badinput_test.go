package odata

import (
	"strings"
	"testing"
)

// TestBadTextIsRefused: invalid UTF-8 and NUL bytes anywhere in the query are a 400 naming the
// option, on both databases (PostgreSQL refuses them in text parameters; SQLite took them).
func TestBadTextIsRefused(t *testing.T) {
	const set = "/v1/odata/Activity_SalesOpportunity"
	tests := []struct{ target, option string }{
		{set + "?$filter=Subject eq '%FF%FE'", "$filter"},
		{set + "?$filter=Subject eq 'a%00b'", "$filter"},
		{set + "?$filter=contains(Subject,'%C3')", "$filter"},
		{set + "?$filter=startswith(Subject,'a%00')", "$filter"},
		{set + "?$filter=endswith(Subject,'%80')", "$filter"},
		{set + "?$filter=indexof(Subject,'%00') ge 0", "$filter"},
		{set + "?$filter=concat(Subject,'%FF') eq 'x'", "$filter"},
		{set + "?$filter=Subject in ('a','%00')", "$filter"},
		{set + "?$apply=filter(Subject eq '%00')/aggregate($count as N)", "$apply"},
		{set + "?$apply=groupby((Subject))&$filter=Subject eq '%FF'", "$filter"},
		{set + "?$expand=ProductLines($filter=Description eq 'a%00b')", "$expand"},
		{set + "?$orderby=Subject%00", "$orderby"},
		{set + "?$select=Subject%FF", "$select"},
		{set + "?$search=%00", "$search"},
		{set + "?x=%00", "x"},
		{set + "?%FF=1", ""},
		{set + "(00000000-0000-4000-8000-000000000101%00)", ""},
		{set + "%FF", ""},
	}
	for _, s := range bothDatabases(t, Options{Logger: discardLogger()}) {
		for _, tt := range tests {
			res := do(s, "GET", tt.target)
			if res.status != 400 || !strings.Contains(res.body, tt.option) {
				t.Errorf("%s GET %s: %d %s, want 400 naming %s", s.dialect.Name(), tt.target, res.status, res.body, tt.option)
			}
		}
	}
}

// TestDatesOutsideTheRange: Edm.Date and Edm.DateTimeOffset literals outside 0001-01-01 …
// 9999-12-31 (UTC) are a 400 naming the literal; the ends of the range work.
func TestDatesOutsideTheRange(t *testing.T) {
	const set = "/v1/odata/Activity_SalesOpportunity"
	refused := []string{
		set + "?$filter=ExpectedOrderDate eq 0000-01-01",
		set + "?$filter=ExpectedOrderDate in (2026-01-01, 0000-12-31)",
		set + "?$filter=CreationDate gt 0000-06-01",
		set + "?$filter=CreationDate gt 0000-12-31T23:59:59Z",
		set + "?$filter=CreationDate gt 0001-01-01T00:30:00%2B01:00", // 0000-12-31T23:30Z
		set + "?$filter=CreationDate lt 9999-12-31T23:00:00-05:00",   // 10000-01-01T04:00Z
		set + "?$filter=year(0000-01-01) eq 0",
		set + "?$apply=filter(ExpectedOrderDate eq 0000-01-01)/aggregate($count as N)",
		set + "?$apply=groupby((ExpectedOrderDate))&$filter=ExpectedOrderDate eq 0000-01-01",
		set + "?$expand=ProductLines($filter=Opportunity/ExpectedOrderDate eq 0000-01-01)",
	}
	accepted := []string{
		set + "?$filter=ExpectedOrderDate eq 0001-01-01 or ExpectedOrderDate eq 9999-12-31",
		set + "?$filter=CreationDate gt 0001-01-01T00:00:00Z and CreationDate lt 9999-12-31T23:59:59.999999Z",
		set + "?$filter=CreationDate lt 9999-12-31T18:59:59-05:00",
	}
	for _, s := range bothDatabases(t, Options{Logger: discardLogger()}) {
		for _, target := range refused {
			res := do(s, "GET", target)
			if res.status != 400 || !strings.Contains(res.body, "outside the supported range") {
				t.Errorf("%s GET %s: %d %s, want 400 outside the supported range", s.dialect.Name(), target, res.status, res.body)
			}
		}
		for _, target := range accepted {
			if res := do(s, "GET", target); res.status != 200 {
				t.Errorf("%s GET %s: %d %s", s.dialect.Name(), target, res.status, res.body)
			}
		}
	}
}

// TestForgedSkipTokens: a $skiptoken is the client's to send back, so its values are checked
// like literals (text and date range), never handed to the database as they come.
func TestForgedSkipTokens(t *testing.T) {
	const set = "/v1/odata/Activity_SalesOpportunity"
	for _, s := range bothDatabases(t, Options{Logger: discardLogger()}) {
		for _, c := range []struct {
			orderBy string
			value   any
		}{{"Subject", "a\x00b"}, {"ExpectedOrderDate", "0000-01-01"}, {"CreationDate", "0000-01-01T00:00:00Z"}} {
			p, err := newPlan(s.schema.sets["Activity_SalesOpportunity"], &queryOptions{top: -1, orderBy: []orderItem{{path: []string{c.orderBy}}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, values := range [][]any{{c.value, guid(101)}, {"x", "not-a-guid"}} {
				if c.orderBy != "Subject" && values[0] == "x" {
					continue
				}
				tok := encodeSkipToken(values, shape(p, set))
				res := do(s, "GET", set+"?$orderby="+c.orderBy+"&$skiptoken="+tok)
				if res.status != 400 || !strings.Contains(res.body, "$skiptoken") {
					t.Errorf("%s: token %q ordered by %s: %d %s", s.dialect.Name(), values, c.orderBy, res.status, res.body)
				}
			}
		}
	}
}
