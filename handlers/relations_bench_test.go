package handlers_test

import (
	"context"
	"testing"
)

// The names of people and customers live on their relations (migration 12): the API reads them
// through one subquery per property and the board through joins. Beside the raw SQL of the same
// work, 16 clients each side:
//
//	PHASEBOARD_BENCH_ODATA_OPPORTUNITIES=20000 go test -run '^$' -bench 'RatioRelationNames' -benchtime 500x ./handlers/
func BenchmarkRatioRelationNames(b *testing.B) {
	srv := odataBenchServer(b)
	raw := rawPool(b, srv.store, 16)
	ctx := context.Background()
	cases := []struct {
		name string
		path string
		raw  []string // the statements the service runs for it
	}{
		{"employee-by-name", "/v1/odata/Relation_Person_Contact_Employee?$filter=LastName eq 'Jansen'&$select=FirstName,LastName,Email",
			[]string{`SELECT p.first_name, p.last_name, p.email_address, t.id FROM employees t JOIN relations p ON p.id = t.person_id
				WHERE p.last_name = 'Jansen' ORDER BY t.id LIMIT 101`}},
		{"opportunities-with-names", "/v1/odata/Activity_SalesOpportunity?$top=100&$orderby=ExpectedOrderDate&$select=Subject" +
			"&$expand=SalesRepresentative($select=FirstName,LastName),Relationship($select=Name)",
			[]string{
				`SELECT t.subject, t.id, t.sales_representative_id, t.relationship_id FROM activities t WHERE t.type = 'Activity.SalesOpportunity'
					ORDER BY t.expected_order_date ASC NULLS FIRST, t.id LIMIT 101`,
				`SELECT p.first_name, p.last_name, e.id FROM employees e JOIN relations p ON p.id = e.person_id WHERE e.id IN
					(SELECT DISTINCT x.sales_representative_id FROM (SELECT t.sales_representative_id FROM activities t WHERE t.type = 'Activity.SalesOpportunity'
					ORDER BY t.expected_order_date ASC NULLS FIRST, t.id LIMIT 101) x)`,
				`SELECT o.name, r.id FROM relationships r JOIN relations o ON o.id = r.organization_id WHERE r.id IN
					(SELECT DISTINCT x.relationship_id FROM (SELECT t.relationship_id FROM activities t WHERE t.type = 'Activity.SalesOpportunity'
					ORDER BY t.expected_order_date ASC NULLS FIRST, t.id LIMIT 101) x)`,
			}},
		{"customers-by-name", "/v1/odata/Relationship?$top=100&$orderby=Name&$select=Name,City",
			[]string{`SELECT o.name, t.city, t.id, o.name FROM relationships t LEFT JOIN relations o ON o.id = t.organization_id
				WHERE t.type <> 'Relationship.Organization.Identity' ORDER BY o.name ASC NULLS FIRST, t.id LIMIT 101`}},
		{"contacts-with-names", "/v1/odata/Relation_Person_Contact?$top=100&$select=_Name,FirstName,LastName,Email",
			[]string{`SELECT trim(p.first_name || ' ' || p.last_name), p.first_name, p.last_name, p.email_address, t.id
				FROM contacts t LEFT JOIN relations p ON p.id = t.person_id ORDER BY t.id LIMIT 101`}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			run := func(int) error {
				for _, q := range c.raw {
					if err := drain(ctx, raw, q); err != nil {
						return err
					}
				}
				return nil
			}
			odataBenchGet(b, srv, c.path)
			if err := run(0); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			app := concurrently(b, b.N, 16, func(int) error { odataBenchGet(b, srv, c.path); return nil })
			rawTime := concurrently(b, b.N, 16, run)
			reportRatio(b, b.N, app, rawTime)
		})
	}
}
