package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
)

// checkAggregates fails the test when a maintained table differs from its recomputation.
func checkAggregates(t *testing.T, s *models.Store) {
	t.Helper()
	diffs, err := s.CheckAggregates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range diffs {
		if i == 10 {
			t.Errorf("… %d differences in all", len(diffs))
			break
		}
		t.Errorf("%s %s: maintained %q, recomputed %q", d.Table, d.Key, d.Maintained, d.Recomputed)
	}
}

// Every kind of write keeps the maintained tables equal to a recomputation: create, edit,
// move (to won and back), reassign, delete; with the clock moving between them.
func TestAggregatesFollowEveryWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		clock := time.Date(2026, 2, 10, 9, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { clock = clock.Add(90 * time.Minute); return clock }
		reps, _ := s.Employees(ctx)
		a := f.create(t, "A", 1000)
		b := f.create(t, "B", 2500.5)
		checkAggregates(t, s)
		d := models.NewDate(2026, 3, 1)
		mustUpdate := func(id *models.Activity, ch models.ActivityChanges) {
			t.Helper()
			if _, err := s.UpdateActivity(ctx, id.ID, ch, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		mustUpdate(a, models.ActivityChanges{ExpectedOrderDate: &d, EstimatedAmount: ptr(1200.0), SalesRepresentativeID: &reps[0].ID})
		mustUpdate(a, models.ActivityChanges{PhaseID: ptr(f.phases["Proposal"].ID)})
		mustUpdate(a, models.ActivityChanges{PhaseID: ptr(f.phases["Won"].ID)})
		checkAggregates(t, s)
		mustUpdate(a, models.ActivityChanges{PhaseID: ptr(f.phases["Negotiation"].ID), SalesRepresentativeID: &reps[1].ID})
		mustUpdate(b, models.ActivityChanges{Currency: ptr("USD"), ForecastCategory: ptr(models.ForecastCommit)})
		mustUpdate(b, models.ActivityChanges{PhaseID: ptr(f.phases["Lost"].ID)})
		checkAggregates(t, s)
		if err := s.DeleteActivity(ctx, a.ID, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		checkAggregates(t, s)
	})
}

// TestRebuildSeedsHistoryInLinearTime: a rebuild follows a bulk load the planner has not seen.
// It analyzes the tables it reads, and gives deals without history their first row with a hashed
// anti-join: planned as a nested loop (the planner takes deal_history for empty), the statement
// rescanned the table per deal as it filled it, which ran for over half an hour at a million
// opportunities (models/forecast_bench_test.go).
func TestRebuildSeedsHistoryInLinearTime(t *testing.T) {
	s := storetest.New(t, migrations.Postgres)
	ctx := context.Background()
	if err := s.LoadDemo(ctx, 50, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"activities", "phase_changes", "deal_history"} {
		var analyzed bool
		if err := s.DB.Raw(`SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = ? AND schemaname = current_schema()`, table).Scan(&analyzed).Error; err != nil {
			t.Fatal(err)
		}
		if !analyzed {
			t.Errorf("%s was not analyzed by the rebuild that followed the demo's bulk load", table)
		}
	}
	// Statistics as the rebuild sees them: deal_history empty, the activities counted.
	if err := s.DB.Exec("TRUNCATE deal_history").Error; err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"activities", "deal_history"} {
		if err := s.DB.Exec("ANALYZE " + table).Error; err != nil {
			t.Fatal(err)
		}
	}
	plan, err := s.ExplainSeedHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plan, "Nested Loop") {
		t.Fatalf("the first-history statement is planned as a nested loop:\n%s", plan)
	}
}
