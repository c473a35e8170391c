package handlers_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"phaseboard/models/storetest"
)

// TestODataListReadsRelationNamesByJoin: a list of people's or organisations' relationships
// reads their names (Name, _Name, FirstName, LastName, Email) through one LEFT JOIN of the
// relation, also when it filters and orders by them or reaches them through a navigation,
// rather than a correlated subquery per property and row. On both databases.
func TestODataListReadsRelationNamesByJoin(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			a, counter, token := countedApp(t, dialect)
			for _, tc := range []struct {
				path  string
				joins int // LEFT JOINs of relations in the page's statement
				want  string
			}{
				{"/v1/odata/Relation_Person_Contact?$select=_Name,FirstName,LastName,Email&$orderby=LastName&$filter=FirstName ne 'x'", 1, `"FirstName":`},
				{"/v1/odata/Relation_Person_Contact_Employee?$select=_Name,FirstName,LastName,Email&$top=5", 1, `"LastName":`},
				{"/v1/odata/Relationship_Person_Contact_Employee?$select=Name&$top=5", 1, `"Name":`},
				{"/v1/odata/Relationship?$select=_Name,Name,City&$orderby=Name desc&$filter=Name ne 'x'", 1, `"Name":`},
				{"/v1/odata/Relationship_Organization_Competitor?$select=Name", 1, `"Name":`},
				// A contact's relationship's name, through the navigation's join.
				{"/v1/odata/Relation_Person_Contact?$select=LastName&$filter=Relationship/Name ne 'x'", 2, `"LastName":`},
			} {
				req := httptest.NewRequest("GET", strings.ReplaceAll(tc.path, " ", "%20"), nil)
				req.Header.Set("Authorization", "Bearer "+token)
				a.do(req) // the token verified and the quota taken: the next one runs the page alone
				req = httptest.NewRequest("GET", strings.ReplaceAll(tc.path, " ", "%20"), nil)
				req.Header.Set("Authorization", "Bearer "+token)
				counter.Reset()
				res := a.do(req)
				if res.status != 200 || !strings.Contains(res.body, tc.want) {
					t.Fatalf("GET %s: %d %s", tc.path, res.status, res.body)
				}
				var page string
				for _, q := range counter.Statements() {
					if strings.HasPrefix(strings.TrimSpace(q), "SELECT") && strings.Contains(q, " FROM ") {
						page = q
					}
				}
				if n := strings.Count(page, "LEFT JOIN relations AS "); n != tc.joins || strings.Contains(page, "FROM relations p WHERE") || strings.Contains(page, "FROM relations o WHERE") {
					t.Errorf("GET %s: %d joins of relations (want %d), or a subquery per name, in %s", tc.path, n, tc.joins, page)
				}
			}
		})
	}
}
