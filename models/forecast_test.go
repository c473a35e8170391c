package models_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// forecastFixture is a fixed data set for the forecast, as of Tuesday 10 February 2026.
// The expected figures in the tests below are computed by hand from this list.
//
//	   subject  pipeline  phase (category)       amount  weighted  expected    rep    note
//	A  open     Sales     Qualification (Pipe)   10,000    1,000   2026-02-20  Anna
//	B  open     Sales     Proposal (BestCase)    20,000    6,000   2026-02-28  Bram
//	C  open     Sales     Negotiation (Commit)   50,000   30,000   2026-03-15  Anna
//	D  open     Sales     Negotiation → Omitted   8,000    4,800   2026-03-31  —      category overridden
//	E  open     Sales     Qualification           4,000      400   2026-02-09  Bram   overdue (yesterday)
//	F  open     Sales     Proposal                6,000    1,800   2025-11-30  Anna   overdue, before the range
//	G  open     Sales     Qualification           3,000      300   —           Anna   no date
//	H  won      Sales     Won                    12,000            2026-03-10  Anna   won 2026-01-15 10:00
//	I  lost     Sales     Lost                    7,000            2026-02-15  Bram   lost 2026-02-01 00:00:00
//	J  won      Sales     Won                     9,000            2026-01-05  Anna   won 2025-12-31 23:59:59, before
//	K  open     Sales     Qualification          11,000    1,100   2026-05-01  Anna   after Jan–Apr, in Q2
//	L  open     Renewals  Quote (BestCase)       10,000    5,000   2026-02-10  Bram   expected today: not overdue
//	M  won      Sales     Won                     2,000            2026-04-20  Bram   won 2026-05-01 00:00:00, after Jan–Apr
type forecastFixture struct {
	*fixture
	anna, bram uuid.UUID
	today      models.Date
}

func newForecastFixture(t *testing.T, s *models.Store) *forecastFixture {
	t.Helper()
	ctx := context.Background()
	f := &forecastFixture{fixture: newFixture(t, s), today: models.NewDate(2026, 2, 10)}
	reps, err := s.Employees(ctx)
	if err != nil || len(reps) < 2 {
		t.Fatalf("reps %v %v", reps, err)
	}
	f.anna, f.bram = reps[0].ID, reps[1].ID // by first name: Anna, Bram
	if reps[0].FirstName != "Anna" || reps[1].FirstName != "Bram" {
		t.Fatalf("unexpected reps %s %s", reps[0].FirstName, reps[1].FirstName)
	}
	at := func(y int, m time.Month, d, h, min, sec int) time.Time {
		return time.Date(y, m, d, h, min, sec, 0, time.UTC)
	}
	day := func(y int, m time.Month, d int) *models.Date { x := models.NewDate(y, m, d); return &x }
	type row struct {
		subject   string
		renewals  bool
		phase     string
		amount    float64
		expected  *models.Date
		rep       *uuid.UUID
		createdAt time.Time // when it was created (and so closed, for the terminal ones)
		category  string
	}
	morning := at(2026, 2, 10, 9, 0, 0)
	rows := []row{
		{"A", false, "Qualification", 10000, day(2026, 2, 20), &f.anna, morning, ""},
		{"B", false, "Proposal", 20000, day(2026, 2, 28), &f.bram, morning, ""},
		{"C", false, "Negotiation", 50000, day(2026, 3, 15), &f.anna, morning, ""},
		{"D", false, "Negotiation", 8000, day(2026, 3, 31), nil, morning, models.ForecastOmitted},
		{"E", false, "Qualification", 4000, day(2026, 2, 9), &f.bram, morning, ""},
		{"F", false, "Proposal", 6000, day(2025, 11, 30), &f.anna, morning, ""},
		{"G", false, "Qualification", 3000, nil, &f.anna, morning, ""},
		{"H", false, "Won", 12000, day(2026, 3, 10), &f.anna, at(2026, 1, 15, 10, 0, 0), ""},
		{"I", false, "Lost", 7000, day(2026, 2, 15), &f.bram, at(2026, 2, 1, 0, 0, 0), ""},
		{"J", false, "Won", 9000, day(2026, 1, 5), &f.anna, at(2025, 12, 31, 23, 59, 59), ""},
		{"K", false, "Qualification", 11000, day(2026, 5, 1), &f.anna, morning, ""},
		{"L", true, "Quote", 10000, day(2026, 2, 10), &f.bram, morning, ""},
		{"M", false, "Won", 2000, day(2026, 4, 20), &f.bram, at(2026, 5, 1, 0, 0, 0), ""},
	}
	for _, r := range rows {
		when := r.createdAt
		s.Now = func() time.Time { return when }
		pipeline, phase := f.sales.ID, f.phases[r.phase].ID
		if r.renewals {
			pipeline, phase = f.renewals.ID, f.other[r.phase].ID
		}
		ch := models.ActivityChanges{Subject: ptr(r.subject), PipelineID: &pipeline, PhaseID: &phase,
			EstimatedAmount: ptr(r.amount), ExpectedOrderDate: r.expected, SalesRepresentativeID: r.rep}
		if r.category != "" {
			ch.ForecastCategory = ptr(r.category)
		}
		if _, err := s.CreateActivity(ctx, models.SalesOpportunity, ch, models.Actor{}); err != nil {
			t.Fatalf("%s: %v", r.subject, err)
		}
	}
	s.Now = func() time.Time { return morning }
	return f
}

func monthRange(y1 int, m1 time.Month, y2 int, m2 time.Month) models.ForecastFilter {
	return models.ForecastFilter{By: models.PeriodMonth, From: models.NewDate(y1, m1, 1), To: models.NewDate(y2, m2, 1)}
}

func TestForecastPeriodsAndApart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newForecastFixture(t, s)
		fc, err := s.Forecast(context.Background(), monthRange(2026, 1, 2026, 4), f.today)
		if err != nil {
			t.Fatal(err)
		}
		type F = models.ForecastFigures
		want := []struct {
			key   string
			label string
			fig   F
			stack []float64 // Sales Qualification, Proposal, Negotiation, Renewals Discovery, Quote
		}{
			{"2026-01", "Jan 2026", F{WonCount: 1, Won: 12000}, []float64{0, 0, 0, 0, 0}},
			{"2026-02", "Feb 2026", F{Count: 3, Estimated: 40000, Weighted: 12000, BestCase: 30000, LostCount: 1, Lost: 7000}, []float64{1000, 6000, 0, 0, 5000}},
			{"2026-03", "Mar 2026", F{Count: 2, Estimated: 58000, Weighted: 34800, BestCase: 50000, Commit: 50000}, []float64{0, 0, 34800, 0, 0}},
			{"2026-04", "Apr 2026", F{}, []float64{0, 0, 0, 0, 0}}, // no opportunities at all: still a period
		}
		if len(fc.Periods) != len(want) {
			t.Fatalf("%d periods, want %d", len(fc.Periods), len(want))
		}
		for i, w := range want {
			p := fc.Periods[i]
			if p.Key != w.key || p.Label != w.label || p.ForecastFigures != w.fig {
				t.Errorf("period %d: %s %q %+v\n want %s %q %+v", i, p.Key, p.Label, p.ForecastFigures, w.key, w.label, w.fig)
			}
			if !reflect.DeepEqual(p.PhaseWeighted, w.stack) {
				t.Errorf("period %s stacks %v, want %v", p.Key, p.PhaseWeighted, w.stack)
			}
		}
		if want := (F{Count: 5, Estimated: 98000, Weighted: 46800, BestCase: 80000, Commit: 50000, WonCount: 1, Won: 12000, LostCount: 1, Lost: 7000}); fc.Total != want {
			t.Errorf("total %+v\n want %+v", fc.Total, want)
		}
		if want := (F{Count: 2, Estimated: 10000, Weighted: 2200, BestCase: 6000}); fc.Overdue != want {
			t.Errorf("overdue %+v\n want %+v", fc.Overdue, want)
		}
		if want := (F{Count: 1, Estimated: 3000, Weighted: 300}); fc.NoDate != want {
			t.Errorf("no date %+v\n want %+v", fc.NoDate, want)
		}
		var stacks []string
		for _, p := range fc.OpenPhases {
			stacks = append(stacks, p.PipelineName+"/"+p.Name)
		}
		if want := []string{"Sales/Qualification", "Sales/Proposal", "Sales/Negotiation", "Renewals/Discovery", "Renewals/Quote"}; !reflect.DeepEqual(stacks, want) {
			t.Errorf("stacks %v, want %v", stacks, want)
		}
	})
}

func TestForecastBreakdowns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newForecastFixture(t, s)
		fc, err := s.Forecast(context.Background(), monthRange(2026, 1, 2026, 4), f.today)
		if err != nil {
			t.Fatal(err)
		}
		type F = models.ForecastFigures
		type R struct {
			name            string
			fig             F
			overdue, nodate F
		}
		check := func(what string, got []models.ForecastRow, want []R) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: %d rows, want %d: %+v", what, len(got), len(want), got)
			}
			for i, w := range want {
				g := got[i]
				if g.Name != w.name || g.ForecastFigures != w.fig || g.Overdue != w.overdue || g.NoDate != w.nodate {
					t.Errorf("%s row %d:\n got  %q %+v overdue %+v nodate %+v\n want %q %+v overdue %+v nodate %+v",
						what, i, g.Name, g.ForecastFigures, g.Overdue, g.NoDate, w.name, w.fig, w.overdue, w.nodate)
				}
			}
		}
		check("by rep", fc.ByRep, []R{
			{"Anna de Vries", F{Count: 2, Estimated: 60000, Weighted: 31000, BestCase: 50000, Commit: 50000, WonCount: 1, Won: 12000},
				F{Count: 1, Estimated: 6000, Weighted: 1800, BestCase: 6000}, F{Count: 1, Estimated: 3000, Weighted: 300}},
			{"Bram Jansen", F{Count: 2, Estimated: 30000, Weighted: 11000, BestCase: 30000, LostCount: 1, Lost: 7000},
				F{Count: 1, Estimated: 4000, Weighted: 400}, F{}},
			{"Unassigned", F{Count: 1, Estimated: 8000, Weighted: 4800}, F{}, F{}},
		})
		check("by pipeline", fc.ByPipeline, []R{
			{"Sales", F{Count: 4, Estimated: 88000, Weighted: 41800, BestCase: 70000, Commit: 50000, WonCount: 1, Won: 12000, LostCount: 1, Lost: 7000},
				F{Count: 2, Estimated: 10000, Weighted: 2200, BestCase: 6000}, F{Count: 1, Estimated: 3000, Weighted: 300}},
			{"Renewals", F{Count: 1, Estimated: 10000, Weighted: 5000, BestCase: 10000}, F{}, F{}},
		})
		check("by phase", fc.ByPhase, []R{
			{"Sales · Qualification", F{Count: 1, Estimated: 10000, Weighted: 1000}, F{Count: 1, Estimated: 4000, Weighted: 400}, F{Count: 1, Estimated: 3000, Weighted: 300}},
			{"Sales · Proposal", F{Count: 1, Estimated: 20000, Weighted: 6000, BestCase: 20000}, F{Count: 1, Estimated: 6000, Weighted: 1800, BestCase: 6000}, F{}},
			{"Sales · Negotiation", F{Count: 2, Estimated: 58000, Weighted: 34800, BestCase: 50000, Commit: 50000}, F{}, F{}},
			{"Sales · Won", F{WonCount: 1, Won: 12000}, F{}, F{}},
			{"Sales · Lost", F{LostCount: 1, Lost: 7000}, F{}, F{}},
			{"Renewals · Discovery", F{}, F{}, F{}},
			{"Renewals · Quote", F{Count: 1, Estimated: 10000, Weighted: 5000, BestCase: 10000}, F{}, F{}},
			{"Renewals · Won", F{}, F{}, F{}},
			{"Renewals · Lost", F{}, F{}, F{}},
		})
	})
}

func TestForecastFiltersAndQuarters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newForecastFixture(t, s)
		type F = models.ForecastFigures

		byPipeline := monthRange(2026, 1, 2026, 4)
		byPipeline.PipelineID = &f.renewals.ID
		fc, err := s.Forecast(ctx, byPipeline, f.today)
		if err != nil {
			t.Fatal(err)
		}
		if want := (F{Count: 1, Estimated: 10000, Weighted: 5000, BestCase: 10000}); fc.Total != want || fc.Periods[1].ForecastFigures != want {
			t.Errorf("renewals total %+v feb %+v, want %+v", fc.Total, fc.Periods[1].ForecastFigures, want)
		}
		if fc.Overdue != (F{}) || fc.NoDate != (F{}) || len(fc.OpenPhases) != 2 || len(fc.ByPipeline) != 1 {
			t.Errorf("renewals overdue %+v nodate %+v stacks %d pipelines %d", fc.Overdue, fc.NoDate, len(fc.OpenPhases), len(fc.ByPipeline))
		}

		byRep := monthRange(2026, 1, 2026, 4)
		byRep.RepID = &f.bram
		fc, err = s.Forecast(ctx, byRep, f.today)
		if err != nil {
			t.Fatal(err)
		}
		if want := (F{Count: 2, Estimated: 30000, Weighted: 11000, BestCase: 30000, LostCount: 1, Lost: 7000}); fc.Total != want {
			t.Errorf("bram total %+v, want %+v", fc.Total, want)
		}
		if want := (F{Count: 1, Estimated: 4000, Weighted: 400}); fc.Overdue != want {
			t.Errorf("bram overdue %+v, want %+v", fc.Overdue, want)
		}

		// Quarters: Q1 holds January to March; Q2 holds K (expected 1 May) and M (won 1 May).
		fc, err = s.Forecast(ctx, models.ForecastFilter{By: models.PeriodQuarter, From: models.NewDate(2026, 2, 17), To: models.NewDate(2026, 5, 3)}, f.today)
		if err != nil {
			t.Fatal(err)
		}
		if fc.Filter.From != models.NewDate(2026, 1, 1) || fc.Filter.To != models.NewDate(2026, 6, 30) || len(fc.Periods) != 2 {
			t.Fatalf("quarter range %v–%v, %d periods", fc.Filter.From, fc.Filter.To, len(fc.Periods))
		}
		q1 := F{Count: 5, Estimated: 98000, Weighted: 46800, BestCase: 80000, Commit: 50000, WonCount: 1, Won: 12000, LostCount: 1, Lost: 7000}
		q2 := F{Count: 1, Estimated: 11000, Weighted: 1100, WonCount: 1, Won: 2000}
		if p := fc.Periods[0]; p.Key != "2026-Q1" || p.Label != "Q1 2026" || p.ForecastFigures != q1 {
			t.Errorf("Q1 %s %s %+v\n want %+v", p.Key, p.Label, p.ForecastFigures, q1)
		}
		if p := fc.Periods[1]; p.Key != "2026-Q2" || p.ForecastFigures != q2 {
			t.Errorf("Q2 %s %+v\n want %+v", p.Key, p.ForecastFigures, q2)
		}
	})
}

func TestForecastCategoryOverride(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newForecastFixture(t, s)
		if p := f.phases["Negotiation"]; p.ForecastCategory != models.ForecastCommit {
			t.Fatalf("negotiation category %q", p.ForecastCategory)
		}
		if p := f.phases["Won"]; p.ForecastCategory != models.ForecastClosed {
			t.Fatalf("won category %q", p.ForecastCategory)
		}
		a := f.create(t, "Override", 1000)
		_, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{ForecastCategory: ptr("Maybe")}, models.Actor{})
		if e, ok := err.(*models.Error); !ok || e.Code != models.EInvalid || e.Field != "ForecastCategory" {
			t.Fatalf("unknown category: %v", err)
		}
		res, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{ForecastCategory: ptr(models.ForecastCommit)}, models.Actor{})
		if err != nil || res.Activity.ForecastCategory == nil || *res.Activity.ForecastCategory != models.ForecastCommit {
			t.Fatalf("set: %+v %v", res, err)
		}
		got, _ := s.Activity(ctx, a.ID)
		if got.ForecastCategory == nil || *got.ForecastCategory != models.ForecastCommit {
			t.Fatalf("stored %v", got.ForecastCategory)
		}
		if _, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{ForecastCategory: ptr("")}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Activity(ctx, a.ID); got.ForecastCategory != nil {
			t.Fatalf("not cleared: %v", *got.ForecastCategory)
		}
	})
}

func TestForecastFilterRules(t *testing.T) {
	d := models.DefaultForecastFilter(models.NewDate(2026, 11, 22))
	if d.From != models.NewDate(2026, 10, 1) || d.To != models.NewDate(2027, 9, 30) || d.By != models.PeriodMonth {
		t.Fatalf("default %+v", d)
	}
	n, err := d.Normalised()
	if err != nil || len(n.Periods()) != 12 || n.Periods()[11].Key != "2027-09" || n.Periods()[11].End != models.NewDate(2027, 9, 30) {
		t.Fatalf("default periods %v %v", n.Periods(), err)
	}
	for _, bad := range []models.ForecastFilter{
		{By: "week", From: d.From, To: d.To},
		{From: models.NewDate(2026, 5, 1), To: models.NewDate(2026, 4, 30)},
		{From: models.NewDate(2020, 1, 1), To: models.NewDate(2030, 1, 1)},
		{To: d.To},
	} {
		if _, err := bad.Normalised(); models.ErrorCode(err) != models.EInvalid {
			t.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
	for _, c := range []struct{ from, want models.Date }{
		{models.NewDate(2026, 1, 31), models.NewDate(2026, 2, 28)},
		{models.NewDate(2028, 1, 31), models.NewDate(2028, 2, 29)},
		{models.NewDate(2026, 3, 15), models.NewDate(2026, 2, 15)},
		{models.NewDate(2026, 5, 31), models.NewDate(2026, 2, 28)},
	} {
		if got := c.from.InMonth(c.want.Year(), c.want.Month()); got != c.want {
			t.Errorf("%v in %v: %v", c.from, c.want.Month(), got)
		}
	}
	if k := models.PeriodKey(models.PeriodQuarter, models.NewDate(2026, 12, 31)); k != "2026-Q4" {
		t.Errorf("quarter key %s", k)
	}
}

func TestForecastBoardMovesByMonth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newForecastFixture(t, s)
		rng := monthRange(2026, 1, 2026, 4)
		months, err := s.ForecastMonths(ctx, rng)
		if err != nil {
			t.Fatal(err)
		}
		// Open and expected in the month, overdue ones included (the board is where they move on).
		want := []models.ForecastMonth{
			{Key: "2026-01", Label: "Jan 2026"},
			{Key: "2026-02", Label: "Feb 2026", Count: 4, Estimated: 44000, Weighted: 12400},
			{Key: "2026-03", Label: "Mar 2026", Count: 2, Estimated: 58000, Weighted: 34800},
			{Key: "2026-04", Label: "Apr 2026"},
		}
		for i, w := range want {
			m := months[i]
			if m.Key != w.Key || m.Label != w.Label || m.Count != w.Count || m.Estimated != w.Estimated || m.Weighted != w.Weighted {
				t.Errorf("month %d: %+v\n want %+v", i, m, w)
			}
		}
		cards, err := s.ForecastCards(ctx, rng, models.NewDate(2026, 2, 1), nil, 2)
		if err != nil || len(cards) != 2 || cards[0].Subject != "E" || cards[1].Subject != "L" {
			t.Fatalf("february page 1: %v %v", subjects(cards), err)
		}
		cards, err = s.ForecastCards(ctx, rng, models.NewDate(2026, 2, 1), &cards[1].ID, 10)
		if err != nil || len(cards) != 2 || cards[0].Subject != "A" || cards[1].Subject != "B" {
			t.Fatalf("february page 2: %v %v", subjects(cards), err)
		}

		// B (28 February) to April keeps the 28th; C (15 March) to February keeps the 15th;
		// a 31st goes to the 30th of April; no date goes to the month's last day.
		if a := cards[0]; a.ForecastCategory != models.ForecastPipeline || a.CategoryIsOwn {
			t.Errorf("A's category %q own %v", a.ForecastCategory, a.CategoryIsOwn)
		}
		if d := mustCard(t, s, rng, models.NewDate(2026, 3, 1), "D"); d.ForecastCategory != models.ForecastOmitted || !d.CategoryIsOwn {
			t.Errorf("D's category %q own %v", d.ForecastCategory, d.CategoryIsOwn)
		}
		b, c := cards[1], mustCard(t, s, rng, models.NewDate(2026, 3, 1), "C")
		for _, m := range []struct {
			id    uuid.UUID
			month models.Date
			want  models.Date
		}{
			{b.ID, models.NewDate(2026, 4, 1), models.NewDate(2026, 4, 28)},
			{c.ID, models.NewDate(2026, 2, 1), models.NewDate(2026, 2, 15)},
			{mustCard(t, s, rng, models.NewDate(2026, 3, 1), "D").ID, models.NewDate(2026, 4, 1), models.NewDate(2026, 4, 30)},
		} {
			res, old, err := s.MoveToMonth(ctx, m.id, m.month, nil, models.Actor{})
			if err != nil || old == nil || *res.Activity.ExpectedOrderDate != m.want {
				t.Fatalf("move to %v: %+v %v", m.month, res, err)
			}
		}
		g := f.create(t, "No date", 500)
		res, old, err := s.MoveToMonth(ctx, g.ID, models.NewDate(2026, 2, 1), nil, models.Actor{})
		if err != nil || old != nil || *res.Activity.ExpectedOrderDate != models.NewDate(2026, 2, 28) {
			t.Fatalf("no date: %+v %v %v", res, old, err)
		}
		months, _ = s.ForecastMonths(ctx, rng)
		if m := months[3]; m.Count != 2 || m.Estimated != 28000 || m.Weighted != 10800 {
			t.Errorf("april after the moves %+v", m)
		}
		if m := months[1]; m.Count != 5 || m.Estimated != 74500 || m.Weighted != 36450 {
			t.Errorf("february after the moves %+v", m)
		}
	})
}

func subjects(cards []models.ForecastCard) []string {
	var out []string
	for _, c := range cards {
		out = append(out, c.Subject)
	}
	return out
}

func mustCard(t *testing.T, s *models.Store, f models.ForecastFilter, month models.Date, subject string) models.ForecastCard {
	t.Helper()
	cards, err := s.ForecastCards(context.Background(), f, month, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if c.Subject == subject {
			return c
		}
	}
	t.Fatalf("no card %s in %v: %v", subject, month, subjects(cards))
	return models.ForecastCard{}
}

func TestPipelineHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		at := func(m time.Month, d int) {
			s.Now = func() time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
		}
		move := func(a *models.Activity, phase string, m time.Month, d int) {
			t.Helper()
			at(m, d)
			if _, err := s.MoveActivity(ctx, a.ID, f.phases[phase].ID, nil, nil, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		// O1: Qualification 10 days, Proposal 10 days, won. O2: Qualification 4 days, Proposal
		// 20 days, lost. O3: in Qualification since 1 January. O4: since 8 February.
		at(1, 1)
		o1, o2, o3 := f.create(t, "O1", 100), f.create(t, "O2", 100), f.create(t, "O3", 100)
		move(o1, "Proposal", 1, 11)
		move(o1, "Won", 1, 21)
		move(o2, "Proposal", 1, 5)
		move(o2, "Lost", 1, 25)
		// O5 goes back once: Qualification 2 days, Proposal 6 days, Qualification 10 days, won.
		at(1, 1)
		o5 := f.create(t, "O5", 100)
		move(o5, "Proposal", 1, 3)
		move(o5, "Qualification", 1, 9)
		move(o5, "Won", 1, 19)
		at(2, 8)
		f.create(t, "O4", 100)
		now := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)

		phases, rotting, err := s.PipelineHealth(ctx, models.HealthFilter{PipelineID: &f.sales.ID}, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		f64 := func(p *float64) string {
			if p == nil {
				return "-"
			}
			return strconv.FormatFloat(*p, 'f', 2, 64)
		}
		var got []string
		for _, p := range phases {
			got = append(got, fmt.Sprintf("%s entered %d won %d rate %s stays %d avg %s open %d rotting %d",
				p.Name, p.Entered, p.Won, f64(p.WinRate), p.Stays, f64(p.AvgDays), p.Open, p.Rotting))
		}
		want := []string{
			// 4 stays are too few for a usual time (models.MinStaysForUsual): nothing rots.
			"Qualification entered 5 won 2 rate 0.40 stays 4 avg 6.50 open 2 rotting 0",
			"Proposal entered 3 won 2 rate 0.67 stays 3 avg 12.00 open 0 rotting 0",
			"Negotiation entered 0 won 0 rate - stays 0 avg - open 0 rotting 0",
			"Won entered 2 won 2 rate 1.00 stays 0 avg - open 0 rotting 0",
			"Lost entered 1 won 0 rate 0.00 stays 0 avg - open 0 rotting 0",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("health:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if len(rotting) != 0 {
			t.Errorf("rotting %+v", rotting)
		}
		_ = o3
		// A rep without opportunities: nothing entered, nothing rotting.
		reps, _ := s.Employees(ctx)
		phases, rotting, err = s.PipelineHealth(ctx, models.HealthFilter{PipelineID: &f.sales.ID, RepID: &reps[0].ID}, now, 10)
		if err != nil || phases[0].Entered != 0 || phases[0].Open != 0 || len(rotting) != 0 {
			t.Errorf("one rep: %+v %v %v", phases[0], rotting, err)
		}
	})
}
