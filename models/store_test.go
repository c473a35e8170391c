package models_test

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"testing"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// fixture is a demo reference data set with no opportunities.
type fixture struct {
	s        *models.Store
	sales    models.Pipeline
	renewals models.Pipeline
	phases   map[string]models.Phase // of the sales pipeline, by name
	other    map[string]models.Phase // of the renewals pipeline
}

func newFixture(t *testing.T, s *models.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
		t.Fatal(err)
	}
	ps, err := s.SalesPipelines(ctx)
	if err != nil || len(ps) != 2 {
		t.Fatalf("pipelines %v %v", ps, err)
	}
	f := &fixture{s: s, sales: ps[0], renewals: ps[1], phases: map[string]models.Phase{}, other: map[string]models.Phase{}}
	for _, x := range []struct {
		id uuid.UUID
		m  map[string]models.Phase
	}{{ps[0].ID, f.phases}, {ps[1].ID, f.other}} {
		phases, err := s.Phases(ctx, x.id)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range phases {
			x.m[p.Name] = p
		}
	}
	return f
}

func (f *fixture) create(t *testing.T, subject string, amount float64) *models.Activity {
	t.Helper()
	a, err := f.s.CreateActivity(context.Background(), models.SalesOpportunity, models.ActivityChanges{
		Subject: &subject, EstimatedAmount: &amount, PipelineID: &f.sales.ID}, models.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCreateAppliesDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newFixture(t, s)
		a := f.create(t, "  Big deal  ", 20000)
		if a.Subject != "Big deal" || a.PhaseID != f.phases["Qualification"].ID {
			t.Fatalf("subject %q phase %v", a.Subject, a.PhaseID)
		}
		if *a.Probability != 10 || *a.WeightedAmount != 2000 {
			t.Fatalf("probability %v weighted %v", *a.Probability, *a.WeightedAmount)
		}
		if len(a.Number) != len("2026-00001") || a.Number[4] != '-' {
			t.Fatalf("number %q", a.Number)
		}
		got, err := s.Activity(context.Background(), a.ID)
		if err != nil || got.Number != a.Number || *got.WeightedAmount != 2000 {
			t.Fatalf("reloaded %+v %v", got, err)
		}
		_, err = s.CreateActivity(context.Background(), models.SalesOpportunity, models.ActivityChanges{Subject: ptr(" ")}, models.Actor{})
		if e, ok := err.(*models.Error); !ok || e.Field != "Subject" {
			t.Fatalf("empty subject: %v", err)
		}
	})
}

func TestMoveRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		a := f.create(t, "Deal", 1000)

		res, err := s.MoveActivity(ctx, a.ID, f.phases["Negotiation"].ID, nil, nil, nil, models.Actor{})
		if err != nil || *res.Activity.Probability != 60 || *res.Activity.WeightedAmount != 600 || res.Activity.IsClosed {
			t.Fatalf("negotiation: %+v %v", res, err)
		}
		res, err = s.MoveActivity(ctx, a.ID, f.phases["Lost"].ID, nil, nil, nil, models.Actor{})
		if err != nil || !res.Activity.IsClosed || *res.Activity.Probability != 0 || !res.NeedsLostReason {
			t.Fatalf("lost: %+v %v", res, err)
		}
		reasons, _ := s.LostReasons(ctx)
		_, err = s.UpdateActivity(ctx, a.ID, models.ActivityChanges{LostReasonID: &reasons[0].ID}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		// Leaving the lost phase reopens and forgets the reason.
		res, err = s.MoveActivity(ctx, a.ID, f.phases["Proposal"].ID, nil, nil, nil, models.Actor{})
		if err != nil || res.Activity.IsClosed || *res.Activity.Probability != 30 || res.Activity.LostReasonID != nil {
			t.Fatalf("reopen: %+v %v", res.Activity, err)
		}
		res, err = s.MoveActivity(ctx, a.ID, f.phases["Won"].ID, nil, nil, nil, models.Actor{})
		if err != nil || !res.Activity.IsClosed || *res.Activity.Probability != 100 || *res.Activity.WeightedAmount != 1000 {
			t.Fatalf("won: %+v %v", res.Activity, err)
		}

		// A phase of another pipeline is refused and nothing changes.
		before, _ := s.Activity(ctx, a.ID)
		_, err = s.MoveActivity(ctx, a.ID, f.other["Quote"].ID, nil, nil, nil, models.Actor{})
		if e, ok := err.(*models.Error); !ok || e.Code != models.EInvalid || e.Field != "Phase" {
			t.Fatalf("other pipeline: %v", err)
		}
		after, _ := s.Activity(ctx, a.ID)
		if after.Version != before.Version || after.PhaseID != before.PhaseID {
			t.Fatal("a refused move wrote something")
		}

		// Every move is recorded: create + 4 phase changes.
		var n int64
		s.DB.Model(&models.PhaseChange{}).Where("activity_id = ?", a.ID).Count(&n)
		if n != 5 {
			t.Fatalf("%d phase changes recorded, want 5", n)
		}
	})
}

func TestStaleEditIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		a := f.create(t, "Deal", 1000)
		v := a.Version
		if _, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{Subject: ptr("First"), ExpectedVersion: &v}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		_, err := s.UpdateActivity(ctx, a.ID, models.ActivityChanges{Subject: ptr("Second"), ExpectedVersion: &v}, models.Actor{})
		if models.ErrorCode(err) != models.EConflict {
			t.Fatalf("stale edit: %v", err)
		}
		got, _ := s.Activity(ctx, a.ID)
		if got.Subject != "First" {
			t.Fatalf("subject %q", got.Subject)
		}
	})
}

func TestOrderingWithinAColumn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		qual := f.phases["Qualification"].ID
		// Created cards go on top: c, b, a.
		a, b, c := f.create(t, "a", 1), f.create(t, "b", 1), f.create(t, "c", 1)
		order := func() string {
			cards, err := s.Cards(ctx, models.BoardFilter{PipelineID: f.sales.ID}, qual, nil, 50)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, c := range cards {
				out += c.Subject
			}
			return out
		}
		if got := order(); got != "cba" {
			t.Fatalf("order %q", got)
		}
		// Drop a between c and b.
		if _, err := s.MoveActivity(ctx, a.ID, qual, &c.ID, &b.ID, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if got := order(); got != "cab" {
			t.Fatalf("order %q", got)
		}
		// Squeeze the same slot many times: the gap runs out and the column is renumbered.
		x, y := a, b
		for i := 0; i < 60; i++ {
			if _, err := s.MoveActivity(ctx, y.ID, qual, &c.ID, &x.ID, nil, models.Actor{}); err != nil {
				t.Fatal(err)
			}
			x, y = y, x
		}
		if got := order(); got != "cab" && got != "cba" {
			t.Fatalf("order after squeezing %q", got)
		}
		// Neighbours from a stale board (not in the column) are ignored: the card goes on top.
		stale := uuid.New()
		if _, err := s.MoveActivity(ctx, b.ID, qual, &stale, nil, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if got := order(); got[0] != 'b' {
			t.Fatalf("order %q", got)
		}
	})
}

func TestColumnsAndPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		for i := 0; i < 7; i++ {
			f.create(t, fmt.Sprintf("Deal %d", i), 100)
		}
		filter := models.BoardFilter{PipelineID: f.sales.ID}
		cols, err := s.Columns(ctx, filter)
		if err != nil || len(cols) != 5 {
			t.Fatalf("columns %v %v", cols, err)
		}
		if cols[0].Count != 7 || cols[0].Estimated != 700 || cols[0].Weighted != 70 {
			t.Fatalf("qualification figures %+v", cols[0])
		}
		// Page through three at a time; a card moved away mid-way is neither lost nor repeated.
		qual := f.phases["Qualification"].ID
		page1, _ := s.Cards(ctx, filter, qual, nil, 3)
		if _, err := s.MoveActivity(ctx, page1[0].ID, f.phases["Proposal"].ID, nil, nil, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		seen := map[uuid.UUID]bool{}
		for _, c := range page1 {
			seen[c.ID] = true
		}
		last := page1[len(page1)-1].ID
		for {
			page, err := s.Cards(ctx, filter, qual, &last, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, c := range page {
				if seen[c.ID] {
					t.Fatalf("card %s repeated", c.Subject)
				}
				seen[c.ID] = true
			}
			last = page[len(page)-1].ID
		}
		if len(seen) != 7 {
			t.Fatalf("saw %d cards, want 7", len(seen))
		}
		// Text and status filters narrow figures and cards alike.
		filter.Text = "deal 3"
		cols, _ = s.Columns(ctx, filter)
		if cols[0].Count != 1 {
			t.Fatalf("text filter count %d", cols[0].Count)
		}
		filter.Text, filter.Status = "", models.StatusClosed
		cols, _ = s.Columns(ctx, filter)
		if cols[0].Count != 0 {
			t.Fatalf("closed filter count %d", cols[0].Count)
		}
	})
}

// Many goroutines creating and moving at once: numbers stay unique, every move is recorded,
// and each column's order is a strict order.
func TestConcurrentCreatesAndMoves(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		phaseIDs := []uuid.UUID{f.phases["Qualification"].ID, f.phases["Proposal"].ID, f.phases["Negotiation"].ID}
		const workers, each = 8, 15
		var wg sync.WaitGroup
		errs := make(chan error, workers*each*2)
		var moves sync.Map
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					subj := fmt.Sprintf("w%d-%d", w, i)
					amount := 100.0
					a, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subj, EstimatedAmount: &amount, PipelineID: &f.sales.ID}, models.Actor{})
					if err != nil {
						errs <- err
						continue
					}
					target := phaseIDs[(w+i)%len(phaseIDs)]
					if _, err := s.MoveActivity(ctx, a.ID, target, nil, nil, nil, models.Actor{}); err != nil {
						errs <- err
						continue
					}
					if target != a.PhaseID {
						moves.Store(a.ID, true)
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var numbers []string
		s.DB.Model(&models.Activity{}).Order("number").Pluck("number", &numbers)
		if len(numbers) != workers*each {
			t.Fatalf("%d opportunities, want %d", len(numbers), workers*each)
		}
		sort.Strings(numbers)
		for i := 1; i < len(numbers); i++ {
			if numbers[i] == numbers[i-1] {
				t.Fatalf("number %s handed out twice", numbers[i])
			}
		}
		moved := 0
		moves.Range(func(any, any) bool { moved++; return true })
		var changes int64
		s.DB.Model(&models.PhaseChange{}).Count(&changes)
		if int(changes) != workers*each+moved {
			t.Fatalf("%d phase changes, want %d creates + %d moves", changes, workers*each, moved)
		}
		for _, p := range phaseIDs {
			var dup int64
			s.DB.Raw(`SELECT COUNT(*) FROM (SELECT sort_index FROM activities WHERE phase_id = ? GROUP BY sort_index HAVING COUNT(*) > 1) d`, p).Scan(&dup)
			if dup != 0 {
				t.Fatalf("column %v has %d shared sort indexes", p, dup)
			}
		}
	})
}

func TestDemoLoadsAndMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		if err := s.LoadDemo(ctx, 1500, nil, nil); err != nil {
			t.Fatal(err)
		}
		// A second load reuses the reference data and continues the numbers.
		if err := s.LoadDemo(ctx, 10, nil, nil); err != nil {
			t.Fatal(err)
		}
		var pipelines, opps, distinct int64
		s.DB.Model(&models.Pipeline{}).Count(&pipelines)
		s.DB.Model(&models.Activity{}).Where("type = ?", models.SalesOpportunity.Type).Count(&opps)
		s.DB.Raw("SELECT COUNT(DISTINCT number) FROM activities WHERE type = ?", models.SalesOpportunity.Type).Scan(&distinct)
		if pipelines != 17 || opps != 1510 || distinct != 1510 {
			t.Fatalf("pipelines %d opportunities %d distinct numbers %d", pipelines, opps, distinct)
		}
		// Invoices and tickets beside them (one per ten opportunities each), numbered per kind.
		for _, kind := range []string{"Invoice", "SupportTicket"} {
			var n, numbers int64
			typ := models.KindByName(kind).Type
			s.DB.Model(&models.Activity{}).Where("type = ?", typ).Count(&n)
			s.DB.Raw("SELECT COUNT(DISTINCT number) FROM activities WHERE type = ?", typ).Scan(&numbers)
			if n != 151 || numbers != 151 {
				t.Fatalf("%s: %d activities, %d distinct numbers", kind, n, numbers)
			}
		}
		var bad int64
		s.DB.Raw("SELECT COUNT(*) FROM activities WHERE ABS(weighted_amount - estimated_amount * probability / 100) > 0.0001").Scan(&bad)
		if bad != 0 {
			t.Fatalf("%d opportunities with a wrong weighted amount", bad)
		}
		if n, err := s.Migrate(ctx); err != nil || n != 0 {
			t.Fatalf("second migrate applied %d: %v", n, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// Cards moving in opposite directions at once (P→Q while Q→P) must not deadlock or fail.
func TestOppositeMovesDoNotFail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		p, q := f.phases["Proposal"].ID, f.phases["Negotiation"].ID
		const workers, rounds = 8, 25
		cards := make([]*models.Activity, workers)
		for i := range cards {
			cards[i] = f.create(t, fmt.Sprintf("card %d", i), 10)
		}
		var wg sync.WaitGroup
		errs := make(chan error, workers*rounds)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for r := 0; r < rounds; r++ {
					target := p
					if (w+r)%2 == 0 {
						target = q
					}
					// Drop below another worker's card to exercise placement under contention.
					after := cards[(w+1)%workers].ID
					if _, err := s.MoveActivity(ctx, cards[w].ID, target, &after, nil, nil, models.Actor{}); err != nil {
						errs <- err
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var changes int64
		s.DB.Model(&models.PhaseChange{}).Where("to_phase_id IN ?", []uuid.UUID{p, q}).Count(&changes)
		if changes != workers*rounds {
			t.Fatalf("%d moves recorded, want %d", changes, workers*rounds)
		}
	})
}

// The board's column figures read off the maintained rollups are those of a scan of the cards,
// for every filter the rollups serve, for managers and for reps who see only their own, after
// moves, edits (amount, currency, owner), closing and deleting.
func TestColumnFiguresFromTheRollupsMatchAScan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		if err := s.LoadDemo(ctx, 300, nil, nil); err != nil {
			t.Fatal(err)
		}
		ps, _ := s.SalesPipelines(ctx)
		pipe := ps[0]
		phases, _ := s.Phases(ctx, pipe.ID)
		reps, _ := s.Employees(ctx)
		cards, _ := s.Cards(ctx, models.BoardFilter{PipelineID: pipe.ID}, phases[0].ID, nil, 20)
		if len(cards) < 6 || len(reps) < 2 {
			t.Fatalf("the demo has %d cards in %s and %d reps", len(cards), phases[0].Name, len(reps))
		}
		usd, amount := "USD", 12345.5
		if _, err := s.MoveActivity(ctx, cards[0].ID, phases[1].ID, nil, nil, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateActivity(ctx, cards[1].ID, models.ActivityChanges{Currency: &usd, EstimatedAmount: &amount}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateActivity(ctx, cards[2].ID, models.ActivityChanges{SalesRepresentativeID: &reps[1].ID}, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		for _, p := range phases {
			if p.IsTerminal {
				if _, err := s.MoveActivity(ctx, cards[3].ID, p.ID, nil, nil, nil, models.Actor{}); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		if err := s.DeleteActivity(ctx, cards[4].ID, nil, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		filters := []models.BoardFilter{{PipelineID: pipe.ID}, {PipelineID: pipe.ID, Status: models.StatusOpen},
			{PipelineID: pipe.ID, Status: models.StatusClosed}, {PipelineID: pipe.ID, RepID: &reps[1].ID}, {PipelineID: ps[1].ID}}
		for _, visibility := range []string{models.VisibilityTeam, models.VisibilityOwn} {
			s.RepVisibility = visibility
			scan := models.ScanningColumns(s)
			for _, actor := range []models.Actor{{Role: models.RoleManager}, {Role: models.RoleRep, EmployeeID: &reps[0].ID}} {
				actx := models.WithActor(ctx, actor)
				for _, f := range filters {
					got, err := s.Columns(actx, f)
					if err != nil {
						t.Fatal(err)
					}
					want, err := scan.Columns(actx, f)
					if err != nil {
						t.Fatal(err)
					}
					var total int64
					for i := range want {
						g, w := got[i], want[i]
						total += w.Count
						if g.Count != w.Count || g.NoRate != w.NoRate || math.Abs(g.Estimated-w.Estimated) > 1e-6 ||
							math.Abs(g.Weighted-w.Weighted) > 1e-6 || math.Abs(g.Amount-w.Amount) > 1e-6 || g.Currency != w.Currency {
							t.Fatalf("%s, %s, %+v, %s: rollups %+v, scan %+v", visibility, actor.Role, f, w.Phase.Name, g, w)
						}
					}
					if total == 0 && f.RepID == nil && actor.Role == models.RoleManager {
						t.Fatalf("%+v: no cards to compare", f)
					}
				}
			}
		}
	})
}
