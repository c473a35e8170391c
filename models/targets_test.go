package models_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

func quarter(y, q int) models.SalesPeriod {
	start := models.NewDate(y, 3*(timeMonth(q)-1)+1, 1)
	return models.SalesPeriod{Start: start, End: models.Date{Time: start.AddDate(0, 3, -1)}}
}

func month(y, m int) models.SalesPeriod {
	start := models.NewDate(y, timeMonth(m), 1)
	return models.SalesPeriod{Start: start, End: models.Date{Time: start.AddDate(0, 1, -1)}}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func optIs(p *float64, want float64) bool { return p != nil && near(*p, want) }

// Q1 2026 of forecastFixture, by rep (computed by hand from its table):
//
//	        won     weighted open           commit   best case
//	Anna    12,000  1,000 + 30,000 = 31,000  50,000   50,000   (H won; A, C open)
//	Bram         0  6,000 +  5,000 = 11,000       0   30,000   (B, L open; I lost)
//	none         0  4,800 (D, omitted)            0        0
//
// Targets: Anna 40,000 for the quarter; Bram 5,000 + 10,000 + 15,000 for its months (30,000).
func TestTargetsAttainmentAndCoverage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newForecastFixture(t, s)
		q1 := quarter(2026, 1)
		if _, err := s.SaveTarget(ctx, nil, models.TargetChanges{Amount: ptr(40000.0), PersonID: &f.anna, StartDate: &q1.Start, EndDate: &q1.End}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		var cells []models.TargetCell
		for m, amount := range map[int]float64{1: 5000, 2: 10000, 3: 15000} {
			cells = append(cells, models.TargetCell{PersonID: &f.bram, Period: month(2026, m), Amount: ptr(amount)})
		}
		if err := s.SetTargets(ctx, cells, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		byQuarter := models.ForecastFilter{By: models.PeriodQuarter, From: q1.Start, To: q1.End}
		fc, err := s.Forecast(ctx, byQuarter, f.today)
		if err != nil {
			t.Fatal(err)
		}
		if !optIs(fc.Periods[0].Target, 70000) {
			t.Errorf("Q1 target %v, want 70,000 (no team target: the reps' sum)", fc.Periods[0].Target)
		}
		at, err := s.Attainment(ctx, fc, "2026-Q1")
		if err != nil {
			t.Fatal(err)
		}
		rows := map[string]models.Attainment{}
		for _, r := range at.Reps {
			rows[r.Name] = r
		}
		anna, bram := rows["Anna de Vries"], rows["Bram Jansen"]
		if !optIs(anna.Target, 40000) || anna.Won != 12000 || anna.Weighted != 31000 || anna.Commit != 50000 || anna.BestCase != 50000 ||
			!optIs(anna.Attainment, 0.3) || !optIs(anna.Coverage, 31000.0/28000) || anna.Gap != 28000 || anna.RepCommit != 62000 {
			t.Errorf("Anna %+v", anna)
		}
		if !optIs(bram.Target, 30000) || bram.Won != 0 || bram.Weighted != 11000 || bram.BestCase != 30000 ||
			!optIs(bram.Attainment, 0) || !optIs(bram.Coverage, 11000.0/30000) || bram.RepCommit != 0 {
			t.Errorf("Bram %+v", bram)
		}
		if u := rows["Unassigned"]; u.Target != nil || u.Weighted != 4800 || u.Coverage != nil {
			t.Errorf("unassigned %+v", u)
		}
		tot := at.Total
		if !optIs(tot.Target, 70000) || tot.Won != 12000 || tot.Weighted != 46800 || !optIs(tot.Attainment, 12000.0/70000) ||
			!optIs(tot.Coverage, 46800.0/58000) || tot.RepCommit != 62000 || tot.ManagerCommit != 62000 {
			t.Errorf("total %+v", tot)
		}

		// A team target replaces the reps' sum as the total's.
		if err := s.SetTargets(ctx, []models.TargetCell{{Period: q1, Amount: ptr(100000.0)}}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		fc, _ = s.Forecast(ctx, byQuarter, f.today)
		at, _ = s.Attainment(ctx, fc, "2026-Q1")
		if !optIs(at.Total.Target, 100000) || !optIs(at.Total.Coverage, 46800.0/88000) || !optIs(fc.Periods[0].Target, 100000) {
			t.Errorf("with a team target: total %+v, chart %v", at.Total, fc.Periods[0].Target)
		}

		// By month, a period's target is what lies within it: February has Bram's month target
		// only (Anna's is for the quarter).
		fc, _ = s.Forecast(ctx, monthRange(2026, 2, 2026, 2), f.today)
		if !optIs(fc.Periods[0].Target, 10000) {
			t.Errorf("February target %v, want 10,000", fc.Periods[0].Target)
		}
		// One rep's forecast has that rep's targets only.
		oneRep := byQuarter
		oneRep.RepID = &f.anna
		fc, _ = s.Forecast(ctx, oneRep, f.today)
		if !optIs(fc.Periods[0].Target, 40000) {
			t.Errorf("Anna's Q1 target %v", fc.Periods[0].Target)
		}
	})
}

func TestTargetRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newForecastFixture(t, s)
		q1 := quarter(2026, 1)
		if _, err := s.SaveTarget(ctx, nil, models.TargetChanges{Amount: ptr(40000.0), PersonID: &f.anna, StartDate: &q1.Start, EndDate: &q1.End}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		feb := month(2026, 2)
		if _, err := s.SaveTarget(ctx, nil, models.TargetChanges{Amount: ptr(1.0), PersonID: &f.anna, StartDate: &feb.Start, EndDate: &feb.End}, models.Actor{}); models.ErrorCode(err) != models.EConflict {
			t.Errorf("a month inside Anna's quarter target: %v", err)
		}
		// The same month is fine for another person, or for the team.
		if _, err := s.SaveTarget(ctx, nil, models.TargetChanges{Amount: ptr(1.0), PersonID: &f.bram, StartDate: &feb.Start, EndDate: &feb.End}, models.Actor{}); err != nil {
			t.Errorf("Bram's February: %v", err)
		}
		odd := models.NewDate(2026, 1, 15)
		odd2 := models.NewDate(2026, 2, 14)
		notQuarter := models.NewDate(2026, 2, 1)
		notQuarterEnd := models.NewDate(2026, 4, 30)
		for name, ch := range map[string]models.TargetChanges{
			"mid-month":        {Amount: ptr(1.0), StartDate: &odd, EndDate: &odd2},
			"three odd months": {Amount: ptr(1.0), StartDate: &notQuarter, EndDate: &notQuarterEnd},
			"negative":         {Amount: ptr(-1.0), StartDate: &feb.Start, EndDate: &feb.End},
			"no period":        {Amount: ptr(1.0)},
			"unknown person":   {Amount: ptr(1.0), StartDate: &feb.Start, EndDate: &feb.End, PersonID: ptr(uuid.New())},
		} {
			if _, err := s.SaveTarget(ctx, nil, ch, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
				t.Errorf("%s: %v", name, err)
			}
		}
		rep := models.Actor{Role: models.RoleRep, EmployeeID: &f.bram}
		if _, err := s.SaveTarget(ctx, nil, models.TargetChanges{Amount: ptr(1.0), StartDate: &feb.Start, EndDate: &feb.End}, rep); models.ErrorCode(err) != models.EForbidden {
			t.Errorf("a rep set a target: %v", err)
		}
		if _, err := s.OverrideCommit(ctx, f.bram, q1, 1, "", "", rep); models.ErrorCode(err) != models.EForbidden {
			t.Errorf("a rep overrode a commit: %v", err)
		}
		// A refused cell refuses the whole page.
		err := s.SetTargets(ctx, []models.TargetCell{{PersonID: &f.bram, Period: month(2026, 3), Amount: ptr(5.0)}, {PersonID: &f.anna, Period: feb, Amount: ptr(5.0)}}, models.Actor{})
		if models.ErrorCode(err) != models.EConflict || models.ErrorMessage(err)[:9] != "Feb 2026:" {
			t.Errorf("page with a conflicting cell: %v", err)
		}
		if got, _ := s.Targets(ctx, month(2026, 3).Start, month(2026, 3).End); len(got) != 0 {
			t.Errorf("the refused page saved %+v", got)
		}
		// Reps who see only their own see their targets and the team's.
		if err := s.SetTargets(ctx, []models.TargetCell{{Period: q1, Amount: ptr(9.0)}}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		s.RepVisibility = models.VisibilityOwn
		got, err := s.Targets(models.WithActor(ctx, rep), q1.Start, q1.End)
		if err != nil || len(got) != 2 || got[0].PersonID != nil || got[1].PersonID == nil || *got[1].PersonID != f.bram { // by period
			t.Errorf("Bram reads %+v %v", got, err)
		}
	})
}

// Overrides: the latest counts, every one is kept, the difference is the manager's number less
// the rep's (Bram's Q1 commit is 0; Anna's 62,000).
func TestCommitOverrides(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newForecastFixture(t, s)
		q1 := quarter(2026, 1)
		manager := models.Actor{Role: models.RoleManager}
		if _, err := s.OverrideCommit(ctx, f.bram, q1, 8000, "Expect B to close", "m@x", manager); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OverrideCommit(ctx, f.bram, q1, 9000, "  after the call  ", "m@x", manager); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OverrideCommit(ctx, f.anna, month(2026, 2), 1, "a month, not the quarter", "m@x", manager); err != nil {
			t.Fatal(err)
		}
		for name, p := range map[string]models.SalesPeriod{"mid-month": {Start: models.NewDate(2026, 1, 2), End: models.NewDate(2026, 2, 1)}} {
			if _, err := s.OverrideCommit(ctx, f.bram, p, 1, "", "", manager); models.ErrorCode(err) != models.EInvalid {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := s.OverrideCommit(ctx, f.bram, q1, 1, "a\x00b", "", manager); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("a NUL in the note: %v", err)
		}
		fc, err := s.Forecast(ctx, models.ForecastFilter{By: models.PeriodQuarter, From: q1.Start, To: q1.End}, f.today)
		if err != nil {
			t.Fatal(err)
		}
		at, err := s.Attainment(models.WithActor(ctx, manager), fc, "2026-Q1")
		if err != nil {
			t.Fatal(err)
		}
		rows := map[string]models.Attainment{}
		for _, r := range at.Reps {
			rows[r.Name] = r
		}
		bram, anna := rows["Bram Jansen"], rows["Anna de Vries"]
		if bram.Manager == nil || bram.ManagerCommit != 9000 || bram.Difference != 9000 || len(bram.Overrides) != 2 ||
			bram.Overrides[0].Note != "after the call" || bram.Overrides[1].Amount != 8000 || bram.Overrides[0].Author != "m@x" {
			t.Errorf("Bram %+v", bram)
		}
		if anna.Manager != nil || anna.ManagerCommit != 62000 || anna.Difference != 0 {
			t.Errorf("Anna (no quarter override) %+v", anna)
		}
		if at.Total.RepCommit != 62000 || at.Total.ManagerCommit != 71000 || at.Total.Difference != 9000 {
			t.Errorf("total rep %v manager %v difference %v", at.Total.RepCommit, at.Total.ManagerCommit, at.Total.Difference)
		}
		// Reps do not see their managers' numbers.
		at, _ = s.Attainment(models.WithActor(ctx, models.Actor{Role: models.RoleRep, EmployeeID: &f.bram}), fc, "2026-Q1")
		for _, r := range at.Reps {
			if r.Manager != nil || len(r.Overrides) > 0 || at.CanOverride {
				t.Errorf("a rep sees overrides: %+v", r)
			}
		}
	})
}

func timeMonth(m int) time.Month { return time.Month(m) }
