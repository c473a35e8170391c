package handlers_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"phaseboard/handlers"
	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
	"phaseboard/web"
	"phaseboard/web/authtest"
)

// The server's own cost of one API request, without a network or a client: Fiber's handler
// called on an in-memory request, one at a time, beside the raw SQL of the same read. ns/op and
// allocs/op here are what the 16-client ratios (ratio_bench_test.go) are made of.
//
//	go test -run '^$' -bench 'Serve' -benchmem ./handlers/
func BenchmarkServe(b *testing.B) {
	tb := processTB{b}
	s := storetest.New(tb, migrations.Postgres)
	if err := s.LoadDemo(context.Background(), 2000, nil, nil); err != nil {
		b.Fatal(err)
	}
	app := web.New(web.Config{Store: s})
	handlers.Register(app, &handlers.Handler{Store: s, APIRateLimit: 1 << 30})
	serve := app.Handler()
	token, _ := authtest.Token(tb, s, models.RoleManager, "read", nil)
	var keys []string
	s.DB.Model(&models.Activity{}).Where("type = ?", models.SalesOpportunity.Type).Limit(200).Pluck("id::text", &keys)
	raw := rawPool(b, s, 1)
	ctx := context.Background()
	get := func(b *testing.B, path string) {
		var rc fasthttp.RequestCtx
		rc.Request.SetRequestURI(path)
		rc.Request.Header.SetHost("localhost")
		rc.Request.Header.Set("Authorization", "Bearer "+token)
		serve(&rc)
		if rc.Response.StatusCode() != 200 {
			b.Fatalf("%s: %d %.300s", path, rc.Response.StatusCode(), rc.Response.Body())
		}
		if w := rc.Response.BodyWriteTo; w != nil && rc.Response.IsBodyStream() {
			rc.Response.Body() // drains a streamed answer
		}
	}
	const opp = "'Activity.SalesOpportunity'"
	b.Run("by-key/app", func(b *testing.B) {
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			get(b, "/v1/odata/Activity_SalesOpportunity("+keys[i%len(keys)]+")")
		}
	})
	b.Run("by-key/raw", func(b *testing.B) {
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			if err := drain(ctx, raw, `SELECT t.* FROM activities t WHERE t.id = $1 AND t.type = `+opp, keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("list/app", func(b *testing.B) {
		defer reportCPU(b)()
		for i := 0; i < b.N; i++ {
			get(b, "/v1/odata/Activity_SalesOpportunity?$filter=Probability%20gt%2050&$expand=Phase($select=Name,Code)&$orderby=ExpectedOrderDate&$top=100")
		}
	})
}

// reportCPU reports the process's CPU time per operation (user and system), which the load of
// other processes on a shared machine changes far less than the elapsed time; the database's
// own CPU is not in it.
func reportCPU(b *testing.B) func() {
	b.ReportAllocs()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() { b.ReportMetric(float64((cpu()-start).Microseconds())/float64(b.N), "cpu-µs/op") }
}
