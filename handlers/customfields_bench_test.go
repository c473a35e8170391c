package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"phaseboard/handlers"
	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// BenchmarkCustomFieldQuery: an API page (100) of opportunities filtered and ordered by a custom
// number field, and a page selecting it, beside the raw SQL of the same work (a join on
// custom_field_values) run in the same benchmark, on PostgreSQL with
// PHASEBOARD_BENCH_CUSTOM_OPPORTUNITIES opportunities (default 20,000), each with a value.
func BenchmarkCustomFieldQuery(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("PHASEBOARD_BENCH_CUSTOM_OPPORTUNITIES")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	s := storetest.New(b, migrations.Postgres)
	if err := s.LoadDemo(ctx, n, nil, nil); err != nil {
		b.Fatal(err)
	}
	f, err := s.DefineCustomField(ctx, models.CustomFieldInput{EntityType: models.SalesOpportunity.Type, Label: "Seats", Kind: models.CustomNumber}, models.Actor{})
	if err != nil {
		b.Fatal(err)
	}
	// Every opportunity gets a value 0–999, by SQL (the write path is the Store's, tested elsewhere).
	if err := s.DB.Exec(`INSERT INTO custom_field_values (entity_id, field_id, number_value)
		SELECT id, ?, (abs(hashtext(id::text)) % 1000) FROM activities WHERE type = ?`, f.ID, models.SalesOpportunity.Type).Error; err != nil {
		b.Fatal(err)
	}
	s.DB.Exec("VACUUM ANALYZE activities, custom_field_values")
	// newServer's app, with a rate limit the benchmark cannot reach.
	app := web.New(web.Config{Store: s})
	handlers.Register(app, &handlers.Handler{Store: s, APIRateLimit: 1 << 30})
	ts := httptest.NewUnstartedServer(nil)
	go app.Listener(ts.Listener)
	b.Cleanup(func() { app.Shutdown() })
	base := "http://" + ts.Listener.Addr().String()
	token, _ := authtest.Token(b, s, models.RoleManager, "read", nil)
	get := func(b *testing.B, path string) {
		req, _ := http.NewRequest("GET", base+strings.ReplaceAll(path, " ", "%20"), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := odataBenchClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d %.300s", path, resp.StatusCode, body)
		}
	}
	name := f.APIName()
	raw := func(b *testing.B, query string, args ...any) {
		for i := 0; i < b.N; i++ {
			rows, err := s.DB.Raw(query, args...).Rows()
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
		}
	}
	b.Run("filter-orderby/odata", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			get(b, "/v1/odata/Activity_SalesOpportunity?$select=Subject,"+name+"&$filter="+name+" gt 900&$orderby="+name+"&$top=100")
		}
	})
	b.Run("filter-orderby/raw-sql", func(b *testing.B) {
		raw(b, `SELECT a.subject, v.number_value, a.id FROM activities a JOIN custom_field_values v ON v.entity_id = a.id AND v.field_id = ?
			WHERE a.type = ? AND v.number_value > 900 ORDER BY v.number_value NULLS FIRST, a.id LIMIT 100`, f.ID, models.SalesOpportunity.Type)
	})
	b.Run("select-page/odata", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			get(b, "/v1/odata/Activity_SalesOpportunity?$select=Subject,"+name+"&$top=100")
		}
	})
	b.Run("select-page/raw-sql", func(b *testing.B) {
		raw(b, `SELECT a.subject, v.number_value, a.id FROM activities a LEFT JOIN custom_field_values v ON v.entity_id = a.id AND v.field_id = ?
			WHERE a.type = ? ORDER BY a.id LIMIT 100`, f.ID, models.SalesOpportunity.Type)
	})
}
