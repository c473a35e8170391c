package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// mixedCurrencies adds, as of Tuesday 10 February 2026 (reporting currency EUR, USD rates 0.9 from
// 1 January and 0.8 from 15 February, no GBP rate at all):
//
//	   currency  phase          amount   date        rate   in EUR   weighted
//	A  EUR       Qualification  10,000   2026-02-20  1      10,000   1,000
//	B  USD       Qualification  10,000   2026-02-10  0.9     9,000     900
//	C  USD       Proposal       20,000   2026-03-01  0.8    16,000   4,800
//	D  GBP       Qualification   5,000   2026-02-25  none   counted, not summed
//	E  USD       Qualification   1,000   2025-12-15  none (before the first USD rate): overdue
//	F  USD       Won             4,000   closed 2026-02-20 (rate 0.8): won 3,200
func mixedCurrencies(t *testing.T, s *models.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, s)
	if err := s.SaveRates(ctx, []models.RateInput{
		{Currency: "usd", Day: models.NewDate(2026, 1, 1), Rate: 0.9},
		{Currency: "USD", Day: models.NewDate(2026, 2, 15), Rate: 0.8},
	}, models.Actor{}); err != nil {
		t.Fatal(err)
	}
	at := func(m time.Month, d int) {
		s.Now = func() time.Time { return time.Date(2026, m, d, 9, 0, 0, 0, time.UTC) }
	}
	for _, r := range []struct {
		subject, currency, phase string
		amount                   float64
		expected                 models.Date
		created                  int // day of February the deal was created (and closed)
	}{
		{"A", "EUR", "Qualification", 10000, models.NewDate(2026, 2, 20), 10},
		{"B", "USD", "Qualification", 10000, models.NewDate(2026, 2, 10), 10},
		{"C", "USD", "Proposal", 20000, models.NewDate(2026, 3, 1), 10},
		{"D", "GBP", "Qualification", 5000, models.NewDate(2026, 2, 25), 10},
		{"E", "USD", "Qualification", 1000, models.NewDate(2025, 12, 15), 10},
		{"F", "USD", "Won", 4000, models.NewDate(2026, 2, 28), 20},
	} {
		at(2, r.created)
		phase, d := f.phases[r.phase].ID, r.expected
		if _, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptr(r.subject), Currency: ptr(r.currency),
			PipelineID: &f.sales.ID, PhaseID: &phase, EstimatedAmount: ptr(r.amount), ExpectedOrderDate: &d}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
	}
	at(2, 10)
	return f
}

func TestMixedCurrencyTotals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := mixedCurrencies(t, s)
		today := models.NewDate(2026, 2, 10)
		for _, src := range []models.ForecastSource{models.SourceLive, models.SourceScan} {
			fc, err := s.ForecastFrom(ctx, src, monthRange(2026, 2, 2026, 3), today)
			if err != nil {
				t.Fatal(err)
			}
			type F = models.ForecastFigures
			if want := (F{Count: 3, Estimated: 19000, Weighted: 1900, NoRate: 1, WonCount: 1, Won: 3200}); fc.Periods[0].ForecastFigures != want {
				t.Errorf("February %+v\n want %+v", fc.Periods[0].ForecastFigures, want)
			}
			if want := (F{Count: 1, Estimated: 16000, Weighted: 4800, BestCase: 16000}); fc.Periods[1].ForecastFigures != want {
				t.Errorf("March %+v\n want %+v", fc.Periods[1].ForecastFigures, want)
			}
			if want := (F{Count: 1, NoRate: 1}); fc.Overdue != want {
				t.Errorf("overdue %+v, want %+v", fc.Overdue, want)
			}
			if fc.Currency != "EUR" || len(fc.MissingRates) != 2 || fc.MissingRates[0].Currency != "GBP" || fc.MissingRates[0].Count != 1 ||
				fc.MissingRates[1].Currency != "USD" || fc.MissingRates[1].First.String() != "2025-12-15" {
				t.Errorf("currency %s, missing %+v", fc.Currency, fc.MissingRates)
			}
		}
		cols, err := s.Columns(ctx, models.BoardFilter{PipelineID: f.sales.ID})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]models.Column{}
		for _, c := range cols {
			got[c.Phase.Name] = c
		}
		if q := got["Qualification"]; q.Count != 4 || q.Estimated != 19000 || q.Weighted != 1900 || q.NoRate != 2 {
			t.Errorf("Qualification header %+v", q)
		}
		if w := got["Won"]; w.Count != 1 || w.Estimated != 3200 || w.NoRate != 0 {
			t.Errorf("Won header %+v", w)
		}
		// A rate for GBP from 1 February on converts D (and only D) from then.
		if err := s.SaveRates(ctx, []models.RateInput{{Currency: "GBP", Day: models.NewDate(2026, 2, 1), Rate: 1.2}}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		fc, err := s.Forecast(ctx, monthRange(2026, 2, 2026, 3), today)
		if err != nil {
			t.Fatal(err)
		}
		if p := fc.Periods[0]; p.Estimated != 25000 || p.NoRate != 0 {
			t.Errorf("February with a GBP rate: %+v", p.ForecastFigures)
		}
	})
}

func TestRatesAreCheckedAndOnlyForAdmins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		day := models.NewDate(2026, 1, 1)
		rep := models.Actor{Role: models.RoleRep, EmployeeID: ptr(uuid.New())}
		if err := s.SaveRates(ctx, []models.RateInput{{Currency: "USD", Day: day, Rate: 1}}, rep); models.ErrorCode(err) != models.EForbidden {
			t.Errorf("a rep saved a rate: %v", err)
		}
		for _, bad := range []models.RateInput{{Currency: "US", Day: day, Rate: 1}, {Currency: "USD", Rate: 1}, {Currency: "USD", Day: day, Rate: 0},
			{Currency: "EUR", Day: day, Rate: 1}} {
			if err := s.SaveRates(ctx, []models.RateInput{{Currency: "CHF", Day: day, Rate: 1.05}, bad}, models.Actor{}); models.ErrorCode(err) != models.EInvalid ||
				!strings.HasPrefix(models.ErrorMessage(err), "Line 2: ") {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		if rates, _ := s.Rates(ctx, "", 10); len(rates) != 0 {
			t.Errorf("a refused batch saved %+v", rates)
		}
		rates, err := models.ParseRatesCSV(strings.NewReader("\ufeffDate,Currency,Rate\n2026-01-01, USD ,0.91\n\n2026-01-02,USD,0.92\n"))
		if err != nil || len(rates) != 2 || rates[1].Rate != 0.92 || rates[0].Currency != "USD" {
			t.Fatalf("%+v %v", rates, err)
		}
		for in, want := range map[string]string{"currency,rate\n": "name the columns", "currency,date,rate\nUSD,1/2/2026,1\n": "Line 2",
			"currency,date,rate\nUSD,2026-01-01,1,0\n": "Line 2"} {
			if _, err := models.ParseRatesCSV(strings.NewReader(in)); err == nil || !strings.Contains(models.ErrorMessage(err), want) {
				t.Errorf("%q: %v", in, err)
			}
		}
		if err := s.SaveRates(ctx, rates, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveRates(ctx, []models.RateInput{{Currency: "USD", Day: day, Rate: 0.95}}, models.Actor{}); err != nil {
			t.Fatal(err) // replaces the rate of that day
		}
		got, _ := s.Rates(ctx, "USD", 10)
		if len(got) != 2 || got[1].Rate != 0.95 {
			t.Errorf("rates %+v", got)
		}
	})
}
