package models_test

import (
	"context"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestRepsEditOnlyTheirOwn: the edit rule lives in the store, so the board and the API share it.
func TestRepsEditOnlyTheirOwn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		reps, _ := s.Employees(ctx)
		ann, bob := reps[0].ID, reps[1].ID
		annActor := models.Actor{Role: models.RoleRep, EmployeeID: &ann}
		mgr := models.Actor{Role: models.RoleManager}
		prop := f.phases["Proposal"].ID

		mine := f.create(t, "mine", 100)
		theirs := f.create(t, "theirs", 100)
		free := f.create(t, "free", 100)
		if _, err := s.UpdateActivity(ctx, mine.ID, models.ActivityChanges{SalesRepresentativeID: &ann}, mgr); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateActivity(ctx, theirs.ID, models.ActivityChanges{SalesRepresentativeID: &bob}, mgr); err != nil {
			t.Fatal(err)
		}

		if _, err := s.MoveActivity(ctx, mine.ID, prop, nil, nil, nil, annActor); err != nil {
			t.Fatalf("own card: %v", err)
		}
		if _, err := s.MoveActivity(ctx, free.ID, prop, nil, nil, nil, annActor); err != nil {
			t.Fatalf("unassigned card: %v", err)
		}
		before, _ := s.Activity(ctx, theirs.ID)
		if _, err := s.MoveActivity(ctx, theirs.ID, prop, nil, nil, nil, annActor); models.ErrorCode(err) != models.EForbidden {
			t.Fatalf("another rep's card: %v", err)
		}
		if _, err := s.UpdateActivity(ctx, theirs.ID, models.ActivityChanges{SalesRepresentativeID: &ann}, annActor); models.ErrorCode(err) != models.EForbidden {
			t.Fatalf("taking another rep's card: %v", err)
		}
		if err := s.DeleteActivity(ctx, theirs.ID, nil, annActor); models.ErrorCode(err) != models.EForbidden {
			t.Fatalf("deleting another rep's card: %v", err)
		}
		after, _ := s.Activity(ctx, theirs.ID)
		if after.Version != before.Version || after.PhaseID != before.PhaseID {
			t.Fatal("a refused change was written")
		}
		// A rep cannot hand a card to someone else, nor create one for someone else.
		if _, err := s.UpdateActivity(ctx, mine.ID, models.ActivityChanges{SalesRepresentativeID: &bob}, annActor); models.ErrorCode(err) != models.EForbidden {
			t.Fatalf("assigning to another rep: %v", err)
		}
		subj := "for bob"
		if _, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subj, SalesRepresentativeID: &bob}, annActor); models.ErrorCode(err) != models.EForbidden {
			t.Fatalf("creating for another rep: %v", err)
		}
		if _, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: &subj, SalesRepresentativeID: &ann}, annActor); err != nil {
			t.Fatalf("creating for oneself: %v", err)
		}
		// Managers change anything; an unknown role nothing.
		if _, err := s.MoveActivity(ctx, theirs.ID, prop, nil, nil, nil, mgr); err != nil {
			t.Fatalf("manager: %v", err)
		}
		if _, err := s.MoveActivity(ctx, free.ID, prop, nil, nil, nil, models.Actor{Role: "anonymous"}); models.ErrorCode(err) != models.EForbidden {
			t.Fatalf("anonymous: %v", err)
		}
		if err := s.DeleteActivity(ctx, theirs.ID, nil, mgr); err != nil {
			t.Fatal(err)
		}
	})
}
