package models_test

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestUsualDaysAndRottingCards builds a move history by hand and checks each phase's usual time
// and which board cards are rotting, and that the forecast's health report agrees.
func TestUsualDaysAndRottingCards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		at := func(m time.Month, d int) {
			s.Now = func() time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }
		}
		move := func(a *models.Activity, phase string, m time.Month, d int) {
			t.Helper()
			at(m, d)
			if _, err := s.MoveActivity(ctx, a.ID, f.phases[phase].ID, nil, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		// Completed stays in Qualification: O1 10, O2 4, O5 2 and 10, O7 2, O8 2, O9 1, O6 1
		// days: 32 / 8 = 4. In Proposal: O1 10, O2 20, O5 6: 12 (the stays that end in a
		// terminal phase count). In Lost: O9 2, but Lost is terminal.
		at(1, 1)
		o1, o2, o3 := f.create(t, "O1", 100), f.create(t, "O2", 100), f.create(t, "O3", 100)
		move(o1, "Proposal", 1, 11)
		move(o1, "Won", 1, 21)
		move(o2, "Proposal", 1, 5)
		move(o2, "Lost", 1, 25)
		at(1, 1)
		o5 := f.create(t, "O5", 100)
		move(o5, "Proposal", 1, 3)
		move(o5, "Qualification", 1, 9)
		move(o5, "Won", 1, 19)
		at(1, 1)
		o6, o7, o8, o9 := f.create(t, "O6", 100), f.create(t, "O7", 100), f.create(t, "O8", 100), f.create(t, "O9", 100)
		move(o6, "Negotiation", 1, 2) // Negotiation has no completed stay: no usual time
		move(o7, "Proposal", 1, 3)
		move(o8, "Proposal", 1, 3)
		move(o9, "Lost", 1, 2)
		move(o9, "Qualification", 1, 4)
		at(2, 8)
		o4 := f.create(t, "O4", 100)
		now := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }

		usual, err := s.UsualDaysInPhase(ctx, f.sales.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := models.UsualDays{f.phases["Qualification"].ID: 4, f.phases["Proposal"].ID: 12}
		if len(usual) != len(want) {
			t.Fatalf("usual days %v, want %v", usual, want)
		}
		for id, d := range want {
			if got, ok := usual[id]; !ok || got < d-1e-9 || got > d+1e-9 {
				t.Errorf("usual days of %v: %v, want %v", id, got, d)
			}
		}
		// The other pipeline has no history: no usual times at all.
		if other, err := s.UsualDaysInPhase(ctx, f.renewals.ID); err != nil || len(other) != 0 {
			t.Errorf("renewals usual days %v %v", other, err)
		}

		// The board's cards: rotting are O3 (Qualification for 40 days) and O9 (37 days), and
		// O7 and O8 (Proposal for 38 days); not O4 (2 days), O6 (Negotiation: no usual time),
		// nor the closed O1, O2 and O5 (terminal phases).
		names := map[string]string{}
		for n, a := range map[string]*models.Activity{"O1": o1, "O2": o2, "O3": o3, "O4": o4, "O5": o5, "O6": o6, "O7": o7, "O8": o8, "O9": o9} {
			names[a.ID.String()] = n
		}
		var rotting, marked []string
		for _, p := range f.phases {
			cards, err := s.Cards(ctx, models.BoardFilter{PipelineID: f.sales.ID}, p.ID, nil, 1000)
			if err != nil {
				t.Fatal(err)
			}
			usual.Mark(cards, now)
			for _, c := range cards {
				n, mine := names[c.ID.String()]
				if !mine {
					continue
				}
				if c.Rotting {
					rotting = append(rotting, n)
				}
				if c.UsualDays != nil {
					marked = append(marked, n)
				}
			}
		}
		sort.Strings(rotting)
		sort.Strings(marked)
		if got := strings.Join(rotting, " "); got != "O3 O7 O8 O9" {
			t.Errorf("rotting cards %q, want O3 O7 O8 O9", got)
		}
		if got := strings.Join(marked, " "); got != "O3 O4 O7 O8 O9" {
			t.Errorf("cards with a usual time %q, want O3 O4 O7 O8 O9", got)
		}
		// A card just under its phase's usual time is not rotting; just over, it is.
		q := f.phases["Qualification"].ID
		edge := []models.Card{{PhaseID: q, PhaseEnteredAt: now.Add(-3*24*time.Hour - 23*time.Hour)}, {PhaseID: q, PhaseEnteredAt: now.Add(-4*24*time.Hour - time.Hour)}}
		usual.Mark(edge, now)
		if edge[0].Rotting || !edge[1].Rotting {
			t.Errorf("3d23h rotting %v, 4d1h rotting %v; usual 4 days", edge[0].Rotting, edge[1].Rotting)
		}

		// The forecast's health report applies the same rule.
		phases, list, err := s.PipelineHealth(ctx, models.HealthFilter{PipelineID: &f.sales.ID}, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		var fromHealth []string
		for _, r := range list {
			if n, ok := names[r.ID.String()]; ok {
				fromHealth = append(fromHealth, n)
			}
		}
		sort.Strings(fromHealth)
		if got := strings.Join(fromHealth, " "); got != "O3 O7 O8 O9" {
			t.Errorf("health's rotting list %q, want O3 O7 O8 O9", got)
		}
		for _, p := range phases {
			u, ok := usual[p.ID]
			if ok != (p.AvgDays != nil && !p.IsTerminal) || (ok && u != *p.AvgDays) {
				t.Errorf("phase %s: board usual %v (%v), health average %v", p.Name, u, ok, fmtDays(p.AvgDays))
			}
		}
	})
}

func fmtDays(p *float64) string {
	if p == nil {
		return "none"
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}
