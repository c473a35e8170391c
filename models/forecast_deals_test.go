package models_test

import (
	"context"
	"math"
	"testing"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestHealthAndLossFiguresListTheirDeals: every figure of pipeline health and of the loss
// analysis names a list of deals (ForecastDeals), and on the demo's move history each list is
// exactly the figure: its length is the count, its Σ the amount. For everyone and for one rep
// (whose health has rot rules of its own). The completed stays behind the average days are
// counted from the move history by hand.
func TestHealthAndLossFiguresListTheirDeals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		if err := s.LoadDemo(ctx, 150, nil, nil); err != nil {
			t.Fatal(err)
		}
		today := s.Today()
		reps, err := s.Employees(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A deal back in a phase it left: its first stay there is complete, its second goes on.
		fx := newFixture(t, s)
		back := fx.create(t, "Back again", 1000)
		for _, phase := range []string{"Proposal", "Qualification"} {
			if _, err := s.MoveActivity(ctx, back.ID, fx.phases[phase].ID, nil, nil, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		rangeF := models.ForecastFilter{By: models.PeriodMonth, From: models.NewDate(today.Year(), today.Month()-7, 1), To: models.NewDate(today.Year(), today.Month()+2, 1)}
		list := func(f models.DealsFilter) []models.ForecastCard {
			t.Helper()
			list, err := s.ForecastDeals(ctx, f, today, 1)
			if err != nil || list.More {
				t.Fatalf("%+v: %v (more: %v)", f, err, list != nil && list.More)
			}
			return list.Deals
		}
		// Deals with a completed stay in a phase: a change into it that is not the deal's last.
		var changes []models.PhaseChange
		if err := s.DB.Order("activity_id, moved_at").Find(&changes).Error; err != nil {
			t.Fatal(err)
		}
		owner := map[uuid.UUID]*uuid.UUID{}
		var acts []models.Activity
		if err := s.DB.Find(&acts).Error; err != nil {
			t.Fatal(err)
		}
		for _, a := range acts {
			owner[a.ID] = a.SalesRepresentativeID
		}
		stayed := func(rep *uuid.UUID) map[uuid.UUID]int {
			deals := map[uuid.UUID]map[uuid.UUID]bool{}
			for i, pc := range changes {
				last := i == len(changes)-1 || changes[i+1].ActivityID != pc.ActivityID
				if last || (rep != nil && (owner[pc.ActivityID] == nil || *owner[pc.ActivityID] != *rep)) {
					continue
				}
				if deals[pc.ToPhaseID] == nil {
					deals[pc.ToPhaseID] = map[uuid.UUID]bool{}
				}
				deals[pc.ToPhaseID][pc.ActivityID] = true
			}
			out := map[uuid.UUID]int{}
			for phase, ds := range deals {
				out[phase] = len(ds)
			}
			return out
		}
		for _, rep := range []*uuid.UUID{nil, &reps[0].ID} {
			f := rangeF
			f.RepID = rep
			phases, _, err := s.PipelineHealth(ctx, models.HealthFilter{RepID: rep}, s.Now(), 0)
			if err != nil {
				t.Fatal(err)
			}
			byHand := stayed(rep)
			var seen struct{ entered, won, stayed, open, rotting int64 }
			for _, p := range phases {
				d := models.DealsFilter{ForecastFilter: f, PhaseID: &p.ID}
				for _, c := range []struct {
					kind string
					want int64
					sum  *int64
				}{
					{models.DealsEntered, p.Entered, &seen.entered},
					{models.DealsEnteredWon, p.Won, &seen.won},
					{models.DealsStayed, int64(byHand[p.ID]), &seen.stayed},
					{models.DealsInPhase, p.Open, &seen.open},
					{models.DealsRotting, p.Rotting, &seen.rotting},
				} {
					d.Kind = c.kind
					if got := int64(len(list(d))); got != c.want {
						t.Errorf("rep %v, %s %s: %d deals, the figure is %d", rep, p.Name, c.kind, got, c.want)
					}
					*c.sum += c.want
				}
				if (byHand[p.ID] > 0) != (p.Stays > 0) || int64(byHand[p.ID]) > p.Stays {
					t.Errorf("%s: %d deals stayed, %d stays", p.Name, byHand[p.ID], p.Stays)
				}
			}
			if rep == nil && (seen.entered == 0 || seen.won == 0 || seen.stayed == 0 || seen.open == 0 || seen.rotting == 0) {
				t.Fatalf("the demo gives a figure nothing to count: %+v", seen)
			}

			byReason, byCompetitor, err := s.LossAnalysis(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if rep == nil && (len(byReason) < 2 || len(byCompetitor) < 2) {
				t.Fatalf("the demo loses too few deals: %v %v", byReason, byCompetitor)
			}
			for _, c := range []struct {
				rows []models.LossRow
				set  func(d *models.DealsFilter, key string)
			}{
				{byReason, func(d *models.DealsFilter, key string) { d.LostReason = key }},
				{byCompetitor, func(d *models.DealsFilter, key string) { d.Competitor = key }},
			} {
				for _, r := range c.rows {
					d := models.DealsFilter{ForecastFilter: f, Kind: "lost"}
					c.set(&d, r.Key)
					deals := list(d)
					sum := 0.0
					for _, x := range deals {
						sum += x.EstimatedAmount
					}
					if int64(len(deals)) != r.Count || math.Abs(sum-r.Amount) > 0.005 {
						t.Errorf("rep %v, lost %q: %d deals, Σ %v; the row says %d, %v", rep, r.Name, len(deals), sum, r.Count, r.Amount)
					}
				}
			}
		}
		// A health figure names its phase; a reason is an id or "none".
		for _, bad := range []models.DealsFilter{{ForecastFilter: rangeF, Kind: models.DealsRotting}, {ForecastFilter: rangeF, Kind: "lost", LostReason: "Price"}} {
			if _, err := s.ForecastDeals(ctx, bad, today, 1); models.ErrorCode(err) != models.EInvalid {
				t.Errorf("%+v: %v", bad, err)
			}
		}
	})
}
