package models_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

var (
	sysActor = models.Actor{}
	anAdmin  = models.Actor{Role: models.RoleAdmin}
)

func TestAdminIsForAdmins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		for _, a := range []models.Actor{{Role: models.RoleRep}, {Role: models.RoleManager}, {Role: "anonymous"}} {
			if _, err := s.CreatePipeline(ctx, "SalesOpportunity", "X", a); models.ErrorCode(err) != models.EForbidden {
				t.Fatalf("%s created a pipeline: %v", a.Role, err)
			}
			if err := s.RenamePipeline(ctx, f.sales.ID, "X", a); models.ErrorCode(err) != models.EForbidden {
				t.Fatalf("%s renamed a pipeline: %v", a.Role, err)
			}
			if _, err := s.RetirePhase(ctx, f.phases["Proposal"].ID, nil, true, a); models.ErrorCode(err) != models.EForbidden {
				t.Fatalf("%s deleted a phase: %v", a.Role, err)
			}
			if _, err := s.CreateLostReason(ctx, "X", a); models.ErrorCode(err) != models.EForbidden {
				t.Fatalf("%s added a lost reason: %v", a.Role, err)
			}
		}
	})
}

func TestAdminPipelinesAndPhases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		newFixture(t, s)
		if _, err := s.CreatePipeline(ctx, "Nonsense", "X", anAdmin); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("unknown kind: %v", err)
		}
		p, err := s.CreatePipeline(ctx, "SupportTicket", "  Escalations ", anAdmin)
		if err != nil || p.Name != "Escalations" || p.ActivityType != "Activity.SupportTicket" {
			t.Fatalf("%+v %v", p, err)
		}
		open, err := s.CreatePhase(ctx, p.ID, models.PhaseInput{Name: "Open", DefaultProbability: 40}, anAdmin)
		if err != nil || open.Type != "Datastore.Phase.ActivitySupportTicket" || open.DefaultProbability != 40 {
			t.Fatalf("%+v %v", open, err)
		}
		solved, err := s.CreatePhase(ctx, p.ID, models.PhaseInput{Name: "Solved", DefaultProbability: 3, IsWon: true}, anAdmin)
		if err != nil || !solved.IsTerminal || solved.DefaultProbability != 100 {
			t.Fatalf("won implies terminal at 100: %+v %v", solved, err)
		}
		if _, err := s.CreatePhase(ctx, p.ID, models.PhaseInput{Name: "Bad", DefaultProbability: 101}, anAdmin); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("probability 101: %v", err)
		}
		if err := s.MovePhase(ctx, solved.ID, true, anAdmin); err != nil {
			t.Fatal(err)
		}
		phases, _ := s.AdminPhases(ctx, p.ID)
		if len(phases) != 2 || phases[0].ID != solved.ID || phases[1].ID != open.ID {
			t.Fatalf("order after move up: %v", phases)
		}
		if err := s.UpdatePhase(ctx, open.ID, models.PhaseInput{Name: "New", DefaultProbability: 25}, anAdmin); err != nil {
			t.Fatal(err)
		}
		if err := s.RenamePipeline(ctx, p.ID, "Tickets", anAdmin); err != nil {
			t.Fatal(err)
		}
		ps, _ := s.AdminPipelines(ctx, "SupportTicket")
		if len(ps) != 2 || ps[1].Name != "Tickets" {
			t.Fatalf("pipelines %v", ps)
		}
		if err := s.MovePipeline(ctx, p.ID, true, anAdmin); err != nil {
			t.Fatal(err)
		}
		ps, _ = s.AdminPipelines(ctx, "SupportTicket")
		if ps[0].ID != p.ID {
			t.Fatalf("pipeline order %v", ps)
		}
		// The last active sales pipeline cannot be archived.
		sales, _ := s.SalesPipelines(ctx)
		if err := s.SetPipelineActive(ctx, sales[1].ID, false, anAdmin); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPipelineActive(ctx, sales[0].ID, false, anAdmin); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("archived the last sales pipeline: %v", err)
		}
	})
}

// TestRetiringAPhaseMovesItsOpportunities: nothing is orphaned, each card is moved by the board's
// rules (probability, history), in its order.
func TestRetiringAPhaseMovesItsOpportunities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		prop, nego := f.phases["Proposal"], f.phases["Negotiation"]
		var ids []uuid.UUID
		for _, subj := range []string{"one", "two", "three"} {
			a := f.create(t, subj, 1000)
			if _, err := s.MoveActivity(ctx, a.ID, prop.ID, nil, nil, nil, sysActor); err != nil {
				t.Fatal(err)
			}
			ids = append([]uuid.UUID{a.ID}, ids...) // each lands on top
		}
		if _, err := s.RetirePhase(ctx, prop.ID, nil, true, anAdmin); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("deleting a full phase without target: %v", err)
		}
		if _, err := s.RetirePhase(ctx, prop.ID, ptr(f.other["Quote"].ID), true, anAdmin); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("target in another pipeline: %v", err)
		}
		if err := s.UpdatePhase(ctx, prop.ID, models.PhaseInput{Name: "Proposal", IsWon: true}, anAdmin); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("changed the outcome of a full phase: %v", err)
		}
		res, err := s.RetirePhase(ctx, prop.ID, &nego.ID, true, anAdmin)
		if err != nil || res.Moved != 3 || res.Deleted {
			t.Fatalf("retire: %+v %v (history refers to the phase, so it is archived)", res, err)
		}
		cards, err := s.Cards(ctx, models.BoardFilter{PipelineID: f.sales.ID, Status: models.StatusAll}, nego.ID, nil, 10)
		if err != nil || len(cards) != 3 {
			t.Fatalf("cards %v %v", cards, err)
		}
		for i, c := range cards {
			if c.ID != ids[i] || c.Probability != 60 || c.WeightedAmount != 600 {
				t.Fatalf("card %d: %+v, want %v at 60%%", i, c, ids[i])
			}
		}
		if n, _ := s.PhaseCount(ctx, prop.ID); n != 0 {
			t.Fatalf("%d left behind", n)
		}
		ph, _ := s.Phase(ctx, prop.ID)
		if ph.IsActive {
			t.Fatal("the retired phase is still active")
		}
		// A phase nobody ever entered is really deleted.
		fresh, _ := s.CreatePhase(ctx, f.sales.ID, models.PhaseInput{Name: "Spare"}, anAdmin)
		res, err = s.RetirePhase(ctx, fresh.ID, nil, true, anAdmin)
		if err != nil || !res.Deleted {
			t.Fatalf("empty phase: %+v %v", res, err)
		}
	})
}

func TestAdminLostReasons(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		newFixture(t, s)
		r, err := s.CreateLostReason(ctx, "Went dark", anAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateLostReason(ctx, "  ", anAdmin); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("empty name: %v", err)
		}
		if err := s.RenameLostReason(ctx, r.ID, "Ghosted", anAdmin); err != nil {
			t.Fatal(err)
		}
		if err := s.SetLostReasonActive(ctx, r.ID, false, anAdmin); err != nil {
			t.Fatal(err)
		}
		active, _ := s.LostReasons(ctx)
		for _, x := range active {
			if x.ID == r.ID {
				t.Fatal("an archived reason is still offered")
			}
		}
		all, _ := s.AdminLostReasons(ctx)
		found := false
		for _, x := range all {
			found = found || (x.ID == r.ID && x.Name == "Ghosted" && !x.IsActive)
		}
		if !found || len(all) != 6 {
			t.Fatalf("admin list %v", all)
		}
		if err := s.RenameLostReason(ctx, uuid.New(), "x", anAdmin); models.ErrorCode(err) != models.ENotFound {
			t.Fatalf("unknown: %v", err)
		}
	})
}
