package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/migrations"
	"phaseboard/models"
	"phaseboard/models/storetest"
)

// The waterfall between two snapshots of the Sales pipeline's February–March 2026, by hand:
//
//	at snapshot 1 (3 Feb)               changes (5 Feb)                 at snapshot 2 (8 Feb)
//	A 10,000  20 Feb                    amount 12,000, date 1 Mar        A 12,000    amount up   +2,000
//	B 20,000  10 Mar                    date 15 Apr                      —           slipped    −20,000
//	C  5,000   1 May (after the range)  date 20 Mar                      C  5,000    pulled in   +5,000
//	D  8,000  25 Feb                    won                              —           won         −8,000
//	E  7,000   5 Mar                    lost                             —           lost        −7,000
//	F  3,000  20 Jan (before the range) date 12 Feb                      F  3,000    slipped     +3,000
//	G  4,000  15 Feb                    amount 3,000                     G  3,000    amount down −1,000
//	H  1,000 USD 10 Feb: no USD rate, left out (counted)                 H
//	I                                   new, 6,000, 1 Mar                I  6,000    new         +6,000
//	J                                   new and deleted                  —           (no bar)
//
// Start 49,000; end 29,000 = 49,000 + 6,000 + 2,000 − 1,000 + 5,000 − 17,000 − 8,000 − 7,000.
// A change after snapshot 2 (A to 15,000 on 9 Feb) changes neither.
func TestWaterfallBetweenTwoSnapshots(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		clock := time.Date(2026, 2, 2, 9, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
		day := func(m time.Month, d int) *models.Date { x := models.NewDate(2026, m, d); return &x }
		deals := map[string]*models.Activity{}
		mk := func(subject string, amount float64, d *models.Date, currency string) {
			a, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptr(subject), PipelineID: &f.sales.ID,
				EstimatedAmount: ptr(amount), ExpectedOrderDate: d, Currency: ptr(currency)}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			deals[subject] = a
		}
		for _, d := range []struct {
			s string
			a float64
			d *models.Date
		}{{"A", 10000, day(2, 20)}, {"B", 20000, day(3, 10)}, {"C", 5000, day(5, 1)}, {"D", 8000, day(2, 25)},
			{"E", 7000, day(3, 5)}, {"F", 3000, day(1, 20)}, {"G", 4000, day(2, 15)}} {
			mk(d.s, d.a, d.d, "EUR")
		}
		mk("H", 1000, day(2, 10), "USD")
		clock = time.Date(2026, 2, 3, 9, 0, 0, 0, time.UTC)
		snap1, err := s.TakeSnapshot(ctx, models.SnapshotManual, "m@x", models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		clock = time.Date(2026, 2, 5, 9, 0, 0, 0, time.UTC)
		up := func(subject string, ch models.ActivityChanges) {
			t.Helper()
			if _, err := s.UpdateActivity(ctx, deals[subject].ID, ch, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		up("A", models.ActivityChanges{EstimatedAmount: ptr(12000.0), ExpectedOrderDate: day(3, 1)})
		up("G", models.ActivityChanges{EstimatedAmount: ptr(3000.0)})
		up("C", models.ActivityChanges{ExpectedOrderDate: day(3, 20)})
		up("B", models.ActivityChanges{ExpectedOrderDate: day(4, 15)})
		up("D", models.ActivityChanges{PhaseID: ptr(f.phases["Won"].ID)})
		up("E", models.ActivityChanges{PhaseID: ptr(f.phases["Lost"].ID)})
		up("F", models.ActivityChanges{ExpectedOrderDate: day(2, 12)})
		mk("I", 6000, day(3, 1), "EUR")
		mk("J", 9000, day(3, 1), "EUR")
		if err := s.DeleteActivity(ctx, deals["J"].ID, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		clock = time.Date(2026, 2, 8, 9, 0, 0, 0, time.UTC)
		snap2, err := s.TakeSnapshot(ctx, models.SnapshotManual, "m@x", models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		clock = time.Date(2026, 2, 9, 9, 0, 0, 0, time.UTC)
		up("A", models.ActivityChanges{EstimatedAmount: ptr(15000.0)})

		wf, err := s.Waterfall(ctx, models.WaterfallFilter{ForecastFilter: monthRange(2026, 2, 2026, 3), Since: snap1.TakenAt, Until: snap2.TakenAt})
		if err != nil {
			t.Fatal(err)
		}
		if wf.Start != 49000 || wf.End != 29000 {
			t.Errorf("start %v end %v, want 49,000 and 29,000", wf.Start, wf.End)
		}
		want := map[string]struct {
			value float64
			deals []string
		}{
			models.BarNew: {6000, []string{"I"}}, models.BarUp: {2000, []string{"A"}}, models.BarDown: {-1000, []string{"G"}},
			models.BarPulledIn: {5000, []string{"C"}}, models.BarSlipped: {-17000, []string{"B", "F"}}, models.BarWon: {-8000, []string{"D"}},
			models.BarLost: {-7000, []string{"E"}}, models.BarOther: {0, nil},
		}
		sum := wf.Start
		for _, b := range wf.Bars {
			w := want[b.Key]
			var got []string
			for _, d := range b.Deals {
				got = append(got, d.Subject)
			}
			if b.Value != w.value || len(got) != len(w.deals) || (len(got) > 0 && got[0] != w.deals[0]) {
				t.Errorf("bar %s: %v %v, want %v %v", b.Key, b.Value, got, w.value, w.deals)
			}
			sum += b.Value
		}
		if sum != wf.End {
			t.Errorf("start + bars = %v, end %v", sum, wf.End)
		}
		if len(wf.MissingRates) != 1 || wf.MissingRates[0].Currency != "USD" || wf.MissingRates[0].Count != 1 {
			t.Errorf("missing %+v", wf.MissingRates)
		}
		if b := wf.Bar(models.BarSlipped); b.Deals[0].Before.ExpectedOrderDate.String() != "2026-03-10" || b.Deals[0].After.ExpectedOrderDate.String() != "2026-04-15" {
			t.Errorf("B's dates %+v → %+v", b.Deals[0].Before, b.Deals[0].After)
		}
		// The snapshots hold the same totals.
		for _, c := range []struct {
			snap  *models.Snapshot
			today models.Date
			want  float64
		}{{snap1, models.NewDate(2026, 2, 3), 49000}, {snap2, models.NewDate(2026, 2, 8), 29000}} {
			fc, err := s.ForecastFrom(ctx, models.SourceSnapshot(c.snap.ID), monthRange(2026, 2, 2026, 3), c.today)
			if err != nil || fc.Total.Estimated != c.want || fc.Total.NoRate != 1 {
				t.Errorf("snapshot of %s: %+v %v, want %v", c.today, fc.Total, err, c.want)
			}
		}
		// Weighted: A, B, D, E, G are in Qualification (10%) at the start, so 4,900.
		wf, err = s.Waterfall(ctx, models.WaterfallFilter{ForecastFilter: monthRange(2026, 2, 2026, 3), Since: snap1.TakenAt, Until: snap2.TakenAt, Measure: models.MeasureWeighted})
		if err != nil || !near(wf.Start, 4900) || !near(wf.End, 2900) {
			t.Errorf("weighted %v → %v (%v)", wf.Start, wf.End, err)
		}
		if _, err := s.Waterfall(ctx, models.WaterfallFilter{ForecastFilter: monthRange(2026, 2, 2026, 3), Since: snap2.TakenAt, Until: snap1.TakenAt}); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("reversed moments: %v", err)
		}
	})
}

// The weekly snapshot is taken once across instances (PostgreSQL; SQLite's one instance from
// several goroutines), and after a restart only when due.
func TestWeeklySnapshotOnceAcrossInstances(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, d)
			var stores []*models.Store
			now := time.Date(2026, 2, 2, 6, 0, 0, 0, time.UTC)
			instances := 3 // on one database
			if d == migrations.SQLite {
				instances = 1 // the embedded database has one instance (several writers' transactions collide)
			}
			for i := 0; i < instances; i++ {
				s, err := models.Open(url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				if _, err := s.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				s.Now = func() time.Time { return now }
				stores = append(stores, s)
			}
			count := func() int64 {
				var n int64
				stores[0].DB.Model(&models.Snapshot{}).Where("trigger = ?", models.SnapshotWeekly).Count(&n)
				return n
			}
			var wg sync.WaitGroup
			for _, s := range stores {
				for j := 0; j < 3; j++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := s.SnapshotIfDue(ctx); err != nil {
							t.Error(err)
						}
					}()
				}
			}
			wg.Wait()
			if n := count(); n != 1 {
				t.Fatalf("%d weekly snapshots, want 1", n)
			}
			// A restarted instance a day later: not due yet. A week after the first: due.
			restarted, err := models.Open(url)
			if err != nil {
				t.Fatal(err)
			}
			defer restarted.Close()
			restarted.Now = func() time.Time { return now.Add(24 * time.Hour) }
			if snap, err := restarted.SnapshotIfDue(ctx); err != nil || snap != nil {
				t.Fatalf("a day later: %v %v", snap, err)
			}
			restarted.Now = func() time.Time { return now.Add(models.SnapshotEvery) }
			if snap, err := restarted.SnapshotIfDue(ctx); err != nil || snap == nil || snap.Trigger != models.SnapshotWeekly {
				t.Fatalf("a week later: %v %v", snap, err)
			}
			if n := count(); n != 2 {
				t.Fatalf("%d weekly snapshots, want 2", n)
			}
			if _, err := stores[0].TakeSnapshot(ctx, models.SnapshotManual, "", models.Actor{Role: models.RoleRep, EmployeeID: ptr(uuid.New())}); models.ErrorCode(err) != models.EForbidden {
				t.Errorf("a rep took a snapshot: %v", err)
			}
		})
	}
}
