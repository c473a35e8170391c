package models_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
)

// benchOpportunities is how many demo opportunities BenchmarkForecast loads:
// PHASEBOARD_BENCH_OPPORTUNITIES, default 200,000 (the 1,000,000 takes minutes to load).
func benchOpportunities(b *testing.B) int {
	if v := os.Getenv("PHASEBOARD_BENCH_OPPORTUNITIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			b.Fatalf("PHASEBOARD_BENCH_OPPORTUNITIES=%q is not a count", v)
		}
		return n
	}
	return 200_000
}

// BenchmarkForecast measures the forecast's queries on PostgreSQL with many opportunities, each
// beside the raw SQL scan of the same numbers in the same iteration (metrics rollups-ms and
// scan-ms: the figures from the maintained aggregates, and SourceScan's GROUP BY over the
// activities and the move history): the forecast page's figures (all reps, one rep, by
// quarter) and its pipeline health. Then the forecast board's column totals and one month of it
// (what a drag refreshes), and a move's transaction with the maintenance beside the same move
// without it (with-ms, without-ms).
//
//	PHASEBOARD_BENCH_OPPORTUNITIES=1000000 go test -run '^$' -bench Forecast -benchtime 20x -timeout 2h ./models/
func BenchmarkForecast(b *testing.B) {
	ctx := context.Background()
	n := benchOpportunities(b)
	s := storetest.New(b, migrations.Postgres)
	start := time.Now()
	if err := s.LoadDemo(ctx, n, nil, nil); err != nil {
		b.Fatal(err)
	}
	// The steady state of a database in use: statistics and visibility map up to date.
	if err := s.DB.Exec("VACUUM ANALYZE activities, phase_changes, phases, forecast_rollups, phase_stats, open_ages").Error; err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d opportunities in %v", n, time.Since(start).Round(time.Second))
	now := s.Now()
	today := models.NewDate(now.Year(), now.Month(), now.Day())
	reps, err := s.Employees(ctx)
	if err != nil || len(reps) == 0 {
		b.Fatal("no reps", err)
	}
	def := models.DefaultForecastFilter(today)
	oneRep := def
	oneRep.RepID = &reps[0].ID
	quarters := def
	quarters.By = models.PeriodQuarter

	// beside runs the maintained side and the scan side once per iteration and reports each.
	beside := func(b *testing.B, live, scan func() error) {
		var tl, ts time.Duration
		for b.Loop() {
			t0 := time.Now()
			if err := live(); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := scan(); err != nil {
				b.Fatal(err)
			}
			tl, ts = tl+t1.Sub(t0), ts+time.Since(t1)
		}
		b.ReportMetric(float64(tl.Microseconds())/1000/float64(b.N), "rollups-ms")
		b.ReportMetric(float64(ts.Microseconds())/1000/float64(b.N), "scan-ms")
	}
	for _, c := range []struct {
		name string
		f    models.ForecastFilter
	}{{"page", def}, {"rep", oneRep}, {"quarters", quarters}} {
		b.Run(c.name, func(b *testing.B) {
			beside(b, func() error {
				_, err := s.Forecast(ctx, c.f, today)
				return err
			}, func() error {
				_, err := s.ForecastFrom(ctx, models.SourceScan, c.f, today)
				return err
			})
		})
	}
	b.Run("health", func(b *testing.B) {
		beside(b, func() error {
			_, _, err := s.PipelineHealth(ctx, models.HealthFilter{}, now, 20)
			return err
		}, func() error {
			_, _, err := s.PipelineHealthFrom(ctx, models.SourceScan, models.HealthFilter{}, now, 20)
			return err
		})
	})
	b.Run("board-totals", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.ForecastMonths(ctx, def); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What a drag on the forecast board refreshes: one month's totals and its first cards.
	month := def
	month.From, month.To = models.NewDate(today.Year(), today.Month()+2, 1), models.NewDate(today.Year(), today.Month()+2, 1)
	b.Run("board-month", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.ForecastMonths(ctx, month); err != nil {
				b.Fatal(err)
			}
			if _, err := s.ForecastCards(ctx, month, month.From, nil, models.CardPageSize+1); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A move's own transaction (Store.MoveActivity), with the maintenance of the aggregates and
	// without it, alternately, on open opportunities of the main pipeline. Last: the moves
	// without maintenance leave the aggregates behind.
	b.Run("move", func(b *testing.B) {
		pipes, _ := s.SalesPipelines(ctx)
		phases, _ := s.Phases(ctx, pipes[0].ID)
		var open []models.Phase
		for _, p := range phases {
			if !p.IsTerminal {
				open = append(open, p)
			}
		}
		var ids []uuid.UUID
		s.DB.Model(&models.Activity{}).Where("pipeline_id = ? AND NOT is_closed", pipes[0].ID).Limit(4000).Pluck("id", &ids)
		bare := models.WithoutHooks(s)
		var tw, to time.Duration
		i := 0
		for b.Loop() {
			for _, st := range []*models.Store{s, bare} {
				i++
				t0 := time.Now()
				if _, err := st.MoveActivity(ctx, ids[i%len(ids)], open[i%len(open)].ID, nil, nil, nil, models.Actor{}); err != nil {
					b.Fatal(err)
				}
				if st == s {
					tw += time.Since(t0)
				} else {
					to += time.Since(t0)
				}
			}
		}
		b.ReportMetric(float64(tw.Microseconds())/1000/float64(b.N), "with-ms")
		b.ReportMetric(float64(to.Microseconds())/1000/float64(b.N), "without-ms")
	})
}
