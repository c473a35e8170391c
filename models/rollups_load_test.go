package models_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// After 16 clients write at once (moves to every phase, won and lost and back, amounts,
// dates, owners, currencies, categories, creates and deletes), the maintained aggregates equal
// a full recomputation, and the forecast and pipeline health read from them equal the scans of
// the activities and their history.
func TestAggregatesAfterConcurrentLoad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		if testing.Short() {
			t.Skip("-short")
		}
		reps, _ := s.Employees(ctx)
		type pipe struct {
			id     uuid.UUID
			phases []uuid.UUID
		}
		var pipes []pipe
		for _, pl := range []models.Pipeline{f.sales, f.renewals} {
			ps, _ := s.Phases(ctx, pl.ID)
			p := pipe{id: pl.ID}
			for _, ph := range ps {
				p.phases = append(p.phases, ph.ID)
			}
			pipes = append(pipes, p)
		}
		today := time.Now().UTC()
		day := func(r *rand.Rand) *models.Date {
			if r.IntN(8) == 0 {
				return &models.Date{} // cleared
			}
			d := models.NewDate(today.Year(), today.Month(), today.Day()+r.IntN(200)-40)
			return &d
		}
		var mu sync.Mutex
		var ids []uuid.UUID
		create := func(r *rand.Rand) error {
			p := pipes[r.IntN(len(pipes))]
			ch := models.ActivityChanges{Subject: ptr("load"), PipelineID: &p.id, PhaseID: &p.phases[r.IntN(len(p.phases))],
				EstimatedAmount: ptr(float64(r.IntN(100000)) / 7), ExpectedOrderDate: day(r), Currency: ptr([]string{"EUR", "EUR", "USD"}[r.IntN(3)])}
			if r.IntN(4) > 0 {
				ch.SalesRepresentativeID = &reps[r.IntN(len(reps))].ID
			}
			a, err := s.CreateActivity(ctx, models.SalesOpportunity, ch, models.Actor{})
			if err == nil {
				mu.Lock()
				ids = append(ids, a.ID)
				mu.Unlock()
			}
			return err
		}
		if err := s.SaveRates(ctx, []models.RateInput{{Currency: "USD", Day: models.NewDate(today.Year(), today.Month(), 1), Rate: 0.9}}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		seed := rand.New(rand.NewPCG(7, 7))
		for i := 0; i < 80; i++ {
			if err := create(seed); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), 99))
				for i := 0; i < 30; i++ {
					mu.Lock()
					id := ids[r.IntN(len(ids))]
					mu.Unlock()
					var err error
					switch op := r.IntN(10); {
					case op < 4: // a move, within the activity's own pipeline
						a, e := s.Activity(ctx, id)
						if e != nil {
							continue // deleted meanwhile
						}
						for _, p := range pipes {
							if p.id == a.PipelineID {
								_, err = s.MoveActivity(ctx, id, p.phases[r.IntN(len(p.phases))], nil, nil, nil, models.Actor{})
							}
						}
					case op < 6:
						_, err = s.UpdateActivity(ctx, id, models.ActivityChanges{EstimatedAmount: ptr(float64(r.IntN(90000)) / 3), ExpectedOrderDate: day(r)}, models.Actor{})
					case op == 6:
						rep := reps[r.IntN(len(reps))].ID
						if r.IntN(3) == 0 {
							rep = uuid.Nil
						}
						_, err = s.UpdateActivity(ctx, id, models.ActivityChanges{SalesRepresentativeID: &rep, Currency: ptr([]string{"EUR", "USD", "GBP"}[r.IntN(3)])}, models.Actor{})
					case op == 7:
						_, err = s.UpdateActivity(ctx, id, models.ActivityChanges{ForecastCategory: ptr([]string{"", models.ForecastCommit, models.ForecastBestCase}[r.IntN(3)])}, models.Actor{})
					case op == 8:
						err = create(r)
					default:
						err = s.DeleteActivity(ctx, id, nil, models.Actor{})
					}
					if err != nil && models.ErrorCode(err) == models.EInternal {
						errs <- err
						return
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		checkAggregates(t, s)
		if s.IsPostgres() { // numeric sums: what was taken back left exactly nothing
			var n int64
			s.DB.Raw("SELECT COUNT(*) FROM forecast_rollups WHERE n = 0 AND (amount <> 0 OR estimated_amount <> 0 OR weighted_amount <> 0)").Scan(&n)
			if n != 0 {
				t.Errorf("%d emptied rollup rows keep a residue", n)
			}
		}

		now := s.Now()
		td := models.NewDate(now.Year(), now.Month(), now.Day())
		for _, by := range []string{models.PeriodMonth, models.PeriodQuarter} {
			filter := models.ForecastFilter{By: by, From: models.NewDate(td.Year(), td.Month()-2, 1), To: models.NewDate(td.Year(), td.Month()+6, 1)}
			live, err := s.Forecast(ctx, filter, td)
			if err != nil {
				t.Fatal(err)
			}
			scan, err := s.ForecastFrom(ctx, models.SourceScan, filter, td)
			if err != nil {
				t.Fatal(err)
			}
			if !sameFigures(live.Total, scan.Total) || !sameFigures(live.Overdue, scan.Overdue) || !sameFigures(live.NoDate, scan.NoDate) {
				t.Errorf("by %s: live %+v %+v %+v\n scan %+v %+v %+v", by, live.Total, live.Overdue, live.NoDate, scan.Total, scan.Overdue, scan.NoDate)
			}
			for i := range live.Periods {
				if !sameFigures(live.Periods[i].ForecastFigures, scan.Periods[i].ForecastFigures) {
					t.Errorf("period %s: live %+v scan %+v", live.Periods[i].Key, live.Periods[i].ForecastFigures, scan.Periods[i].ForecastFigures)
				}
			}
		}
		live, liveRot, err := s.PipelineHealth(ctx, models.HealthFilter{}, now, 20)
		if err != nil {
			t.Fatal(err)
		}
		scan, scanRot, err := s.PipelineHealthFrom(ctx, models.SourceScan, models.HealthFilter{}, now, 20)
		if err != nil {
			t.Fatal(err)
		}
		for i := range live {
			a, b := live[i], scan[i]
			if a.Entered != b.Entered || a.Won != b.Won || a.Stays != b.Stays || a.Open != b.Open || a.Rotting != b.Rotting || !sameOpt(a.AvgDays, b.AvgDays) {
				t.Errorf("%s: live %+v\n scan %+v", a.Name, a, b)
			}
		}
		if len(liveRot) != len(scanRot) {
			t.Errorf("rotting lists: %d and %d", len(liveRot), len(scanRot))
		}
		for i := range liveRot {
			if i < len(scanRot) && liveRot[i].ID != scanRot[i].ID {
				t.Errorf("rotting %d: %s and %s", i, liveRot[i].ID, scanRot[i].ID)
			}
		}
	})
}

func sameFigures(a, b models.ForecastFigures) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) < 0.005 }
	return a.Count == b.Count && a.WonCount == b.WonCount && a.LostCount == b.LostCount && a.NoRate == b.NoRate &&
		eq(a.Estimated, b.Estimated) && eq(a.Weighted, b.Weighted) && eq(a.BestCase, b.BestCase) && eq(a.Commit, b.Commit) &&
		eq(a.Won, b.Won) && eq(a.Lost, b.Lost)
}

func sameOpt(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) < 1e-6)
}
