package odata

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
)

type pipelineKey struct{}

// A set's Restrict limits what a request reads of it everywhere: collections, keys, counts,
// expansions, navigation, lambdas, N:1 paths and $apply. Here a request may read only the
// opportunities of the pipeline its context names.
func TestRestrictAppliesEverywhere(t *testing.T) {
	for _, d := range []*testDB{openSQLite(t), openPostgres(t)} {
		d.seed(t)
		m := testModel()
		for i := range m.Sets {
			if m.Sets[i].Name == "Activity_SalesOpportunity" {
				m.Sets[i].Restrict = func(ctx context.Context) (string, []any) {
					p, ok := ctx.Value(pipelineKey{}).(string)
					if !ok {
						return "", nil
					}
					return "t.pipeline_id = ? AND t.subject <> '?'", []any{uuid.MustParse(p)}
				}
			}
		}
		s, err := NewService(m, d.db, d.dialect, Options{ServiceRoot: serviceRoot})
		if err != nil {
			t.Fatal(err)
		}
		get := func(target string) response {
			req := httptest.NewRequest("GET", strings.ReplaceAll(target, " ", "%20"), nil)
			req = req.WithContext(context.WithValue(req.Context(), pipelineKey{}, guid(2)))
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			return response{rec.Code, rec.Header(), rec.Body.String()}
		}
		for _, c := range []struct {
			target string
			status int
			want   string
		}{
			{"/v1/odata/Activity_SalesOpportunity?$select=Subject", 200, `"value":[{"Subject":"WEBSITE hosting"}]`},
			{"/v1/odata/Activity_SalesOpportunity/$count", 200, "1"},
			{"/v1/odata/Activity_SalesOpportunity(" + guid(101) + ")", 404, ""},
			{"/v1/odata/Activity_SalesOpportunity(" + guid(104) + ")?$select=Subject", 200, `"Subject":"WEBSITE hosting"`},
			{"/v1/odata/ProductLine(" + guid(201) + ")?$expand=Opportunity($select=Subject)&$select=ID", 200, `"Opportunity":null`},
			{"/v1/odata/ProductLine(" + guid(201) + ")/Opportunity", 204, ""},
			{"/v1/odata/ProductLine?$filter=Opportunity/Subject eq 'Website relaunch'&$select=ID", 200, `"value":[]`},
			{"/v1/odata/Activity_SalesOpportunity?$apply=aggregate(Amount with sum as Total)", 200, `"Total":1000`},
		} {
			res := get(c.target)
			if res.status != c.status || !strings.Contains(res.body, c.want) {
				t.Errorf("%s %s: %d %s", d.name, c.target, res.status, res.body)
			}
		}
		// Without the context value nothing is restricted.
		if res := do(s, "GET", "/v1/odata/Activity_SalesOpportunity/$count"); res.body != "4" {
			t.Errorf("%s unrestricted count: %s", d.name, res.body)
		}
	}
}
