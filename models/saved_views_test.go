package models_test

import (
	"context"
	"strings"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// Saved views belong to their user; a name saved again replaces the query; bad input is refused
// and writes nothing.
func TestSavedViews(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		mk := func(email string) *models.User {
			u, err := s.CreateUser(ctx, models.NewUser{Email: email, Password: "a-long-password", Role: models.RoleRep}, models.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		ann, bob := mk("ann@views.example"), mk("bob@views.example")
		if _, err := s.SaveView(ctx, ann.ID, models.SavedViewBoard, "Mine", "rep=mine"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveView(ctx, ann.ID, models.SavedViewBoard, " Mine ", "rep=mine&status=all"); err != nil {
			t.Fatal(err)
		}
		list, _ := s.SavedViews(ctx, ann.ID, models.SavedViewBoard)
		if len(list) != 1 || list[0].Query != "rep=mine&status=all" {
			t.Fatalf("ann's views %+v", list)
		}
		if other, _ := s.SavedViews(ctx, bob.ID, models.SavedViewBoard); len(other) != 0 {
			t.Fatalf("bob sees %+v", other)
		}
		for _, bad := range []struct{ page, name, query string }{
			{"admin", "x", ""}, {models.SavedViewBoard, "  ", ""}, {models.SavedViewBoard, "x", "a=%zz"},
			{models.SavedViewBoard, "x", strings.Repeat("a", 3000)},
		} {
			if _, err := s.SaveView(ctx, ann.ID, bad.page, bad.name, bad.query); models.ErrorCode(err) != models.EInvalid {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		if err := s.DeleteView(ctx, bob.ID, list[0].ID); models.ErrorCode(err) != models.ENotFound {
			t.Errorf("bob deletes ann's view: %v", err)
		}
		if err := s.DeleteView(ctx, ann.ID, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if left, _ := s.SavedViews(ctx, ann.ID, models.SavedViewBoard); len(left) != 0 {
			t.Fatalf("left %+v", left)
		}
	})
}
