package models_test

import (
	"context"
	"sync"
	"testing"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// TestUserGetsOneEmployee: a user without an employee gets one when a client is first issued
// tokens acting for them, once however many exchanges run at once, and every token acts as it.
func TestUserGetsOneEmployee(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		f := newOAuthFixture(t, s, models.RoleRep)
		before, err := s.Employees(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const n = 4
		codes := make([]string, n)
		for i := range codes {
			codes[i] = f.code(t, f.request("read", "", ""))
		}
		tokens := make([]string, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range codes {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				issued, err := s.ExchangeCode(ctx, f.client, codes[i], testRedirect, "")
				if err != nil {
					errs <- err
					return
				}
				tokens[i] = issued.AccessToken
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		after, err := s.Employees(ctx)
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.User(ctx, f.user.ID)
		if err != nil || u.EmployeeID == nil || len(after) != len(before)+1 {
			t.Fatalf("%d employees after %d exchanges (from %d), user's %v %v", len(after), n, len(before), u.EmployeeID, err)
		}
		for _, tok := range tokens {
			g, err := s.LookupToken(ctx, tok)
			if err != nil || g.Actor().EmployeeID == nil || *g.Actor().EmployeeID != *u.EmployeeID {
				t.Fatalf("a token acts as %v (%v), want the user's employee %s", g, err, u.EmployeeID)
			}
		}
	})
}
