package models_test

import (
	"context"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestNoteChangedByAuthorOrManager: a note that exists is pinned, unpinned or deleted by its
// author, a manager or an admin; another rep, even one who may edit the activity (it is
// unassigned), is refused with nothing written. On both databases.
func TestNoteChangedByAuthorOrManager(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newFixture(t, s)
		reps, _ := s.Employees(ctx)
		author := models.Actor{Role: models.RoleRep, EmployeeID: &reps[0].ID}
		colleague := models.Actor{Role: models.RoleRep, EmployeeID: &reps[1].ID}
		manager := models.Actor{Role: models.RoleManager, EmployeeID: &reps[1].ID}
		deal, err := s.CreateActivity(ctx, models.SalesOpportunity, models.ActivityChanges{Subject: ptr("Unassigned"), PipelineID: &f.sales.ID}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		note, err := s.SaveNote(ctx, nil, models.NoteChanges{ActivityID: &deal.ID, Content: ptr("Mine")}, author)
		if err != nil {
			t.Fatal(err)
		}
		stored := func() (n int, pinned bool) {
			t.Helper()
			got, err := s.Notes(models.WithActor(ctx, models.Actor{}), deal.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				pinned = pinned || g.IsPinned
			}
			return len(got), pinned
		}
		pin := func(a models.Actor, v bool) error {
			_, err := s.SaveNote(ctx, &note, models.NoteChanges{IsPinned: &v}, a)
			return err
		}

		// A colleague may write on the deal (it is unassigned) but not change the author's note.
		if _, err := s.SaveNote(ctx, nil, models.NoteChanges{ActivityID: &deal.ID, Content: ptr("Theirs")}, colleague); err != nil {
			t.Fatalf("a colleague's own note on an unassigned deal: %v", err)
		}
		if err := pin(colleague, true); models.ErrorCode(err) != models.EForbidden {
			t.Fatalf("a colleague pins the author's note: %v", err)
		}
		if err := s.DeleteNote(ctx, note, colleague); models.ErrorCode(err) != models.EForbidden {
			t.Fatalf("a colleague deletes the author's note: %v", err)
		}
		if n, pinned := stored(); n != 2 || pinned {
			t.Fatalf("refused changes wrote: %d notes, pinned %v", n, pinned)
		}
		// The author pins and unpins; a manager pins; the author deletes.
		for _, step := range []struct {
			who    models.Actor
			pinned bool
		}{{author, true}, {author, false}, {manager, true}} {
			if err := pin(step.who, step.pinned); err != nil {
				t.Fatal(err)
			}
			if _, pinned := stored(); pinned != step.pinned {
				t.Fatalf("pinned %v, want %v", pinned, step.pinned)
			}
		}
		if err := s.DeleteNote(ctx, note, author); err != nil {
			t.Fatal(err)
		}
		if n, _ := stored(); n != 1 {
			t.Fatalf("%d notes after the author deleted theirs", n)
		}
	})
}
