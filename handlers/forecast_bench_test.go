package handlers_test

import (
	"context"
	"testing"
)

// BenchmarkForecastApply is issue 14's API figure: the weighted amount per phase ($apply) from 8
// concurrent clients, Phaseboard over HTTP (token, rate limit and JSON included; it reads the
// maintained forecast_rollups) beside the raw SQL scan of the same numbers over 8 connections,
// in the same run (app-req/s, raw-req/s).
//
//	PHASEBOARD_BENCH_ODATA_OPPORTUNITIES=1000000 go test -run '^$' -bench ForecastApply -benchtime 2000x -timeout 2h ./handlers/
func BenchmarkForecastApply(b *testing.B) {
	const q = "/v1/odata/Activity_SalesOpportunity?$apply=groupby((Phase/Name),aggregate(WeightedAmount with sum as Weighted))"
	srv := odataBenchServer(b)
	raw := rawPool(b, srv.store, 8)
	ctx := context.Background()
	scan := `SELECT p.name, SUM(t.weighted_amount) FROM activities t LEFT JOIN phases p ON p.id = t.phase_id
		WHERE t.type = 'Activity.SalesOpportunity' GROUP BY p.name`
	odataBenchGet(b, srv, q)
	if err := drain(ctx, raw, scan); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	app := concurrently(b, b.N, 8, func(int) error { odataBenchGet(b, srv, q); return nil })
	rawTime := concurrently(b, b.N, 8, func(int) error { return drain(ctx, raw, scan) })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/app.Seconds(), "app-req/s")
	b.ReportMetric(float64(b.N)/rawTime.Seconds(), "raw-req/s")
	b.ReportMetric(float64(app.Microseconds())/1000/float64(b.N)*8, "app-ms/req")
}
