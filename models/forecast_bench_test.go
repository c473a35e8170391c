package models_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

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

// BenchmarkForecast measures the forecast's queries on PostgreSQL with many opportunities:
// the forecast page's figures (all reps, one rep, by quarter), its pipeline health section,
// the forecast board's column totals, and one month of it (what a drag refreshes).
func BenchmarkForecast(b *testing.B) {
	ctx := context.Background()
	n := benchOpportunities(b)
	s := storetest.New(b, migrations.Postgres)
	start := time.Now()
	if err := s.LoadDemo(ctx, n, nil, nil); err != nil {
		b.Fatal(err)
	}
	// The steady state of a database in use: statistics and visibility map up to date.
	if err := s.DB.Exec("VACUUM ANALYZE activities, phase_changes, phases").Error; err != nil {
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

	for _, c := range []struct {
		name string
		f    models.ForecastFilter
	}{{"page", def}, {"rep", oneRep}, {"quarters", quarters}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Forecast(ctx, c.f, today); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("health", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := s.PipelineHealth(ctx, models.HealthFilter{}, now, 20); err != nil {
				b.Fatal(err)
			}
		}
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
}
