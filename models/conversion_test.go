package models_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// The Sales pipeline's cohorts of January and February 2026 (stages Qualification,
// Proposal, Negotiation, Won), by hand:
//
//	    rep   created       moves                              reached  outcome
//	D1  Anna  5 Jan 09:00   Proposal, Negotiation, Won 4 Feb   4        won after 30 days
//	D2  Anna  6 Jan         Proposal, Lost                     2        lost
//	D3  Bram  7 Jan         Won 17 Jan                          4        won after 10 days
//	D4  Bram  8 Jan         —                                   1        open
//	D5  Anna  2 Feb         Negotiation, Lost                   3        lost
//	D6  Bram  3 Feb in Proposal, Won 13 Feb                     4        won after 10 days
//
// Reached per stage 6, 5, 4, 3; conversion 5/6, 4/5, 3/4; win rate 3/5; cycle 50/3 days.
func TestConversionAndVelocity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		reps, _ := s.Employees(ctx)
		anna, bram := reps[0].ID, reps[1].ID
		at := func(m time.Month, d int) {
			s.Now = func() time.Time { return time.Date(2026, m, d, 9, 0, 0, 0, time.UTC) }
		}
		deal := func(subject string, m time.Month, d int, rep models.Employee, phase string) *models.Activity {
			at(m, d)
			id := f.phases[phase].ID
			a, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptr(subject), PipelineID: &f.sales.ID,
				PhaseID: &id, SalesRepresentativeID: &rep.ID, EstimatedAmount: ptr(1000.0)}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		move := func(a *models.Activity, phase string, m time.Month, d int) {
			at(m, d)
			if _, err := s.MoveActivity(ctx, a.ID, f.phases[phase].ID, nil, nil, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		d1 := deal("D1", 1, 5, reps[0], "Qualification")
		move(d1, "Proposal", 1, 10)
		move(d1, "Negotiation", 1, 20)
		move(d1, "Won", 2, 4)
		d2 := deal("D2", 1, 6, reps[0], "Qualification")
		move(d2, "Proposal", 1, 11)
		move(d2, "Lost", 1, 12)
		d3 := deal("D3", 1, 7, reps[1], "Qualification")
		move(d3, "Won", 1, 17)
		deal("D4", 1, 8, reps[1], "Qualification")
		d5 := deal("D5", 2, 2, reps[0], "Qualification")
		move(d5, "Negotiation", 2, 5)
		move(d5, "Lost", 2, 6)
		d6 := deal("D6", 2, 3, reps[1], "Proposal")
		move(d6, "Won", 2, 13)
		deal("outside", 3, 1, reps[0], "Qualification") // created after the range

		c, err := s.ConversionReport(ctx, models.ConversionFilter{PipelineID: f.sales.ID, By: models.PeriodMonth,
			From: models.NewDate(2026, 1, 1), To: models.NewDate(2026, 2, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.Stages, []string{"Qualification", "Proposal", "Negotiation", "Won"}) {
			t.Fatalf("stages %v", c.Stages)
		}
		check := func(name string, r models.FunnelRow, cohort int64, reached []int64, won, lost int64, winRate, cycle float64) {
			t.Helper()
			if r.Cohort != cohort || !reflect.DeepEqual(r.Reached, reached) || r.Won != won || r.Lost != lost ||
				!optIs(r.WinRate, winRate) || !optIs(r.CycleDays, cycle) {
				t.Errorf("%s: cohort %d reached %v won %d lost %d win rate %v cycle %v", name, r.Cohort, r.Reached, r.Won, r.Lost, deref(r.WinRate), deref(r.CycleDays))
			}
			for i := range r.Conversion {
				if !optIs(r.Conversion[i], float64(reached[i+1])/float64(reached[i])) {
					t.Errorf("%s: conversion %d %v", name, i, deref(r.Conversion[i]))
				}
			}
		}
		check("everyone", c.Total, 6, []int64{6, 5, 4, 3}, 3, 2, 0.6, 50.0/3)
		if len(c.ByRep) != 2 || c.ByRep[0].Key != anna.String() || c.ByRep[1].Key != bram.String() {
			t.Fatalf("reps %+v", c.ByRep)
		}
		check("Anna", c.ByRep[0], 3, []int64{3, 3, 2, 1}, 1, 2, 1.0/3, 30)
		check("Bram", c.ByRep[1], 3, []int64{3, 2, 2, 2}, 2, 0, 1, 10)
		check("January", c.ByPeriod[0], 4, []int64{4, 3, 2, 2}, 2, 1, 2.0/3, 20)
		check("February", c.ByPeriod[1], 2, []int64{2, 2, 2, 1}, 1, 1, 0.5, 10)

		one, err := s.ConversionReport(ctx, models.ConversionFilter{PipelineID: f.sales.ID, RepID: &bram, By: models.PeriodQuarter,
			From: models.NewDate(2026, 1, 1), To: models.NewDate(2026, 3, 1)})
		if err != nil {
			t.Fatal(err)
		}
		check("Bram's Q1", one.Total, 3, []int64{3, 2, 2, 2}, 2, 0, 1, 10)
		if len(one.ByPeriod) != 1 || one.ByPeriod[0].Key != "2026-Q1" {
			t.Errorf("quarters %+v", one.ByPeriod)
		}
	})
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
