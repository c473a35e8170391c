package models_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestRotRule: the rule by hand, without a database.
func TestRotRule(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	n := func(v int) *int { return &v }
	cases := []struct {
		name  string
		phase models.Phase
		stays int64
		avg   *float64
		after float64
		admin bool
	}{
		{"no history", models.Phase{}, 0, nil, 0, false},
		{"too few stays (2 quick moves)", models.Phase{}, 2, f(0.01), 0, false},
		{"4 stays are still too few", models.Phase{}, 4, f(30), 0, false},
		{"5 stays, usual 12 days", models.Phase{}, 5, f(12), 12, false},
		{"5 stays, usual half a day: the floor", models.Phase{}, 5, f(0.5), models.RotFloorDays, false},
		{"admin's limit wins over the history", models.Phase{RotAfterDays: n(3)}, 50, f(12), 3, true},
		{"admin's limit without history", models.Phase{RotAfterDays: n(14)}, 0, nil, 14, true},
		{"terminal never rots", models.Phase{IsTerminal: true, RotAfterDays: n(3)}, 50, f(12), 0, false},
	}
	for _, c := range cases {
		r := c.phase.RotRule(c.stays, c.avg)
		if r.After != c.after || r.ByAdmin != c.admin {
			t.Errorf("%s: %+v, want after %v admin %v", c.name, r, c.after, c.admin)
		}
	}
	now := time.Date(2026, 2, 10, 12, 0, 0, 0, time.UTC)
	rules := models.RotRules{}
	p := models.Phase{}
	p.ID = [16]byte{1}
	rules[p.ID] = p.RotRule(8, f(4)) // 4 days usual, floor 7
	cards := []models.Card{
		{PhaseID: p.ID, PhaseEnteredAt: now},                                     // entered today
		{PhaseID: p.ID, PhaseEnteredAt: now.Add(-6*24*time.Hour - 23*time.Hour)}, // 6d23h
		{PhaseID: p.ID, PhaseEnteredAt: now.Add(-7*24*time.Hour - time.Hour)},    // 7d1h
		{PhaseID: p.ID, PhaseEnteredAt: now.Add(-40 * 24 * time.Hour), IsClosed: true},
	}
	rules.Mark(cards, now)
	got := []bool{cards[0].Rotting, cards[1].Rotting, cards[2].Rotting, cards[3].Rotting}
	if got[0] || got[1] || !got[2] || got[3] {
		t.Errorf("today, 6d23h, 7d1h, closed: rotting %v, want only 7d1h", got)
	}
}

// TestRottingOnTheBoardAndInHealth builds a move history by hand and checks which board cards
// are rotting, and that the forecast's health report agrees (one rule: models.Phase.RotRule).
func TestRottingOnTheBoardAndInHealth(t *testing.T) {
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
		// Completed stays in Qualification: O1 10, O2 4, O5 2 and 10, O7 2, O8 2, O9 1, O6 1
		// days: 8 stays, 32 days, usual 4, so the floor of 7 days decides. In Proposal: O1 10,
		// O2 20, O5 6: only 3 stays, no usual time. Negotiation has no completed stay.
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
		move(o6, "Negotiation", 1, 2)
		move(o7, "Proposal", 1, 3)
		move(o8, "Proposal", 1, 3)
		move(o9, "Lost", 1, 2)
		move(o9, "Qualification", 1, 4)
		at(2, 5)
		o4 := f.create(t, "O4", 100) // 5 days in Qualification: under the floor
		at(2, 10)
		o10 := f.create(t, "O10", 100) // entered today
		now := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		names := map[string]string{}
		for n, a := range map[string]*models.Activity{"O1": o1, "O2": o2, "O3": o3, "O4": o4, "O5": o5, "O6": o6, "O7": o7, "O8": o8, "O9": o9, "O10": o10} {
			names[a.ID.String()] = n
		}
		check := func(when, want string) {
			t.Helper()
			rules, err := s.UsualDaysInPhase(ctx, f.sales.ID)
			if err != nil {
				t.Fatal(err)
			}
			var onBoard []string
			for _, p := range f.phases {
				cards, err := s.Cards(ctx, models.BoardFilter{PipelineID: f.sales.ID}, p.ID, nil, 1000)
				if err != nil {
					t.Fatal(err)
				}
				rules.Mark(cards, now)
				for _, c := range cards {
					if n, ok := names[c.ID.String()]; ok && c.Rotting {
						onBoard = append(onBoard, n)
					}
				}
			}
			phases, list, err := s.PipelineHealth(ctx, models.HealthFilter{PipelineID: &f.sales.ID}, now, 100)
			if err != nil {
				t.Fatal(err)
			}
			var inHealth []string
			for _, r := range list {
				inHealth = append(inHealth, names[r.ID.String()])
			}
			counted := 0
			for _, p := range phases {
				counted += int(p.Rotting)
			}
			sort.Strings(onBoard)
			sort.Strings(inHealth)
			if got := strings.Join(onBoard, " "); got != want {
				t.Errorf("%s: rotting on the board %q, want %q", when, got, want)
			}
			if got := strings.Join(inHealth, " "); got != want || counted != len(inHealth) {
				t.Errorf("%s: rotting in health %q (counted %d), want %q", when, got, counted, want)
			}
		}
		// Qualification: O3 (40 days) and O9 (37) rot, O4 (5 days) and O10 (today) do not.
		// Proposal's O7 and O8 (38 days) do not: too little history. O6 neither.
		check("by the history", "O3 O9")

		// An admin sets Proposal to rot after 30 days and Negotiation after 60: O7 and O8 rot,
		// O6 (39 days in Negotiation) does not.
		for name, days := range map[string]int{"Proposal": 30, "Negotiation": 60} {
			p := f.phases[name]
			in := models.PhaseInput{Name: p.Name, DefaultProbability: p.DefaultProbability, RotAfterDays: &days}
			if err := s.UpdatePhase(ctx, p.ID, in, models.Actor{}); err != nil {
				t.Fatal(err)
			}
		}
		check("with an admin's limits", "O3 O7 O8 O9")

		// A limit out of range is refused and changes nothing.
		zero, p := 0, f.phases["Proposal"]
		err := s.UpdatePhase(ctx, p.ID, models.PhaseInput{Name: p.Name, DefaultProbability: p.DefaultProbability, RotAfterDays: &zero}, models.Actor{})
		if models.ErrorCode(err) != models.EInvalid {
			t.Errorf("rotting after 0 days: %v", err)
		}
		check("after a refused limit", "O3 O7 O8 O9")
	})
}
