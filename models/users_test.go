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

func TestPasswordHashRoundTrip(t *testing.T) {
	h := models.HashPassword("correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if !models.CheckPassword(h, "correct horse") || models.CheckPassword(h, "correct horsE") {
		t.Fatal("password check")
	}
	if h == models.HashPassword("correct horse") {
		t.Fatal("hashes must be salted")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA", h[:len(h)-3] + "!!!"} {
		if models.CheckPassword(bad, "correct horse") {
			t.Fatalf("malformed hash %q accepted", bad)
		}
	}
}

func TestRoleRules(t *testing.T) {
	me, other := uuid.New(), uuid.New()
	own := &models.Activity{SalesRepresentativeID: &me}
	theirs := &models.Activity{SalesRepresentativeID: &other}
	unassigned := &models.Activity{}
	cases := []struct {
		actor                        models.Actor
		own, theirs, unassigned, adm bool
	}{
		{models.Actor{Role: models.RoleRep, EmployeeID: &me}, true, false, true, false},
		{models.Actor{Role: models.RoleRep}, false, false, true, false}, // a rep without employee owns nothing
		{models.Actor{Role: models.RoleManager, EmployeeID: &me}, true, true, true, false},
		{models.Actor{Role: models.RoleAdmin}, true, true, true, true},
		{models.Actor{Role: "bogus", EmployeeID: &me}, false, false, false, false},
	}
	for _, c := range cases {
		got := []bool{models.CanEditActivity(c.actor, own), models.CanEditActivity(c.actor, theirs),
			models.CanEditActivity(c.actor, unassigned), models.CanAdminister(c.actor)}
		want := []bool{c.own, c.theirs, c.unassigned, c.adm}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: check %d = %v, want %v", c.actor.Role, i, got[i], want[i])
			}
		}
	}
}

func TestUsersAndSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		sys := models.Actor{}
		u, err := s.CreateUser(ctx, models.NewUser{Email: " Ann@Example.COM ", Password: "s3cret-pass", Role: models.RoleRep}, sys)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "ann@example.com" {
			t.Fatalf("email %q", u.Email)
		}
		if _, err := s.CreateUser(ctx, models.NewUser{Email: "ANN@example.com", Password: "another-pass", Role: models.RoleRep}, sys); models.ErrorCode(err) != models.EConflict {
			t.Fatalf("duplicate email in another case: %v", err)
		}
		for _, in := range []models.NewUser{
			{Email: "not-an-email", Password: "long-enough", Role: models.RoleRep},
			{Email: "b@example.com", Password: "short", Role: models.RoleRep},
			{Email: "b@example.com", Password: "long-enough", Role: "root"},
		} {
			if _, err := s.CreateUser(ctx, in, sys); models.ErrorCode(err) != models.EInvalid {
				t.Fatalf("%+v: %v", in, err)
			}
		}
		if _, err := s.CreateUser(ctx, models.NewUser{Email: "c@example.com", Password: "long-enough", Role: models.RoleRep}, u.Actor()); models.ErrorCode(err) != models.EForbidden {
			t.Fatalf("a rep created a user: %v", err)
		}

		if got, err := s.Authenticate(ctx, "ANN@example.com", "s3cret-pass"); err != nil || got.ID != u.ID {
			t.Fatalf("login: %v %v", got, err)
		}
		_, errWrong := s.Authenticate(ctx, "ann@example.com", "wrong-pass")
		_, errUnknown := s.Authenticate(ctx, "nobody@example.com", "wrong-pass")
		if errWrong == nil || errUnknown == nil || errWrong.Error() != errUnknown.Error() || models.ErrorCode(errWrong) != models.EUnauthorized {
			t.Fatalf("failed logins must look alike: %v / %v", errWrong, errUnknown)
		}

		token, exp, err := s.CreateSession(ctx, u.ID)
		if err != nil || exp.Before(s.Now()) {
			t.Fatal(err)
		}
		if got, err := s.SessionUser(ctx, token); err != nil || got.ID != u.ID {
			t.Fatalf("session: %v %v", got, err)
		}
		if _, err := s.SessionUser(ctx, token+"x"); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("forged token: %v", err)
		}
		// Expiry: move the clock past the TTL.
		real := s.Now
		s.Now = func() time.Time { return real().Add(models.SessionTTL + time.Minute) }
		if _, err := s.SessionUser(ctx, token); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("expired session: %v", err)
		}
		s.Now = real
		if err := s.DeleteSession(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, token); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("deleted session: %v", err)
		}

		// Deactivating ends sessions and refuses logins.
		token, _, _ = s.CreateSession(ctx, u.ID)
		if err := s.SetUserActive(ctx, u.ID, false, sys, uuid.Nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, token); err == nil {
			t.Fatal("session of a deactivated user still valid")
		}
		if _, err := s.Authenticate(ctx, "ann@example.com", "s3cret-pass"); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("deactivated login: %v", err)
		}
		if err := s.SetUserRole(ctx, u.ID, models.RoleManager, sys, uuid.Nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserRole(ctx, u.ID, models.RoleRep, models.Actor{Role: models.RoleAdmin}, u.ID); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("self-demotion: %v", err)
		}
	})
}

func TestAPIClientsAndTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		for _, name := range []string{"bad\xff", "nul\x00"} { // phaseboard client add passes bytes as they come
			if _, _, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: name, Scopes: []string{"read"}}, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
				t.Fatalf("client named %q: %v", name, err)
			}
		}
		if _, _, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "cb", Scopes: []string{"read"}, RedirectURIs: []string{"https://app.example/cb\xff"}}, models.Actor{}); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("redirect URI with invalid UTF-8: %v", err)
		}
		if cs, _ := s.APIClients(ctx); len(cs) != 0 {
			t.Fatalf("refused clients were written: %d", len(cs))
		}
		c, secret, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "Importer", Scopes: []string{"read"}}, models.Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Role != models.RoleManager || c.Scopes != "read" || secret == "" || c.SecretHash == secret {
			t.Fatalf("client %+v", c)
		}
		if _, err := s.AuthenticateClient(ctx, c.ID.String(), secret+"x"); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("wrong secret: %v", err)
		}
		if _, err := s.AuthenticateClient(ctx, "not-a-uuid", secret); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("bad id: %v", err)
		}
		got, err := s.AuthenticateClient(ctx, c.ID.String(), secret)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.IssueToken(ctx, got, "read write"); models.ErrorCode(err) != models.EInvalid {
			t.Fatalf("scope escalation: %v", err)
		}
		tok, at, err := s.IssueToken(ctx, got, "read offline")
		if err != nil || at.Scopes != "read offline" {
			t.Fatalf("issue: %v %+v", err, at)
		}
		g, err := s.LookupToken(ctx, tok)
		if err != nil || g.Client.ID != c.ID || !models.HasScope(g.Scopes, "read") || models.HasScope(g.Scopes, "write") {
			t.Fatalf("lookup: %+v %v", g, err)
		}
		real := s.Now
		s.Now = func() time.Time { return real().Add(models.TokenTTL + time.Second) }
		if _, err := s.LookupToken(ctx, tok); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("expired token: %v", err)
		}
		s.Now = real
		if err := s.RevokeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LookupToken(ctx, tok); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("revoked token: %v", err)
		}
		tok2, _, _ := s.IssueToken(ctx, got, "")
		if err := s.RevokeAPIClient(ctx, c.ID, models.Actor{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LookupToken(ctx, tok2); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("token of a revoked client: %v", err)
		}
		if _, err := s.AuthenticateClient(ctx, c.ID.String(), secret); models.ErrorCode(err) != models.EUnauthorized {
			t.Fatalf("revoked client: %v", err)
		}
	})
}

func TestFirstAdminAndDemoUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		if err := s.LoadDemo(ctx, 0, nil, nil); err != nil {
			t.Fatal(err)
		}
		admin, err := s.EnsureFirstAdmin(ctx, "", "")
		if err != nil || admin == nil || admin.Email != models.DefaultAdminEmail || len(admin.Password) < 16 || admin.Role != models.RoleAdmin {
			t.Fatalf("first admin %+v %v", admin, err)
		}
		if u, err := s.Authenticate(ctx, admin.Email, admin.Password); err != nil || u.Role != models.RoleAdmin {
			t.Fatalf("the generated password does not log in: %v", err)
		}
		if again, err := s.EnsureFirstAdmin(ctx, "other@x.example", "long-enough-pw"); again != nil || err != nil {
			t.Fatalf("a second first admin: %+v %v", again, err)
		}
		creds, err := s.CreateDemoUsers(ctx)
		if err != nil || len(creds) != 6 {
			t.Fatalf("demo users %v %v", creds, err)
		}
		reps, _ := s.Employees(ctx)
		u, err := s.Authenticate(ctx, reps[0].Email, models.DemoPassword)
		if err != nil || u.Role != models.RoleRep || u.EmployeeID == nil || *u.EmployeeID != reps[0].ID {
			t.Fatalf("demo rep %+v %v", u, err)
		}
		if creds, err := s.CreateDemoUsers(ctx); err != nil || len(creds) != 0 {
			t.Fatalf("demo users twice: %v %v", creds, err)
		}
	})
}
