package odata

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestParseCompute(t *testing.T) {
	items, err := parseCompute("Amount mul 2 as Double, concat(Subject,' as x') as Loud,year(CreationDate) as Y", aliases{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.String())
	}
	if want := "(Amount mul 2) as Double|concat(Subject,' as x') as Loud|year(CreationDate) as Y"; strings.Join(got, "|") != want {
		t.Errorf("got %s, want %s", strings.Join(got, "|"), want)
	}
	for _, bad := range []string{"", "Amount", "Amount as", "Amount as 1", "Amount mul 2 as X,", "Amount as X Y", "as X"} {
		if _, err := parseCompute(bad, aliases{}); err == nil {
			t.Errorf("parseCompute(%q): no error", bad)
		}
	}
}

// TestCompute: computed properties are written, selected, filtered and ordered on, with
// arithmetic and string functions, on both databases.
func TestCompute(t *testing.T) {
	const set = "/v1/odata/Activity_SalesOpportunity"
	tests := []struct {
		query  string
		status int
		want   string
	}{
		{"$compute=Amount mul 2 as Double&$select=Number,Double&$filter=Amount gt 0&$orderby=Number", 200,
			`"value":[{"Number":"2026-00001","Double":2000},{"Number":"2026-00002","Double":501},{"Number":"2026-00004","Double":2000}]`},
		{"$compute=concat(toupper(Subject),'!') as Loud,length(Subject) as Len&$select=Loud,Len&$filter=Len gt 15 and contains(Loud,'LAUNCH')", 200,
			`"value":[{"Loud":"WEBSITE RELAUNCH!","Len":16}]`},
		{"$compute=Amount sub Quantity mul 100 as Net&$select=Number,Net&$orderby=Net desc&$filter=Net ne null", 200,
			`"value":[{"Number":"2026-00004","Net":800},{"Number":"2026-00001","Net":700},{"Number":"2026-00002","Net":150.5}]`},
		{"$compute=year(CreationDate) as Y,Phase/Name as PhaseName&$select=Number,Y,PhaseName&$filter=Y eq 2025", 200,
			`"value":[{"Number":"2026-00003","Y":2025,"PhaseName":null}]`},
		{"$compute=Amount div 4 as Q&$select=Number&$filter=Q ge 60&$orderby=Number", 200, `"value":[{"Number":"2026-00001"},{"Number":"2026-00002"},{"Number":"2026-00004"}]`},
		// Without $select every computed property comes after the entity's own.
		{"$compute=1 add 1 as Two&$filter=Number eq '2026-00001'", 200, `"_Type":"Activity.SalesOpportunity","Two":2}]`},
		// Paging by a computed property.
		{"$compute=Amount mul -1 as Neg&$select=Number&$orderby=Neg,Number&$top=3", 200, `"value":[{"Number":"2026-00003"},{"Number":"2026-00001"},{"Number":"2026-00004"}]`},
		{"$compute=true as T,'x' as X,1 as One,null eq null as N&$select=Number&$orderby=T,X,One,N,Number&$top=1", 200, `"value":[{"Number":"2026-00001"}]`},
		{"$compute=Amount as Subject", 400, "already a property"},
		{"$compute=Amount as A,Quantity as A", 400, "already a property"},
		{"$compute=null as N", 400, "has no type"},
		{"$compute=Nope add 1 as N", 400, "unknown property Nope"},
		{"$compute=Amount as A&$select=B", 400, "unknown property B"},
		{"$compute=Amount as A&$apply=aggregate($count as N)", 501, "$compute"},
	}
	for _, s := range bothDatabases(t, Options{}) {
		for _, tt := range tests {
			res := do(s, "GET", set+"?"+tt.query)
			if res.status != tt.status || !strings.Contains(res.body, tt.want) {
				t.Errorf("%s ?%s\n got %d %s\nwant %d %s", s.dialect.Name(), tt.query, res.status, res.body, tt.status, tt.want)
			}
		}
		// A model property whose SQL is a constant (the added _Type) orders too.
		if res := do(s, "GET", "/v1/odata/Pipeline?$orderby=_Type desc&$select=Name"); res.status != 200 {
			t.Errorf("%s $orderby=_Type: %d %s", s.dialect.Name(), res.status, res.body)
		}
		// Paging by a computed property follows the next links without loss.
		res := do(s, "GET", set+"?$compute=Amount mul -1 as Neg&$select=Number&$orderby=Neg&$count=true", "Prefer", "odata.maxpagesize=1")
		var seen []string
		for i := 0; i < 10 && res.status == 200; i++ {
			var page struct {
				Next  string `json:"@odata.nextLink"`
				Value []struct{ Number string }
			}
			json.Unmarshal([]byte(res.body), &page)
			for _, v := range page.Value {
				seen = append(seen, v.Number)
			}
			if page.Next == "" {
				break
			}
			u, _ := url.Parse(page.Next)
			req := httptest.NewRequest("GET", u.RequestURI(), nil)
			req.Header.Set("Prefer", "odata.maxpagesize=1")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			res = response{rec.Code, rec.Header(), rec.Body.String()}
		}
		if got := strings.Join(seen, ","); got != "2026-00003,2026-00001,2026-00004,2026-00002" {
			t.Errorf("%s: paging by a computed property: %s", s.dialect.Name(), got)
		}
	}
}
